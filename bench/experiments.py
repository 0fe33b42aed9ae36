"""A pytest plugin for bench/phases.py: try a change to sleuth without editing it.

``SLEUTH_BENCH_EXPERIMENTS=a,b`` switches experiments on; each one patches the
running process only, to measure what a change in sleuth's source would buy:

- ``nowait-threads``: the worker pool starts threads without waiting for each
  to come up (``_thread.start_new_thread``) and outside its lock, instead of
  ``threading.Thread.start()`` under the lock;
- ``gc-freeze``: ``gc.freeze()`` once collection is done, so the garbage
  collector stops rescanning everything imported and collected;
- ``switch-0.5ms``: ``sys.setswitchinterval(0.0005)``, faster GIL hand-offs;
- ``no-trace``: no aiohttp trace hooks (sleuth's per-phase timings), to price them.
"""

from __future__ import annotations

import _thread
import gc
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

ENABLED = set(filter(None, os.environ.get("SLEUTH_BENCH_EXPERIMENTS", "").split(",")))
KNOWN = {"nowait-threads", "gc-freeze", "switch-0.5ms", "no-trace"}


def _submit_nowait(self: Any, fn: Callable[[], None]) -> None:
    start = False
    with self._lock:
        self._pending += 1
        if self._pending > self._idle and self._threads < self._max:
            self._threads += 1
            start = True
    self._queue.put(fn)
    if start:
        _thread.start_new_thread(self._work, ())


def pytest_configure(config: pytest.Config) -> None:
    unknown = ENABLED - KNOWN
    if unknown:
        raise pytest.UsageError(
            f"unknown experiments {sorted(unknown)}; known: {KNOWN}"
        )
    if "nowait-threads" in ENABLED:
        from sleuth import engine

        engine._WorkerPool.submit = _submit_nowait  # type: ignore[method-assign]
    if "no-trace" in ENABLED:
        from sleuth.probes import http

        http._Timings.install = staticmethod(lambda _config: None)  # type: ignore[method-assign,assignment]
    if "switch-0.5ms" in ENABLED:
        sys.setswitchinterval(0.0005)


def pytest_collection_finish(session: pytest.Session) -> None:
    if "gc-freeze" in ENABLED:
        gc.freeze()
