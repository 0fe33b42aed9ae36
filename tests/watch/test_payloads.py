"""What an alert says in words, for one result as for several."""

from __future__ import annotations

import datetime as _dt

import pytest

from sleuth.watch.payloads import Change

T0 = _dt.datetime(2026, 12, 6, tzinfo=_dt.UTC)


def change(state: str, after: int) -> Change:
    return Change(
        state=state,
        target="prod",
        agent="eu-1",
        probe_id="t.py::test_items",
        outcome="failed" if state == "failing" else "",
        category="failed",
        diagnosis="",
        since=T0,
        at=T0,
        run_id=1,
        after=after,
    )


@pytest.mark.parametrize(
    ("state", "after", "said"),
    [
        ("failing", 1, "t.py::test_items fails on prod from eu-1 (1 result in a row)"),
        ("failing", 3, "t.py::test_items fails on prod from eu-1 (3 results in a row)"),
        (
            "gone",
            1,
            "t.py::test_items is no longer in the suite on prod from eu-1 "
            "(not in the last run): its alert is resolved",
        ),
        (
            "gone",
            2,
            "t.py::test_items is no longer in the suite on prod from eu-1 "
            "(in none of the last 2 runs): its alert is resolved",
        ),
        ("passing", 1, "t.py::test_items passes again on prod from eu-1"),
    ],
)
def test_the_summary_counts_in_words(state: str, after: int, said: str):
    assert change(state, after).summary() == said


def test_the_link_opens_the_page_of_the_alerts_target(tmp_path):
    # The same suite run against staging and prod: one probe id, two targets.
    import warnings
    from urllib.parse import urlsplit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's client asks for httpx2
        from starlette.testclient import TestClient

    from sleuth.history.store import HistoryStore
    from sleuth.watch.payloads import probe_link
    from sleuth.web.app import create_app
    from tests.history.helpers import make_record

    url = f"sqlite:///{tmp_path}/h.db"
    store = HistoryStore.open(url)
    try:
        for record in [
            make_record({"t.py::test_items": "failed"}, target="prod"),
            make_record({"t.py::test_items": "passed"}, target="a-staging"),
        ]:
            store.write_run(record, agent="eu-1")
    finally:
        store.close()
    link = probe_link("http://status.example/", "t.py::test_items", "prod")
    assert link == "http://status.example/probes/t.py%3A%3Atest_items?target=prod"
    parts = urlsplit(link)
    with TestClient(create_app(url)) as client:
        page = client.get(f"{parts.path}?{parts.query}").text
        unnamed = client.get(parts.path).text
    assert '<span class="muted">on prod</span>' in page
    assert '<span class="muted">on a-staging</span>' in unnamed  # not the alert's
    assert (
        'The same probe on <a href="/probes/t.py::test_items?target=prod">' in unnamed
    )
    assert "The same probe on" not in page
