"""Ctrl-C and SIGTERM: the running cycle ends and is stored; a second signal
ends it at once, and the store holds nothing half-written."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.watch.conftest import Target, write_suite

WAIT_S = 60.0

HELD_PROBE = """
    def test_held_answer(target):
        assert target.http.get("/held").status_code == 200
"""


def start_watch(suite: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sleuth",
            "watch",
            "--every",
            "0",
            "--history",
            url,
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=suite,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def watches() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:  # a failed test leaves nothing running
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT_S)


def wait_for_line(stream: object, text: str) -> str:
    """The first line of ``stream`` holding ``text`` (bounded by WAIT_S)."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = stream.readline()  # type: ignore[attr-defined]
            if text in line or not line:
                return str(line)
    raise AssertionError(f"no line with {text!r} in {WAIT_S}s")


def gone_soon(pgid: int, within_s: float = 10.0) -> bool:
    """Every process of group ``pgid`` has ended, or does within ``within_s``
    (one SIGKILLed may still show for a moment)."""
    deadline = time.monotonic() + within_s
    while group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def group_members(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def stored_runs(db: Path) -> list[tuple[int, int]]:
    """(run id, exit status) of each stored run; the file checked whole."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "sleuth_runs" not in tables:
            return []
        orphans = conn.execute(
            "SELECT count(*) FROM sleuth_results WHERE run_id NOT IN "
            "(SELECT id FROM sleuth_runs)"
        ).fetchone()
        assert orphans == (0,)
        return list(conn.execute("SELECT id, exit_status FROM sleuth_runs ORDER BY id"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_watch_after_the_cycle_is_stored(
    tmp_path: Path,
    target_app: Target,
    watches: list[subprocess.Popen[str]],
    signum: signal.Signals,
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, HELD_PROBE, timeout="60s")
    db = tmp_path / "watch.db"
    watch = start_watch(suite, f"sqlite:///{db}")
    watches.append(watch)
    assert target_app.switch.arrived.wait(WAIT_S), "the cycle's probe never came"
    watch.send_signal(signum)
    wait_for_line(watch.stderr, "ending after this cycle")
    target_app.switch.open_gate()
    out, err = watch.communicate(timeout=WAIT_S)
    assert watch.returncode == 0, err
    lines = out.splitlines()
    assert lines[1].startswith("cycle 1 ")
    assert lines[1].endswith("(run 1)")
    assert lines[-1] == "sleuth watch: stopped after 1 cycle"
    assert "Traceback" not in err
    assert stored_runs(db) == [(1, 0)]


def test_a_second_signal_ends_the_cycle_at_once(
    tmp_path: Path, target_app: Target, watches: list[subprocess.Popen[str]]
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, HELD_PROBE, timeout="60s")
    db = tmp_path / "watch.db"
    watch = start_watch(suite, f"sqlite:///{db}")
    watches.append(watch)
    assert target_app.switch.arrived.wait(WAIT_S), "the cycle's probe never came"
    (child,) = children_of(watch.pid)
    assert os.getpgid(child) == child  # the cycle runs in a group of its own
    watch.send_signal(signal.SIGTERM)
    wait_for_line(watch.stderr, "ending after this cycle")
    watch.send_signal(signal.SIGTERM)
    # The held request is never answered: only the kill ends this cycle.
    out, err = watch.communicate(timeout=WAIT_S)
    assert watch.returncode == 128 + signal.SIGTERM, err
    assert "ending now" in err
    assert "cycle 1 " in out
    assert "killed before it ended" in out
    assert gone_soon(child)  # the run and its HTTP worker
    if db.exists():
        assert stored_runs(db) == []
