"""Parsing of the human units people write in config: ``2s``, ``150ms``, ``80%``."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Literal

from sleuth.errors import ConfigError

# The one grammar of a length of time, wherever sleuth reads one (a timeout,
# a certificate's days left, the history's retention): a number, then a unit.
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$")
TIME_UNITS_S = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}


def seconds_in(value: object, *, bare: str | None) -> float | None:
    """Seconds in ``"150ms"``, ``"2s"``, ``"1 min"``, ``"12h"``, ``"30d"`` or ``"2w"``.

    A bare number (``2.5``, ``"30"``) is in the unit ``bare``; with ``bare=None``
    a unit must be written. None when ``value`` is no length of time.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) * TIME_UNITS_S[bare] if bare else None
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    unit = match.group(2) or bare
    if unit not in TIME_UNITS_S:
        return None
    return float(match.group(1)) * TIME_UNITS_S[unit]


def parse_duration(value: object, *, where: str, what: str = "duration") -> float:
    """Seconds from ``2.5``, ``"2.5"``, ``"150ms"``, ``"2s"``, ``"1m"`` or ``"1h"``.

    Any unit of ``seconds_in`` is read; a bare number is seconds.

    Raises:
        ConfigError: naming ``where`` the value came from and an example.
    """
    seconds = seconds_in(value, bare="s")
    if seconds is None:
        raise _bad_duration(value, where=where, what=what)
    if not math.isfinite(seconds):  # YAML's .inf and .nan: no deadline at all
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


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_SHARE = re.compile(r"^\s*(\d*\.\d+)\s*$")
# 1024-based, as PostgreSQL, MySQL and Redis read "512MB" in their own configs.
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$", re.IGNORECASE)
_BYTE_UNITS = ("", "k", "m", "g", "t", "p")
_BYTE_LABELS = ("bytes", "KB", "MB", "GB", "TB", "PB")


def parse_percent(value: object, *, where: str, what: str) -> float:
    """A share above zero and at most one, from ``"80%"``, ``0.8`` or ``"0.8"``.

    Raises:
        ConfigError: naming ``where`` the value came from and an example.
    """
    share: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        share = float(value)
    elif isinstance(value, str) and (match := _PERCENT.match(value)):
        share = float(match.group(1)) / 100
    elif isinstance(value, str) and (match := _SHARE.match(value)):
        share = float(match.group(1))
    if share is None or not 0 < share <= 1:
        raise ConfigError(
            f"invalid {what} {value!r}: expected a share above 0 and at most 100%, "
            f"e.g. 80% or 0.8",
            where=where,
        )
    return share


def parse_bytes(value: object, *, where: str, what: str) -> int:
    """Bytes above zero from ``1048576``, ``"512MB"``, ``"1.5G"`` or ``"64kb"``.

    Units are 1024-based (``1KB`` is 1024 bytes), as PostgreSQL, MySQL and Redis
    read them in their own configs; ``KiB``/``MiB`` are accepted too.

    Raises:
        ConfigError: naming ``where`` the value came from and an example.
    """
    amount: float | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        amount = float(value)
    elif isinstance(value, str) and (match := _BYTES.match(value)):
        power = _BYTE_UNITS.index(match.group(2).lower())
        amount = float(match.group(1)) * 1024**power
    if amount is None or amount < 1:
        raise ConfigError(
            f"invalid {what} {value!r}: expected a size in bytes above zero, "
            f"e.g. 512MB, 1.5GB or 1048576",
            where=where,
        )
    return int(amount)


