"""sleuth's state for one pytest run, and the hooks that need it.

Built in ``pytest_configure`` when the run belongs to a suite, registered as a
plugin object (the junitxml pattern) and unregistered at the end.

The run: after selection, at the first test's setup (when session fixtures can
be built), every eligible probe starts at once on the engine. pytest then walks
its items as usual; each probe's call phase waits for its stored outcome and
re-raises the original exception, so reports read exactly as in plain pytest.
"""

from __future__ import annotations

import functools
import gc
import inspect
import os
import sys
import unittest
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sleuth import _timing as timing, clients, redact
from sleuth._compat import pytest as pytest_compat
from sleuth._evidence import RunRecord, SettingSeen
from sleuth.engine import Engine, Job, Outcome, context as _context
from sleuth.engine.context import ProbeContext
from sleuth.plugin import capture, marks, outputs, roles
from sleuth.plugin.keys import is_target_fixture
from sleuth.plugin.outputs import OutputsPlugin, RunResult
from sleuth.plugin.recording import Recorder
from sleuth.plugin.runahead import RunAhead
from sleuth.plugin.scrubbing import ScrubbingPlugin
from sleuth.redact import DEFAULT_SECRET_WORDS, SecretRegistry
from sleuth.reports import terminal
from sleuth.suite.config import empty_suite_config, load_suite_config
from sleuth.suite.options import RunOptions, resolve
from sleuth.target import Target

if TYPE_CHECKING:
    from types import ModuleType

    from sleuth.history.recorder import RunHistory
    from sleuth.http.worker import WorkerDeath, WorkerHandle
    from sleuth.plugin import distributed
    from sleuth.settings import appfunction


