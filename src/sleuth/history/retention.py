"""Retention: the runs of a target older than, or beyond, what is kept go.

``--history-keep 30d`` keeps runs by age, ``--history-keep 500`` by count; the
run being written is always spared. A run's results and settings go with it.
"""

# ruff: noqa: S608 (SQL is assembled from constants here; values are always bound)

from __future__ import annotations

import datetime as _dt
from typing import Any

from sleuth import _timing as timing
from sleuth.history.db import Tx
from sleuth.history.options import Retention


def prune(tx: Tx, *, target: str, keep: Retention, spare: int | None) -> int:
    """Delete the target's runs past ``keep`` (but ``spare``); how many went."""
    params: dict[str, Any] = {"target": target, "spare": spare or 0}
    if keep.max_age_s is not None:
        cutoff = timing.utcnow() - _dt.timedelta(seconds=keep.max_age_s)
        params["cutoff"] = cutoff.replace(tzinfo=None)
        condition = "started_at < :cutoff"
    elif keep.runs is not None:
        floor = tx.scalar(
            "SELECT id FROM sleuth_runs WHERE target = :target "
            "ORDER BY id DESC LIMIT 1 OFFSET :offset",
            {"target": target, "offset": keep.runs - 1},
        )
        if floor is None:
            return 0
        params["floor"] = floor
        condition = "id < :floor"
    else:
        return 0
    doomed = (
        "SELECT id FROM sleuth_runs WHERE target = :target AND id <> :spare "
        f"AND {condition}"
    )
    count = int(tx.scalar(f"SELECT count(*) FROM ({doomed}) d", params))
    if count:
        tx.execute(f"DELETE FROM sleuth_results WHERE run_id IN ({doomed})", params)
        tx.execute(f"DELETE FROM sleuth_settings WHERE run_id IN ({doomed})", params)
        tx.execute(
            f"DELETE FROM sleuth_setting_sources WHERE run_id IN ({doomed})", params
        )
        tx.execute(f"DELETE FROM sleuth_runs WHERE id IN ({doomed})", params)
    return count
