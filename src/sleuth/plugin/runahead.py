"""Which selected tests start at once, and with what arguments.

A test runs ahead when every fixture it needs is a parametrize value, sleuth's
``target``, or a session-scoped fixture: values that are the same whenever the
body runs. Anything else (``tmp_path``, ``monkeypatch``, a function-scoped
fixture of the suite's own) runs in order, as plain pytest would run it.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable
from typing import Any, Protocol

import pytest

from sleuth._compat import pytest as pytest_compat
from sleuth.engine import Engine, Job
from sleuth.engine.context import ProbeContext

ContextFactory = Callable[[pytest.Item], ProbeContext]


class ProbeItem(Protocol):
    """An item that is not a test function but is a probe (a probe table row).

    ``sleuth_body`` gives the body to run and its arguments; its ``runtest``
    calls ``SleuthSession.run_probe`` with them. It may also have a
    ``sleuth_origin`` (``"api.yaml line 3"``): where its ``probe`` marker's
    options were written, named in timeout messages.
    """

    def sleuth_body(self) -> tuple[Callable[..., Any], dict[str, Any]]: ...


def _will_be_skipped(item: pytest.Item) -> bool:
    """Would pytest skip this item at setup (skip, skipif, xfail(run=False))?"""
    if item.get_closest_marker("skip") is not None:
        return True
    for mark in item.iter_markers("xfail"):
        if mark.kwargs.get("run", True) is False:
            return True
    if item.get_closest_marker("skipif") is None:
        return False
    try:
        return pytest_compat.evaluate_skip_marks(item) is not None
    except Exception:
        return True  # let pytest evaluate (and report) it in order


def _session_fixture(item: pytest.Function, name: str) -> Any:
    """The value of a session-scoped fixture ``item`` uses, made now if need be.

    Asked through ``item``'s request before pytest has set ``item`` up: pytest
    9 warns that this is deprecated (it cannot tell it from a request made in
    teardown), for every run-ahead test whose session fixture is not made
    yet. The warning is pytest's, not the suite's, so it is not shown; under
    ``-W error`` it would have turned the test into one that runs in order.
    Should a later pytest refuse outright, such a test runs in order.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"Calling request\.getfixturevalue\(.*\) during teardown",
            category=pytest.PytestWarning,  # PytestRemovedIn10Warning, pytest 9+
        )
        return pytest_compat.fixture_value(item, name)


class RunAhead:
    """The jobs started for one session, found by node id when pytest gets there."""

    def __init__(
        self,
        engine: Engine,
        *,
        is_target_fixture: Callable[[pytest.FixtureDef[Any]], bool],
        target: Callable[[], Any],
    ) -> None:
        self._engine = engine
        self._is_target_fixture = is_target_fixture
        self._target = target
        self._jobs: dict[str, Job] = {}
        self.started = False

    def start(self, items: list[pytest.Item], make_context: ContextFactory) -> int:
        """Start every eligible item's body now; returns how many started."""
        self.started = True
        jobs = []
        for item in items:
            body = self.body(item)
            if body is None:
                continue
            func, kwargs = body
            ctx = make_context(item)
            ctx.capture_output = True
            job = Job(ctx=ctx, func=func, kwargs=kwargs)
            self._jobs[item.nodeid] = job
            jobs.append(job)
        self._engine.start(jobs)
        return len(jobs)

    def body(
        self, item: pytest.Item
    ) -> tuple[Callable[..., Any], dict[str, Any]] | None:
        """What to run ahead for ``item``, or None when it must run in order."""
        if _will_be_skipped(item):
            return None
        sleuth_body = getattr(item, "sleuth_body", None)
        if sleuth_body is not None:
            body: tuple[Callable[..., Any], dict[str, Any]] = sleuth_body()
            return body
        if not isinstance(item, pytest.Function):
            return None
        kwargs = self.arguments(item)
        return None if kwargs is None else (item.obj, kwargs)

    def waiting(self) -> dict[str, Job]:
        """The jobs started ahead whose items pytest has not reached yet."""
        return dict(self._jobs)

    def take(self, item: pytest.Item) -> Job | None:
        """The job started for ``item``; a rerun of the same item runs in order."""
        return self._jobs.pop(item.nodeid, None)

    def arguments(self, item: pytest.Function) -> dict[str, Any] | None:
        """The body's keyword arguments, or None when it must run in order."""
        if isinstance(getattr(item, "instance", None), unittest.TestCase):
            return None
        info = pytest_compat.fixture_info(item)
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        values: dict[str, Any] = {}
        session_scoped = []
        for name in item.fixturenames:
            if name == "request" and name not in info.argnames:
                continue  # asked for by a session fixture (ours, say), not the test
            fixturedefs = info.name2fixturedefs.get(name)
            if not fixturedefs:
                return None  # "request", or an unknown fixture pytest will report
            fixturedef = fixturedefs[-1]
            if self._is_target_fixture(fixturedef):
                values[name] = self._target()
            elif name in params and pytest_compat.is_direct_param(fixturedef):
                values[name] = params[name]
            elif fixturedef.scope == "session" and not fixturedef.params:
                session_scoped.append(name)
            else:
                return None
        # Only now, for a test that does run ahead: a test that runs in order
        # gets its session fixtures when pytest sets it up, as usual.
        for name in session_scoped:
            try:
                values[name] = _session_fixture(item, name)
            except (Exception, pytest.skip.Exception, pytest.fail.Exception):
                return None  # pytest reports the fixture's error, in order
        return {name: values[name] for name in info.argnames}
