"""The ``sleuth`` command's entry point.

``sleuth run ARGS`` is pytest with sleuth on, and starts as fast as pytest: it
goes straight to ``pytest.main`` without loading click. Every other command
(demo, history, diff, and ``--help``) is in ``commands``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

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

        sys.exit(int(pytest.main(pytest_args, plugins=[worker] if worker else None)))
    from sleuth.cli.commands import group

    group.main(args=args, prog_name="sleuth")
