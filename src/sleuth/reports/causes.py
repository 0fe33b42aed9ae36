"""Which failures are likely root causes, ranked by how many probes they explain.

Evidence points at a cause in a few ways, and one fault is ranked once however
many ways point at it:

- A probe that ``needs`` another (by name or tag) and failed while that one
  failed is blocked by it.
- Errors of one category against one address ("connection refused by
  db-1:5432") are one fault, whichever kinds of probe saw it (HTTP, a service
  helper, a TCP check). A need whose failing probe shows that same fault is the
  same cause: its blocked probes and the others are counted together.
- A host that answered at least as many probes as failed there is not down:
  its timeouts, 5xx and auth errors are grouped by endpoint
  (``GET /search: no answer in 2.0 s``), not blamed on the host.
- A settings source that could not be read at all (an app function that does
  not import, a file that is not there or does not parse) is one cause for
  every setting it left missing.
- sleuth's own faults (category ``sleuth``: its HTTP worker died) are ranked
  as sleuth's, never as the host's; writes refused by sleuth's read-only rule
  are not a fault of the target and come last, on a line of their own.

Probes all run at once either way; this is done when reporting.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from sleuth._evidence import (
    BUDGET,
    SLEUTH_FAULT,
    WRITE_REFUSED,
    Category,
    ProbeRecord,
)

_HOST = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]*@)?(?P<host>[\w.\-\[\]:]+?:\d+)"
)
# Faults of one request, not of the connection: a host that answers other
# probes is not blamed for them.
_PER_REQUEST = frozenset({"timeout", "http-5xx", "auth", "reset", "other"})
# A stalled or cut-short body: the target answered, so "no answer" would be false.
_INCOMPLETE = re.compile(
    r"body incomplete(?: at the [\d.]+ ?m?s deadline|: the connection closed)"
)
_WAITED = re.compile(r"(?:timed out after|no answer within) (?P<s>[\d.]+ ?m?s)\b")
SLEUTH_LABEL = "sleuth"
READ_ONLY_LABEL = "sleuth's read-only rule"
BUDGET_LABEL = "the run's budget"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RootCause:
    """A likely cause: what failed, why, and which probes it explains."""

    label: str  # the need's name, the host or endpoint the failures share
    diagnosis: str
    category: Category
    probes: tuple[str, ...]  # the failing probes that show the cause
    blocks: tuple[str, ...]  # probes blocked by it

    @property
    def weight(self) -> int:
        return len(self.blocks) + len(self.probes)

    @property
    def is_targets(self) -> bool:
        """Is it a fault of the system probed (not sleuth's, not the suite's)?"""
        return self.category not in (SLEUTH_FAULT, WRITE_REFUSED, BUDGET)

    def line(self) -> str:
        """``postgres: connection refused (blocks 12 probes, 3 failed)``."""
        if self.category == WRITE_REFUSED:
            n = len(self.probes)
            return f"{self.label}: {self.diagnosis} ({_probes(n)})"
        if self.blocks:
            blocks = f"blocks {_probes(len(self.blocks))}"
            also = len(self.probes) - 1  # the need's own probe is the first
            if also > 0:
                blocks += f"; {also} more failed the same way"
            return f"{self.label}: {self.diagnosis} ({blocks})"
        n = len(self.probes)
        how = "failed the same way" if n > 1 else "failed"
        return f"{self.label}: {self.diagnosis} ({_probes(n)} {how})"


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


@dataclasses.dataclass(slots=True)
class _Fault:
    """One fault while ranking: the records showing it, the probes it blocks."""

    label: str
    diagnosis: str
    category: Category
    probes: list[str] = dataclasses.field(default_factory=list)
    blocks: list[str] = dataclasses.field(default_factory=list)
    from_need: bool = False

    def add(self, probe_id: str) -> None:
        if probe_id not in self.probes:
            self.probes.append(probe_id)

    def cause(self) -> RootCause:
        return RootCause(
            label=self.label,
            diagnosis=self.diagnosis,
            category=self.category,
            probes=tuple(self.probes),
            blocks=tuple(self.blocks),
        )


def rank(records: Sequence[ProbeRecord]) -> list[RootCause]:
    """Likely root causes, the one explaining most probes first.

    Faults of the target first, by weight; sleuth's own after those of the
    same weight; refused writes always last (they are no fault at all).
    """
    answered = _answered_by_host(records)
    errors_at = Counter(
        host for r in records if r.outcome == "error" and (host := _host_of(r))
    )
    faults: dict[tuple[str, ...], _Fault] = {}
    explained: set[str] = set()

    blocked: dict[str, list[ProbeRecord]] = {}
    for record in records:
        if record.outcome == "blocked" and record.blocked_by:
            blocked.setdefault(record.blocked_by, []).append(record)
    for need, victims in blocked.items():
        culprits = [
            r for r in records if matches(r, need) and r.outcome in ("failed", "error")
        ]
        first = culprits[0] if culprits else None
        seen = _fault_of(first, answered, errors_at) if first else None
        key = seen[0] if seen else ("need", need)
        fault = faults.get(key)
        if fault is None:
            fault = faults[key] = _Fault(
                label=need,
                diagnosis=_short(first.diagnosis) if first else "failed",
                category=first.category if first else "",
                from_need=True,
            )
        for culprit in culprits:
            fault.add(culprit.probe_id)
        fault.blocks.extend(r.probe_id for r in victims)
        explained.update(r.probe_id for r in culprits)

    for record in records:
        if record.probe_id in explained or record.outcome not in ("failed", "error"):
            continue
        sources = _broken_sources(record)
        seen = _fault_of(record, answered, errors_at)
        for key, label, diagnosis in sources or ([seen] if seen else []):
            fault = faults.setdefault(
                key, _Fault(label=label, diagnosis=diagnosis, category=record.category)
            )
            fault.add(record.probe_id)

    causes = [
        fault.cause()
        for key, fault in faults.items()
        if fault.from_need or len(fault.probes) >= 2 or key[0] in _ALWAYS_RANKED
    ]
    return sorted(
        causes,
        key=lambda c: (
            c.category == WRITE_REFUSED,
            -c.weight,
            not c.is_targets,
            c.label,
        ),
    )


# Fault kinds ranked even when one probe shows them: the fault is certain.
_ALWAYS_RANKED = frozenset({"sleuth", "read-only", "settings-source", "budget"})


def _fault_of(
    record: ProbeRecord, answered: Counter[str], errors_at: Counter[str]
) -> tuple[tuple[str, ...], str, str] | None:
    """``(key, label, diagnosis)`` of the fault ``record`` shows, if one is known."""
    if record.category == SLEUTH_FAULT:
        return ("sleuth",), SLEUTH_LABEL, _sleuth_words(record.diagnosis)
    if record.category == BUDGET:
        return (
            ("budget",),
            BUDGET_LABEL,
            "spent before the probes started; nothing is known of the target",
        )
    if record.category == WRITE_REFUSED:
        return (
            ("read-only",),
            READ_ONLY_LABEL,
            "writes refused before sending; nothing reached the target, not its fault",
        )
    sources = _broken_sources(record)
    if sources:
        return sources[0]
    if record.outcome != "error":
        return None
    host = _host_of(record)
    if host is None:
        return None
    if record.category in _PER_REQUEST and answered[host] >= errors_at[host]:
        endpoint = _endpoint_of(record, host)
        if endpoint is not None:
            return (
                (record.category, host, endpoint),
                endpoint,
                _endpoint_words(record),
            )
    if incomplete := _incomplete_words(record):
        return (record.category, host, "body"), host, incomplete
    return (record.category, host), host, _category_words(record.category)


def _broken_sources(record: ProbeRecord) -> list[tuple[tuple[str, ...], str, str]]:
    """Settings sources that could not be read, behind a missing setting.

    Each is a cause of its own: any of them may have been the one to hold it.
    """
    found: dict[tuple[str, ...], tuple[tuple[str, ...], str, str]] = {}
    for lookup in record.settings:
        if not lookup.is_missing:
            continue
        for answer in lookup.answers:
            if answer.broken:
                where = f" ({answer.where})" if answer.where else ""
                key = ("settings-source", answer.source)
                found[key] = (
                    key,
                    f"settings source {answer.source}{where}",
                    answer.broken,
                )
    return list(found.values())


def _answered_by_host(records: Sequence[ProbeRecord]) -> Counter[str]:
    """How many probes each host answered, not counting those that ended in error.

    A host that answers everything with 503 answered no probe here: that is
    the host's fault, not one endpoint's.
    """
    answered: Counter[str] = Counter()
    for record in records:
        if record.outcome == "error":
            continue
        hosts = {
            match["host"]
            for exchange in record.exchanges
            if exchange.status is not None
            and (match := _HOST.search(exchange.request.split(" ", 1)[-1]))
        }
        answered.update(hosts)
    return answered


def _host_of(record: ProbeRecord) -> str | None:
    for exchange in reversed(record.exchanges):
        match = _HOST.search(exchange.request.split(" ", 1)[-1])
        if match:
            return match["host"]
    match = _HOST.search(record.diagnosis)
    return match["host"] if match else None


def _endpoint_of(record: ProbeRecord, host: str) -> str | None:
    """``GET /search`` (no query: rows differ in it) of the last request to ``host``."""
    for exchange in reversed(record.exchanges):
        if exchange.kind != "http":
            continue
        # "GET url", or "GET url via requests" for the probe's own client
        method, _, rest = exchange.request.partition(" ")
        parts = urlsplit(rest.split(" ", 1)[0])
        if parts.netloc.rpartition("@")[2] == host:
            return f"{method} {parts.path or '/'}"
    return None


def _incomplete_words(record: ProbeRecord) -> str | None:
    texts = [record.diagnosis, *(e.error for e in record.exchanges if e.error)]
    found = next(filter(None, map(_INCOMPLETE.search, texts)), None)
    return f"answering, but {found[0]}" if found else None


def _endpoint_words(record: ProbeRecord) -> str:
    if incomplete := _incomplete_words(record):
        return incomplete
    if record.category == "timeout":
        waited = _WAITED.search(record.diagnosis) or next(
            (
                m
                for e in reversed(record.exchanges)
                if e.error and (m := _WAITED.search(e.error))
            ),
            None,
        )
        return f"no answer in {waited['s']}" if waited else "no answer in time"
    if record.category == "http-5xx":
        statuses = sorted({e.status for e in record.exchanges if e.status})
        if statuses:
            return f"answering {statuses[-1]}"
    return _category_words(record.category)


def _sleuth_words(diagnosis: str) -> str:
    if "HTTP worker process stopped" in diagnosis:
        return (
            "its HTTP worker process stopped mid-run: sleuth's own fault, "
            "not the target's"
        )
    return "sleuth's own fault, not the target's"


def _category_words(category: str) -> str:
    return {
        "dns": "the name does not resolve",
        "refused": "connection refused",
        "timeout": "no answer in time",
        "tls": "TLS failed",
        "reset": "connections reset",
        "http-5xx": "answering 5xx",
        "auth": "authentication refused",
    }.get(category, category or "failing")


def _probes(n: int) -> str:
    return f"{n} probe{'s' * (n != 1)}"


def _short(diagnosis: str) -> str:
    """The gist of a diagnosis: after the target prefix, before the advice."""
    text = diagnosis.split(". ", 1)[0]
    head, sep, rest = text.partition(": ")
    # "GET http://db/x: connection refused" -> "connection refused"; a setting's
    # "FEATURE_FLAG_X: missing" keeps its name (no space in it).
    if sep and " " in head and not head.startswith(("timed out", "not run")):
        return rest
    return text
