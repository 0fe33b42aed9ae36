"""``/api/v1/status``: the status as JSON, version 1 (docs/schema/status-1.json).

Fields are added, never renamed or removed, within a version.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sleuth.history.model import ProbePoint
from sleuth.web.status import AgentState, ProbeStatus, Status, TargetStatus

API_VERSION = 1


def status_json(status: Status) -> dict[str, Any]:
    return {
        "version": API_VERSION,
        "generated_at": _time(status.generated_at),
        "healthy": status.healthy,
        "targets": [_target(t) for t in status.targets],
    }


def _target(target: TargetStatus) -> dict[str, Any]:
    return {
        "name": target.name,
        "base_url": target.base_url,
        "healthy": target.healthy,
        "failing": target.failing,
        "latest_run": target.latest_run,
        "latest_at": _time(target.latest_at),
        "agents": [{"name": a, "run": r} for a, r in target.agents.items()],
        "causes": [
            {
                "line": cause.line(),
                "label": cause.label,
                "diagnosis": cause.diagnosis,
                "category": cause.category,
                "probes": list(cause.probes),
                "blocks": list(cause.blocks),
                "agents": list(agents),
            }
            for cause, agents in target.causes
        ],
        "probes": [_probe(p) for p in target.probes],
    }


def _probe(probe: ProbeStatus) -> dict[str, Any]:
    worst = probe.worst
    return {
        "id": probe.probe_id,
        "state": probe.state,
        "outcome": worst.outcome,
        "category": worst.category,
        "message": worst.message,
        "since": _time(probe.since),
        "since_exact": probe.since_exact,
        "last_passed": _point(probe.last_passed),
        "spread": probe.spread,
        "durations_s": [d for d, _ in probe.durations],
        "agents": [_agent(a) for a in probe.agents],
    }


def _agent(state: AgentState) -> dict[str, Any]:
    return {
        "agent": state.agent,
        "state": state.state,
        "outcome": state.outcome,
        "category": state.category,
        "message": state.message,
        "run": state.run_id,
        "started_at": _time(state.started_at),
        "duration_s": state.duration_s,
        "since": _time(state.since),
        "since_exact": state.since_exact,
        "last_passed": _point(state.last_passed),
    }


def _point(point: ProbePoint | None) -> dict[str, Any] | None:
    if point is None:
        return None
    return {"run": point.run_id, "started_at": _time(point.started_at)}


def _time(moment: _dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
