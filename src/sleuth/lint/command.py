"""The ``lint`` command's body: lint, print, and the exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from sleuth.errors import ConfigError
from sleuth.lint.formats import Format, render
from sleuth.lint.suite import lint_suite
from sleuth.suite.units import parse_duration

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_UNREADABLE = 4  # pytest's usage error, as `sleuth run` exits for a bad config


def run_lint(path: Path, fmt: str, *, budget: str | None = None) -> int:
    """Lint the suite at ``path``, print the report, and return the exit code.

    ``budget``: ``--budget``, which stands for the config's ``budget:``.
    """
    try:
        budget_s = None if budget is None else parse_duration(budget, where="--budget")
        report = lint_suite(path, budget_s=budget_s)
    except ConfigError as exc:
        # The line `sleuth run` prints for the same mistake (pytest's UsageError).
        sys.stderr.write(f"ERROR: {exc}\n")
        return EXIT_UNREADABLE
    sys.stdout.write(
        render(
            report.findings,
            fmt=cast(Format, fmt),
            files=report.files,
            silenced=report.silenced,
        )
    )
    return EXIT_FINDINGS if report.findings else EXIT_CLEAN