class SleuthSession:
    """The target, the engine and the records of one run."""

    def __init__(self, config: pytest.Config, options: RunOptions) -> None:
        self.config = config
        self.options = options
        suite = options.suite
        self.secrets = SecretRegistry(
            secret_words=(*DEFAULT_SECRET_WORDS, *suite.secret_words)
        )  # on from ``install``, not before: see there
        self.scrubbing = ScrubbingPlugin(self.secrets)
        self.outputs = OutputsPlugin()  # handed a RunResult at the end, nothing more
        self.engine = Engine(workers=options.workers, budget_s=options.budget_s)
        # The HTTP worker `sleuth run` started for this run, if it did: ours now.
        # Only what imported the worker's module can have started one, so a run
        # without it (a settings suite) does not import it to look.
        http_worker = sys.modules.get("sleuth.http.worker")
        self.http_worker: WorkerHandle | None = (
            http_worker.offered(config.pluginmanager.get_plugins())
            if http_worker is not None
            else None
        )
        self.target = Target(
            options, self.engine, secrets=self.secrets, http_worker=self.http_worker
        )
        self.runahead = RunAhead(
            self.engine, is_target_fixture=is_target_fixture, target=lambda: self.target
        )
        self.recorder = Recorder(self.engine, self.runahead)
        self.records = self.recorder.records  # the same dict; outputs and demo read it
        self._contexts: dict[str, ProbeContext] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._log_router = capture.ProbeLogRouter()
        self._started_at: float | None = None
        self.started_wall = timing.utcnow()
        self.ran_ahead = 0
        self.result: RunResult | None = None  # the finished run, from sessionfinish
        self.history: RunHistory | None = None  # None with --no-history
        self._app_settings: appfunction.Installed | None = None
        self._test_modules: list[ModuleType] = []
        # Under pytest-xdist: the items a worker was sent, or the controller
        # gathering the workers' records (distributed.py); None otherwise.
        self.share: distributed.WorkerShare | None = None
        self._ahead = False  # probes run ahead in this run (not in order)
        self.controller: distributed.Controller | None = None

    @classmethod
    def from_pytest_config(
        cls, config: pytest.Config, path: Path | None
    ) -> SleuthSession:
        """The run's session, from its config file; None: a run without one."""
        roles.refuse_each(config)
        suite = (
            load_suite_config(path)
            if path is not None
            else empty_suite_config(config.invocation_params.dir)
        )
        cli = {
            "target": config.getoption("sleuth_target"),
            "timeout": config.getoption("sleuth_timeout"),
            "budget": config.getoption("sleuth_budget"),
            "workers": config.getoption("sleuth_workers"),
            "allow_writes": config.getoption("sleuth_allow_writes"),
            "in_order": config.getoption("sleuth_in_order"),
        }
        # Only the options here: a run without a history (--no-history, an
        # xdist worker) never loads the recorder, its model and timeline.
        from sleuth.history.options import resolve_history

        history = resolve_history(
            suite,
            cli={
                "history": config.getoption("sleuth_history"),
                "no_history": config.getoption("sleuth_no_history"),
                "keep": config.getoption("sleuth_history_keep"),
                "agent": config.getoption("sleuth_agent"),
            },
            environ=os.environ,
            cwd=config.invocation_params.dir,
        )
        session = cls(config, resolve(suite, cli=cli, environ=os.environ))
        # The controller keeps the run's one history entry; workers none.
        if history.enabled and not roles.is_worker(config):
            from sleuth.history.recorder import RunHistory

            session.history = RunHistory(
                history,
                target=session.options.target.name,
                root=suite.root,
                warm_up=not config.option.collectonly,
            )
        return session

    def install(self) -> None:
        """Register this run's plugin objects with pytest (from pytest_configure)."""
        from sleuth.plugin.outputs import is_nagios, quiet_for_nagios
        from sleuth.plugin.tables import (
            TablesPlugin,  # YAML is collected only in a suite
        )

        manager = self.config.pluginmanager
        # Redaction is turned on here, in one place, and off in ``close``. Here
        # because configure time is the last moment before anything of the run
        # can carry a secret: collection makes test ids of parametrize values
        # and tables, conftests and probe modules import clients that register
        # passwords with the active registries (redact.register), and the
        # terminal stream wrapped in pytest_load_initial_conftests scrubs with
        # them. Not in __init__: building a session must not change the
        # process, which outlives the run in pytester's in-process runs.
        redact.activate(self.secrets)  # redact.scrub/register reach this run
        manager.register(self, "sleuth-session")
        manager.register(self.scrubbing, "sleuth-scrubbing")  # every report
        manager.register(self.outputs, "sleuth-outputs")
        manager.register(TablesPlugin(self.config, self.options.suite), "sleuth-tables")
        if roles.is_worker(self.config):
            from sleuth.plugin import distributed

            self.share = distributed.WorkerShare(self.config)
        elif roles.is_controller(self.config):
            from sleuth.plugin import distributed

            self.controller = distributed.Controller(
                self.records,
                failure_line=self._failure_line,
                on_first_report=self._start_clock,
            )
            manager.register(self.controller, "sleuth-xdist-controller")
        if is_nagios(self.config):
            quiet_for_nagios(self.config)
        self.target.register_known_secrets()  # redaction: what sources list now
        # From now on pytest's capture itself puts the routing proxy on
        # sys.stdout at every phase; _route_output covers the other modes.
        pytest_compat.route_captured_streams(self.config, capture.RoutingStream)

    def uninstall(self) -> None:
        """Undo ``install`` and close the run (from pytest_unconfigure)."""
        manager = self.config.pluginmanager
        for name in (
            "sleuth-session",
            "sleuth-scrubbing",
            "sleuth-outputs",
            "sleuth-tables",
            "sleuth-xdist-controller",
        ):
            plugin = manager.get_plugin(name)
            if plugin is not None:
                manager.unregister(plugin)
        self.close()

    def close(self) -> None:
        clients.uninstall()
        if self._app_settings is not None:
            self._app_settings.undo(self._test_modules)
            self._app_settings = None
        self._log_router.uninstall()
        self.scrubbing.unguard_log_handlers()
        self.engine.close()
        if self.history is not None:
            self.history.close()
        redact.deactivate(self.secrets)

    # -- hooks --------------------------------------------------------------

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        o = self.options
        budget = f", budget {o.budget_s:g} s ({o.budget_origin})" if o.budget_s else ""
        writes = "; writes allowed for @pytest.mark.writes" if o.allow_writes else ""
        mode = "in order" if o.in_order else f"at once on up to {o.workers} workers"
        return [
            f"sleuth: target {o.target.name!r} {o.target.base_url or '(no base_url)'} "
            f"from {o.suite.display}",
            f"sleuth: timeout {o.timeout_s:g} s ({o.timeout_origin}){budget}"
            f"{writes}; probes run {mode}",
            *([] if o.allow_writes else [f"sleuth: {read_only_scope()}"]),
        ] + ([self.history.header_line()] if self.history is not None else [])

    # trylast: after -k, -m, --lf and other plugins have selected
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            # A bad marker is a usage error, found now.
            marks.probe_timeout(item, self.options)
        self.recorder.items = {item.nodeid: item for item in items}
        for item in items:
            marks.probe_retries(item)

    @pytest.hookimpl(
        wrapper=True, trylast=True
    )  # inside capture's and logging's wrappers
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None]:
        self._route_output()
        if self._started_at is None:
            self._start_clock()
            # After collection, so the clients the suite imported are there to hook.
            clients.install()
            self._see_app_settings(item.session)
        try:
            return (yield)
        finally:
            if not self.runahead.started:
                self._start_runahead(item.session)
            elif self.share is not None and self._ahead:
                self._run_ahead_more(item.session)  # what arrived since

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None]:
        self._route_output()
        return (yield)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None]:
        self._route_output()
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        if isinstance(getattr(pyfuncitem, "instance", None), unittest.TestCase):
            return None
        argnames = pytest_compat.fixture_info(pyfuncitem).argnames
        kwargs = {arg: pyfuncitem.funcargs[arg] for arg in argnames}
        self.run_probe(pyfuncitem, pyfuncitem.obj, kwargs)
        return True

    def run_probe(
        self, item: pytest.Item, func: Callable[..., Any], kwargs: dict[str, Any]
    ) -> None:
        """The call phase of a probe: replay its outcome if it ran ahead, else
        run it now (async ones on the engine's loop) under its deadline.

        Items other than test functions (probe table rows) call this from
        their ``runtest``.
        """
        __tracebackhide__ = True
        nodeid = item.nodeid
        job = self.runahead.take(item)
        if job is not None:
            outcome = self.engine.wait(job)
            self._contexts[nodeid] = job.ctx
            self._outcomes[nodeid] = outcome
            capture.replay(job.ctx)
            _reraise(outcome)
            return
        ctx = marks.make_context(item, self.options)
        self._contexts[nodeid] = ctx
        if timing.monotonic() > self.engine.budget_deadline:
            from sleuth.errors import BudgetSpent

            spent = BudgetSpent(
                f"not run: the run budget of {self.options.budget_s:g} s "
                f"({self.options.budget_origin}) was spent before pytest reached it"
            )
            now = timing.monotonic()
            _reraise(Outcome(exc=spent, duration_s=0.0, started_at=now, timed_out=True))
        if inspect.iscoroutinefunction(func):
            outcome = self.engine.run_one(Job(ctx=ctx, func=func, kwargs=kwargs))
            self._outcomes[nodeid] = outcome
            _reraise(outcome)
            return
        ctx.start(budget_deadline=self.engine.budget_deadline)
        token = _context.current.set(ctx)
        try:
            func(**kwargs)
        finally:
            _context.current.reset(token)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        if call.excinfo is not None and not wants_full_trace(item.config):
            drop_driver_chain(call.excinfo.value)
            drop_client_frames(call.excinfo.value)
        report = yield
        nodeid = item.nodeid
        ctx = self._contexts.get(nodeid)
        if call.when == "call":
            outcome = self._outcomes.get(nodeid)
            if outcome is not None:
                report.duration = outcome.duration_s  # the probe's own, not the wait
            if report.failed and ctx is not None:
                evidence = terminal.render_evidence(ctx.exchanges, ctx.settings)
                if evidence:
                    report.sections.append(("sleuth evidence", evidence))
        if report.failed:
            line = self._failure_line(nodeid)
            if line:
                _add_to_evidence(report, f"history: {line}")
        self.recorder.record(item, report, call, ctx)
        if self.share is not None:
            from sleuth.plugin.distributed import attach_record

            record = self.recorder.records[nodeid]
            attach_record(report, record, self.share, self.target.settings.view)
        return report

    def _failure_line(self, nodeid: str) -> str | None:
        return self.history.failure_line(nodeid) if self.history is not None else None

    def _start_clock(self) -> None:
        """The run's clocks start: its wall time, and its budget."""
        if self._started_at is None:
            self._started_at = timing.monotonic()
            self.engine.start_budget()

    def worker_death(self) -> WorkerDeath | None:
        """How the run's HTTP worker died mid-run, if it did."""
        return self.http_worker.death if self.http_worker is not None else None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.http_worker is not None:
            self.http_worker.release_unused()
        if self.share is not None:
            return  # a worker: its records went with its reports
        trouble: list[str] = []
        otherwise: dict[str, list[str]] = {}
        if self.controller is not None:
            trouble = self.controller.finish()
            self.ran_ahead = sum(r.ran_ahead for r in self.records.values())
            self._read_settings_seen()
            otherwise = self.controller.seen_otherwise(self.target.settings.view)
        record = self.build_run_record(int(exitstatus))
        if otherwise:
            from sleuth.plugin.distributed import as_workers_saw, otherwise_line

            record = as_workers_saw(record, otherwise)
            trouble.append(otherwise_line(otherwise))
        if self.history is not None:
            self.history.record(record)  # never raises
        self.result = self.build_result(record, trouble=trouble)
        self.outputs.take(self.result)

    def _read_settings_seen(self) -> None:
        """Read here the settings the workers' probes read, so the history
        keeps their fingerprints as it does for a run without xdist: values
        never travel from the workers, only the names their records give (and
        digests of how they saw them: ``Controller.seen_otherwise``)."""
        names = {s.name for r in self.records.values() for s in r.settings}
        resolver = self.target.settings
        for name in sorted(names - set(resolver.looked_up)):
            resolver.lookup(name)

    def build_result(
        self, record: RunRecord, *, trouble: list[str] | None = None
    ) -> RunResult:
        """The finished run as the outputs receive it: built once, after the
        history stored it (which is what its lines and changes say)."""
        history = self.history
        failure_history: dict[str, str] = {}
        if history is not None:
            for probe in record.probes:
                if probe.outcome in ("failed", "error"):
                    line = history.failure_line(probe.probe_id)
                    if line:
                        failure_history[probe.probe_id] = line
        death = self.worker_death()
        return RunResult(
            record=record,
            ran_ahead=self.ran_ahead,
            allow_writes=self.options.allow_writes,
            own_trouble=(
                *((death.line(),) if death is not None else ()),
                *(trouble or ()),
            ),
            failure_history=failure_history,
            history_lines=tuple(history.summary_lines()) if history is not None else (),
            changes=history.changes if history is not None else None,
            run_id=history.run_id if history is not None else None,
            agent=history.options.agent if history is not None else None,
        )

    def build_run_record(self, exit_status: int) -> RunRecord:
        """The whole run for outputs and the history: records, settings, metadata."""
        from sleuth._version import __version__

        wall = self.wall_s()
        resolver = self.target.settings
        seen = [
            SettingSeen(name=name, source=lookup.found_in, state=lookup.state)
            for name, lookup in sorted(resolver.looked_up.items())
        ]
        return RunRecord(
            target=self.options.target.name,
            base_url=self.options.target.base_url,
            started_at=self.started_wall,
            duration_s=wall,
            exit_status=exit_status,
            selection=self.selection(),
            sleuth_version=str(__version__),
            probes=list(self.records.values()),
            settings=seen,
            fingerprint=resolver.fingerprint,
            source_fingerprints=resolver.held.fingerprints,
            scrub=self.secrets.scrub,
            setting_values=resolver.seen_values(),
        )

    def wall_s(self) -> float:
        """Seconds since the first test's setup began (0 before it)."""
        return timing.monotonic() - self._started_at if self._started_at else 0.0

    def selection(self) -> list[str]:
        """How this run chose its probes: paths and ids, -k, -m."""
        option = self.config.option
        chosen = [str(arg) for arg in self.config.args]
        if getattr(option, "keyword", ""):
            chosen.append(f"-k {option.keyword}")
        if getattr(option, "markexpr", ""):
            chosen.append(f"-m {option.markexpr}")
        return chosen

    def warn(self, message: str) -> None:
        """Say something went wrong that does not change the run's result."""
        outputs.warn(self.config, message)

    # -- helpers ------------------------------------------------------------

    def _see_app_settings(self, session: pytest.Session) -> None:
        """Route the probes' own calls to the app's settings function through
        sleuth for the run (settings/appfunction.py); undone in ``close``."""
        if not any(spec.kind == "app" for spec in self.options.target.sources):
            return
        from sleuth.settings import appfunction

        modules = {
            id(module): module
            for item in session.items
            if (module := getattr(item, "module", None)) is not None
        }
        self._test_modules = list(modules.values())
        self._app_settings = appfunction.install(
            self.target.settings, self._test_modules
        )

    def _start_runahead(self, session: pytest.Session) -> None:
        config = self.config
        if (
            self.options.in_order
            or config.option.collectonly
            or config.option.setuponly
            or config.option.setupplan
        ):
            self.runahead.started = True
            return
        self._ahead = True
        self._log_router.install()
        # Everything built so far (pytest's nodes, fixtures, modules) lives to
        # the end: freezing it spares the collector from walking it again and
        # again while hundreds of probes allocate (bench/PROFILE.md: -170 ms).
        # Cyclic collection waits until the run is over: a run is short and
        # its garbage is small. It is back on after pytest's own collection in
        # unconfigure; on any earlier, the first allocation would collect the
        # run's garbage once more (~15 ms at 500 probes). Both are undone then,
        # for a process that goes on (pytester's in-process runs, an IDE's):
        # frozen objects are hidden from gc.get_referrers, which Hypothesis,
        # for one, relies on.
        gc.freeze()
        self.config.add_cleanup(gc.unfreeze)
        if gc.isenabled():
            gc.disable()
            self.config.add_cleanup(gc.enable)
        needs_http = self.target.base_url is not None or any(
            getattr(getattr(item, "row", None), "section", None) == "http"
            for item in session.items
        )
        if needs_http:
            self.target.expect_http()
        # An xdist worker starts what it has been sent so far, the rest as it arrives.
        items = (
            session.items if self.share is None else self.share.new_items(session.items)
        )
        self._run_ahead(items)
        if needs_http:
            self.target.prepare_http()  # while the probes run; they wait for it

    def _run_ahead(self, items: list[pytest.Item]) -> None:
        from sleuth import probes

        if self.share is not None and self.options.allow_writes:
            # xdist may move a test it sent here to another worker (--dist
            # worksteal, which a worker is not told of): a write started here
            # would then be sent twice. On a worker, writes run in order.
            items = [i for i in items if not marks.writes_marked(i, self.options)]
        # The tables' dependency kinds load their clients now, before the
        # clocks start: not on the loop while other probes' answers wait.
        probes.preload(
            getattr(getattr(item, "row", None), "section", "") for item in items
        )
        self.ran_ahead += self.runahead.start(
            items, lambda item: marks.make_context(item, self.options)
        )

    def _run_ahead_more(self, session: pytest.Session) -> None:
        """On an xdist worker: start the items sent since the last test."""
        assert self.share is not None  # noqa: S101 (the caller checks)
        items = self.share.new_items(session.items)
        if items:
            self._run_ahead(items)

    def _route_output(self) -> None:
        capture.wrap_std_streams()
        self.scrubbing.guard_log_handlers()
        if self.runahead.started:
            self._log_router.guard_other_handlers()


