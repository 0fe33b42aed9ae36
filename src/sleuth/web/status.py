"""What the page, the API, ``/metrics`` and ``/healthz`` show: the history
read back as each target's probes, their state per agent, and ranked causes.

A probe's state is what each agent's latest run of its target said of it;
read for one agent, it is what that agent alone saw (``/?agent=eu-1``).
Since when and when it last passed come from its recent points (one indexed
read per probe), and from one more read only when a failing streak is older
than those: a store of 50,000 runs costs no more than one of 50.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sleuth._evidence import WRITE_REFUSED, Exchange, ProbeRecord
from sleuth.history.model import FAILING, PASSING, ProbePoint
from sleuth.history.rows import stored_time
from sleuth.reports.causes import RootCause, rank

if TYPE_CHECKING:
    from sleuth.history.store import HistoryStore

# How many recent points of each probe are read: its duration history, and
# its streak when that is no longer.
RECENT_POINTS = 40


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AgentState:
    """One probe as one agent's latest run saw it."""

    agent: str
    run_id: int
    started_at: _dt.datetime
    outcome: str
    category: str
    duration_s: float
    message: str
    since: _dt.datetime | None  # when the current streak began (None: unknown)
    since_exact: bool  # False: the streak is older than the points read
    last_passed: ProbePoint | None

    @property
    def state(self) -> str:
        return state_of(self.outcome)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProbeStatus:
    target: str
    probe_id: str
    agents: tuple[AgentState, ...]
    durations: tuple[tuple[float, str], ...]  # (seconds, outcome), oldest first

    @property
    def state(self) -> str:
        """failing (any agent), passing (some agent, none failing), or skipped."""
        states = {a.state for a in self.agents}
        for state in ("failing", "passing"):
            if state in states:
                return state
        return "skipped"

    @property
    def worst(self) -> AgentState:
        """The agent state that decides the probe's (the first failing one)."""
        return next((a for a in self.agents if a.state == self.state), self.agents[0])

    @property
    def since(self) -> _dt.datetime | None:
        return self._since[0]

    @property
    def since_exact(self) -> bool:
        """False: ``since`` is an upper bound (some streak is older than the
        points read)."""
        return self._since[1]

    @property
    def _since(self) -> tuple[_dt.datetime | None, bool]:
        """When the probe's state began across its agents, and whether exactly.

        Failing began with the oldest streak among the failing agents: one of
        them has failed without a break since then. Passing (or skipped) began
        with the newest streak: until then some agent was failing, and an
        earlier date would hide that failure.
        """
        mine = [a for a in self.agents if a.state == self.state and a.since]
        if not mine:
            return None, False
        if self.state == "failing":
            # An inexact streak may be older than the oldest exact one.
            oldest = min(a.since for a in mine if a.since)
            return oldest, all(a.since_exact for a in mine)
        newest = max(a.since for a in mine if a.since)
        return newest, any(a.since_exact for a in mine if a.since == newest)

    @property
    def last_passed(self) -> ProbePoint | None:
        found = [a.last_passed for a in self.agents if a.last_passed is not None]
        return max(found, key=lambda p: p.run_id) if found else None

    @property
    def spread(self) -> str | None:
        return agent_spread(self.agents)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TargetStatus:
    name: str
    base_url: str | None
    agents: Mapping[str, int]  # agent -> its latest run id
    latest_run: int
    latest_at: _dt.datetime
    probes: tuple[ProbeStatus, ...]  # failing first
    causes: tuple[tuple[RootCause, tuple[str, ...]], ...]  # (cause, agents)

    @property
    def failing(self) -> int:
        return sum(1 for p in self.probes if p.state == "failing")

    @property
    def healthy(self) -> bool:
        return self.failing == 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    targets: tuple[TargetStatus, ...]
    generated_at: _dt.datetime

    @property
    def healthy(self) -> bool:
        return all(t.healthy for t in self.targets)

    def target(self, name: str) -> TargetStatus | None:
        return next((t for t in self.targets if t.name == name), None)


def state_of(outcome: str) -> str:
    if outcome in FAILING:
        return "failing"
    if outcome in PASSING:
        return "passing"
    return "skipped"


# A failure with one of these got no answer from the target: seen from some
# agents only, it points at their way there.
UNREACHED = frozenset({"dns", "refused", "timeout", "tls", "reset"})
# sleuth's own fault, or the run's budget spent, on that agent: neither the
# target's nor the path's.
OWN_FAULT = frozenset({"sleuth", "budget"})


