"""``sleuth lint``: a suite checked without running it.

Probe modules are read as syntax trees, tables and the config as YAML; nothing
of the suite is imported or run, and nothing is sent. Imported by the ``lint``
command alone. One module per idea: ``findings`` (the finding, the rules,
silencing), ``pyrules`` (Python probes), ``tablerules`` (probe tables),
``secrets`` (key formats and passwords in URLs), ``hosts``, ``timeouts``,
``formats`` (text, JSON, GitHub annotations) and ``suite`` (all of it, over a suite).
"""

from __future__ import annotations

from sleuth.lint.findings import RULES, Finding
from sleuth.lint.suite import LintReport, lint_suite

__all__ = ["RULES", "Finding", "LintReport", "lint_suite"]
