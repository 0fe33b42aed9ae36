"""Reading the past: a failure's history line, and a setting's changes.

Pure functions over ``model`` values, with ``now`` passed in, so the text is
tested exactly. A setting's past is read two ways: the source that won, run by
run (``setting_changes``), and each source on its own (``source_timelines``):
when the environment's value changed though a dotenv file won, when a file
gained or lost the name.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Sequence
from typing import Protocol, TypeVar

from sleuth.history.model import ProbePoint, SettingPoint, SourcePoint

P = TypeVar("P", SettingPoint, SourcePoint)  # a setting's point, or a source's


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
    """The points (oldest first) where a setting differs from the agent's run
    before: agents in several places hold their own values, and one that
    differs from another's is not a change."""
    changes: list[SettingChange] = []
    previous: dict[str, SettingPoint] = {}
    for point in sorted(points, key=lambda p: p.run_id):
        before = previous.get(point.agent)
        what = describe_setting_change(before, point)
        if what:
            changes.append(SettingChange(point=point, what=what))
        previous[point.agent] = _carrying_print(before, point)
    return changes


def _carrying_print(before: P | None, point: P) -> P:
    """``point`` as the next run is compared with: a run that kept no
    fingerprint of its value carries the last one known, so a value that
    changed across it shows at the next run with a print, not nowhere."""
    if (
        before is not None
        and point.fingerprint is None
        and point.state in HAS_VALUE
        and before.state == point.state
    ):
        return dataclasses.replace(point, fingerprint=before.fingerprint)
    return point


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
    elif _prints_differ(before.fingerprint, after.fingerprint):
        parts.append("value changed")
    return "; ".join(parts)


def _prints_differ(before: str | None, after: str | None) -> bool:
    """Two fingerprints of values that differ. A run kept in an agent's buffer
    before it knew the store's key has none (buffer.py): its value is unknown,
    not changed."""
    return before is not None and after is not None and before != after


def _where(point: SeenSetting) -> str:
    if point.state == "absent":
        return " (absent)"
    return f" in {point.source}" + (" (empty)" if point.state == "empty" else "")


# -- each source on its own -------------------------------------------------------

HAS_VALUE = frozenset({"present", "empty"})
PRINT_CHARS = 8  # of a keyed fingerprint, as the history's tables show it
CHANGES_LISTED = 3  # per source, newest first


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceChange:
    """A run in which a source held something else than when last asked."""

    point: SourcePoint
    what: str  # "changed", "appeared", "disappeared", "now empty", ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceTimeline:
    """One source's answers for a setting, over the runs that asked it."""

    source: str
    points: tuple[SourcePoint, ...]  # oldest first; runs that did not ask it skipped
    changes: tuple[SourceChange, ...]  # oldest first
    # In the latest run that read the setting: "wins", "same value as X",
    # "differs from X, which wins", "no value", or "not asked in run N".
    role: str

    @property
    def latest(self) -> SourcePoint:
        return self.points[-1]

    @property
    def since(self) -> SourcePoint:
        """The first run of the latest answer's streak."""
        return self.changes[-1].point if self.changes else self.points[0]


def describe_source_change(before: SourcePoint | None, after: SourcePoint) -> str:
    """How a source's answer differs from the last run that asked it; ``""`` if not."""
    if before is None:
        return ""
    if before.state == after.state and not _prints_differ(
        before.fingerprint, after.fingerprint
    ):
        return ""
    if after.state == "error":
        return "could not be read"
    if before.state == "error":
        return f"readable again ({after.state})"
    had, has = before.state in HAS_VALUE, after.state in HAS_VALUE
    if has and not had:
        return "appeared" + (" (empty)" if after.state == "empty" else "")
    if had and not has:
        return "disappeared"
    if before.state != after.state:
        return f"now {after.state}"
    return "changed"


