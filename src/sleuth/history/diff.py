"""What differs between two runs: outcomes, probes, settings, latency.

Pure: two ``RunSnapshot`` values in, a ``RunDiff`` out, rendered as lines
(for the terminal) or as JSON. A setting's value is never compared, only its
keyed fingerprint, its source and whether it had one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sleuth._timing import format_duration
from sleuth.history.model import FAILING, PASSING, RunRow, RunSnapshot, SettingRow
from sleuth.history.timeline import HAS_VALUE, describe_setting_change, runs_named

# A probe's latency "moved" when it more than doubled or halved...
LATENCY_FACTOR = 2.0
# ...by at least this much: 1 ms -> 3 ms is noise, not news.
LATENCY_FLOOR_S = 0.02


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Flip:
    probe_id: str
    before: str
    after: str
    message: str  # why it fails now (or failed before), scrubbed


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingDiff:
    name: str
    change: str  # "value changed", "appeared in env", "moved from X to Y", ...
    before_source: str | None
    after_source: str | None
    before_state: str | None
    after_state: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LatencyMove:
    probe_id: str
    before_s: float
    after_s: float

    @property
    def factor(self) -> float:
        low = max(min(self.before_s, self.after_s), 1e-9)
        return max(self.before_s, self.after_s) / low


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunDiff:
    """Run ``a`` (usually the last in which everything passed) against run ``b``."""

    a: RunRow
    b: RunRow
    flipped: list[Flip]
    new_probes: list[str]
    removed_probes: list[str]
    settings: list[SettingDiff]
    latency: list[LatencyMove]
    # Probes of run b that run a left out though earlier runs ran them: run a
    # was a subset (-k, node ids), so they are not new and nothing is compared.
    not_run_in_a: list[str] = dataclasses.field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.flipped
            or self.new_probes
            or self.not_run_in_a
            or self.removed_probes
            or self.settings
            or self.latency
        )

    def to_json(self) -> dict[str, Any]:
        def run(row: RunRow) -> dict[str, Any]:
            return {
                "id": row.id,
                "target": row.target,
                "agent": row.agent,
                "started_at": row.started_at.isoformat(),
                "exit_status": row.exit_status,
                "git_revision": row.git_revision,
                "selection": list(row.selection),
            }

        return {
            "a": run(self.a),
            "b": run(self.b),
            "flipped": [dataclasses.asdict(f) for f in self.flipped],
            "new_probes": self.new_probes,
            "not_run_in_a": self.not_run_in_a,
            "removed_probes": self.removed_probes,
            "settings": [dataclasses.asdict(s) for s in self.settings],
            "latency": [
                {**dataclasses.asdict(m), "factor": round(m.factor, 2)}
                for m in self.latency
            ],
        }

    def sections(self) -> list[tuple[str, list[str]]]:
        """``(heading, entries)`` of each kind of change there is, in order."""
        now_failing = [f for f in self.flipped if f.after in FAILING]
        other_flips = [f for f in self.flipped if f.after not in FAILING]
        sections = [
            (
                "probes that now fail",
                [f"{f.probe_id} ({f.before} -> {f.after})" for f in now_failing],
            ),
            (
                "probes that changed outcome",
                [f"{f.probe_id} ({f.before} -> {f.after})" for f in other_flips],
            ),
            ("settings", [f"{c.name}: {c.change}" for c in self.settings]),
            (
                f"latency that moved more than {LATENCY_FACTOR:g}x",
                [
                    f"{m.probe_id}: {format_duration(m.before_s)} -> "
                    f"{format_duration(m.after_s)}"
                    for m in self.latency
                ],
            ),
            (f"probes new in run {self.b.id}", self.new_probes),
            (
                f"probes run {self.a.id} did not run (a subset), so not compared",
                self.not_run_in_a,
            ),
            (f"probes not in run {self.b.id}", self.removed_probes),
        ]
        return [(f"{h} ({len(e)})", e) for h, e in sections if e]

    def render(self, *, indent: str = "  ", most: int | None = None) -> list[str]:
        """Lines for people; ``[]`` when nothing differs.

        ``most`` caps the entries listed under each heading (the rest counted).
        """
        lines: list[str] = []
        for heading, entries in self.sections():
            lines.append(f"{heading}:")
            shown = entries if most is None else entries[:most]
            lines.extend(f"{indent}{entry}" for entry in shown)
            if len(shown) < len(entries):
                lines.append(f"{indent}... and {len(entries) - len(shown)} more")
        return lines


def _not_compared(was: SettingRow, now: SettingRow, a_id: int, b_id: int) -> str:
    """Said of a value that may have changed unseen: a run kept no fingerprint
    of it (a run buffered before its agent knew the store's key, or an xdist
    run whose workers saw the setting otherwise than its controller), so
    "no setting changed" would be a guess."""
    if was.state not in HAS_VALUE or now.state not in HAS_VALUE:
        return ""
    blind = [
        run for run, seen in ((a_id, was), (b_id, now)) if seen.fingerprint is None
    ]
    if not blind:
        return ""
    return f"value not compared ({runs_named(blind)} kept no fingerprint of it)"


def diff_runs(
    a: RunSnapshot, b: RunSnapshot, *, known_before_a: frozenset[str] = frozenset()
) -> RunDiff:
    """Everything that differs from ``a`` to ``b``.

    ``known_before_a``: probes of ``b`` that runs before ``a`` ran; those
    ``a`` left out are listed as not run in ``a``, not as new.
    """
    flipped: list[Flip] = []
    latency: list[LatencyMove] = []
    for probe_id in sorted(set(a.results) & set(b.results)):
        before, after = a.results[probe_id], b.results[probe_id]
        if before.outcome != after.outcome:
            message = after.message if after.outcome not in PASSING else ""
            flipped.append(
                Flip(
                    probe_id=probe_id,
                    before=before.outcome,
                    after=after.outcome,
                    message=message or before.message,
                )
            )
        elif _moved(before.duration_s, after.duration_s):
            latency.append(
                LatencyMove(
                    probe_id=probe_id,
                    before_s=before.duration_s,
                    after_s=after.duration_s,
                )
            )
    changes: list[SettingDiff] = []
    for name in sorted(set(a.settings) | set(b.settings)):
        was, now = a.settings.get(name), b.settings.get(name)
        if was is None or now is None:
            continue  # read by one run only: its selection differed, not the setting
        what = describe_setting_change(was, now) or _not_compared(
            was, now, a.run.id, b.run.id
        )
        if what:
            changes.append(
                SettingDiff(
                    name=name,
                    change=what,
                    before_source=was.source,
                    after_source=now.source,
                    before_state=was.state,
                    after_state=now.state,
                )
            )
    return RunDiff(
        a=a.run,
        b=b.run,
        flipped=flipped,
        new_probes=sorted(set(b.results) - set(a.results) - known_before_a),
        not_run_in_a=sorted((set(b.results) - set(a.results)) & known_before_a),
        removed_probes=sorted(set(a.results) - set(b.results)),
        settings=changes,
        latency=latency,
    )


def _moved(before_s: float, after_s: float) -> bool:
    if before_s <= 0 or after_s <= 0:
        return False
    if abs(after_s - before_s) < LATENCY_FLOOR_S:
        return False
    return max(before_s, after_s) / min(before_s, after_s) > LATENCY_FACTOR
