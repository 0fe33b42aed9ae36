"""docs/history.md: its example suite is the one in examples/, and it runs as shown."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "history"
DOC = (ROOT / "docs" / "history.md").read_text()


def test_the_doc_shows_the_example_files_as_they_are():
    for name in ("sleuth.yaml", "test_checkout.py"):
        text = (EXAMPLE / name).read_text()
        assert text.strip() in DOC.replace(f"# {name}\n", ""), name


def sleuth(cwd: Path, *args: str, **environ: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sleuth", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **environ},
        check=False,
    )
    return done.stdout + done.stderr


def test_the_doc_example_runs_as_shown(tmp_path):
    suite = tmp_path / "checkout"
    shutil.copytree(EXAMPLE, suite)
    first = sleuth(suite, "run", "-q", "-p", "no:cacheprovider")
    assert (
        "history: run 1 recorded in .sleuth/history.db (1 run of staging kept; "
        "keeping 30 days)" in first
    )
    env = suite / "deploy.env"
    env.write_text(env.read_text().replace("FEATURE_FLAG_X=on", "FEATURE_FLAG_X=off"))
    second = sleuth(suite, "run", "-q", "-p", "no:cacheprovider")
    for line in (
        "setting FEATURE_FLAG_X: found in dotenv deploy.env. Looked in environment: "
        "absent; dotenv deploy.env: present.",
        "  probes that now fail (1):",
        "    test_checkout.py::test_feature_flag_x_is_on (passed -> failed)",
        "    FEATURE_FLAG_X: value changed",
    ):
        assert line in second.splitlines()
    assert re.search(
        r"^history: last passed: run 1, \d\d:\d\d \(just now\); failing since this "
        r"run$",
        second,
        re.MULTILINE,
    )
    assert re.search(
        r"^FEATURE_FLAG_X: value changed between run 1 \(\d\d:\d\d\) and run 2 ",
        sleuth(suite, "history", "FEATURE_FLAG_X"),
        re.MULTILINE,
    )
    diff = sleuth(suite, "diff")
    assert "everything passed) -> run 2 (" in diff
    assert "  FEATURE_FLAG_X: value changed" in diff.splitlines()

    # Each source on its own: the environment now shadows the file.
    third = sleuth(suite, "run", "-q", "-p", "no:cacheprovider", FEATURE_FLAG_X="on")
    assert "history: run 3 recorded" in third
    shown = sleuth(suite, "history", "FEATURE_FLAG_X").splitlines()
    at = shown.index("FEATURE_FLAG_X by source (runs 1 to 3):")
    assert re.fullmatch(
        r"  environment: present \(print [0-9a-f]{8}\), wins; appeared \d\d:\d\d "
        r"\(run 3, just now\)",
        shown[at + 1],
    ), shown
    assert re.fullmatch(
        r"  dotenv deploy.env: present \(print [0-9a-f]{8}\), differs from "
        r"environment, which wins; changed \d\d:\d\d \(run 2, just now\)",
        shown[at + 2],
    ), shown
