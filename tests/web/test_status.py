"""The status model without a server: spreads across agents, streaks, records."""

from __future__ import annotations

import datetime as _dt
import json

import pytest

from sleuth._evidence import ProbeOutcome
from sleuth.history.model import ProbePoint
from sleuth.history.store import HistoryStore
from sleuth.web.status import (
    RECENT_POINTS,
    AgentState,
    Memo,
    ProbeStatus,
    _streak_start,
    agent_spread,
    causes_by_agent,
    read_status,
    record_of,
)
from sleuth.web.svg import badge, sparkline
from tests.history.helpers import make_record

T0 = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)


def state(
    agent: str,
    outcome: str,
    category: str = "",
    *,
    since: _dt.datetime = T0,
    exact: bool = True,
) -> AgentState:
    return AgentState(
        agent=agent,
        run_id=1,
        started_at=T0,
        outcome=outcome,
        category=category,
        duration_s=0.1,
        message="",
        since=since,
        since_exact=exact,
        last_passed=None,
    )


NETWORK = "look at eu-1's network path"
COMPARE = "compare the evidence from eu-1 with that from us-1"
OWN = "sleuth's own run on eu-1 did not get to it, not the target"


@pytest.mark.parametrize(
    ("failing", "said"),
    [
        # No answer: the way there is what to look at.
        *[
            ([("error", c)], NETWORK)
            for c in ("dns", "refused", "timeout", "tls", "reset")
        ],
        # An answer came (a 5xx, a wrong body, a setting read wrong there, a
        # blocked probe): the way there worked or was not used, so naming
        # the network path would send someone after the wrong thing.
        ([("failed", "failed")], COMPARE),
        ([("error", "http-5xx")], COMPARE),
        ([("error", "auth")], COMPARE),
        ([("failed", "unhealthy")], COMPARE),
        ([("blocked", "")], COMPARE),
        ([("error", "other")], COMPARE),
        # sleuth's own fault or budget on that agent: neither target nor path.
        ([("error", "sleuth")], OWN),
        ([("error", "budget")], OWN),
        # Several agents: each named; a mix of no answer and an answer is
        # not a network problem alone.
        (
            [("error", "timeout"), ("error", "dns")],
            "look at the network paths of eu-1 and eu-2",
        ),
        (
            [("error", "refused"), ("failed", "failed")],
            "compare the evidence from eu-1 and eu-2 with that from us-1",
        ),
    ],
)
def test_a_failure_from_some_agents_says_where_to_look_by_what_they_saw(
    failing: list[tuple[str, str]], said: str
):
    names = ["eu-1", "eu-2"][: len(failing)]
    agents = [state(n, o, c) for n, (o, c) in zip(names, failing, strict=True)]
    agents.append(state("us-1", "passed"))
    assert agent_spread(agents) == (
        f"fails from {' and '.join(names)}, passes from us-1: {said}"
    )


def test_the_agents_that_pass_are_all_named():
    agents = [
        state("eu-1", "error", "refused"),
        state("us-1", "passed"),
        state("ap-1", "passed"),
    ]
    assert agent_spread(agents) == (
        "fails from eu-1, passes from us-1 and ap-1: look at eu-1's network path"
    )


def test_no_spread_when_all_agents_agree_or_only_skip():
    assert agent_spread([state("eu-1", "failed"), state("us-1", "error")]) is None
    assert agent_spread([state("eu-1", "passed"), state("us-1", "passed")]) is None
    assert agent_spread([state("eu-1", "failed"), state("us-1", "skipped")]) is None
    assert agent_spread([state("eu-1", "failed")]) is None


def minutes(n: int) -> _dt.datetime:
    return T0 + _dt.timedelta(minutes=n)


def since_of(*agents: AgentState) -> tuple[_dt.datetime | None, bool]:
    probe = ProbeStatus(target="prod", probe_id="t::p", agents=agents, durations=())
    return probe.since, probe.since_exact


def test_passing_everywhere_dates_from_the_last_agent_to_stop_failing():
    # us-1 has passed since minute 1; eu-1 failed until minute 30. "Passing
    # since minute 1" would hide eu-1's failure of a minute ago.
    assert since_of(
        state("us-1", "passed", since=minutes(1)),
        state("eu-1", "passed", since=minutes(30)),
    ) == (minutes(30), True)
    # That newest streak being older than the points read: at most then.
    assert since_of(
        state("us-1", "passed", since=minutes(1)),
        state("eu-1", "passed", since=minutes(30), exact=False),
    ) == (minutes(30), False)
    # An older streak read only in part changes nothing: it began even earlier.
    assert since_of(
        state("us-1", "passed", since=minutes(1), exact=False),
        state("eu-1", "passed", since=minutes(30)),
    ) == (minutes(30), True)


def test_failing_dates_from_the_oldest_failing_streak():
    assert since_of(
        state("eu-1", "error", "refused", since=minutes(10)),
        state("eu-2", "failed", since=minutes(20)),
        state("us-1", "passed", since=minutes(1)),
    ) == (minutes(10), True)
    # A failing streak older than the points read may be older than any other.
    assert since_of(
        state("eu-1", "error", "refused", since=minutes(10)),
        state("eu-2", "failed", since=minutes(20), exact=False),
    ) == (minutes(10), False)


def point(run_id: int, outcome: str) -> ProbePoint:
    return ProbePoint(
        run_id=run_id,
        started_at=T0 + _dt.timedelta(minutes=run_id),
        agent="eu-1",
        outcome=outcome,
        category="",
        duration_s=0.1,
        message="",
    )


