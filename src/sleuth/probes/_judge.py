"""The thresholds of ``check()``: read from human units, and figures judged by them.

Every kind names its thresholds the same way (``role``, ``max_replication_lag``,
``max_connections_used``...) and says a breach the same way: the figure, what
was seen, the threshold and its value, then what to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sleuth._timing import format_duration
from sleuth.errors import ConfigError
from sleuth.probes._dependency import over, unhealthy
from sleuth.suite.units import Limit, parse_count, parse_duration, parse_limit

# (value, where, what) -> the threshold in sleuth's units; raises ConfigError.
Parser = Callable[[object, str, str], Any]


def duration(value: object, where: str, what: str) -> float:
    return parse_duration(value, where=where, what=what)


def count(value: object, where: str, what: str) -> int:
    return parse_count(value, where=where, what=what)


def limit(value: object, where: str, what: str) -> Limit:
    """``"80%"`` / ``0.8`` of the server's maximum, or a count such as ``90``."""
    return parse_limit(value, where=where, what=what, unit="count")


def byte_limit(value: object, where: str, what: str) -> Limit:
    """``"80%"`` / ``0.8`` of the server's maximum, or a size such as ``"512MB"``."""
    return parse_limit(value, where=where, what=what, unit="bytes")


def role(value: object, where: str, what: str) -> str:
    """``primary`` or ``replica`` (``master`` and ``slave`` read as those)."""
    named = {"master": "primary", "slave": "replica"}.get(str(value), str(value))
    if named not in ("primary", "replica"):
        raise ConfigError(
            f"invalid {what} {value!r}: expected primary or replica", where=where
        )
    return named


class Verdict:
    """The figures of one check that are past their thresholds, with hints."""

    def __init__(self, limits: Mapping[str, Any]) -> None:
        self.limits = limits
        self.problems: list[str] = []
        self._hints: list[str] = []

    def add(self, problem: str, hint: str) -> None:
        self.problems.append(problem)
        if hint not in self._hints:
            self._hints.append(hint)

    def role(self, seen: str, *, hint: str) -> None:
        """``role``: the server is the primary or a replica, as expected."""
        expected = self.limits.get("role")
        if expected is not None and seen != expected:
            self.add(f"the server is a {seen}, expected a {expected} (role)", hint)

    def ceiling(
        self,
        figure: str,
        seen: float | None,
        key: str,
        *,
        hint: str,
        show: Callable[[Any], str] = str,
    ) -> None:
        """``key``: ``seen`` is at most the threshold (no figure, no judgement)."""
        most = self.limits.get(key)
        if most is not None and seen is not None and seen > most:
            self.add(over(figure, show(seen), key, show(most)), hint)

    def lag(self, seen_s: float | None, *, is_replica: bool, hint: str) -> None:
        """``max_replication_lag`` on a replica; a primary has none to judge."""
        most = self.limits.get("max_replication_lag")
        if most is None or not is_replica:
            return
        if seen_s is None:
            self.add(
                f"replication lag unknown (the replica reports none), expected at "
                f"most {format_duration(most)} (max_replication_lag)",
                hint,
            )
        else:
            self.ceiling(
                "replication lag",
                seen_s,
                "max_replication_lag",
                hint=hint,
                show=format_duration,
            )

    def share(
        self,
        figure: str,
        seen: float,
        maximum: float | None,
        key: str,
        *,
        hint: str,
        show: Callable[[float], str] = lambda n: f"{n:g}",
        of_what: str = "",
    ) -> None:
        """``key`` as a Limit: ``seen`` against a share of ``maximum`` or an amount."""
        most: Limit | None = self.limits.get(key)
        if most is None:
            return
        ceiling = most.of(maximum)
        if ceiling is None:
            self.add(
                f"{figure} {show(seen)}, but {key} {most} is a share of a maximum "
                f"the server does not set{of_what}",
                "Give the threshold as an amount instead.",
            )
            return
        if seen > ceiling:
            seen_text = show(seen)
            if maximum:
                share = seen / maximum
                shown = f"{share:.0%}" if share >= 0.01 else "under 1%"
                seen_text += f" of {show(maximum)}{of_what} ({shown})"
            self.add(over(figure, seen_text, key, most), hint)

    def raise_if_any(self, kind: str, display: str) -> None:
        """Fail the probe (category "unhealthy") when any figure is past its mark."""
        __tracebackhide__ = True
        if self.problems:
            raise unhealthy(kind, display, self.problems, " ".join(self._hints))
