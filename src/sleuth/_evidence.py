"""What a probe saw: every call it made through ``target``, kept for the report.

Records are plain values. Rendering them for people lives in ``reports/``;
everything recorded here passes through the scrubber before it is shown.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, get_args

BODY_EXCERPT_BYTES = 2048

# A probe's outcome in every report and in the history.
ProbeOutcome = Literal[
    "passed",
    "failed",  # an answer, but the wrong one
    "error",  # no proper answer
    "blocked",  # not run: a probe it needs failed
    "warned",  # passed, degraded (warn_over, expect: warn:)
    "flaky",  # passed, but only after a retry
    "skipped",
    "xfailed",
    "xpassed",
]
# Why an ``error`` outcome had no proper answer.
ErrorCategory = Literal[
    "dns",
    "refused",
    "timeout",
    "tls",
    "reset",
    "http-5xx",
    "auth",
    "sleuth",  # sleuth's own fault (its HTTP worker stopped), never the target's
    "budget",  # the run's budget ran out before the probe started
    "other",
]
# Why a probe did not pass: an error's category, or for a ``failed`` outcome
# ``failed``, ``unhealthy`` (a dependency past a threshold) or
# ``write-refused``; "" when it passed.
Category = Literal[ErrorCategory, "failed", "unhealthy", "write-refused", ""]
# What one settings source said of a name, and so what the lookup found
# (a source's "error" is not an answer: the next source is asked).
SettingState = Literal["present", "empty", "absent"]
SourceState = Literal[SettingState, "error"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One request and what came back (or why nothing did)."""

    kind: str  # "http", "postgres", ...
    request: str  # "GET http://127.0.0.1:8000/users/1"
    status: int | None = None
    reason: str = ""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    body_excerpt: str = ""
    body_bytes: int | None = None
    remote: str | None = None
    timings_ms: Mapping[str, float] = dataclasses.field(default_factory=dict)
    error: str | None = None
    attempt: int = 1
    # sleuth's own waits around the exchange (over 50 ms in all), in ms, by
    # when: "before_sending", "after_the_answer". Not in any timing above.
    busy_ms: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """One line: ``GET http://host/x -> 500 Internal Server Error (12 ms)``."""
        total = self.timings_ms.get("total")
        took = f" ({total:.0f} ms)" if total is not None else ""
        if self.error:
            return f"{self.request} -> {self.error}{took}"
        status = f"{'' if self.status is None else self.status} {self.reason}".strip()
        return f"{self.request} -> {status}{took}"

    def busy_note(self) -> str:
        """``sleuth was busy for 380 ms before sending; not counted``, or ""."""
        parts = [
            f"{self.busy_ms[key]:.0f} ms {words}"
            for key, words in _BUSY_WORDS.items()
            if self.busy_ms.get(key)
        ]
        if not parts:
            return ""
        return f"sleuth was busy for {' and '.join(parts)}; not counted"


def time_on_wire(exchanges: Sequence[Exchange], body_s: float) -> float:
    """A probe's duration as reports and the history give it: its target's time.

    The sum of its exchanges' totals (each the time on the wire, sleuth's own
    waits left out), at most the body's own duration ``body_s`` (exchanges
    made at once overlap); ``body_s`` for a probe that made none.
    """
    totals = [e.timings_ms["total"] for e in exchanges if "total" in e.timings_ms]
    if not totals:
        return body_s
    return min(sum(totals) / 1000.0, body_s)


