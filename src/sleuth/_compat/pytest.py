"""pytest's private names: fixtures of an item, renaming it, its repr classes.

The plugin needs a few things pytest has no public API for: the fixtures a
test asks for before pytest sets them up (to run it ahead), whether its skip
marks would skip it, renaming an item whose id carries a secret, the modules
of the objects failure text lives in, and where a row's traceback starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest
    from _pytest._code.code import (
        TerminalRepr as TerminalRepr,
        Traceback as Traceback,
    )
    from _pytest.fixtures import FuncFixtureInfo

# Failure text lives in pytest's repr classes (ExceptionChainRepr, ReprEntry,
# ReprFileLocation, ...) and reports: the scrubber walks objects of these
# modules only, and leaves everything else (nodes, config) alone.
REPR_MODULES = frozenset({"_pytest._code.code", "_pytest.reports"})
# The pseudo-fixture pytest makes of @parametrize("x", ...): its function
# returns request.param (the same name in pytest 8 and 9).
DIRECT_PARAM_FIXTURE = "get_direct_param_fixture_func"
# Node's hook for where a failure's traceback starts; TableItem overrides it.
TRACEBACK_FILTER = "_traceback_filter"


def fixture_info(item: pytest.Function) -> FuncFixtureInfo:
    """``item``'s fixture closure: ``argnames`` and ``name2fixturedefs``.

    Known at collection as ``Function._fixtureinfo``; sleuth reads it to
    decide whether a test can run ahead, and which arguments to call it with.
    """
    info: FuncFixtureInfo = item._fixtureinfo
    return info


def fixture_value(item: pytest.Function, name: str) -> Any:
    """The value of a session-scoped fixture, for a test run ahead.

    ``Function._request`` is the request pytest itself would use at setup, so
    the value is the one the test would get in order. pytest 9.1 and later
    warn (PytestRemovedIn10Warning, "during teardown") when that item is not
    set up yet, as a test run ahead is not; pytest 10.1 will refuse.
    """
    return item._request.getfixturevalue(name)


def is_direct_param(fixturedef: pytest.FixtureDef[Any]) -> bool:
    """Is this the pseudo-fixture of a ``@parametrize`` argument?"""
    return getattr(fixturedef.func, "__name__", "") == DIRECT_PARAM_FIXTURE


def evaluate_skip_marks(item: pytest.Item) -> object | None:
    """pytest's own verdict on ``skip``/``skipif`` marks: a Skip, or None."""
    from _pytest.skipping import evaluate_skip_marks as evaluate

    return evaluate(item)


def rename_item(item: pytest.Item, *, name: str, nodeid: str) -> None:
    """Give ``item`` a new name and node id (pytest has no public way).

    The id is ``Node._id``, a structured ``NodeId`` (pytest 9.2 and later), or
    the string ``Node._nodeid`` (before): setting the other one would change
    nothing, and a secret in a test id would stay in ``item.nodeid``, where
    ``--lf``'s cache, xdist and reporters read it. The name is also a key of
    the item's own keywords (``NodeKeywords._markers``), which ``-k`` matches.
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


def traceback_from(
    excinfo: pytest.ExceptionInfo[BaseException], function: Callable[..., Any]
) -> Traceback | None:
    """``excinfo``'s traceback cut to start at ``function``, filtered as pytest
    does; None when ``function`` has no code object of its own.

    pytest cuts a test's traceback at the test function (``Code`` from
    ``_pytest._code``); a probe-table row does the same at its body.
    """
    from _pytest._code import Code

    try:
        code = Code.from_function(function)
    except TypeError:
        return None
    cut = excinfo.traceback.cut(path=code.path, firstlineno=code.firstlineno)
    return cut.filter(excinfo) or excinfo.traceback
