"""The ``sleuth`` command's entry point.

``sleuth run ARGS`` is pytest with sleuth on, and starts as fast as pytest: it
goes straight to ``pytest.main`` without loading click. Every other command
(demo, history, diff, and ``--help``) is in ``commands``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from sleuth.cli.runargs import hands_tests_to_xdist, run_args


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"] and not {"-h", "--help"} & set(args[1:]):
        from pathlib import Path

        from sleuth.suite.discovery import may_use_http

        pytest_args = run_args(args[1:], os.environ)
        # Loads aiohttp on another core while pytest starts; the run's session
        # takes it over from the plugins pytest is given.
        wanted = may_use_http(pytest_args, Path.cwd())
        if wanted and hands_tests_to_xdist(pytest_args):
            wanted = False  # xdist's workers make their own requests
        worker = None
        if wanted:
            from sleuth.http import worker as http_worker

            worker = http_worker.start()
        import pytest

        exit_after_run(
            int(pytest.main(pytest_args, plugins=[worker] if worker else None))
        )
    from sleuth.cli.commands import group

    group.main(args=args, prog_name="sleuth")


def exit_after_run(code: int) -> NoReturn:
    """End the ``sleuth run`` process with ``code``, sparing the collector a last walk.

    By now pytest has collected the run's garbage (in its unconfigure) and
    sleuth has closed its engine, worker and history. The interpreter's own
    shutdown would walk every object still alive, again, to free cycles that
    die with the process anyway: freezing them first takes 20 to 50 ms off
    every run (bench/PROFILE.md, eleventh pass). Nothing else about exiting
    changes: non-daemon threads are joined, atexit handlers run, modules are
    torn down and the files they held are flushed and closed. Only here,
    where sleuth owns the process: a ``pytest`` run is left alone.
    """
    import gc

    gc.freeze()
    sys.exit(code)
