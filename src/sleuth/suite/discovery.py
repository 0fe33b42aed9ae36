"""Finding a suite's config file: cheap, because the plugin does it in every run.

A suite is the directory of the nearest sleuth.yaml, or of a pyproject.toml
with a ``[tool.sleuth]`` table, from where the tests are and upward.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sleuth.errors import ConfigError

CONFIG_FILE = "sleuth.yaml"
PYPROJECT_FILE = "pyproject.toml"


def find_suite_config(start: Path) -> Path | None:
    """The nearest sleuth.yaml, or pyproject.toml with ``[tool.sleuth]``, upward.

    Raises:
        ConfigError: when the nearest sleuth.yaml is there but is no file (a
            directory, say): going on upward would quietly pick another suite.
    """
    start = start if start.is_dir() else start.parent
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            return candidate
        if candidate.exists():
            raise ConfigError(
                "is not a file (a directory, or a device): sleuth reads its "
                "suite's config from a file by this name. Rename it, or pass "
                "--sleuth-config PATH",
                where=_shown(candidate),
            )
        pyproject = directory / PYPROJECT_FILE
        if pyproject.is_file() and _has_tool_sleuth(pyproject):
            return pyproject
    return None


def find_config_file(
    args: Sequence[str], invocation_dir: Path, explicit: str | None
) -> Path | None:
    """The suite's config: ``--sleuth-config``, else the nearest one to the tests."""
    if explicit:
        path = (invocation_dir / explicit).resolve()
        if path.is_dir():
            raise ConfigError(
                f"{path} is a directory: name the config file in it, e.g. "
                f"{path / CONFIG_FILE}",
                where="--sleuth-config",
            )
        if not path.is_file():
            raise ConfigError(f"no such file: {path}", where="--sleuth-config")
        return path
    for arg in args:
        if arg.startswith("-"):
            continue
        candidate = invocation_dir / arg.split("::")[0]
        if candidate.exists():
            return find_suite_config(candidate.resolve())
    return find_suite_config(invocation_dir)


def may_use_http(args: Sequence[str], invocation_dir: Path) -> bool:
    """Whether a run with these pytest arguments may make HTTP requests.

    Read before pytest parses the arguments, so it errs towards True: False
    only when the suite's config file (found as the plugin will find it) names
    no ``base_url`` at all, or there is none. A probe may still request a full
    URL then; it is made by the run itself (see ``http_worker``).
    """
    for i, arg in enumerate(args):
        name, eq, _ = arg.partition("=")
        if name.startswith("--sleuth-c") and (
            name != "--sleuth-config" or not (eq or i + 1 < len(args))
        ):
            return True  # an abbreviation argparse may take, or no value: no guess
    explicit = option_value(args, "--sleuth-config")
    try:
        found = find_config_file(args, invocation_dir, explicit)
        return found is not None and "base_url" in found.read_text(encoding="utf-8")
    except (ConfigError, OSError, ValueError):
        return True  # the plugin will say what is wrong; do not guess here


def option_value(args: Sequence[str], *names: str) -> str | None:
    """The value pytest will take for the option ``names`` (its spellings) in
    ``args``, read before pytest parses them: ``--name V`` or ``--name=V``, the
    last one given as argparse takes it; None when none is given with a value."""
    found = None
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in names:
            if eq:
                found = value
            elif i + 1 < len(args):
                found = args[i + 1]
    return found


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _has_tool_sleuth(pyproject: Path) -> bool:
    # Bytes, not text: a pyproject.toml that is not UTF-8 is reported by
    # whoever reads it (sleuth's config, if it has [tool.sleuth]), not here.
    try:
        raw = pyproject.read_bytes()
    except OSError:
        return False
    return re.search(rb"^\[tool\.sleuth[.\]]", raw, re.MULTILINE) is not None