def read_only_scope() -> str:
    """``read-only: target.http and the probes' own HTTP clients (requests, ...)``:
    only what sleuth holds to the rule. Clients it sees but cannot hold
    (psycopg, redis-py) are named at the end of the run, if a probe used one."""
    guarded = clients.guarded_libraries()
    own = f" and the probes' own HTTP clients ({', '.join(guarded)})" if guarded else ""
    return f"read-only: target.http{own}"


def wants_full_trace(config: pytest.Config) -> bool:
    """Did the user ask for every frame (``--tb=long``, ``--tb=native``,
    ``--full-trace``)?"""
    return bool(config.option.fulltrace) or config.option.tbstyle in (
        "long",
        "native",
    )


def drop_driver_chain(exc: BaseException) -> None:
    """Leave a sleuth error without the driver's exception under it.

    A ``ProbeError`` is sleuth's diagnosis: it already says what the driver
    said, in the fault's words. The exception it was translated from would add
    the driver's own frames (psycopg's connect loop, redis-py's retry): 100 to
    185 lines between the probe's line and its evidence. ``--tb=long`` and
    ``--full-trace`` keep them.
    """
    from sleuth.errors import SleuthError

    if isinstance(exc, SleuthError):
        exc.__cause__ = None
        exc.__suppress_context__ = True


