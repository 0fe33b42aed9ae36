"""Reading the past: a failure's history line, and a setting's changes.

Pure functions over ``model`` values, with ``now`` passed in, so the text is
tested exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Sequence
from typing import Protocol

from sleuth.history.model import ProbePoint, SettingPoint


def failure_line(
    *,
    last_pass: ProbePoint | None,
    first_failure: ProbePoint | None,
    ran_it: int,
    kept_runs: int,
    now: _dt.datetime,
) -> str | None:
    """``last passed: run 41, 07:55 (10 min ago); failing since run 42, 08:05``.

    None when the store has no earlier run to speak of.

    Args:
        last_pass: the probe's latest passing result in an earlier run.
        first_failure: its earliest failure after ``last_pass`` (after every
            run, when it never passed).
        ran_it: how many earlier runs ran this probe (a subset may not have).
        kept_runs: how many earlier runs of this target the store keeps.
    """
    if kept_runs == 0:
        return None
    if last_pass is None:
        if not ran_it:
            return f"a new probe: not in the {runs_text(kept_runs)} kept"
        if ran_it == kept_runs:
            return f"never passed in the {runs_text(kept_runs)} kept"
        return f"never passed in the {runs_text(ran_it)} that ran it ({kept_runs} kept)"
    head = (
        f"last passed: run {last_pass.run_id}, {clock_time(last_pass.started_at, now)}"
        f" ({ago(last_pass.started_at, now)})"
    )
    if first_failure is None:
        return f"{head}; failing since this run"
    since = clock_time(first_failure.started_at, now)
    return f"{head}; failing since run {first_failure.run_id}, {since}"


def runs_text(n: int) -> str:
    return f"{n} runs" if n != 1 else "1 run"


def clock_time(moment: _dt.datetime, now: _dt.datetime) -> str:
    """``07:55`` today (local time), ``2026-10-30 07:55`` on another day."""
    local = moment.astimezone()
    if local.date() == now.astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def ago(moment: _dt.datetime, now: _dt.datetime) -> str:
    """``just now``, ``10 min ago``, ``3 h ago``, ``2 days ago``."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingChange:
    """A point where a setting's source, state or fingerprint differs from before."""

    point: SettingPoint
    what: str  # "first seen", "value changed", "moved from X to Y", ...


def setting_changes(points: Sequence[SettingPoint]) -> list[SettingChange]:
    """The points (oldest first) where a setting differs from the run before."""
    changes: list[SettingChange] = []
    previous: SettingPoint | None = None
    for point in sorted(points, key=lambda p: p.run_id):
        what = describe_setting_change(previous, point)
        if what:
            changes.append(SettingChange(point=point, what=what))
        previous = point
    return changes


class SeenSetting(Protocol):
    """A setting as one run saw it (``SettingRow`` or ``SettingPoint``)."""

    @property
    def source(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def fingerprint(self) -> str | None: ...


def describe_setting_change(
    before: SeenSetting | None, after: SeenSetting | None
) -> str:
    """How a setting differs between two runs, in words; ``""`` when it does not."""
    if after is None:
        return "" if before is None else "not read"
    if before is None:
        return "first seen" + _where(after)
    was_there = before.state != "absent"
    is_there = after.state != "absent"
    if not was_there and is_there:
        return "appeared" + _where(after)
    if was_there and not is_there:
        return f"vanished (was in {before.source})"
    if not is_there:
        return ""
    parts: list[str] = []
    if before.source != after.source:
        parts.append(f"moved from {before.source} to {after.source}")
    if before.state != after.state:
        parts.append(f"now {after.state}")
    elif before.fingerprint != after.fingerprint:
        parts.append("value changed")
    return "; ".join(parts)


def _where(point: SeenSetting) -> str:
    if point.state == "absent":
        return " (absent)"
    return f" in {point.source}" + (" (empty)" if point.state == "empty" else "")
