"""Agents in several places on the real PostgreSQL: two agents at once, and a
store that goes away under a running agent and comes back."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sleuth.history.agents import latest_per_agent
from sleuth.history.store import HistoryStore
from sleuth.web.status import read_status
from tests.conftest import require_service
from tests.history.helpers import (
    CANARY_DSN_PASSWORD,
    history_file_bytes,
    with_password,
    write_suite,
)
from tests.integration.tcpproxy import TcpProxy

pytestmark = pytest.mark.services

PROBES = """
def test_health(target):
    assert target.http.get("/status/200").status_code == 200

def test_flag(target):
    assert target.setting("FEATURE_FLAG_X") == "on"
"""


def sleuth_command() -> list[str]:
    found = shutil.which("sleuth", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "sleuth"]


def test_two_agents_one_unable_to_reach_the_target(
    tmp_path, http_target, pg_url, closed_port
):
    """eu-1 reaches the target, us-1 (its base URL a refusing port) does not,
    and us-1's flag is set wrong there; both run at once against one store,
    each stored under its name. The status page tells the two apart: the
    refused one points at us-1's network path, the flag at the evidence."""
    bases = {"eu-1": http_target.url, "us-1": f"http://127.0.0.1:{closed_port}"}
    for agent in bases:
        root = tmp_path / agent
        root.mkdir()
        (root / "sleuth.yaml").write_text(
            "targets:\n  local:\n    base_url: ${env:TARGET_URL}\n    timeout: 5s\n"
        )
        (root / "test_api.py").write_text(PROBES)
    url = with_password(pg_url)
    procs = {}
    for agent, base in bases.items():
        env = {
            **os.environ,
            "SLEUTH_HISTORY": url,  # from the environment: never in `ps`
            "TARGET_URL": base,
            "FEATURE_FLAG_X": "on" if agent == "eu-1" else "off",
            "COLUMNS": "200",
        }
        procs[agent] = subprocess.Popen(
            [*sleuth_command(), "run", "--agent", agent, "-p", "no:cacheprovider"],
            cwd=tmp_path / agent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    outputs = {}
    for agent, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        outputs[agent] = (proc.returncode, out.decode())
    assert outputs["eu-1"][0] == 0, outputs["eu-1"][1]
    assert outputs["us-1"][0] == 1, outputs["us-1"][1]
    for _, text in outputs.values():
        assert CANARY_DSN_PASSWORD not in text
        assert "history: run " in text
    store = HistoryStore.open(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert sorted(r.agent for r in store.runs(limit=10)) == ["eu-1", "us-1"]
        latest = latest_per_agent(store, target="local")
        status = read_status(store, now=_dt.datetime.now(_dt.UTC))
    finally:
        store.close()
    health = latest["test_api.py::test_health"]
    assert health["eu-1"].outcome == "passed"
    assert health["us-1"].outcome == "error"
    assert health["us-1"].category == "refused"
    flag = latest["test_api.py::test_flag"]
    assert {a: p.outcome for a, p in flag.items()} == {
        "eu-1": "passed",
        "us-1": "failed",
    }
    spreads = {p.probe_id: p.spread for p in status.targets[0].probes}
    assert spreads == {
        "test_api.py::test_health": (
            "fails from us-1, passes from eu-1: look at us-1's network path"
        ),
        "test_api.py::test_flag": (
            "fails from us-1, passes from eu-1: "
            "compare the evidence from us-1 with that from eu-1"
        ),
    }


def test_a_store_that_goes_away_and_comes_back_loses_no_run(
    pytester, http_target, pg_url, monkeypatch
):
    """The store stops under a running agent (its port refuses), then comes
    back: every run is stored once, in order, at the time it ran."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    write_suite(pytester, http_target.url)
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = with_password(pg_url, port=proxy.port)
    monkeypatch.setenv("SLEUTH_HISTORY", url)
    started: list[str] = []

    def run(n: int) -> pytest.RunResult:
        report = pytester.path / f"run{n}.json"
        result: pytest.RunResult = pytester.runpytest(
            "--agent", "eu-1", "--sleuth-json", str(report)
        )
        result.assert_outcomes(passed=3)
        started.append(json.loads(report.read_text())["run"]["started_at"])
        assert CANARY_DSN_PASSWORD not in result.stdout.str()
        return result

    masked = url.replace(CANARY_DSN_PASSWORD, "***")
    try:
        proxy.start()
        run(1).stdout.fnmatch_lines([f"history: run 1 recorded in {masked} *"])
        proxy.stop()  # the store is away
        for n in (2, 3, 4):
            run(n).stdout.fnmatch_lines(
                [
                    f"history: {masked} unreachable (connection refused); run kept "
                    "in .sleuth/history-buffer-127.0.0.1-*.db, written when the "
                    "store is back*"
                ]
            )
        (buffer,) = (pytester.path / ".sleuth").glob("history-buffer-*.db")
        assert CANARY_DSN_PASSWORD not in buffer.name
        stored = history_file_bytes(pytester.path / ".sleuth")
        assert CANARY_DSN_PASSWORD.encode() not in stored
        proxy.start()  # and back
        run(5).stdout.fnmatch_lines(
            [
                f"history: 3 runs kept in .sleuth/{buffer.name} while the store was "
                "unreachable written to it first",
                f"history: run 5 recorded in {masked} *",
            ]
        )
    finally:
        proxy.stop()
    store = HistoryStore.open(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        runs = sorted(store.runs(limit=20), key=lambda r: r.id)
        snaps = [store.snapshot(r.id) for r in runs]
        with store.db.read() as tx:
            keys = tx.scalar("SELECT count(DISTINCT run_key) FROM sleuth_runs")
    finally:
        store.close()
    assert [r.id for r in runs] == [1, 2, 3, 4, 5]
    assert keys == 5
    assert [r.agent for r in runs] == ["eu-1"] * 5
    assert [r.started_at for r in runs] == [
        _dt.datetime.fromisoformat(s).astimezone(_dt.UTC) for s in started
    ]
    # Buffered with the store's key (learnt by run 1): values compare.
    prints = {s.settings["FEATURE_FLAG_X"].fingerprint for s in snaps if s}
    assert len(prints) == 1
    assert None not in prints
    (buffer,) = (pytester.path / ".sleuth").glob("history-buffer-*.db")
    from sleuth.history.buffer import RunBuffer

    assert RunBuffer(buffer).count() == 0


def test_history_flush_writes_the_buffer_without_a_run(
    pytester, http_target, pg_url, monkeypatch
):
    from click.testing import CliRunner

    from sleuth.cli.commands import group

    write_suite(pytester, http_target.url)
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = with_password(pg_url, port=proxy.port)
    monkeypatch.setenv("SLEUTH_HISTORY", url)
    pytester.runpytest("--agent", "eu-1").assert_outcomes(passed=3)  # refused
    monkeypatch.chdir(pytester.path)
    try:
        proxy.start()
        result = CliRunner().invoke(group, ["history", "--flush"])
    finally:
        proxy.stop()
    assert result.exit_code == 0, result.output
    assert "history: 1 run kept in .sleuth/history-buffer-" in result.output
    assert CANARY_DSN_PASSWORD not in result.output
    store = HistoryStore.open(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert [r.agent for r in store.runs()] == ["eu-1"]
    finally:
        store.close()
