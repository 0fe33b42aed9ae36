"""Finding a suite's config file: cheap, because the plugin does it in every run.

A suite is the directory of the nearest sleuth.yaml, or of a pyproject.toml
with a ``[tool.sleuth]`` table, from where the tests are and upward.
"""

from __future__ import annotations

import re
from pathlib import Path

CONFIG_FILE = "sleuth.yaml"
PYPROJECT_FILE = "pyproject.toml"


def find_suite_config(start: Path) -> Path | None:
    """The nearest sleuth.yaml, or pyproject.toml with ``[tool.sleuth]``, upward."""
    start = start if start.is_dir() else start.parent
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT_FILE
        if pyproject.is_file() and _has_tool_sleuth(pyproject):
            return pyproject
    return None


def _has_tool_sleuth(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return False
    return re.search(r"^\[tool\.sleuth[.\]]", text, re.MULTILINE) is not None
