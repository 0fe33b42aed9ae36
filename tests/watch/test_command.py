"""``sleuth watch`` as a person types it: its options, its errors, its lines."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sleuth.watch.command import parse_cycle_timeout
from tests.watch.conftest import STATE_PROBE, Target, write_suite


def sleuth_watch(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sleuth", "watch", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--every", "soon"],
            "sleuth watch: --every: invalid interval 'soon': expected seconds, "
            "e.g. 2.5, 2s or 150ms",
        ),
        (
            ["--every", "-5s"],
            "sleuth watch: --every: invalid interval '-5s': expected seconds, "
            "e.g. 2.5, 2s or 150ms",
        ),
        (
            ["--every", "30s", "--jitter", "lots"],
            "sleuth watch: --jitter: invalid jitter 'lots': expected seconds, "
            "e.g. 0, 2s or 500ms",
        ),
        (
            ["--every", "30s", "--cycles", "0"],
            "sleuth watch: --cycles: invalid number of cycles 0: expected a "
            "whole number above zero, e.g. 64",
        ),
        (
            ["--every", "30s", "--cycle-timeout", "forever"],
            "sleuth watch: --cycle-timeout: invalid cycle time-out 'forever': "
            "expected seconds, e.g. 2.5, 2s or 150ms",
        ),
        (
            ["-q"],
            "sleuth watch: sleuth watch needs an interval: --every 30s (or 0 for "
            "back to back)",
        ),
        (
            ["--every", "30s", "--history", "mysql://db/x"],
            "sleuth watch: --history: history store 'mysql://db/x': unknown kind "
            "'mysql'. Expected a PostgreSQL URL (postgresql://user@host/db), a "
            "SQLite URL (sqlite:///path/history.db) or a file path",
        ),
    ],
)
def test_a_bad_option_is_one_line_and_exit_4(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = sleuth_watch(tmp_path, *args)
    assert done.returncode == 4
    assert done.stderr.splitlines() == [message]
    assert done.stdout == ""


def test_a_suite_that_cannot_run_stops_the_watch_with_its_exit(
    tmp_path: Path,
) -> None:
    (tmp_path / "sleuth.yaml").write_text("targets:\n  local:\n    timeout: 2s\n")
    (tmp_path / "test_probes.py").write_text("def test_x():\n    pass\n")
    done = sleuth_watch(
        tmp_path, "--every", "1s", "-q", "-p", "no:cacheprovider", "--no-such-option"
    )
    assert done.returncode == 4
    out = done.stdout
    assert "--no-such-option" in out
    assert "cycle 1 " in out
    assert "cycle 2 " not in out
    assert out.splitlines()[-1] == (
        "sleuth watch: the suite cannot run (exit 4); stopping"
    )


def test_a_broken_sleuth_yaml_stops_the_watch_before_its_first_cycle(
    tmp_path: Path,
) -> None:
    # Read whole before the first cycle (for its alerts:): the mistake is one
    # line naming the file and line, and no cycle runs.
    (tmp_path / "sleuth.yaml").write_text("targets:\n  local:\n    timeout: never\n")
    (tmp_path / "test_probes.py").write_text("def test_x():\n    pass\n")
    done = sleuth_watch(tmp_path, "--every", "1s", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 4
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "sleuth watch: sleuth.yaml line 3: invalid timeout 'never': expected "
        "seconds, e.g. 2.5, 2s or 150ms"
    ]


def test_the_command_runs_cycles_and_says_where_they_are_kept(
    tmp_path: Path, target_app: Target
) -> None:
    suite = write_suite(tmp_path, target_app.url, STATE_PROBE)
    done = sleuth_watch(
        suite,
        "-q",
        "-p",
        "no:cacheprovider",
        "--every",
        "0",
        "--cycles",
        "2",
        "--agent",
        "eu-1",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "sleuth watch: back to back (jitter up to 0s), agent eu-1, history "
        ".sleuth/history.db; Ctrl-C ends after the cycle"
    )
    assert lines[1].startswith("cycle 1 ")
    assert ": 1 passed in " in lines[1]
    assert lines[1].endswith("(run 1)")
    assert lines[2].endswith("(run 2)")
    assert len(lines) == 3


def test_a_hung_cycle_is_killed_said_and_the_watch_goes_on(tmp_path: Path) -> None:
    # The suite's own code hangs outside any probe's deadline (a conftest
    # that waits forever): each cycle is killed at --cycle-timeout, with its
    # processes, nothing is stored, and the next cycle runs. The timeout
    # leaves a loaded CI machine time to start each cycle's pytest and reach
    # the conftest (1.5s was once too short for the second cycle there).
    (tmp_path / "sleuth.yaml").write_text("targets:\n  local:\n    timeout: 2s\n")
    (tmp_path / "conftest.py").write_text(
        "import os, pathlib, time\n"
        "with open('pids', 'a') as f:\n"
        "    f.write(f'{os.getpid()}\\n')\n"
        "time.sleep(300)\n"
    )
    (tmp_path / "test_probes.py").write_text("def test_x():\n    pass\n")
    done = sleuth_watch(
        tmp_path,
        "-q",
        "-p",
        "no:cacheprovider",
        "--every",
        "0",
        "--cycles",
        "2",
        "--cycle-timeout",
        "4s",
    )
    assert done.returncode == 0, done.stderr
    cycles = done.stdout.splitlines()[1:]
    assert len(cycles) == 2
    for number, line in enumerate(cycles, start=1):
        assert line.startswith(f"cycle {number} ")
        assert line.endswith(": hung, killed after 4s (--cycle-timeout); no run stored")
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 2
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    store = tmp_path / ".sleuth" / "history.db"
    if store.exists():  # made by the watch; no cycle wrote a run in it
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT count(*) FROM sleuth_runs").fetchone() == (0,)


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        ([], {}, 600.0),
        (["--budget", "30s"], {}, 90.0),
        (["-q", "--budget=2m"], {}, 180.0),
        (["--sleuth-budget", "10"], {}, 70.0),
        ([], {"SLEUTH_BUDGET": "1m"}, 120.0),
        (["--budget", "soon"], {}, 600.0),  # the cycle says what is wrong
    ],
)
def test_the_cycle_timeout_follows_the_budget(
    args: list[str], environ: dict[str, str], expected: float
) -> None:
    assert parse_cycle_timeout(None, pytest_args=args, environ=environ) == expected
    assert parse_cycle_timeout("5m", pytest_args=args, environ=environ) == 300.0
