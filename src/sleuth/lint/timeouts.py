"""Timeouts a suite writes, held against the run's budget."""

from __future__ import annotations

import dataclasses

from sleuth.errors import ConfigError
from sleuth.suite.units import parse_duration


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutLimits:
    """The budget a run of the suite has (``budget:`` in its config), if any."""

    budget_s: float | None = None
    budget_where: str = ""

    def over_budget(self, value: object) -> str | None:
        """Why ``value`` (seconds, or a duration such as ``"90s"``) is too long;
        None when it fits, or when it is no duration (the run says so then)."""
        if self.budget_s is None or isinstance(value, bool):
            return None
        try:
            seconds = parse_duration(value, where="lint", what="timeout")
        except ConfigError:
            return None
        if seconds <= self.budget_s:
            return None
        return (
            f"timeout {_seconds(seconds)} is longer than the run's budget of "
            f"{_seconds(self.budget_s)} ({self.budget_where}): the run ends "
            f"before it could expire. Lower it, or raise the budget"
        )


def _seconds(value: float) -> str:
    return f"{value:g} s"