def agent_spread(agents: Sequence[AgentState]) -> str | None:
    """``fails from eu-1, passes from us-1 and ap-1: look at eu-1's network
    path`` when some agents see a failure and others do not; else None.

    Where to look follows what the failing agents saw: no answer (DNS,
    refused, timeout, TLS, reset) points at their network path; sleuth's own
    fault or budget at their run; an answer, a setting or a blocked probe at
    the evidence, since the path evidently worked or was not used.
    """
    failing = [a for a in agents if a.state == "failing"]
    passing = [a.agent for a in agents if a.state == "passing"]
    if not failing or not passing:
        return None
    names = [a.agent for a in failing]
    said = f"fails from {_and(names)}, passes from {_and(passing)}"
    categories = {a.category for a in failing}
    if categories <= UNREACHED:
        where = (
            f"{names[0]}'s network path"
            if len(names) == 1
            else f"the network paths of {_and(names)}"
        )
        return f"{said}: look at {where}"
    if categories <= OWN_FAULT:
        own = f"sleuth's own run on {_and(names)} did not get to it"
        return f"{said}: {own}, not the target"
    return (
        f"{said}: compare the evidence from {_and(names)} "
        f"with that from {_and(passing)}"
    )


def _and(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


# -- reading the store -----------------------------------------------------------


# (target, probe, agent) -> (the run it was dated at, last passed, streak
# start): a long failing streak is dated once, not once per request nor once
# per new run (a watch stores one every cycle).
Memo = dict[tuple[str, str, str], tuple[int, ProbePoint | None, _dt.datetime | None]]
MEMO_SIZE = 10_000


def read_status(
    store: HistoryStore,
    *,
    now: _dt.datetime,
    memo: Memo | None = None,
    agent: str | None = None,
) -> Status:
    """Every target's probes, as the latest run of each agent saw them (of
    ``agent`` only: its causes, durations and streaks, no other's)."""
    if memo is not None and len(memo) > MEMO_SIZE:
        memo.clear()
    return Status(
        targets=tuple(
            t
            for name in store.targets()
            if (t := read_target(store, name, memo=memo, agent=agent)) is not None
        ),
        generated_at=now,
    )


def read_target(
    store: HistoryStore,
    name: str,
    *,
    memo: Memo | None = None,
    agent: str | None = None,
) -> TargetStatus | None:
    agents = store.agent_runs(target=name)
    if agent is not None:
        agents = {a: run_id for a, run_id in agents.items() if a == agent}
    if not agents:
        return None
    latest = max(agents.values())
    run = store.run(latest)
    rows = store.results(sorted(agents.values()))
    by_probe: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_probe.setdefault(row["probe_id"], []).append(row)
    probes = [
        _probe_status(store, name, probe_id, found, memo, agent)
        for probe_id, found in by_probe.items()
    ]
    causes = causes_by_agent(rows)
    probes.sort(key=lambda p: _rank_key(p, causes))
    return TargetStatus(
        name=name,
        base_url=run.base_url if run else None,
        agents=agents,
        latest_run=latest,
        latest_at=run.started_at if run else stored_time(rows[0]["started_at"]),
        probes=tuple(probes),
        causes=tuple(causes),
    )


def _rank_key(
    probe: ProbeStatus, causes: Sequence[tuple[RootCause, tuple[str, ...]]]
) -> tuple[int, int, str]:
    """Failures first: those showing a ranked cause, then the others, then the
    blocked, then refused writes (no fault of the target); passing; skipped."""
    if probe.state != "failing":
        return (1 if probe.state == "passing" else 2), 0, probe.probe_id
    worst = probe.worst
    if worst.category == WRITE_REFUSED:
        tier = 3
    elif worst.outcome == "blocked":
        tier = 2
    elif any(probe.probe_id in c.probes for c, _ in causes if c.is_targets):
        tier = 0
    else:
        tier = 1
    return 0, tier, probe.probe_id


def _probe_status(
    store: HistoryStore,
    target: str,
    probe_id: str,
    rows: list[dict[str, Any]],
    memo: Memo | None,
    agent: str | None,
) -> ProbeStatus:
    recent = store.probe_points(
        probe_id, target=target, agent=agent, limit=RECENT_POINTS
    )
    states = tuple(
        _agent_state(store, target, probe_id, row, recent, memo)
        for row in sorted(rows, key=lambda r: r["agent"])
    )
    return ProbeStatus(
        target=target,
        probe_id=probe_id,
        agents=states,
        durations=tuple((p.duration_s, p.outcome) for p in reversed(recent)),
    )


def _agent_state(
    store: HistoryStore,
    target: str,
    probe_id: str,
    row: dict[str, Any],
    recent: list[ProbePoint],
    memo: Memo | None,
) -> AgentState:
    agent, outcome = row["agent"], row["outcome"]
    state = state_of(outcome)
    mine = [p for p in recent if p.agent == agent and p.run_id <= row["run_id"]]
    since, exact = _streak_start(mine, state)
    last_passed = next((p for p in mine if p.outcome in PASSING), None)
    if not exact and state == "failing":
        run_id = int(row["run_id"])
        key = (target, probe_id, agent)
        held = memo.get(key) if memo is not None else None
        # A dating made at an earlier run of this streak still holds when the
        # points read reach back to that run and all fail: nothing passed since.
        if held is not None and mine and mine[-1].run_id <= held[0] <= run_id:
            found = held[1], held[2]
        else:
            found = _date_failure(store, target, probe_id, agent)
            if memo is not None:
                memo[key] = (run_id, *found)
        last_passed, since, exact = found[0], found[1] or since, True
    return AgentState(
        agent=agent,
        run_id=int(row["run_id"]),
        started_at=stored_time(row["started_at"]),
        outcome=outcome,
        category=row["category"] or "",
        duration_s=float(row["duration_s"]),
        message=row["message"] or "",
        since=since,
        since_exact=exact,
        last_passed=last_passed,
    )


def _date_failure(
    store: HistoryStore, target: str, probe_id: str, agent: str
) -> tuple[ProbePoint | None, _dt.datetime | None]:
    """A failure older than the points read: two indexed reads date it (the
    first goes back as far as the last pass, through the whole store if none)."""
    last_passed = store.probe_point(
        probe_id, target=target, outcomes=PASSING, agent=agent
    )
    first = store.probe_point(
        probe_id,
        target=target,
        outcomes=FAILING,
        agent=agent,
        after=last_passed.run_id if last_passed else None,
        newest=False,
    )
    return last_passed, first.started_at if first else None


def _streak_start(
    points: Sequence[ProbePoint], state: str
) -> tuple[_dt.datetime | None, bool]:
    """The start of the newest run of points in ``state`` (newest first), and
    whether it began within ``points`` (False: it may be older)."""
    start = None
    for point in points:
        if state_of(point.outcome) != state:
            return start, start is not None
        start = point.started_at
    return start, False


# -- root causes, from what the history keeps ------------------------------------


def causes_by_agent(
    rows: Iterable[dict[str, Any]],
) -> list[tuple[RootCause, tuple[str, ...]]]:
    """The ranked causes of each agent's latest run, each once, with the
    agents that see it (reports/causes.py, on the records the store keeps)."""
    runs: dict[str, list[ProbeRecord]] = {}
    for row in rows:
        runs.setdefault(row["agent"], []).append(record_of(row))
    # One fault seen from several agents is one cause: the first agent's
    # diagnosis (the timings in it differ), the probes it explains on any.
    merged: dict[tuple[str, str], tuple[RootCause, list[str]]] = {}
    for agent in sorted(runs):
        for cause in rank(runs[agent]):
            key = (cause.label, cause.category)
            if key in merged:
                first, agents = merged[key]
                merged[key] = (_widened(first, cause), [*agents, agent])
            else:
                merged[key] = (cause, [agent])
    ranked = sorted(
        merged.values(),
        key=lambda found: (
            found[0].category == WRITE_REFUSED,
            -found[0].weight,
            -len(found[1]),
            not found[0].is_targets,
            found[0].label,
        ),
    )
    return [(cause, tuple(agents)) for cause, agents in ranked]


def _widened(cause: RootCause, also: RootCause) -> RootCause:
    """``cause`` explaining the probes ``also`` explains too, so that its
    counts are not one agent's alone."""
    probes = tuple(dict.fromkeys((*cause.probes, *also.probes)))
    blocks = dict.fromkeys((*cause.blocks, *also.blocks))
    return dataclasses.replace(
        cause, probes=probes, blocks=tuple(b for b in blocks if b not in probes)
    )


def record_of(row: Mapping[str, Any]) -> ProbeRecord:
    """A stored result as the reports' record: what ranking causes reads
    (outcome, category, diagnosis, exchanges; the need in ``[blocked by X]``)."""
    evidence = json.loads(row.get("evidence") or "{}") or {}
    message = row.get("message") or ""
    blocked_by = ""
    if row["outcome"] == "blocked" and message.endswith("]"):
        _head, sep, need = message[:-1].rpartition(" [blocked by ")
        blocked_by = need if sep else ""
    return ProbeRecord(
        probe_id=row["probe_id"],
        outcome=row["outcome"],
        category=row["category"] or "",
        duration_s=float(row["duration_s"]),
        diagnosis=message,
        blocked_by=blocked_by,
        name=row["probe_id"].rpartition("::")[2],
        exchanges=[_exchange(e) for e in evidence.get("exchanges", [])],
    )


def _exchange(data: Mapping[str, Any]) -> Exchange:
    return Exchange(
        kind=str(data.get("kind", "")),
        request=str(data.get("request", "")),
        status=data.get("status"),
        reason=str(data.get("reason") or ""),
        remote=data.get("remote"),
        error=data.get("error"),
        timings_ms=dict(data.get("timings_ms") or {}),
    )