def test_a_streak_starts_at_its_oldest_point_and_is_exact_only_when_it_ends():
    newest_first = [point(5, "failed"), point(4, "error"), point(3, "passed")]
    assert _streak_start(newest_first, "failing") == (
        point(4, "error").started_at,
        True,
    )
    # Failing in every point read: the streak may be older.
    assert _streak_start(newest_first[:2], "failing") == (
        point(4, "error").started_at,
        False,
    )


def test_a_stored_blocked_result_names_its_need_for_ranking():
    record = record_of(
        {
            "probe_id": "t.py::test_detail",
            "outcome": "blocked",
            "category": "http-5xx",
            "duration_s": 0.01,
            "message": "GET http://h:1/x -> 503 [blocked by test_orders]",
            "evidence": '{"exchanges": [{"kind": "http", "request": "GET http://h:1/x",'
            ' "status": 503}], "settings": []}',
        }
    )
    assert record.blocked_by == "test_orders"
    assert record.name == "test_detail"
    assert record.exchanges[0].status == 503


def test_sparkline_marks_failures_and_badge_says_the_state():
    svg = sparkline([(0.1, "passed"), (0.3, "error"), (0.2, "passed")])
    assert svg.startswith("<svg")
    assert svg.count("<circle") == 1
    assert "slowest 300 ms over the last 3 runs" in svg
    assert "slowest 100 ms over the last run" in sparkline([(0.1, "passed")])
    assert sparkline([]) == ""
    assert "3 failing" in badge("sleuth", "3 failing", state="failing")
    assert "#c62828" in badge("sleuth", "3 failing", state="failing")


def test_the_incident_store_reads_back_per_agent(incident_store: str):
    store = HistoryStore.open(incident_store, create_dir=False)
    try:
        status = read_status(store, now=_dt.datetime.now(_dt.UTC))
    finally:
        store.close()
    (target,) = status.targets
    assert target.name == "local"
    assert dict(target.agents) == {"eu-1": 3, "us-1": 4}
    probes = {p.probe_id.rpartition("::")[2]: p for p in target.probes}
    assert target.probes[0].probe_id.endswith("::test_orders")
    assert probes["test_orders"].spread == (
        "fails from eu-1, passes from us-1: "
        "compare the evidence from eu-1 with that from us-1"
    )
    eu, us = probes["test_orders"].agents
    assert eu.last_passed is not None
    assert eu.last_passed.run_id == 1
    assert us.last_passed is not None
    assert us.last_passed.run_id == 4
    assert {a.outcome for a in probes["test_order_detail"].agents} == {
        "blocked",
        "passed",
    }
    assert probes["test_search"].worst.category == "timeout"
    assert probes["test_cancel"].worst.category == "write-refused"
    assert probes["test_home"].state == "passing"
    assert not target.healthy
    labels = [c.label for c, _ in target.causes]
    assert labels[0] == "test_orders"
    assert target.causes[0][1] == ("eu-1",)


def test_a_long_failing_streak_is_dated_right_across_new_runs(tmp_path):
    # Longer than the points read per probe, so the streak is dated from the
    # store and that dating kept (the memo) while new failing runs land; a
    # pass in between must start a new streak, even one as long again.
    store = HistoryStore.open(f"sqlite:///{tmp_path / 'history.db'}")
    memo: Memo = {}

    def run(minute: int, outcome: ProbeOutcome) -> int:
        record = make_record(
            {"t.py::test_orders": outcome},
            started_at=T0 + _dt.timedelta(minutes=minute),
        )
        return store.write_run(record, agent="eu-1")

    def orders() -> AgentState:
        status = read_status(store, now=T0, memo=memo)
        (probe,) = status.targets[0].probes
        (agent,) = probe.agents
        return agent

    try:
        passed = run(0, "passed")
        for minute in range(1, RECENT_POINTS + 10):
            run(minute, "failed")
        first = orders()
        assert first.since == T0 + _dt.timedelta(minutes=1)
        assert first.since_exact
        assert first.last_passed is not None
        assert first.last_passed.run_id == passed
        run(RECENT_POINTS + 10, "failed")
        later = orders()
        assert later.since == first.since
        assert later.last_passed == first.last_passed
        # Passed again, then failed for longer than the points read.
        again = run(100, "passed")
        for minute in range(101, 101 + RECENT_POINTS + 5):
            run(minute, "error")
        renewed = orders()
        assert renewed.since == T0 + _dt.timedelta(minutes=101)
        assert renewed.last_passed is not None
        assert renewed.last_passed.run_id == again
    finally:
        store.close()


def test_one_fault_seen_from_two_agents_counts_the_probes_it_explains_on_either():
    def row(agent: str, name: str, outcome: str, message: str) -> dict[str, object]:
        request = "GET http://db.internal:5432/"
        return {
            "agent": agent,
            "probe_id": f"t.py::{name}",
            "outcome": outcome,
            "category": "refused",
            "duration_s": 0.01,
            "message": message,
            "evidence": json.dumps(
                {"exchanges": [{"kind": "http", "request": request, "error": "x"}]}
            ),
        }

    down = "connection refused"
    rows = [
        row("eu-1", "test_db", "error", down),
        row("eu-1", "test_a", "blocked", f"{down} [blocked by test_db]"),
        row("eu-1", "test_b", "blocked", f"{down} [blocked by test_db]"),
        row("us-1", "test_db", "error", down),
        row("us-1", "test_b", "blocked", f"{down} [blocked by test_db]"),
        row("us-1", "test_c", "blocked", f"{down} [blocked by test_db]"),
    ]
    ((cause, agents),) = causes_by_agent(rows)
    assert agents == ("eu-1", "us-1")
    assert cause.probes == ("t.py::test_db",)
    assert set(cause.blocks) == {"t.py::test_a", "t.py::test_b", "t.py::test_c"}
    assert cause.line() == "test_db: connection refused (blocks 3 probes)"
