"""The sleuth terminal section and evidence, compared as exact text."""

from __future__ import annotations

from sleuth._evidence import Exchange, ProbeRecord, SettingLookup, SourceAnswer
from sleuth.reports import clients
from sleuth.reports.terminal import render_evidence, render_flaky, render_summary

LOOKUP = SettingLookup(
    name="FEATURE_FLAG_X",
    answers=(
        SourceAnswer(source="environment", state="absent"),
        SourceAnswer(source="dotenv .env", state="absent"),
    ),
    found_in=None,
    state="absent",
    close_names=("FEATURE_FLAGX (dotenv .env)",),
)
EXCHANGE = Exchange(
    kind="http",
    request="GET http://api/orders",
    status=500,
    reason="Internal Server Error",
    headers={"content-type": "text/plain"},
    body_excerpt="Internal Server Error\nKeyError: 'FEATURE_FLAG_X'\n",
    body_bytes=48,
    remote="127.0.0.1:8000",
    timings_ms={"connect": 0.5, "first_byte": 2.25, "total": 3.0},
)


def test_evidence_under_a_failure():
    assert render_evidence([EXCHANGE], [LOOKUP]).splitlines() == [
        "setting FEATURE_FLAG_X: missing. Looked in environment: absent; dotenv .env: absent. "
        "Close names that exist: FEATURE_FLAGX (dotenv .env).",
        "GET http://api/orders -> 500 Internal Server Error (3 ms) from 127.0.0.1:8000",
        "  timings: connect 0.5 ms, first_byte 2.2 ms",
        "  content-type: text/plain",
        "  body: Internal Server Error",
        "        KeyError: 'FEATURE_FLAG_X'",
    ]


def test_summary_counts_slowest_and_diagnoses():
    records = [
        ProbeRecord(probe_id="t.py::a", outcome="passed", duration_s=0.004),
        ProbeRecord(
            probe_id="t.py::b",
            outcome="failed",
            duration_s=2.0,
            diagnosis="timed out after 2.0 s waiting for GET http://api/slow",
        ),
        ProbeRecord(
            probe_id="t.py::c",
            outcome="failed",
            duration_s=0.01,
            diagnosis="FEATURE_FLAG_X: missing.",
        ),
        ProbeRecord(probe_id="t.py::d", outcome="skipped"),
    ]
    lines = render_summary(
        records, target="prod", base_url="http://api", wall_s=2.1, ran_ahead=3
    )
    assert lines == [
        "target prod http://api: 4 probes in 2.10 s: 2 failed, 1 passed, 1 skipped (3 ran at once)",
        "slowest:",
        "     2.00 s  t.py::b",
        "     0.01 s  t.py::c",
        "     4.0 ms  t.py::a",
        "what failed:",
        "  t.py::b",
        "      timed out after 2.0 s waiting for GET http://api/slow",
        "  t.py::c",
        "      FEATURE_FLAG_X: missing.",
    ]


def test_counts_read_the_same_in_every_output():
    # The run's summary and `sleuth history` count in one order, worst first,
    # in pytest's words: "2 errors", "1 error", never "2 error".
    from sleuth.reports.mdtext import in_outcome_order, outcome_counts

    counts = {"passed": 5, "error": 2, "blocked": 0, "failed": 1, "skipped": 1}
    assert outcome_counts(in_outcome_order(counts)) == (
        "1 failed, 2 errors, 5 passed, 1 skipped"
    )
    assert outcome_counts(in_outcome_order({"error": 1, "passed": 1})) == (
        "1 error, 1 passed"
    )
    records = [ProbeRecord(probe_id=f"t.py::{i}", outcome="error") for i in "ab"]
    head = render_summary(records, target="t", base_url=None, wall_s=0.1, ran_ahead=0)[
        0
    ]
    assert head == "target t: 2 probes in 0.10 s: 2 errors"


def test_flaky_probes_are_listed_with_their_retries():
    records = [
        ProbeRecord(probe_id="t.py::test_ok", outcome="passed"),
        ProbeRecord(
            probe_id="api.yaml::GET /search",
            outcome="passed",
            flaky=True,
            retry_notes=[
                "GET http://api/search: attempt 1 got 502 Bad Gateway; "
                "retried after 0.07 s"
            ],
        ),
    ]
    assert render_flaky(records) == [
        "flaky (passed only on retry): 1",
        "  api.yaml::GET /search",
        "      GET http://api/search: attempt 1 got 502 Bad Gateway; retried after "
        "0.07 s",
    ]
    assert render_flaky(records[:1]) == []


def _used(*clients: dict[str, bool]) -> list[ProbeRecord]:
    return [
        ProbeRecord(probe_id=f"t.py::{i}", outcome="passed", clients=used)
        for i, used in enumerate(clients)
    ]


def test_the_summary_says_what_read_only_did_not_hold():
    records = _used(
        {"requests": True, "psycopg": False}, {"psycopg": False}, {"requests": True}
    )
    held = clients.held_line(
        clients.tally(r.clients for r in records), lead="read-only held for"
    )
    lines = render_summary(
        records, target="prod", base_url=None, wall_s=0.5, ran_ahead=0, held=held
    )
    assert lines[1] == (
        "read-only held for target.http, requests; not for psycopg (2 probes used "
        "it: sleuth cannot guard its writes)"
    )


def test_two_unguarded_clients_are_each_counted():
    tally = clients.tally(
        r.clients for r in _used({"redis": False}, {"psycopg": False, "redis": False})
    )
    assert tally == [
        {"name": "redis", "guarded": False, "probes": 2},
        {"name": "psycopg", "guarded": False, "probes": 1},
    ]
    assert clients.held_line(tally, lead="read-only held for") == (
        "read-only held for target.http; not for redis (2 probes used it) and "
        "psycopg (1 probe used it): sleuth cannot guard their writes"
    )


def test_nothing_is_said_when_every_client_used_was_held():
    tally = clients.tally(r.clients for r in _used({"requests": True}, {}))
    assert clients.held_line(tally, lead="read-only held for") is None
    lines = render_summary(
        _used({}), target="prod", base_url=None, wall_s=0.5, ran_ahead=0, held=None
    )
    assert not [line for line in lines if "held for" in line]
