"""Which failures are likely root causes, ranked by how many probes they explain.

Two kinds of evidence point at a cause. A probe that ``needs`` another (by
name or tag) and failed while that one failed is blocked by it. Failures with
the same category against the same host ("connection refused by db-1:5432")
are one problem seen several times. Probes all run at once either way; this is
done when reporting.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from sleuth.evidence import ProbeRecord

_HOST = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]*@)?(?P<host>[\w.\-\[\]:]+?:\d+)"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RootCause:
    """A likely cause: what failed, why, and which probes it explains."""

    label: str  # the need's name, or the host the failures share
    diagnosis: str
    category: str
    probes: tuple[str, ...]  # the failing probes that show the cause
    blocks: tuple[str, ...]  # probes blocked by it

    @property
    def weight(self) -> int:
        return len(self.blocks) + len(self.probes)

    def line(self) -> str:
        """``postgres: connection refused (blocks 12 probes)``."""
        if self.blocks:
            n = len(self.blocks)
            return f"{self.label}: {self.diagnosis} (blocks {n} probe{'s' * (n != 1)})"
        n = len(self.probes)
        return f"{self.label}: {self.diagnosis} ({n} probes failed the same way)"


def matches(record: ProbeRecord, need: str) -> bool:
    """Is ``record`` what ``needs(need)`` refers to: by name, tag or id?"""
    return need in (record.name, record.probe_id) or need in record.tags


def find_blocker(
    needs: Iterable[str], records: Iterable[ProbeRecord], *, itself: str
) -> tuple[str, ProbeRecord] | None:
    """The first need with a failing probe among ``records``, and that probe."""
    candidates = [r for r in records if r.probe_id != itself]
    for need in needs:
        for record in candidates:
            if matches(record, need) and record.outcome in ("failed", "error"):
                return need, record
    return None


def rank(records: Sequence[ProbeRecord]) -> list[RootCause]:
    """Likely root causes, the one explaining most probes first."""
    causes: list[RootCause] = []
    blocked: dict[str, list[ProbeRecord]] = {}
    for record in records:
        if record.outcome == "blocked" and record.blocked_by:
            blocked.setdefault(record.blocked_by, []).append(record)
    explained: set[str] = set()
    for need, victims in blocked.items():
        culprits = [
            r for r in records if matches(r, need) and r.outcome in ("failed", "error")
        ]
        first = culprits[0] if culprits else None
        causes.append(
            RootCause(
                label=need,
                diagnosis=_short(first.diagnosis) if first else "failed",
                category=first.category if first else "",
                probes=tuple(r.probe_id for r in culprits),
                blocks=tuple(r.probe_id for r in victims),
            )
        )
        explained.update(r.probe_id for r in culprits)
    shared: dict[tuple[str, str], list[ProbeRecord]] = {}
    for record in records:
        if record.outcome != "error" or record.probe_id in explained:
            continue
        host = _host_of(record)
        if host:
            shared.setdefault((record.category, host), []).append(record)
    for (category, host), group in shared.items():
        if len(group) >= 2:
            causes.append(
                RootCause(
                    label=host,
                    diagnosis=_category_words(category),
                    category=category,
                    probes=tuple(r.probe_id for r in group),
                    blocks=(),
                )
            )
    return sorted(causes, key=lambda c: (-c.weight, c.label))


def _host_of(record: ProbeRecord) -> str | None:
    for exchange in reversed(record.exchanges):
        match = _HOST.search(exchange.request.split(" ", 1)[-1])
        if match:
            return match["host"]
    match = _HOST.search(record.diagnosis)
    return match["host"] if match else None


def _category_words(category: str) -> str:
    return {
        "dns": "the name does not resolve",
        "refused": "connection refused",
        "timeout": "no answer in time",
        "tls": "TLS failed",
        "reset": "connections reset",
        "http-5xx": "answering 5xx",
        "auth": "authentication refused",
        "write-refused": "writes refused (the run is read-only)",
    }.get(category, category or "failing")


def _short(diagnosis: str) -> str:
    """The gist of a diagnosis: after the target prefix, before the advice."""
    text = diagnosis.split(". ", 1)[0]
    head, sep, rest = text.partition(": ")
    # "GET http://db/x: connection refused" -> "connection refused"; a setting's
    # "FEATURE_FLAG_X: missing" keeps its name (no space in it).
    if sep and " " in head and not head.startswith(("timed out", "not run")):
        return rest
    return text
