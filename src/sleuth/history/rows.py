"""A ``RunRecord`` turned into the rows the store writes, every text scrubbed,
and the rows the store reads turned back into the history's model.

Pure: no database. Setting values never get here; only their keyed
fingerprints do. Evidence keeps request lines, statuses and timings for every
probe, and headers and body excerpts only for probes that did not pass, so a
store of a busy ``watch`` stays small.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Callable
from typing import Any

from sleuth._evidence import Exchange, ProbeRecord, RunRecord, SettingLookup
from sleuth.history.model import (
    PASSING,
    ProbePoint,
    RunRow,
    SettingPoint,
    SourcePoint,
    as_utc,
)

Scrub = Callable[[str], str]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunRows:
    run: dict[str, Any]
    results: list[dict[str, Any]]
    settings: list[dict[str, Any]]
    # each source's answer for each setting (sleuth_setting_sources)
    sources: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def rows_from_record(
    record: RunRecord,
    *,
    key: bytes,
    agent: str,
    git_revision: str | None,
    scrub: Scrub,
) -> RunRows:
    """The run's row (without its id), its results' and its settings' rows."""
    started = record.started_at.astimezone(_dt.UTC).replace(tzinfo=None)
    run = {
        "target": scrub(record.target),
        "base_url": scrub(record.base_url) if record.base_url else None,
        "agent": agent,
        "started_at": started,
        "duration_s": float(record.duration_s),
        "sleuth_version": record.sleuth_version,
        "git_revision": git_revision,
        "exit_status": int(record.exit_status),
        "selection": json.dumps([scrub(s) for s in record.selection]),
    }
    results = [_result_row(probe, scrub) for probe in record.probes]
    settings = [
        {
            "name": seen.name,
            "source": scrub(seen.source) if seen.source else None,
            "state": seen.state,
            "fingerprint": (
                record.fingerprint(key, seen.name) if seen.state != "absent" else None
            ),
        }
        for seen in record.settings
    ]
    sources = [
        {
            "name": seen.name,
            "position": position,
            "source": scrub(held.source),
            "state": held.state,
            "fingerprint": held.fingerprint,
        }
        for seen in record.settings
        for position, held in enumerate(record.source_fingerprints(key, seen.name))
    ]
    return RunRows(run=run, results=results, settings=settings, sources=sources)


def _result_row(probe: ProbeRecord, scrub: Scrub) -> dict[str, Any]:
    full = probe.outcome not in PASSING
    evidence = {
        "exchanges": [_exchange(e, full=full) for e in probe.exchanges],
        "settings": [_lookup(s) for s in probe.settings],
    }
    return {
        "probe_id": scrub(probe.probe_id),
        "outcome": probe.outcome,
        "category": probe.category,
        "duration_s": float(probe.duration_s),
        "message": scrub(probe.diagnosis),
        "evidence": json.dumps(_scrub_all(evidence, scrub), sort_keys=True),
    }


def _exchange(exchange: Exchange, *, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": exchange.kind,
        "request": exchange.request,
        "status": exchange.status,
        "reason": exchange.reason,
        "remote": exchange.remote,
        "timings_ms": dict(exchange.timings_ms),
        "error": exchange.error,
        "attempt": exchange.attempt,
    }
    if exchange.busy_ms:
        data["busy_ms"] = dict(exchange.busy_ms)
    if full:
        data["headers"] = dict(exchange.headers)
        data["body_excerpt"] = exchange.body_excerpt
        data["body_bytes"] = exchange.body_bytes
    return data


def _lookup(lookup: SettingLookup) -> dict[str, Any]:
    return {
        "name": lookup.name,
        "found_in": lookup.found_in,
        "state": lookup.state,
        "answers": [
            {
                "source": a.source,
                "state": a.state,
                "detail": a.detail,
                **a.version_facts(),
            }
            for a in lookup.answers
        ],
        "close_names": list(lookup.close_names),
        "conflict": lookup.conflict,
    }


def _scrub_all(value: Any, scrub: Scrub) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): _scrub_all(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_all(v, scrub) for v in value]
    return value


# -- and back: rows the store read, as the history's model ----------------------


def stored_time(value: Any) -> _dt.datetime:
    """A time as the store gave it (SQLite: ISO text), in UTC."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    return as_utc(value)


def run_row(row: dict[str, Any], counts: dict[str, int]) -> RunRow:
    return RunRow(
        id=row["id"],
        target=row["target"],
        base_url=row["base_url"],
        agent=row["agent"],
        started_at=stored_time(row["started_at"]),
        duration_s=row["duration_s"],
        sleuth_version=row["sleuth_version"],
        git_revision=row["git_revision"],
        exit_status=row["exit_status"],
        selection=tuple(json.loads(row["selection"] or "[]")),
        counts=counts,
    )


def probe_point(row: dict[str, Any]) -> ProbePoint:
    return ProbePoint(**_timed(row))


def setting_point(row: dict[str, Any]) -> SettingPoint:
    return SettingPoint(**_timed(row))


def source_point(row: dict[str, Any]) -> SourcePoint:
    return SourcePoint(**_timed(row))


def _timed(row: dict[str, Any]) -> dict[str, Any]:
    """A point's row (its columns named as the point's fields), time in UTC."""
    return {**row, "started_at": stored_time(row["started_at"])}
