"""Checking config and tables: unknown keys with a guess, wrong types named."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from sleuth.errors import ConfigError
from sleuth.suite.yamlfile import Lines

PathT = tuple[str | int, ...]
# Top-level keys of sleuth.yaml or a probe table that start with this are left
# alone: a place for anchors (`x-common: &common {...}`) that other values
# merge (`<<: *common`), as in Compose files.
EXTENSION_PREFIX = "x-"


def without_extensions(data: Mapping[Any, Any]) -> dict[Any, Any]:
    """``data`` less its ``x-`` keys (``EXTENSION_PREFIX``)."""
    return {
        key: value
        for key, value in data.items()
        if not (isinstance(key, str) and key.startswith(EXTENSION_PREFIX))
    }


def kind_of(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` when a choice is close to ``word``, else ``""``."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {matches[0]!r}?" if matches else ""


def check_keys(
    mapping: Mapping[str, Any],
    allowed: Iterable[str],
    *,
    path: PathT,
    lines: Lines,
    what: str,
) -> None:
    """Fail on the first key of ``mapping`` that is not in ``allowed``."""
    allowed = sorted(allowed)
    for key in mapping:
        if key not in allowed:
            raise ConfigError(
                f"unknown key {key!r} in {what}. Valid keys: {', '.join(allowed)}."
                f"{did_you_mean(str(key), allowed)}",
                where=lines.where((*path, str(key))),
            )


def expect_type(
    value: Any,
    kind: Any,
    *,
    path: PathT,
    lines: Lines,
    what: str,
    example: str,
) -> Any:
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise ConfigError(
            f"{what} must be {example}, found {kind_of(value)}",
            where=lines.where(path),
        )
    return value
