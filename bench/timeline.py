"""A pytest plugin for the benchmark: when each phase of a run happened.

Load it with ``-p timeline`` and bench/ on PYTHONPATH; it appends one JSON line
to the file named by $SLEUTH_BENCH_TIMELINE at exit: wall-clock marks (import of
this plugin, configure, collection, first setup, the first and last probe start
and end, the last report, sessionfinish, unconfigure, atexit) and the time spent
in the garbage collector. Probe starts and ends come from sleuth's session
internals, read only; a run without sleuth just lacks them.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import time
from typing import Any

import pytest

_marks: dict[str, Any] = {"plugin_import": time.time()}
_gc = {"total_s": 0.0, "count": 0, "max_s": 0.0, "start": 0.0}


def _on_gc(phase: str, _info: dict[str, Any]) -> None:
    if phase == "start":
        _gc["start"] = time.perf_counter()
        return
    took = time.perf_counter() - _gc["start"]
    _gc["total_s"] += took
    _gc["count"] += 1
    _gc["max_s"] = max(_gc["max_s"], took)


gc.callbacks.append(_on_gc)


def _mark(name: str) -> None:
    _marks.setdefault(name, time.time())


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    _mark("configured")


def pytest_collection_finish(session: pytest.Session) -> None:
    _mark("collected")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _mark("first_setup")


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    _marks["last_report"] = time.time()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _mark("sessionfinish")
    try:
        from sleuth.plugin.keys import session_key

        sleuth = session.config.stash[session_key]
        offset = time.time() - time.monotonic()
        contexts = sleuth._contexts
        outcomes = sleuth._outcomes
    except (ImportError, KeyError, AttributeError):
        return
    began = {k: c.started_at for k, c in contexts.items() if c.started_at is not None}
    starts = sorted(began.values())
    ends = sorted(began[k] + o.duration_s for k, o in outcomes.items() if k in began)
    if starts and ends:
        _marks.update(
            first_start=starts[0] + offset,
            last_start=starts[-1] + offset,
            first_end=ends[0] + offset,
            last_end=ends[-1] + offset,
            probes=len(starts),
        )


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _mark("unconfigure")


@atexit.register
def _write() -> None:
    path = os.environ.get("SLEUTH_BENCH_TIMELINE")
    if not path:
        return
    _marks["atexit"] = time.time()
    _marks.update(gc_s=_gc["total_s"], gc_count=_gc["count"], gc_max_s=_gc["max_s"])
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(_marks) + "\n")
