"""Two real ``sleuth watch`` agents on the machine's PostgreSQL at once: eu-1
reaches the target and sees its store go away for two cycles and come back;
us-1 cannot reach the target. Every cycle's run is in the store once, in
order, and the page tells the two agents apart."""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sleuth.history.agents import latest_per_agent
from sleuth.history.store import HistoryStore
from sleuth.web.status import read_status
from tests.history.helpers import CANARY_DSN_PASSWORD, with_password
from tests.integration.tcpproxy import TcpProxy
from tests.watch.conftest import STATE_PROBE, Target, write_suite

pytestmark = pytest.mark.services

WAIT_S = 120.0
PROBE = "test_probes.py::test_state_is_ok"


def _watch(
    suite: Path, agent: str, store_url: str, cycles: int
) -> subprocess.Popen[str]:
    env = {**os.environ, "SLEUTH_HISTORY": store_url, "COLUMNS": "200"}
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "sleuth", "watch", "--agent", agent),
            *("--every", "0", "--cycles", str(cycles), "-q", "-p", "no:cacheprovider"),
        ],
        cwd=suite,
        env=env,  # the store's URL from the environment: never in `ps`
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_watching_agents_and_a_store_that_goes_away_under_one(
    tmp_path: Path, target_app: Target, pg_url: str, closed_port: int
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))

    def store_away_for_cycles_2_and_3(probed: int) -> None:
        # Called as eu-1's cycle N probes, before its run is stored.
        if probed == 2:
            proxy.stop()
        elif probed == 4:
            proxy.start()

    target_app.switch.on_request = store_away_for_cycles_2_and_3
    eu = write_suite(tmp_path / "eu-1", target_app.url, STATE_PROBE)
    us = write_suite(tmp_path / "us-1", f"http://127.0.0.1:{closed_port}", STATE_PROBE)
    proxy.start()
    try:
        watches = {
            "eu-1": _watch(eu, "eu-1", with_password(pg_url, port=proxy.port), 5),
            "us-1": _watch(us, "us-1", with_password(pg_url), 3),
        }
        outputs = {
            agent: process.communicate(timeout=WAIT_S)[0]
            for agent, process in watches.items()
        }
    finally:
        for process in watches.values():
            if process.poll() is None:
                process.kill()
        proxy.stop()
    for agent, process in watches.items():
        assert process.returncode == 0, outputs[agent]
        assert CANARY_DSN_PASSWORD not in outputs[agent]
    eu_lines = [x for x in outputs["eu-1"].splitlines() if x.startswith("cycle ")]
    assert len(eu_lines) == 5, outputs["eu-1"]
    # Stored at once: cycles 1, 4 (after the two it kept) and 5.
    assert ["(run " in line for line in eu_lines] == [True, False, False, True, True]

    store = HistoryStore.open(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        runs = sorted(store.runs(limit=50), key=lambda r: r.started_at)
        with store.db.read() as tx:
            keys = tx.scalar("SELECT count(DISTINCT run_key) FROM sleuth_runs")
        latest = latest_per_agent(store, target="local")
        status = read_status(store, now=_dt.datetime.now(_dt.UTC))
    finally:
        store.close()
    eu_runs = [r for r in runs if r.agent == "eu-1"]
    assert len(eu_runs) == 5  # each cycle once, the two kept while away too
    assert len([r for r in runs if r.agent == "us-1"]) == 3
    assert keys == len(runs) == 8
    assert [r.counts for r in eu_runs] == [{"passed": 1}] * 5
    assert latest[PROBE]["eu-1"].outcome == "passed"
    assert (latest[PROBE]["us-1"].outcome, latest[PROBE]["us-1"].category) == (
        "error",
        "refused",
    )
    (probe,) = status.targets[0].probes
    assert (
        probe.spread == "fails from us-1, passes from eu-1: look at us-1's network path"
    )
