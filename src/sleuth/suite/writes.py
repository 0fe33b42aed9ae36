"""``writes:`` in sleuth.yaml: probes that count as marked ``@pytest.mark.writes``.

A suite that already has probes which write (the seed article's POST endpoint
checks) can say so in its config instead of editing every test:

    writes:
      - test_api.py::test_api_endpoints[/users-POST-*]

Patterns match node ids whole, with ``*`` (any run of characters, ``::`` and
``/`` included) and ``?`` (one character). Everything else is literal, square
brackets included: node ids carry them for every parametrized probe, so they
cannot mean character classes as they would in ``fnmatch``. A pattern is
tried on the node id relative to the config's folder and on pytest's own node
id (relative to pytest's rootdir), so it reads the same whichever folder
pytest was started from. The run still needs ``--allow-writes``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path


@functools.lru_cache(maxsize=8)
def compile_patterns(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regular expression for all the patterns; None when there are none."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_translate(p)})" for p in patterns))


def _translate(pattern: str) -> str:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def is_intended_write(
    nodeid: str, path: Path | None, patterns: tuple[str, ...], root: Path
) -> bool:
    """Does a pattern of ``writes:`` name the probe ``nodeid`` (file at ``path``)?"""
    compiled = compile_patterns(patterns)
    if compiled is None:
        return False
    if compiled.fullmatch(nodeid):
        return True
    relative = _relative_to_suite(nodeid, path, root)
    return relative is not None and compiled.fullmatch(relative) is not None


def _relative_to_suite(nodeid: str, path: Path | None, root: Path) -> str | None:
    """``nodeid`` with its file part relative to the config's folder."""
    if path is None:
        return None
    try:
        file_part = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    _, sep, rest = nodeid.partition("::")
    return file_part + sep + rest
