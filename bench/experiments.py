"""A pytest plugin for bench/phases.py: try a change to sleuth without editing it.

``SLEUTH_BENCH_EXPERIMENTS=a,b`` switches experiments on; each one patches the
running process only, to measure what a change in sleuth's source would buy:

- ``gc-freeze``: ``gc.freeze()`` once collection is done (sleuth now does this
  itself; kept to price it against older builds);
- ``switch-0.5ms``: ``sys.setswitchinterval(0.0005)``, faster GIL hand-offs;
- ``no-trace``: no aiohttp trace hooks (sleuth's per-phase timings), to price them;
- ``no-scrub``: reports not scrubbed of secrets, to price the scrubbing.
"""

from __future__ import annotations

import gc
import os
import sys

import pytest

ENABLED = set(filter(None, os.environ.get("SLEUTH_BENCH_EXPERIMENTS", "").split(",")))
KNOWN = {"gc-freeze", "switch-0.5ms", "no-trace", "no-scrub"}


def pytest_configure(config: pytest.Config) -> None:
    unknown = ENABLED - KNOWN
    if unknown:
        raise pytest.UsageError(
            f"unknown experiments {sorted(unknown)}; known: {KNOWN}"
        )
    if "no-trace" in ENABLED:
        from sleuth.http import wire as http_wire

        http_wire.Timings.install = staticmethod(lambda _config: None)  # type: ignore[method-assign,assignment]
    if "no-scrub" in ENABLED:
        from sleuth.plugin.scrubbing import ScrubbingPlugin

        ScrubbingPlugin.scrub_report = lambda self, report, config: None  # type: ignore[method-assign]
    if "switch-0.5ms" in ENABLED:
        sys.setswitchinterval(0.0005)


def pytest_collection_finish(session: pytest.Session) -> None:
    if "gc-freeze" in ENABLED:
        gc.freeze()