def source_timelines(
    settings: Sequence[SettingPoint], sources: Sequence[SourcePoint]
) -> list[SourceTimeline]:
    """Each source's timeline over the runs of ``settings`` (the source that
    won, run by run), in the order the latest run asked them."""
    latest = max(settings, key=lambda p: p.run_id, default=None)
    by_source: dict[str, list[SourcePoint]] = {}
    for point in sorted(sources, key=lambda p: (-p.run_id, p.position)):
        by_source.setdefault(point.source, []).append(point)
    timelines = []
    for source, newest_first in by_source.items():
        points = tuple(reversed(newest_first))
        changes = []
        previous: dict[str, SourcePoint] = {}  # each agent's, as in setting_changes
        for point in points:
            before = previous.get(point.agent)
            what = describe_source_change(before, point)
            if what:
                changes.append(SourceChange(point=point, what=what))
            previous[point.agent] = _carrying_print(before, point)
        timelines.append(
            SourceTimeline(
                source=source,
                points=points,
                changes=tuple(changes),
                role=_role(points[-1], latest),
            )
        )
    return timelines


def _role(point: SourcePoint, latest: SettingPoint | None) -> str:
    if latest is None:
        return ""
    if point.run_id != latest.run_id:
        return f"not asked in run {latest.run_id}"
    if point.state not in HAS_VALUE:
        return "no value"
    if point.source == latest.source:
        return "wins"
    if point.fingerprint == latest.fingerprint and point.state == latest.state:
        return f"same value as {latest.source}"
    return f"differs from {latest.source}, which wins"


def source_line(timeline: SourceTimeline, *, oldest_run: int, now: _dt.datetime) -> str:
    """``environment: present (print 3fa1c0de), wins; changed 10:02 (run 41)``.

    Args:
        oldest_run: the oldest run read, so a source unchanged since then is
            said to be so "since at least" that run.
    """
    return _source_line(timeline, oldest_run=oldest_run, now=now) + _blind_note(
        timeline
    )


def _blind_note(timeline: SourceTimeline) -> str:
    """Runs read that kept no fingerprint of a value: a change of value there
    shows at the next run with one, or not at all, so the dates above are as
    far as prints go."""
    blind = [
        p.run_id
        for p in timeline.points
        if p.state in HAS_VALUE and p.fingerprint is None
    ]
    if not blind:
        return ""
    return (
        f"; {runs_named(blind)} kept no fingerprint of it (a change of value "
        "is dated from the next run that did)"
    )


def runs_named(ids: Sequence[int], most: int = 3) -> str:
    """``run 4``, ``runs 4 and 7``, ``runs 2, 4 and 7``, ``runs 2, 4, 7 and 5 more``."""
    if len(ids) == 1:
        return f"run {ids[0]}"
    if len(ids) > most:
        return (
            f"runs {', '.join(str(i) for i in ids[:most])} and {len(ids) - most} more"
        )
    *first, last = (str(i) for i in ids)
    return f"runs {', '.join(first)} and {last}"


def _source_line(
    timeline: SourceTimeline, *, oldest_run: int, now: _dt.datetime
) -> str:
    last = timeline.latest
    head = f"{timeline.source}: {last.state}"
    if last.state in HAS_VALUE and last.fingerprint:
        head += f" (print {last.fingerprint[:PRINT_CHARS]})"
    if timeline.role and timeline.role != "no value":
        head += f", {timeline.role}"
    if not timeline.changes:
        since = timeline.since
        note = "the oldest run read" if since.run_id <= oldest_run else "first asked"
        return (
            f"{head}; unchanged since {clock_time(since.started_at, now)} "
            f"(run {since.run_id}, {note})"
        )
    newest, *older = reversed(timeline.changes[-CHANGES_LISTED:])
    at = newest.point
    listed = [
        f"{newest.what} {clock_time(at.started_at, now)} "
        f"(run {at.run_id}, {ago(at.started_at, now)})",
        *(
            f"{c.what} {clock_time(c.point.started_at, now)} (run {c.point.run_id})"
            for c in older
        ),
    ]
    earlier = len(timeline.changes) - CHANGES_LISTED
    tail = f"; and {earlier} earlier" if earlier > 0 else ""
    return f"{head}; {'; '.join(listed)}{tail}"
