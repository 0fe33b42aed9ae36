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

# How many of a target's latest runs the view reads by default: a probe no
# agent ran in that many runs is no longer on the page. A store of a
# `sleuth watch` every 30 s from three agents holds about 4 hours in 1000 runs.
DEFAULT_WINDOW_RUNS = 1000

# The oldest run id in the window: the target's latest :window runs.
_WINDOW_START = (
    "SELECT min(id) FROM (SELECT id FROM sleuth_runs WHERE target = :target "
    "ORDER BY id DESC LIMIT :window) w"
)
# Each (agent, probe)'s newest run of the target in the window, then that
# run's result. Both reads stay within the window through the indexes on
# sleuth_runs (target, id) and sleuth_results (run_id, probe_id).
_LATEST_PER_AGENT = (
    "SELECT r.probe_id, r.run_id, u.started_at, u.agent, r.outcome, r.category, "
    "r.duration_s, r.message FROM sleuth_results r "
    "JOIN sleuth_runs u ON u.id = r.run_id "
    "JOIN (SELECT lu.agent AS agent, lr.probe_id AS probe_id, "
    "max(lr.run_id) AS run_id FROM sleuth_results lr "
    "JOIN sleuth_runs lu ON lu.id = lr.run_id WHERE lu.target = :target "
    "AND lr.run_id >= :low GROUP BY lu.agent, lr.probe_id) latest "
    "ON latest.run_id = r.run_id AND latest.probe_id = r.probe_id "
    "WHERE r.run_id >= :low ORDER BY r.probe_id, u.agent"
)


def latest_per_agent(
    store: HistoryStore,
    *,
    target: str,
    window_runs: int | None = DEFAULT_WINDOW_RUNS,
) -> dict[str, dict[str, ProbePoint]]:
    """Each probe of ``target`` and, per agent that ran it, its latest result.

    Args:
        window_runs: read only the target's latest runs, this many (all
            agents together); None reads every kept run.

    Returns:
        probe id -> agent -> that agent's latest ``ProbePoint`` of the probe
        (outcome, category, message, run id and time), probes and agents in
        alphabetical order. Empty for a target no run has stored.
    """
    with store.db.read() as tx:
        low = 0
        if window_runs is not None:
            found_low = tx.scalar(
                _WINDOW_START, {"target": target, "window": window_runs}
            )
            if found_low is None:
                return {}
            low = int(found_low)
        found = tx.rows(_LATEST_PER_AGENT, {"target": target, "low": low})
    latest: dict[str, dict[str, ProbePoint]] = {}
    for row in found:
        probe_id = row.pop("probe_id")
        latest.setdefault(probe_id, {})[row["agent"]] = probe_point(row)
    return latest
