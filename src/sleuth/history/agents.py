"""Several agents, one history: what each agent saw last of each probe.

Agents in several places (``--agent eu-1``, ``--agent us-1``) write to one
shared store; the status page shows each probe per agent, so that a failure
seen from some agents only reads as theirs. Runs are compared by id within
one agent: an agent writes its buffered runs (``buffer.py``) before its next
one, so its ids follow its own order even when the store was away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sleuth.history.model import ProbePoint
from sleuth.history.rows import probe_point

if TYPE_CHECKING:
    from sleuth.history.store import HistoryStore

# Each (agent, probe)'s newest run of the target, then that run's result.
_LATEST_PER_AGENT = (
    "SELECT r.probe_id, r.run_id, u.started_at, u.agent, r.outcome, r.category, "
    "r.duration_s, r.message FROM sleuth_results r "
    "JOIN sleuth_runs u ON u.id = r.run_id "
    "JOIN (SELECT lu.agent AS agent, lr.probe_id AS probe_id, "
    "max(lr.run_id) AS run_id FROM sleuth_results lr "
    "JOIN sleuth_runs lu ON lu.id = lr.run_id WHERE lu.target = :target "
    "GROUP BY lu.agent, lr.probe_id) latest "
    "ON latest.run_id = r.run_id AND latest.probe_id = r.probe_id "
    "ORDER BY r.probe_id, u.agent"
)


def latest_per_agent(
    store: HistoryStore, *, target: str
) -> dict[str, dict[str, ProbePoint]]:
    """Each probe of ``target`` and, per agent that ran it, its latest result.

    Returns:
        probe id -> agent -> that agent's latest ``ProbePoint`` of the probe
        (outcome, category, message, run id and time), probes and agents in
        alphabetical order. Empty for a target no run has stored.
    """
    with store.db.read() as tx:
        found = tx.rows(_LATEST_PER_AGENT, {"target": target})
    latest: dict[str, dict[str, ProbePoint]] = {}
    for row in found:
        probe_id = row.pop("probe_id")
        latest.setdefault(probe_id, {})[row["agent"]] = probe_point(row)
    return latest
