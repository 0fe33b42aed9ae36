"""A run as plain data: what --sleuth-json writes and the other outputs read.

The shape is versioned (``SCHEMA``) and documented in docs/outputs.md, with a
JSON Schema in docs/schema/run-1.json. Every string passes through the run's
scrubber before it leaves.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from sleuth._evidence import (
    Exchange,
    ProbeOutcome,
    ProbeRecord,
    RunRecord,
    SettingLookup,
)
from sleuth.reports import clients
from sleuth.reports.causes import RootCause, rank

SCHEMA = "sleuth.run/1"
OUTCOMES: tuple[ProbeOutcome, ...] = (
    "passed",
    "warned",
    "flaky",
    "failed",
    "error",
    "blocked",
    "skipped",
    "xfailed",
    "xpassed",
)


def build(
    record: RunRecord,
    *,
    causes: list[RootCause] | None = None,
    changes: dict[str, Any] | None = None,
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run as JSON-ready data, scrubbed."""
    causes = rank(record.probes) if causes is None else causes
    counts = Counter(p.outcome for p in record.probes)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "run": {
            "target": record.target,
            "base_url": record.base_url,
            "started_at": record.started_at.isoformat(),
            "duration_s": round(record.duration_s, 4),
            "exit_status": record.exit_status,
            "selection": list(record.selection),
            "sleuth_version": record.sleuth_version,
            "counts": {o: counts[o] for o in OUTCOMES if counts[o]},
            # The clients the probes' own code used, and whether each was held
            # to the read-only rule (reports/clients.py).
            "clients": clients.tally(p.clients for p in record.probes),
        },
        "root_causes": [
            {
                "label": c.label,
                "diagnosis": c.diagnosis,
                "category": c.category,
                "probes": list(c.probes),
                "blocks": list(c.blocks),
                "summary": c.line(),
            }
            for c in causes
        ],
        "probes": [_probe(p) for p in record.probes],
        "settings": [
            {"name": s.name, "source": s.source, "state": s.state}
            for s in record.settings
        ],
    }
    if changes is not None:
        document["changes"] = changes
    if history is not None:
        document["history"] = history
    scrubbed: dict[str, Any] = _scrub(document, record)
    return scrubbed


def _probe(p: ProbeRecord) -> dict[str, Any]:
    return {
        "id": p.probe_id,
        "name": p.name,
        "outcome": p.outcome,
        "category": p.category,
        "error_type": p.error_type,
        "duration_s": round(p.duration_s, 4),
        "ran_ahead": p.ran_ahead,
        "retry_notes": list(p.retry_notes),
        "diagnosis": p.diagnosis,
        "blocked_by": p.blocked_by,
        "needs": list(p.needs),
        "tags": list(p.tags),
        "warnings": list(p.warnings),
        "evidence": {
            "exchanges": [_exchange(e) for e in p.exchanges],
            "settings": [_lookup(s) for s in p.settings],
        },
    }


def _exchange(e: Exchange) -> dict[str, Any]:
    data = dataclasses.asdict(e)
    data["headers"] = dict(e.headers)
    data["timings_ms"] = dict(e.timings_ms)
    return data


def _lookup(s: SettingLookup) -> dict[str, Any]:
    return {
        "name": s.name,
        "state": s.state,
        "found_in": s.found_in,
        "answers": [
            {
                "source": a.source,
                "state": a.state,
                "detail": a.detail,
                **a.version_facts(),
            }
            for a in s.answers
        ],
        "close_names": list(s.close_names),
        "conflict": s.conflict,
    }


def _scrub(value: Any, record: RunRecord) -> Any:
    if isinstance(value, str):
        return record.scrub(value)
    if isinstance(value, list):
        return [_scrub(v, record) for v in value]
    if isinstance(value, dict):
        return {_scrub(k, record): _scrub(v, record) for k, v in value.items()}
    return value
