"""pytest's private names: every one sleuth uses, each with why.

The plugin needs a few things pytest has no public API for: the fixtures a
test asks for before pytest sets them up (to run it ahead), whether its skip
marks would skip it, renaming an item whose id carries a secret, where a
row's traceback starts, and handing pytest's capture the stream to install so
that a probe running ahead never prints into another test's output.
Everything else goes through public API; the report scrubber, for one,
rebuilds a failure's text through the hooks pytest and xdist serialize reports
with (``pytest_report_to_serializable``), not by changing pytest's frozen repr
objects.

``tests/test_compat.py`` checks each name below against the installed pytest
and fails naming its version; CI runs it on the lowest and the newest pytest
that pyproject.toml allows (``make test-lowest``, ``make test``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from types import TracebackType

    import pytest

    # For annotations only: pytest exports none of these three types.
    from _pytest._code.code import (
        TerminalRepr as TerminalRepr,
        Traceback as Traceback,
    )
    from _pytest.fixtures import FuncFixtureInfo

# The pseudo-fixture pytest makes of @parametrize("x", ...): its function
# returns request.param (the same name in pytest 9.0 to 9.2). Private because
# FixtureDef has no public "is this a parametrize argument" flag.
DIRECT_PARAM_FIXTURE = "get_direct_param_fixture_func"
# Node's hook for where a failure's traceback starts (TracebackFromBody).
TRACEBACK_FILTER = "_traceback_filter"


def fixture_info(item: pytest.Function) -> FuncFixtureInfo:
    """``item``'s fixture closure: ``argnames`` and ``name2fixturedefs``.

    Known at collection as ``Function._fixtureinfo``; sleuth reads it to
    decide whether a test can run ahead, and which arguments to call it with.
    Private because the public ``item.fixturenames`` gives the names only:
    not which are the function's own arguments (pytest's own
    ``pytest_pyfunc_call`` reads ``argnames`` here too), nor each fixture's
    scope, which says whether it can be set up before the test's turn.
    """
    info: FuncFixtureInfo = item._fixtureinfo
    return info


def fixture_value(item: pytest.Function, name: str) -> Any:
    """The value of a session-scoped fixture, for a test run ahead.

    ``Function._request`` is the request pytest itself would use at setup, so
    the value is the one the test would get in order. Private because the
    public ``request`` fixture exists only once the test is set up, and a test
    run ahead is not yet. pytest 9.1 and later warn (PytestRemovedIn10Warning,
    "during teardown") when that item is not set up yet; pytest 10.1 will
    refuse.
    """
    return item._request.getfixturevalue(name)


def is_direct_param(fixturedef: pytest.FixtureDef[Any]) -> bool:
    """Is this the pseudo-fixture of a ``@parametrize`` argument?

    Private because ``FixtureDef`` says so only by its function's name
    (``DIRECT_PARAM_FIXTURE``).
    """
    return getattr(fixturedef.func, "__name__", "") == DIRECT_PARAM_FIXTURE


def evaluate_skip_marks(item: pytest.Item) -> object | None:
    """pytest's own verdict on ``skip``/``skipif`` marks: a Skip, or None.

    Private (``_pytest.skipping``) because pytest exports no way to ask it;
    the marks themselves are public, but their conditions (strings evaluated
    in the test's module, with ``config``) would be pytest's code copied.
    """
    from _pytest.skipping import evaluate_skip_marks as evaluate

    return evaluate(item)


def rename_item(item: pytest.Item, *, name: str, nodeid: str) -> None:
    """Give ``item`` a new name and node id (pytest has no public way).

    The id is ``Node._id``, a structured ``NodeId`` (pytest 9.2 and later), or
    the string ``Node._nodeid`` (before): setting the other one would change
    nothing, and a secret in a test id would stay in ``item.nodeid``, where
    ``--lf``'s cache, xdist and reporters read it. The name is also a key of
    the item's own keywords (``NodeKeywords._markers``), which ``-k`` matches.
    A plugin cannot choose an item's name earlier: ``pytest_make_parametrize_id``
    masks a secret parameter, but an id given as ``ids=[...]`` is used as is.
    """
    markers = getattr(item.keywords, "_markers", None)
    if isinstance(markers, dict) and item.name in markers:
        markers[name] = markers.pop(item.name)
    item.name = name
    if hasattr(item, "_id"):
        from _pytest.nodeid import coerce_node_id

        item._id = coerce_node_id(nodeid)
    else:
        item._nodeid = nodeid  # type: ignore[attr-defined]


class TracebackFromBody:
    """A mixin for an item whose failure's traceback starts at its own body,
    as pytest starts a test's at the test function: an unexpected error in a
    helper shows its frames, not the runner's.

    Private because ``Node._traceback_filter`` is where pytest's own
    ``Function`` cuts its traceback; the public ``repr_failure`` receives the
    error, but the styles around the cut (``--tb``, ``--showlocals``,
    ``--fulltrace``, which turns the cut off) live in pytest's private
    ``Node._repr_failure_py``, and would be copied.
    """

    def traceback_start(self) -> Callable[..., Any]:
        """The function the traceback starts at."""
        raise NotImplementedError

    def _traceback_filter(
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> Traceback:
        start = traceback_from(excinfo, self.traceback_start())
        return start if start is not None else excinfo.traceback.filter(excinfo)


def traceback_from(
    excinfo: pytest.ExceptionInfo[BaseException], function: Callable[..., Any]
) -> Traceback | None:
    """``excinfo``'s traceback from ``function``'s frame on, without the
    frames that hide themselves (``__tracebackhide__``); None when
    ``function`` has no code of its own or is not in the traceback.
    """
    import pytest

    code = getattr(getattr(function, "__func__", function), "__code__", None)
    tb: TracebackType | None = excinfo.tb
    while tb is not None and tb.tb_frame.f_code is not code:
        tb = tb.tb_next
    if code is None or tb is None:
        return None
    cut = pytest.ExceptionInfo.from_exc_info((excinfo.type, excinfo.value, tb))
    return cut.traceback.filter(excinfo) or excinfo.traceback


def route_captured_streams(
    config: pytest.Config, proxy: Callable[[str, TextIO], object]
) -> bool:
    """Make pytest's own capture install ``proxy(name, stream)`` as ``sys.stdout``
    and ``sys.stderr``, instead of its bare capture file; True when it does.

    pytest swaps ``sys.stdout`` at every phase of every test: resuming its
    capture sets the attribute to the file it captures into. A proxy put back
    by a hook afterwards leaves a window in between, and a probe running ahead
    on another thread that prints in it lands in whatever test pytest is at
    (seen in CI under load: a probe's output missing from its own report).
    Handing pytest the proxy as the file it installs closes the window.

    Private because pytest offers no way to wrap what its capture installs:
    ``CaptureManager._global_capturing`` holds the run's ``MultiCapture``, whose
    ``out``/``err`` are an ``FDCapture`` (the default, ``--capture=fd``) with a
    ``syscapture`` whose ``tmpfile`` is what ``sys.stdout`` becomes. Only that
    case is routed: ``--capture=sys`` reads its ``tmpfile`` back with an
    ``isinstance`` check a proxy fails, and ``-s`` swaps nothing.
    """
    manager = config.pluginmanager.getplugin("capturemanager")
    capturing = getattr(manager, "_global_capturing", None)
    if capturing is None:
        return False
    routed = False
    for name in ("out", "err"):
        syscapture = getattr(getattr(capturing, name, None), "syscapture", None)
        if syscapture is None or type(syscapture).__name__ != "SysCapture":
            continue  # -s: NoCapture; not an FDCapture: --capture=sys or tee-sys
        stream: TextIO = syscapture.tmpfile
        std = "stdout" if name == "out" else "stderr"
        wrapped = proxy(std, stream)
        syscapture.tmpfile = wrapped
        if getattr(sys, std) is stream:  # capturing now: install it at once
            setattr(sys, std, wrapped)
        routed = True
    return routed
