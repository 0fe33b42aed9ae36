"""The status model without a server: spreads across agents, streaks, records."""

from __future__ import annotations

import datetime as _dt

from sleuth.history.model import ProbePoint
from sleuth.history.store import HistoryStore
from sleuth.web.status import (
    AgentState,
    _streak_start,
    agent_spread,
    read_status,
    record_of,
)
from sleuth.web.svg import badge, sparkline

T0 = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)


def state(agent: str, outcome: str) -> AgentState:
    return AgentState(
        agent=agent,
        run_id=1,
        started_at=T0,
        outcome=outcome,
        category="",
        duration_s=0.1,
        message="",
        since=T0,
        since_exact=True,
        last_passed=None,
    )


def test_a_failure_seen_from_one_agent_only_points_at_its_network_path():
    agents = [state("eu-1", "error"), state("us-1", "passed"), state("ap-1", "passed")]
    assert agent_spread(agents) == (
        "fails from eu-1, passes from us-1 and ap-1: look at eu-1's network path"
    )


def test_failures_from_several_agents_name_each_path():
    agents = [
        state("eu-1", "failed"),
        state("eu-2", "blocked"),
        state("us-1", "passed"),
    ]
    assert agent_spread(agents) == (
        "fails from eu-1 and eu-2, passes from us-1: "
        "look at the network paths of eu-1 and eu-2"
    )


def test_no_spread_when_all_agents_agree_or_only_skip():
    assert agent_spread([state("eu-1", "failed"), state("us-1", "error")]) is None
    assert agent_spread([state("eu-1", "passed"), state("us-1", "passed")]) is None
    assert agent_spread([state("eu-1", "failed"), state("us-1", "skipped")]) is None
    assert agent_spread([state("eu-1", "failed")]) is None


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
        "fails from eu-1, passes from us-1: look at eu-1's network path"
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
