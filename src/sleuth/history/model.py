"""What the history store hands back: plain values, no SQLAlchemy in sight.

Timelines, diffs and their rendering work on these, so they are tested
without a database.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping

# What counts as "it worked" and "it was broken" when reading a probe's past.
# Skipped probes are neither: they do not end or start a failing streak.
PASSING = frozenset({"passed", "xfailed", "warned"})
FAILING = frozenset({"failed", "error", "blocked"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    """One stored run."""

    id: int
    target: str
    base_url: str | None
    agent: str
    started_at: _dt.datetime  # aware, UTC
    duration_s: float
    sleuth_version: str
    git_revision: str | None
    exit_status: int
    selection: tuple[str, ...]
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @property
    def all_passed(self) -> bool:
        return self.exit_status == 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResultRow:
    """One probe's result in one run."""

    run_id: int
    probe_id: str
    # As stored: the words of the sleuth that wrote the row, which may be older
    # than this one, so plain strings (sleuth._evidence.ProbeOutcome, Category).
    outcome: str
    category: str
    duration_s: float
    message: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingRow:
    """One setting as one run saw it: where, whether, and a keyed fingerprint."""

    run_id: int
    name: str
    source: str | None
    state: str  # present, empty, absent
    fingerprint: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunSnapshot:
    """A run with everything it stored, keyed for comparison."""

    run: RunRow
    results: Mapping[str, ResultRow]
    settings: Mapping[str, SettingRow]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProbePoint:
    """One point of a probe's timeline."""

    run_id: int
    started_at: _dt.datetime
    agent: str
    outcome: str
    category: str
    duration_s: float
    message: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingPoint:
    """One point of a setting's timeline."""

    run_id: int
    started_at: _dt.datetime
    agent: str
    source: str | None
    state: str
    fingerprint: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourcePoint:
    """What one source held for a setting in one run (whether it won or not)."""

    run_id: int
    started_at: _dt.datetime
    agent: str
    position: int  # the order the run asked its sources in
    source: str
    state: str  # present, empty, absent, error
    fingerprint: str | None


def as_utc(moment: _dt.datetime) -> _dt.datetime:
    """Stores keep naive UTC (SQLite has no time zones); make it aware again."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=_dt.UTC)
    return moment.astimezone(_dt.UTC)