def drop_client_frames(exc: BaseException) -> None:
    """End a refusal or timeout raised in a client hook at the last line of the
    suite's or the app's own code: the ~10 frames of requests, urllib3 or
    http.client under it say nothing the message does not. ``--tb=long`` and
    ``--full-trace`` keep them."""
    from sleuth.errors import SleuthError

    tb = exc.__traceback__
    if not isinstance(exc, SleuthError) or tb is None:
        return
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    files = [tb.tb_frame.f_code.co_filename for tb in frames]
    if not any(name.startswith(_CLIENTS_DIR) for name in files):
        return
    own = [tb for tb, name in zip(frames, files, strict=True) if not _is_library(name)]
    if own:
        own[-1].tb_next = None


def _is_library(filename: str) -> bool:
    return filename.startswith(_library_dirs())


@functools.cache  # on the first failure through a client; sysconfig is slow to load
def _library_dirs() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return (*sorted(dirs), os.path.dirname(os.path.dirname(clients.__file__)))


_CLIENTS_DIR = os.path.dirname(clients.__file__)


def _add_to_evidence(report: pytest.TestReport, line: str) -> None:
    """Append a line to the failure's ``sleuth evidence`` section (made if need be)."""
    for i, (title, text) in enumerate(report.sections):
        if title == "sleuth evidence":
            report.sections[i] = (title, f"{text}\n{line}")
            return
    report.sections.append(("sleuth evidence", line))


def _reraise(outcome: Outcome) -> None:
    """Raise the probe's own exception, as if its body had just run here."""
    __tracebackhide__ = True
    exc = outcome.exc
    if exc is None:
        return
    if outcome.timed_out and exc.__traceback__ is None:
        # The watchdog ended it: no line of the probe to show, the message
        # alone; the timeout itself rides along for the report's category.
        failed = pytest.fail.Exception(str(exc), pytrace=False)
        failed.sleuth_exc = exc  # type: ignore[attr-defined]
        raise failed
    raise exc
