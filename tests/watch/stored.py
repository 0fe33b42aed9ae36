"""A history filled run by run for the delivery tests (the end-to-end test in
test_alerts.py fills it by running a real suite)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from sleuth.history.store import HistoryStore
from sleuth.suite.config import load_suite_config
from sleuth.watch.alerts import Alerter
from sleuth.watch.delivery import Retry
from tests.history.helpers import make_record
from tests.watch.alerting import FAST

PROBE = "test_api.py::test_items"


def alerter(tmp_path: Path, receivers: str, *, after: int = 2, retry: Retry = FAST):
    path = tmp_path / "sleuth.yaml"
    path.write_text(
        "targets:\n  local: {}\nalerts:\n"
        f"  after: {after}\n  page_url: http://status.example.test\n  to:\n"
        + textwrap.indent(textwrap.dedent(receivers), "    ")
    )
    made = Alerter.from_suite(
        load_suite_config(path, environ={}), target="local", retry=retry
    )
    assert made is not None
    return made


def cycles(
    store: HistoryStore, made: Alerter, outcomes: list[str], *, message: str = ""
) -> None:
    """One stored run per outcome of PROBE, each followed by after_cycle."""
    for outcome in outcomes:
        record = make_record(
            {PROBE: outcome},  # type: ignore[dict-item]
            messages={PROBE: message or f"items answered 503 ({outcome})"},
        )
        store.write_run(record, agent="eu-1")
        made.after_cycle(store, target="local", agent="eu-1")
