"""Shared pieces of the probe table tests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

# A conftest for pytester suites: writes what the run recorded per probe
# (outcome, flaky, warnings, retries, attempts) to records.json at the end.
RECORDS_CONFTEST = """
import json
import pytest
from sleuth.plugin.keys import session_key

@pytest.hookimpl(trylast=True)  # after sleuth's own sessionfinish built the record
def pytest_sessionfinish(session):
    run = session.config.stash[session_key].result.record
    out = {
        p.probe_id: {
            "outcome": p.outcome,
            "flaky": p.flaky,
            "warnings": p.warnings,
            "retry_notes": p.retry_notes,
            "attempts": [e.attempt for e in p.exchanges],
            "errors": [e.error for e in p.exchanges],
        }
        for p in run.probes
    }
    with open("records.json", "w") as f:
        json.dump(out, f)
"""


def write_table(pytester: pytest.Pytester, text: str, name: str = "api") -> Path:
    path = pytester.path / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def with_records(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDS_CONFTEST)


def records(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "records.json").read_text())
    return data
