"""The sleuth section at the end of a pytest run, and evidence under a failure.

Pure functions from records to lines, so tests compare exact text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from sleuth._evidence import Exchange, ProbeRecord, SettingLookup
from sleuth._timing import format_duration
from sleuth.reports.causes import RootCause
from sleuth.reports.mdtext import counted, in_outcome_order, outcome_counts

SLOWEST_SHOWN = 3
EXCERPT_LINES = 6


def render_evidence(
    exchanges: Sequence[Exchange], settings: Sequence[SettingLookup]
) -> str:
    """What the probe asked and what came back, compactly, for a failure."""
    lines: list[str] = []
    for lookup in settings:
        lines.append(f"setting {lookup.describe()}")
    for exchange in exchanges:
        remote = f" from {exchange.remote}" if exchange.remote else ""
        attempt = f" (attempt {exchange.attempt})" if exchange.attempt > 1 else ""
        lines.append(f"{exchange.summary()}{remote}{attempt}")
        timings = {k: v for k, v in exchange.timings_ms.items() if k != "total"}
        if timings:
            lines.append(
                "  timings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in timings.items())
            )
        busy = exchange.busy_note()
        if busy:
            lines.append(f"  {busy}")
        for key, value in exchange.headers.items():
            lines.append(f"  {key}: {value}")
        if exchange.body_excerpt:
            body = exchange.body_excerpt.strip().splitlines()
            shown = body[:EXCERPT_LINES]
            lines.append("  body: " + (shown[0] if shown else ""))
            lines.extend("        " + line for line in shown[1:])
            if len(body) > EXCERPT_LINES or (exchange.body_bytes or 0) > len(
                exchange.body_excerpt
            ):
                lines.append(f"        ... ({exchange.body_bytes} bytes in all)")
    return "\n".join(lines)


def render_summary(
    records: Sequence[ProbeRecord],
    *,
    target: str,
    base_url: str | None,
    wall_s: float,
    ran_ahead: int,
    causes: Sequence[RootCause] = (),
    history: Mapping[str, str] | None = None,
    own_trouble: Sequence[str] = (),
    held: str | None = None,
) -> list[str]:
    """The lines of the sleuth section: counts, slowest, and a diagnosis per failure.

    ``history`` maps a failed probe's id to its line of history ("last passed: ...").
    ``own_trouble``: what went wrong in sleuth itself (its HTTP worker died),
    said right under the counts so nobody reads it as the target's.
    ``held``: what the read-only rule held, when the probes' own code used
    clients it could not (see reports/clients.py).
    """
    counts: Counter[str] = Counter(record.outcome for record in records)
    head = (
        f"target {target} {base_url or ''}".rstrip()
        + f": {counted(len(records), 'probe')} in {format_duration(wall_s)}: "
        + outcome_counts(in_outcome_order(counts))
    )
    if ran_ahead:
        head += f" ({ran_ahead} ran at once)"
    lines = [head, *own_trouble, *([held] if held else [])]
    timed = sorted(
        (r for r in records if r.duration_s > 0), key=lambda r: -r.duration_s
    )
    if timed:
        lines.append("slowest:")
        lines.extend(
            f"  {format_duration(r.duration_s):>9}  {r.probe_id}"
            for r in timed[:SLOWEST_SHOWN]
        )
    if causes:
        lines.append("likely root causes:")
        lines.extend(f"  {i}. {cause.line()}" for i, cause in enumerate(causes, 1))
    failures = [r for r in records if r.outcome in ("failed", "error")]
    if failures:
        lines.append("what failed:")
        for record in failures:
            lines.append(f"  {record.probe_id}")
            kind = f"[{record.category}] " if record.outcome == "error" else ""
            lines.append(f"      {kind}{record.diagnosis or record.outcome}")
            if history and record.probe_id in history:
                lines.append(f"      {history[record.probe_id]}")
    blocked = [r for r in records if r.outcome == "blocked"]
    if blocked:
        lines.append(
            f"blocked ({len(blocked)}): " + ", ".join(r.probe_id for r in blocked)
        )
    for record in records:
        if record.outcome == "warned":
            lines.append(f"warned: {record.probe_id}: {'; '.join(record.warnings)}")
    return lines


def render_flaky(records: Sequence[ProbeRecord]) -> list[str]:
    """Probes that passed only on retry, each with the retries it took."""
    flaky = [r for r in records if r.flaky]
    if not flaky:
        return []
    lines = [f"flaky (passed only on retry): {len(flaky)}"]
    for record in flaky:
        lines.append(f"  {record.probe_id}")
        lines.extend(f"      {note}" for note in record.retry_notes)
    return lines
