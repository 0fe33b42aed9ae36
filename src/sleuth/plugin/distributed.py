"""sleuth under pytest-xdist: each worker runs its share at once, the controller
makes the one run.

A worker starts the probes it has been sent as soon as it knows them (its
share arrives piece by piece) and sends each probe's record, scrubbed, with
pytest's reports. The controller runs nothing: it gathers those records, and
its session builds the terminal section, the files and the one history entry
from them, as a run without xdist builds them from its own.

Setting values never leave a worker. The controller reads the settings the
workers' probes read again, for the history's fingerprints, and checks that it
sees what they saw: each record comes with how its worker saw each setting
(``SettingsResolver.view``: states and fingerprints keyed with a random key
made for the run), and a setting seen otherwise on the controller's host
keeps no fingerprint.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from sleuth._compat import xdist as xdist_compat
from sleuth._evidence import (
    Exchange,
    ProbeRecord,
    RunRecord,
    SettingLookup,
    SettingSeen,
    SourceAnswer,
    SourceHeld,
)
from sleuth.reports.causes import find_blocker

# The report attribute a worker's record travels in: pytest and xdist send
# every attribute of a report (TestReport keeps unknown keys as attributes).
RECORD_ATTR = "sleuth_record"
# The report attribute with how the worker saw each setting the record read,
# and the workerinput key of the run's key for the fingerprints in it.
VIEWS_ATTR = "sleuth_settings_seen"
VIEW_KEY = "sleuth_view_key"
# The phase of the report xdist makes for the test a worker died running.
CRASHED = "???"

View = dict[str, Any]  # SettingsResolver.view's
Views = Callable[[bytes, str], View]  # SettingsResolver.view


class WorkerShare:
    """The items this worker has been sent, handed out once each as they arrive."""

    def __init__(self, config: pytest.Config) -> None:
        self._interactor = xdist_compat.interactor(config.pluginmanager.get_plugins())
        self._offered: set[int] = set()
        key = getattr(config, "workerinput", {}).get(VIEW_KEY)
        self.view_key = bytes.fromhex(key) if isinstance(key, str) else None

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


def attach_record(
    report: pytest.TestReport, record: ProbeRecord, share: WorkerShare, view: Views
) -> None:
    """Put ``record`` on ``report`` as plain data, for the controller, with
    how this worker saw each setting it read (``view``).

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
        if share.view_key is not None and record.settings:
            key = share.view_key
            seen = {s.name: view(key, s.name) for s in record.settings}
            setattr(report, VIEWS_ATTR, seen)


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
        # Keys the fingerprints of how each worker saw the settings; never stored.
        self.view_key = os.urandom(32)
        self._views: dict[str, dict[str, list[View]]] = {}  # setting -> worker -> views

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[VIEW_KEY] = self.view_key.hex()

    @pytest.hookimpl(tryfirst=True)  # before the terminal shows its status
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.records:
            self._on_first_report()
        data = getattr(report, RECORD_ATTR, None)
        if data is not None:
            record = record_from(data)
            self._see_blocker(record)
            worker = getattr(getattr(report, "node", None), "gateway", None)
            for name, view in getattr(report, VIEWS_ATTR, {}).items():
                by_worker = self._views.setdefault(name, {})
                seen = by_worker.setdefault(getattr(worker, "id", "?"), [])
                if view not in seen:
                    seen.append(view)
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

    def seen_otherwise(self, view: Views) -> dict[str, list[str]]:
        """The settings this host sees otherwise than some worker did (``view``
        of its own read disagrees with theirs), each with those workers."""
        differ: dict[str, list[str]] = {}
        for name, by_worker in sorted(self._views.items()):
            here = view(self.view_key, name)
            workers = sorted(
                w
                for w, views in by_worker.items()
                if not all(_agrees(here, there) for there in views)
            )
            if workers:
                differ[name] = workers
        return differ

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


def _agrees(here: View, there: View) -> bool:
    """The controller's view of a setting holds what a worker's did: the same
    value used, and the same answer from each source the worker asked (a probe
    calling the app's own settings function asks it alone on a miss; this
    host, reading the name again, asks every source)."""
    sources = here.get("sources", {})
    return here.get("used") == there.get("used") and all(
        sources.get(label) == answer
        for label, answer in there.get("sources", {}).items()
    )


def as_workers_saw(record: RunRecord, otherwise: Mapping[str, list[str]]) -> RunRecord:
    """``record`` with the settings in ``otherwise`` as the workers' probes
    saw them (where found, in what state, each source's answer) and no
    fingerprint: the values behind them were never read on this host."""
    lookups = {s.name: s for probe in record.probes for s in probe.settings}

    def fingerprint(key: bytes, name: str) -> str | None:
        return None if name in otherwise else record.fingerprint(key, name)

    def source_fingerprints(key: bytes, name: str) -> tuple[SourceHeld, ...]:
        if name not in otherwise:
            return record.source_fingerprints(key, name)
        answers = lookups[name].answers if name in lookups else ()
        return tuple(
            SourceHeld(source=a.source, state=a.state, fingerprint=None)
            for a in answers
        )

    settings = [
        SettingSeen(
            name=s.name, source=lookups[s.name].found_in, state=lookups[s.name].state
        )
        if s.name in otherwise and s.name in lookups
        else s
        for s in record.settings
    ]
    return dataclasses.replace(
        record,
        settings=settings,
        fingerprint=fingerprint,
        source_fingerprints=source_fingerprints,
    )


def otherwise_line(otherwise: Mapping[str, list[str]]) -> str:
    """What the summary says of settings this host saw otherwise than workers."""
    names = sorted(otherwise)
    workers = sorted({w for found in otherwise.values() for w in found})
    many = len(names) > 1
    return (
        f"setting{'s' if many else ''} {', '.join(names)} read again on this "
        f"host differ{'' if many else 's'} from what the probes on pytest-xdist "
        f"worker{'s' if len(workers) > 1 else ''} {' and '.join(workers)} saw: "
        f"the history keeps what the probes saw, without a fingerprint, for "
        f"this run (docs/xdist.md)"
    )


def _add_to_evidence(report: pytest.TestReport, line: str) -> None:
    """Append a line to the failure's ``sleuth evidence`` section (made if need
    be), as the session does in a run without xdist."""
    for i, (title, text) in enumerate(report.sections):
        if title == "sleuth evidence":
            report.sections[i] = (title, f"{text}\n{line}")
            return
    report.sections.append(("sleuth evidence", line))
