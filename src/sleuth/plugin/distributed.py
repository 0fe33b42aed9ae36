"""sleuth under pytest-xdist: each worker runs its share at once, the controller
makes the one run.

A worker starts the probes it has been sent as soon as it knows them (its
share arrives piece by piece) and sends each probe's record, scrubbed, with
pytest's reports. The controller runs nothing: it gathers those records, and
its session builds the terminal section, the files and the one history entry
from them, as a run without xdist builds them from its own.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from sleuth._compat import xdist as xdist_compat
from sleuth._evidence import Exchange, ProbeRecord, SettingLookup, SourceAnswer
from sleuth.reports.causes import find_blocker

# The report attribute a worker's record travels in: pytest and xdist send
# every attribute of a report (TestReport keeps unknown keys as attributes).
RECORD_ATTR = "sleuth_record"
# The phase of the report xdist makes for the test a worker died running.
CRASHED = "???"


class WorkerShare:
    """The items this worker has been sent, handed out once each as they arrive."""

    def __init__(self, config: pytest.Config) -> None:
        self._interactor = xdist_compat.interactor(config.pluginmanager.get_plugins())
        self._offered: set[int] = set()

    def new_items(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """The items sent since the last call (all sent so far, the first time)."""
        if self._interactor is None:
            return []
        fresh = []
        for index in xdist_compat.sent_indices(self._interactor):
            if index not in self._offered and 0 <= index < len(items):
                self._offered.add(index)
                fresh.append(items[index])
        return fresh


# -- a record's trip -----------------------------------------------------------


def attach_record(report: pytest.TestReport, record: ProbeRecord) -> None:
    """Put ``record`` on ``report`` as plain data, for the controller.

    On the phase that settles the outcome (the call, a setup that did not
    pass, a teardown that failed), so the controller sees it with the report
    its status letter comes from. Plain strings, lists and dicts: the
    scrubbing plugin, outermost around makereport, masks secrets in them
    before the report leaves this process.
    """
    if (
        report.when == "call"
        or (report.when == "setup" and not report.passed)
        or (report.when == "teardown" and report.failed)
    ):
        setattr(report, RECORD_ATTR, _plain(record))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_from(data: Mapping[str, Any]) -> ProbeRecord:
    """The ``ProbeRecord`` a worker sent as plain data."""
    fields = dict(data)
    fields["exchanges"] = [Exchange(**e) for e in data.get("exchanges", ())]
    fields["settings"] = [_lookup(s) for s in data.get("settings", ())]
    for name in ("tags", "needs"):
        fields[name] = tuple(data.get(name, ()))
    return ProbeRecord(**fields)


def _lookup(data: Mapping[str, Any]) -> SettingLookup:
    answers = []
    for answer in data.get("answers", ()):
        changed = answer.get("changed_at")
        answers.append(
            SourceAnswer(
                **{
                    **answer,
                    "changed_at": _dt.datetime.fromisoformat(changed)
                    if changed
                    else None,
                }
            )
        )
    return SettingLookup(
        **{
            **data,
            "answers": tuple(answers),
            "close_names": tuple(data.get("close_names", ())),
        }
    )


# -- the controller --------------------------------------------------------------


class Controller:
    """The controller's side of a run: the workers' records, gathered by node id.

    ``records`` is the session's own dict, so everything built from it at the
    end (summary, files, history) covers the whole run.
    """

    def __init__(
        self,
        records: dict[str, ProbeRecord],
        *,
        failure_line: Callable[[str], str | None],
        on_first_report: Callable[[], None],
    ) -> None:
        self.records = records
        self._failure_line = failure_line
        self._on_first_report = on_first_report
        self._order: dict[str, int] = {}  # node id -> its place in the collection
        self._down: list[str] = []  # workers that went down, and why

    @pytest.hookimpl(tryfirst=True)  # before the terminal shows its status
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.records:
            self._on_first_report()
        data = getattr(report, RECORD_ATTR, None)
        if data is not None:
            record = record_from(data)
            self._see_blocker(record)
            report.sleuth_outcome = record.outcome  # type: ignore[attr-defined]
        elif str(report.when) == CRASHED and report.failed:
            # xdist's own report for the test a worker was running when it
            # died: no answer came from the target, and none is made up.
            record = ProbeRecord(
                probe_id=report.nodeid,
                outcome="error",
                category="other",
                name=report.nodeid.rpartition("::")[2].partition("[")[0],
                diagnosis=f"{report.longrepr}: the probe gave no outcome",
            )
        else:
            return
        self.records[report.nodeid] = record
        if report.failed:
            line = self._failure_line(report.nodeid)
            if line:
                _add_to_evidence(report, f"history: {line}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self._order:
            self._order = {nodeid: i for i, nodeid in enumerate(ids)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        if error is not None:
            name = getattr(getattr(node, "gateway", None), "id", "?")
            lines = str(error).strip().splitlines()
            self._down.append(f"{name} ({lines[-1] if lines else 'no reason given'})")

    def finish(self) -> list[str]:
        """Put the records in collection order and settle blockers across
        workers; returns what went wrong with the workers, for the summary."""
        ordered = sorted(
            self.records.values(),
            key=lambda r: self._order.get(r.probe_id, len(self._order)),
        )
        self.records.clear()
        self.records.update((r.probe_id, r) for r in ordered)
        for record in ordered:
            self._see_blocker(record)
        if not self._down:
            return []
        missing = [i for i in self._order if i not in self.records]
        unreported = (
            f"; {len(missing)} selected probe{'s' if len(missing) != 1 else ''} "
            f"never reported"
            if missing
            else ""
        )
        return [
            f"pytest-xdist worker{'s' if len(self._down) > 1 else ''} went down: "
            f"{', '.join(self._down)}{unreported}"
        ]

    def _see_blocker(self, record: ProbeRecord) -> None:
        """A probe that failed on one worker while a probe it needs failed on
        another is blocked by it, as in a run without xdist."""
        if record.outcome not in ("failed", "error") or not record.needs:
            return
        found = find_blocker(
            record.needs, self.records.values(), itself=record.probe_id
        )
        if found is not None:
            need, _culprit = found
            record.outcome, record.blocked_by = "blocked", need
            record.diagnosis = f"{record.diagnosis} [blocked by {need}]"


def _add_to_evidence(report: pytest.TestReport, line: str) -> None:
    """Append a line to the failure's ``sleuth evidence`` section (made if need
    be), as the session does in a run without xdist."""
    for i, (title, text) in enumerate(report.sections):
        if title == "sleuth evidence":
            report.sections[i] = (title, f"{text}\n{line}")
            return
    report.sections.append(("sleuth evidence", line))
