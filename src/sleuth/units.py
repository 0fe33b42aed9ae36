"""Parsing of the human units people write in config: ``2s``, ``150ms``, ``80%``."""

from __future__ import annotations

import re

from sleuth.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$")
_FACTORS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: object, *, where: str, what: str = "duration") -> float:
    """Seconds from ``2.5``, ``"2.5"``, ``"150ms"``, ``"2s"``, ``"1m"`` or ``"1h"``.

    Raises:
        ConfigError: naming ``where`` the value came from and an example.
    """
    if isinstance(value, bool):
        raise _bad_duration(value, where=where, what=what)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _FACTORS[match.group(2) or "s"]
    else:
        raise _bad_duration(value, where=where, what=what)
    if seconds <= 0:
        raise ConfigError(
            f"invalid {what} {value!r}: expected more than zero seconds, e.g. 2s",
            where=where,
        )
    return seconds


def _bad_duration(value: object, *, where: str, what: str) -> ConfigError:
    return ConfigError(
        f"invalid {what} {value!r}: expected seconds, e.g. 2.5, 2s or 150ms",
        where=where,
    )


def parse_positive_int(value: object, *, where: str, what: str) -> int:
    """A whole number above zero, from an int or a string of digits."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"invalid {what} {value!r}: expected a whole number above zero, e.g. 64",
            where=where,
        )
    return value
