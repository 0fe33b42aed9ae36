"""docs/watch.md: its example runs as shown, its error line is the real one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.watch.conftest import Target

DOC = (Path(__file__).parents[2] / "docs" / "watch.md").read_text()


def block(name: str) -> str:
    """The fenced block that starts with ``# NAME``, without that line."""
    match = re.search(rf"```\w+\n# {re.escape(name)}\n(.*?)```", DOC, re.DOTALL)
    assert match, name
    return match.group(1)


def console_lines(first: str) -> list[str]:
    """The lines of the console block whose command starts with ``first``."""
    start = DOC.index(f"$ {first}")
    return DOC[start : DOC.index("```", start)].splitlines()


def test_the_example_runs_as_shown(tmp_path: Path, target_app: Target) -> None:
    (tmp_path / "sleuth.yaml").write_text(block("sleuth.yaml"))
    (tmp_path / "test_shop.py").write_text(block("test_shop.py"))
    command, *shown = console_lines("SHOP_URL=")
    args = command.split("sleuth watch ", 1)[1].split()
    done = subprocess.run(
        [sys.executable, "-m", "sleuth", "watch", *args, "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SHOP_URL": target_app.url},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = [line for line in shown if not line.startswith("$")]
    got = done.stdout.splitlines()
    assert got[0] == expected[0]
    pattern = re.compile(r"\d\d:\d\d:\d\d|\d+\.\d\ds")  # the clock, the durations
    assert [pattern.sub("#", line) for line in got[1:]] == [
        pattern.sub("#", line) for line in expected[1:]
    ]


def test_the_error_line_is_the_real_one(tmp_path: Path) -> None:
    _command, line = console_lines("sleuth watch --every soon")[:2]
    done = subprocess.run(
        [sys.executable, "-m", "sleuth", "watch", "--every", "soon"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 4
    assert done.stderr.strip() == line
