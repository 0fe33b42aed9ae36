"""The run's outputs for people and machines.

Status words and letters in the terminal (WARNED, FLAKY, BLOCKED, ERROR), the
sleuth section of the terminal summary, and at the end of the run the files
asked for: ``--sleuth-json``,
``--sleuth-report`` (Markdown), ``--sleuth-metrics`` (Prometheus text), and
``--sleuth-exit nagios`` (an exit code and one status line instead of pytest's
output). Every file is written whole or not at all, scrubbed of secrets,
readable as a plain ``open()`` would make it (``atomicfile`` says how).

The outputs never see the session: at the end of the run it hands them one
``RunResult``, plain values built once (as pytest's junitxml ``LogXML`` is
built from plain values), and everything here is made from it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sleuth.plugin.recording import STATUS

if TYPE_CHECKING:
    from sleuth._evidence import RunRecord
    from sleuth.history.diff import RunDiff


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """The finished run, as every output receives it: the terminal section,
    ``--sleuth-json``, ``--sleuth-report``, ``--sleuth-metrics``, Nagios."""

    # The probes, the settings, the target, the wall time: what the history
    # stored too, and what the JSON document is built from.
    record: RunRecord
    ran_ahead: int  # how many probes started at once (0: in order)
    allow_writes: bool  # which read-only rule held: says the summary's line
    # What went wrong in sleuth itself (its HTTP worker died), never the target.
    own_trouble: tuple[str, ...] = ()
    # A failed probe's id -> its line of history ("last passed: run 41, ...").
    failure_history: Mapping[str, str] = dataclasses.field(default_factory=dict)
    history_lines: tuple[str, ...] = ()  # where the run was recorded, what changed
    changes: RunDiff | None = None  # since the last run in which everything passed
    # Where the history kept this run: its id and agent (None: not recorded).
    run_id: int | None = None
    agent: str | None = None


def is_nagios(config: pytest.Config) -> bool:
    return bool(config.getoption("sleuth_exit", "pytest") == "nagios")


def quiet_for_nagios(config: pytest.Config) -> None:
    """A Nagios check prints one status line first: pytest's own output goes."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        config.pluginmanager.unregister(reporter)


def exit_unknown(config: pytest.Config, reason: str) -> None:
    """A config error in Nagios mode: UNKNOWN, exit 3, and nothing else printed.

    Not ``pytest.exit``: pytest would print its own lines about it, on stdout
    and stderr. Nothing is collected or run; the status line comes at the end.
    """
    from sleuth.reports import nagios

    quiet_for_nagios(config)
    code, line = nagios.unknown(reason)
    config.pluginmanager.register(_UnknownRun(code, line), "sleuth-unknown-run")


class _UnknownRun:
    def __init__(self, code: int, line: str) -> None:
        self.code = code
        self.line = line

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        return True  # nothing to collect: the suite could not be read

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        return True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        sys.stdout.write(self.line + "\n")
        sys.stdout.flush()
        session.exitstatus = self.code


def warn(config: pytest.Config, message: str) -> None:
    """Say something went wrong that does not change the run's result."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"sleuth: {message}", yellow=True)
    else:
        sys.stderr.write(f"sleuth: {message}\n")


class OutputsPlugin:
    def __init__(self) -> None:
        self.result: RunResult | None = None  # handed over by ``take``
        self.document: dict[str, Any] | None = None
        self.usage_error: str | None = None  # Nagios mode: the run's UNKNOWN

    def take(self, result: RunResult) -> None:
        """The finished run, from the session's ``pytest_sessionfinish``."""
        self.result = result

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> Any:
        """In Nagios mode a usage error found now (a bad table, a bad marker)
        is the run's UNKNOWN, said in the status line, and nothing runs."""
        try:
            return (yield)
        except pytest.UsageError as exc:
            if not is_nagios(config):
                raise
            self.usage_error = str(exc)
            items.clear()
            return None

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        outcome = getattr(report, "sleuth_outcome", None)
        if outcome not in STATUS or hasattr(report, "wasxfail"):
            return None
        if outcome in ("warned", "flaky") and report.when != "call":
            return None
        if outcome in ("error", "blocked") and not report.failed:
            return None
        return STATUS[outcome]

    @pytest.hookimpl(trylast=True)  # after the session has handed over the result
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = session.config
        result = self.result
        wanted = [o for o in ("sleuth_json", "sleuth_report", "sleuth_metrics")
                  if config.getoption(o)]  # fmt: skip
        if result is None or not (wanted or is_nagios(config)):
            return
        from sleuth import _atomicfile as atomicfile
        from sleuth.reports import document as run_document, markdown, metrics

        self.document = run_document.build(
            result.record,
            changes=changes_json(result.changes),
            history=history_json(result),
        )
        full_report = bool(config.getoption("sleuth_report_full"))
        writers: dict[str, Callable[[dict[str, Any]], str]] = {
            "sleuth_json": lambda d: json.dumps(d, indent=2, sort_keys=False) + "\n",
            "sleuth_report": lambda d: markdown.render(d, full=full_report),
            "sleuth_metrics": metrics.render,
        }
        for option, render in writers.items():
            path = config.getoption(option)
            if path:
                target = Path(config.invocation_params.dir, path)
                try:
                    atomicfile.write_atomically(target, render(self.document))
                except OSError as exc:
                    warn(config, f"could not write {path}: {exc.strerror or exc}")
        if is_nagios(config):
            from sleuth.reports import nagios

            if self.usage_error is not None:
                code, line = nagios.unknown(self.usage_error)
            elif exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
                code, line = nagios.status(self.document)
            else:
                code, line = nagios.unknown(
                    f"the run ended with pytest exit status {int(exitstatus)}"
                )
            sys.stdout.write(line + "\n")
            for extra in summary_lines(result):
                sys.stdout.write(extra + "\n")
            sys.stdout.flush()
            session.exitstatus = code

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = summary_lines(self.result) if self.result is not None else []
        if not lines:
            return
        terminalreporter.write_sep("=", "sleuth")
        for line in lines:
            terminalreporter.write_line(line)


def summary_lines(result: RunResult) -> list[str]:
    """The sleuth section: counts, slowest, root causes, what failed."""
    from sleuth.reports import causes, clients, terminal

    records = result.record.probes
    if not records:
        return []
    return [
        *terminal.render_summary(
            records,
            target=result.record.target,
            base_url=result.record.base_url,
            wall_s=result.record.duration_s,
            ran_ahead=result.ran_ahead,
            causes=causes.rank(records),
            history=result.failure_history,
            own_trouble=result.own_trouble,
            held=clients.held_line(
                clients.tally(r.clients for r in records),
                lead="the read-only rule (writes only from @pytest.mark.writes "
                "probes) held for"
                if result.allow_writes
                else "read-only held for",
            ),
        ),
        *terminal.render_flaky(records),
        *result.history_lines,
    ]


def history_json(result: RunResult) -> dict[str, Any] | None:
    """The JSON document's ``history``: the run's id in the store, and its agent
    (None when the run was not recorded)."""
    if result.run_id is None:
        return None
    return {"run_id": result.run_id, "agent": result.agent}


def changes_json(changes: RunDiff | None) -> dict[str, Any] | None:
    """What changed since the last run in which everything passed, for the
    JSON document (None: no history, or no such run)."""
    if changes is None:
        return None
    document: dict[str, Any] = changes.to_json()
    document["lines"] = changes.render(indent="")
    document["sections"] = [
        {"heading": heading, "entries": entries}
        for heading, entries in changes.sections()
    ]
    return document
