"""How pytest's reports of one item become a ProbeRecord.

An item's record gathers its phases: the outcome and its category, the
evidence its context holds, its name, tags and needs. A failing probe whose
need is failing too is recorded as blocked by it, not as another failure.
A ``Recorder`` keeps the records of one run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sleuth._evidence import ProbeRecord, classify, diagnose, time_on_wire
from sleuth.engine import Engine
from sleuth.engine.context import ProbeContext
from sleuth.plugin.runahead import RunAhead
from sleuth.reports.causes import find_blocker, matches

# pytest's and sleuth's own marks are not tags a probe can be needed by.
NOT_TAGS = frozenset({
    "parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings",
    "probe", "writes", "needs", "asyncio", "anyio", "timeout",
})  # fmt: skip

# The records a failing probe's needs may refer to: those reported so far, and
# provisional ones for probes that ran ahead and are not reported yet.
Candidates = Callable[[tuple[str, ...]], list[ProbeRecord]]


def new_record(item: pytest.Item) -> ProbeRecord:
    marks = list(item.iter_markers())
    needs = tuple(str(a) for m in marks if m.name == "needs" for a in m.args)
    tags = tuple(dict.fromkeys(m.name for m in marks if m.name not in NOT_TAGS))
    # A table row names itself; a test function goes by its name sans params.
    name = getattr(item, "sleuth_name", None) or getattr(item, "originalname", None)
    return ProbeRecord(
        probe_id=item.nodeid,
        outcome="passed",
        name=str(name or item.name),
        tags=tags,
        needs=needs,
    )


def update(
    record: ProbeRecord,
    report: pytest.TestReport,
    call: pytest.CallInfo[None],
    ctx: ProbeContext | None,
    *,
    candidates: Candidates,
) -> None:
    """Fold one phase's report into ``record``; sets ``report.sleuth_outcome``."""
    if ctx is not None:
        record.exchanges = list(ctx.exchanges)
        record.settings = list(ctx.settings)
        record.warnings = list(ctx.warnings)
        record.retry_notes = list(ctx.retry_notes)
        record.clients = dict(ctx.clients)
    if call.when == "call":
        # The target's time, so that a diff never reports sleuth's own slowness.
        record.duration_s = time_on_wire(record.exchanges, report.duration)
    if report.skipped:
        record.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    elif report.passed and record.outcome == "passed":
        if hasattr(report, "wasxfail"):
            record.outcome = "xpassed"
        elif call.when == "call" and record.retry_notes:
            record.outcome, record.flaky = "flaky", True  # passed only on retry
        elif record.warnings:
            record.outcome = "warned"
    elif report.failed and record.outcome not in ("failed", "error", "blocked"):
        exc = call.excinfo.value if call.excinfo is not None else None
        # A probe the watchdog ended fails with pytest's Failed; what it was
        # (a ProbeTimeout) is under it (session._reraise).
        exc = getattr(exc, "sleuth_exc", exc)
        outcome, category = classify(exc, exchanges=record.exchanges)
        if call.when != "call":
            outcome = "error"  # a fixture failed: pytest's own meaning of error
        record.outcome, record.category = outcome, category
        record.error_type = type(exc).__name__ if exc is not None else ""
        record.diagnosis = diagnose(
            exc, exchanges=record.exchanges, settings=record.settings
        )
        if record.needs:
            found = find_blocker(
                record.needs, candidates(record.needs), itself=record.probe_id
            )
            if found is not None:
                need, _culprit = found
                record.outcome, record.blocked_by = "blocked", need
                record.diagnosis = f"{record.diagnosis} [blocked by {need}]"
    report.sleuth_outcome = record.outcome  # type: ignore[attr-defined]
    report.sleuth_category = record.category  # type: ignore[attr-defined]


class Recorder:
    """The records of one run by node id, each updated as pytest reports a phase."""

    def __init__(self, engine: Engine, runahead: RunAhead) -> None:
        self.records: dict[str, ProbeRecord] = {}
        self.items: dict[str, pytest.Item] = {}  # the selected ones, by node id
        self._engine = engine
        self._runahead = runahead

    def record(
        self,
        item: pytest.Item,
        report: pytest.TestReport,
        call: pytest.CallInfo[None],
        ctx: ProbeContext | None,
    ) -> None:
        record = self.records.get(item.nodeid)
        if record is None:
            record = self.records[item.nodeid] = new_record(item)
        update(record, report, call, ctx, candidates=self.candidates)
        if call.when == "call":
            record.ran_ahead = ctx is not None and ctx.capture_output

    def candidates(self, needs: tuple[str, ...]) -> list[ProbeRecord]:
        """What ``needs`` may refer to: records so far, and probes that ran ahead
        and are not reported yet (waiting, within their deadline, for those
        that match a need)."""
        found = list(self.records.values())
        for nodeid, job in self._runahead.waiting().items():
            item = self.items.get(nodeid)
            if item is None:
                continue
            provisional = new_record(item)
            if not any(matches(provisional, need) for need in needs):
                continue
            outcome = self._engine.wait(job)
            provisional.outcome, provisional.category = classify(
                outcome.exc, exchanges=job.ctx.exchanges
            )
            provisional.diagnosis = diagnose(
                outcome.exc, exchanges=job.ctx.exchanges, settings=job.ctx.settings
            )
            found.append(provisional)
        return found


# Status words and letters in the terminal: (stats key, letter, word).
STATUS = {
    "warned": ("warned", "W", "WARNED"),
    "flaky": ("flaky", "K", "FLAKY"),
    "blocked": ("blocked", "B", "BLOCKED"),
    "error": ("error", "E", "ERROR"),
}