def format_bytes(amount: float) -> str:
    """``1.5 GB``, ``993 KB`` or ``12 bytes``: 1024-based, like ``parse_bytes``."""
    power = 0
    while abs(amount) >= 1024 and power < len(_BYTE_LABELS) - 1:
        amount /= 1024
        power += 1
    return f"{amount:.4g} {_BYTE_LABELS[power]}" if power else f"{amount:g} bytes"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    """A ceiling: a share of the server's own maximum, or an amount.

    ``max_connections_used: 80%`` (or ``0.8``) is a share of max_connections;
    ``max_connections_used: 90`` is 90 connections.
    """

    share: float | None = None
    amount: int | None = None
    unit: Literal["count", "bytes"] = "count"

    def of(self, maximum: float | None) -> float | None:
        """The ceiling as an amount; None for a share of an unknown maximum."""
        if self.amount is not None:
            return self.amount
        if self.share is None or not maximum:
            return None
        return self.share * maximum

    def __str__(self) -> str:
        if self.share is not None:
            return f"{self.share * 100:g}%"
        if self.unit == "bytes":
            return format_bytes(self.amount or 0)
        return str(self.amount)


def parse_limit(
    value: object,
    *,
    where: str,
    what: str,
    unit: Literal["count", "bytes"] = "count",
) -> Limit:
    """A ``Limit`` from ``"80%"`` or ``0.8`` (a share), or ``90`` / ``"512MB"``.

    A whole number is an amount; a fraction up to 1 or a percentage is a share.

    Raises:
        ConfigError: naming ``where`` the value came from and both forms.
    """
    if isinstance(value, Limit):
        return value
    is_share = (
        isinstance(value, float)
        or (isinstance(value, str) and "%" in value)
        or (isinstance(value, str) and _SHARE.match(value) is not None)
    )
    if is_share:
        return Limit(share=parse_percent(value, where=where, what=what), unit=unit)
    parse = parse_bytes if unit == "bytes" else parse_count
    try:
        amount = parse(value, where=where, what=what)
    except ConfigError:
        amount = 0
    if amount > 0:
        return Limit(amount=amount, unit=unit)
    example = "512MB" if unit == "bytes" else "90"
    raise ConfigError(
        f"invalid {what} {value!r}: expected a share of the server's maximum, "
        f"e.g. 80% or 0.8, or an amount above zero, e.g. {example}",
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


def parse_days(value: object, *, where: str, what: str) -> float:
    """Days, zero or more, from ``30``, ``"30"``, ``"30d"``, ``"2w"`` or ``"12h"``.

    Any unit of ``seconds_in`` is read; a bare number is days.

    Raises:
        ConfigError: naming ``where`` the value came from and an example.
    """
    seconds = seconds_in(value, bare="d")
    if seconds is None or not seconds >= 0:  # NaN is not >= 0
        raise ConfigError(
            f"invalid {what} {value!r}: expected days, e.g. 30, 30d or 2w",
            where=where,
        )
    return seconds / TIME_UNITS_S["d"]


TLS_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_TLS_VERSION = re.compile(r"^\s*(?:tls\s*v?|v)?\s*(1(?:\.[0-3])?)\s*$", re.IGNORECASE)


def parse_tls_version(value: object, *, where: str, what: str) -> str:
    """A TLS protocol version as Python's ssl names it: ``"1.2"``, ``"TLSv1.2"``,
    ``"tls1.3"`` or ``1.2`` -> ``"TLSv1.2"``.

    Raises:
        ConfigError: listing the versions there are.
    """
    text = str(value) if isinstance(value, int | float | str) else ""
    match = _TLS_VERSION.match(text) if not isinstance(value, bool) else None
    if match is None:
        raise ConfigError(
            f"invalid {what} {value!r}: expected a TLS version, one of "
            f"1.0, 1.1, 1.2, 1.3 (or TLSv1.2 ...)",
            where=where,
        )
    number = match.group(1)
    return "TLSv1" if number in ("1", "1.0") else f"TLSv{number}"


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def parse_flag(value: object, *, where: str, what: str) -> bool:
    """True or False, from a bool or ``yes``/``no``, ``true``/``false``, ``1``/``0``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"invalid {what} {value!r}: expected true or false", where=where)