_BUSY_WORDS = {
    "before_sending": "before sending",
    "after_the_answer": "after the answer came",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceAnswer:
    """What one settings source said about one name. Never the value itself."""

    source: str  # "environment", "dotenv .env", "app my_app.config:get_setting"
    state: SourceState
    detail: str = ""  # why: "no file at /srv/app/.env", "raised KeyError"
    # Set when the source could not be read at all, for any name ("cannot be
    # imported: ...", "no file at ...", "does not parse: ..."): one root cause.
    broken: str = ""
    where: str = ""  # where the source is declared: "sleuth.yaml line 7"
    # From a source that knows them (a secrets manager): the value's version
    # and when it last changed, often the clue ("changed 14 minutes ago").
    version: str = ""
    changed_at: _dt.datetime | None = None

    def describe(self, *, now: _dt.datetime | None = None) -> str:
        if self.broken:  # said whole once, as a root cause; here in a few words
            gist = self.broken.split(" (", 1)[0]
            return f"{self.source}: {gist} (see likely root causes)"
        notes = [self.detail] if self.detail else []
        if self.version:
            notes.append(f"version {self.version}")
        if self.changed_at is not None:
            notes.append(f"changed {changed_ago(self.changed_at, now=now)}")
        return f"{self.source}: {self.state}" + (
            f" ({', '.join(notes)})" if notes else ""
        )

    def version_facts(self) -> dict[str, str]:
        """The version and change time, for JSON documents: only those known."""
        facts = {"version": self.version} if self.version else {}
        if self.changed_at is not None:
            facts["changed_at"] = self.changed_at.astimezone(_dt.UTC).isoformat()
        return facts


def changed_ago(when: _dt.datetime, *, now: _dt.datetime | None = None) -> str:
    """``14 minutes ago (2026-12-05 11:57 UTC)``: how long ago, then when."""
    from sleuth import _timing as timing

    when = when.astimezone(_dt.UTC)
    seconds = ((now or timing.utcnow()) - when).total_seconds()
    stamp = when.strftime("%Y-%m-%d %H:%M UTC")
    if seconds < 0:  # the manager's clock is ahead of ours
        return f"just now ({stamp})"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago ({stamp})"
    return f"{int(seconds)} seconds ago ({stamp})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingLookup:
    """Where a setting was looked for, where it was found, and near names."""

    name: str
    answers: tuple[SourceAnswer, ...]
    found_in: str | None
    state: SettingState  # of the answer used
    close_names: tuple[str, ...] = ()
    # Set when sources hold different values for the name: which, their short
    # fingerprints (never the values) and which one wins. See settings/conflict.py.
    conflict: str = ""

    @property
    def is_missing(self) -> bool:
        return self.state != "present"

    def describe(self) -> str:
        """``FEATURE_FLAG_X: missing. environment: absent; dotenv .env: absent.``"""
        looked = (
            "; ".join(a.describe() for a in self.answers) or "no sources configured"
        )
        if self.state == "present":
            head = f"{self.name}: found in {self.found_in}"
        elif self.state == "empty":
            head = f"{self.name}: empty in {self.found_in}"
        elif any(a.state == "error" and not a.broken for a in self.answers):
            # A source holds a value it rejects (a model field that does not
            # validate): "missing" would send the reader to look for it.
            head = f"{self.name}: no valid value"
        else:
            head = f"{self.name}: missing"
        close = ""
        if self.close_names and self.is_missing:
            close = f". Close names that exist: {', '.join(self.close_names)}"
        differ = f" {self.conflict}." if self.conflict else ""
        return f"{head}. Looked in {looked}{close}.{differ}"


@dataclasses.dataclass(slots=True, kw_only=True)
class ProbeRecord:
    """One probe's result as the reports see it."""

    probe_id: str
    outcome: ProbeOutcome
    category: Category = ""  # why it did not pass
    duration_s: float = 0.0
    ran_ahead: bool = False
    diagnosis: str = ""
    flaky: bool = False  # passed, but only after a retry (see retry_notes)
    retry_notes: list[str] = dataclasses.field(default_factory=list)
    # Degraded, not failed (warn_over, expect: warn:): the warned outcome's reasons.
    warnings: list[str] = dataclasses.field(default_factory=list)
    exchanges: list[Exchange] = dataclasses.field(default_factory=list)
    settings: list[SettingLookup] = dataclasses.field(default_factory=list)
    error_type: str = ""  # the exception's type, for errors of category "other"
    name: str = ""  # the test function's name, or a table row's name
    tags: tuple[str, ...] = ()  # its markers: what `needs` refers to
    needs: tuple[str, ...] = ()
    blocked_by: str = ""  # the need whose failure blocked it
    # The clients its own code used, each with whether sleuth held it to the
    # read-only rule: {"requests": True, "psycopg": False} (sleuth/clients).
    clients: dict[str, bool] = dataclasses.field(default_factory=dict)


# Outcomes that mean "not healthy", and those that mean healthy but worth a look.
FAILING: tuple[ProbeOutcome, ...] = ("failed", "error", "blocked")
DEGRADED: tuple[ProbeOutcome, ...] = ("warned", "flaky")
# A write sleuth refused before sending it (HTTP, SQL, Redis, brokers).
WRITE_REFUSED: Category = "write-refused"
# sleuth's own fault (its HTTP worker stopped), never the target's.
SLEUTH_FAULT: ErrorCategory = "sleuth"
# The run's budget ran out before the probe started: no answer was asked for.
BUDGET: ErrorCategory = "budget"
ERROR_CATEGORIES: tuple[ErrorCategory, ...] = get_args(ErrorCategory)
# Answers that mean the target refused who was asking: unauthorized, forbidden,
# proxy authentication required.
AUTH_STATUSES = frozenset({401, 403, 407})


def classify(
    exc: BaseException | None, *, exchanges: list[Exchange]
) -> tuple[ProbeOutcome, Category]:
    """``(outcome, category)`` of a probe whose call raised ``exc``.

    failed: an answer, but the wrong one (category ``failed``, or ``unhealthy``
    for a dependency past a threshold), or a write sleuth refused to send
    (``write-refused``: the probe asked for something a read-only run does not
    do, which is the suite's fault, never the target's). error: no proper
    answer (or ``sleuth``: sleuth's own fault, or ``budget``: the run's budget
    ran out before the probe started; no answer known either way), with one of
    ``ERROR_CATEGORIES``: what the error said, or the last HTTP answer (5xx,
    401/403) when an assertion failed on it.
    """
    from sleuth.errors import (
        BudgetSpent,
        CheckFailed,
        ProbeError,
        SleuthFault,
        WriteRefused,
    )

    if exc is None:
        return "passed", ""
    if isinstance(exc, WriteRefused):
        return "failed", WRITE_REFUSED
    if isinstance(exc, SleuthFault):
        return "error", SLEUTH_FAULT
    if isinstance(exc, BudgetSpent):
        return "error", BUDGET
    if isinstance(exc, CheckFailed):
        if exc.category in ERROR_CATEGORIES:
            return "error", exc.category
        return "failed", exc.category or "failed"
    if isinstance(exc, ProbeError):
        category = exc.category if exc.category in ERROR_CATEGORIES else "other"
        return "error", category
    answered = [e for e in exchanges if e.status is not None]
    if isinstance(exc, AssertionError):
        if answered and answered[-1].status is not None:
            status = answered[-1].status
            if status >= 500:
                return "error", "http-5xx"
            if status in AUTH_STATUSES:
                return "error", "auth"
        return "failed", "failed"
    return "error", "other"


def diagnose(
    exc: BaseException | None,
    *,
    exchanges: list[Exchange],
    settings: list[SettingLookup],
) -> str:
    """One line saying why a probe failed, from the error and the evidence."""
    from sleuth.errors import SleuthError

    if isinstance(exc, SleuthError):
        return _first_line(str(exc))
    missing = [lookup for lookup in settings if lookup.is_missing]
    if missing and isinstance(exc, AssertionError):
        return " ".join(lookup.describe() for lookup in missing)
    failing = [
        e for e in exchanges if e.error or (e.status is not None and e.status >= 400)
    ]
    if failing and isinstance(exc, AssertionError):
        return f"{failing[-1].summary()}; {_first_line(str(exc)) or 'assertion failed'}"
    if exc is None:
        return ""
    text = _first_line(str(exc))
    name = type(exc).__name__
    if isinstance(exc, AssertionError):
        return text or "assertion failed"
    return f"{name}: {text}" if text else name


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


@dataclasses.dataclass(slots=True, kw_only=True)
class SettingSeen:
    """A setting the run read: where it was found and whether it had a value.

    The value is not here. ``RunRecord.fingerprint`` derives a keyed digest of
    it for the history, so a change shows without the value ever being stored.
    """

    name: str
    source: str | None  # the source that answered, None when absent everywhere
    state: SettingState


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceHeld:
    """What one source held for a setting the run read: its answer's state and
    a keyed fingerprint of its value (None when it gave none). Never the value."""

    source: str
    state: str  # present, empty, absent, error
    fingerprint: str | None


@dataclasses.dataclass(slots=True, kw_only=True)
class RunRecord:
    """One whole run, as outputs and the history store receive it."""

    target: str
    base_url: str | None
    started_at: _dt.datetime
    duration_s: float
    exit_status: int
    selection: list[str]
    sleuth_version: str
    probes: list[ProbeRecord]
    settings: list[SettingSeen]
    # Computes HMAC-SHA256(key, value) of a setting this run read, or None.
    fingerprint: Callable[[bytes, str], str | None] = dataclasses.field(
        default=lambda key, name: None, repr=False
    )
    # Each source's answer for a setting, in the order they were asked, with
    # HMAC-SHA256(key, value) of each value: what the history keeps per source.
    source_fingerprints: Callable[[bytes, str], tuple[SourceHeld, ...]] = (
        dataclasses.field(default=lambda key, name: (), repr=False)
    )
    # Masks secret values in a text before it is stored or shown.
    scrub: Callable[[str], str] = dataclasses.field(
        default=lambda text: text, repr=False
    )
    # Every value each setting had in this run, secret or not: the history
    # masks them all (it keeps only fingerprints); outputs shown now do not.
    setting_values: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=dict, repr=False
    )
