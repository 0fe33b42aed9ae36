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


_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM])?\s*$")
_COUNT_FACTORS = {"k": 1_000, "m": 1_000_000}


def parse_count(value: object, *, where: str, what: str) -> int:
    """A whole number of zero or more: ``12``, ``"12"``, ``"10k"`` or ``"1.5M"``.

    Raises:
        ConfigError: naming ``where`` the value came from and an example.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _COUNT.match(value) if isinstance(value, str) else None
    if match is not None:
        factor = _COUNT_FACTORS[match.group(2).lower()] if match.group(2) else 1
        count = float(match.group(1)) * factor
        if count == int(count):
            return int(count)
    raise ConfigError(
        f"invalid {what} {value!r}: expected a whole number of zero or more, "
        f"e.g. 100 or 10k",
        where=where,
    )


_DAYS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|days?|w|weeks?|h)?\s*$")
_DAY_FACTORS = {"d": 1.0, "w": 7.0, "h": 1 / 24}


def parse_days(value: object, *, where: str, what: str) -> float:
    """Days, zero or more, from ``30``, ``"30"``, ``"30d"``, ``"2w"`` or ``"12h"``.

    Raises:
        ConfigError: naming ``where`` the value came from and an example.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DAYS.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"invalid {what} {value!r}: expected days, e.g. 30, 30d or 2w",
            where=where,
        )
    return float(match.group(1)) * _DAY_FACTORS[(match.group(2) or "d")[0]]
