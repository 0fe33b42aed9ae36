"""The probe a piece of code is running for, and what it has seen so far.

The engine sets ``current`` before it runs a probe's body, on whatever thread or
task runs it; helpers on ``target`` read it to find their deadline, whether
writes are allowed, and where to record evidence.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import math
import threading
from collections.abc import Iterator

from sleuth import _timing as timing
from sleuth._evidence import Exchange, SettingLookup

BUDGET_REASON = "the run budget ran out"


@dataclasses.dataclass(slots=True, kw_only=True, eq=False)
class ProbeContext:
    """A probe's deadline, permissions and evidence. Shared with the engine."""

    probe_id: str
    timeout_s: float
    timeout_origin: str = "default"
    writes_marked: bool = False
    allow_writes: bool = False
    deadline: float = math.inf
    deadline_reason: str = ""
    started_at: float | None = None
    last_waiting_on: str | None = None
    # Set for probes that run ahead: what they print or log is kept here and
    # replayed when pytest reaches them, so it lands in their own report.
    capture_output: bool = False
    output: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    log_records: list[logging.LogRecord] = dataclasses.field(default_factory=list)
    exchanges: list[Exchange] = dataclasses.field(default_factory=list)
    settings: list[SettingLookup] = dataclasses.field(default_factory=list)
    budget_deadline: float = math.inf
    # Opt-in retries of each idempotent HTTP request (@pytest.mark.probe(retries=2),
    # a table row's retries:). With none, one Retry-After is still honoured.
    retries: int = 0
    # One line per retry made. A probe that passed with any passed only on retry:
    # the report calls it flaky (see ``was_retried``).
    retry_notes: list[str] = dataclasses.field(default_factory=list)
    # Degradations that do not fail the probe (a table row's warn_over, its
    # expect: warn: block); the report turns them into a warned outcome.
    warnings: list[str] = dataclasses.field(default_factory=list)
    # The clients the probe's own code used (sleuth/clients), each with whether
    # sleuth could guard it: "requests": True, "psycopg": False. The run's
    # header and summary say what was and was not held to the read-only rule.
    clients: dict[str, bool] = dataclasses.field(default_factory=dict)
    _waiting: list[str] = dataclasses.field(default_factory=list)
    # The latest wait to end, and when (monotonic): see waiting_at_deadline.
    _last_wait: tuple[str, float] | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def start(self, *, budget_deadline: float = math.inf) -> None:
        """Start the clock: the deadline is the timeout, or the run's budget."""
        now = timing.monotonic()
        self.started_at = now
        self.budget_deadline = budget_deadline
        own = now + self.timeout_s
        if budget_deadline < own:
            self.deadline = budget_deadline
            self.deadline_reason = BUDGET_REASON
        else:
            self.deadline = own
            self.deadline_reason = (
                "the default timeout"
                if self.timeout_origin == "default"
                else f"timeout from {self.timeout_origin}"
            )

    def remaining(self) -> float:
        if self.started_at is None:
            self.start()
        return self.deadline - timing.monotonic()

    def elapsed(self) -> float:
        return 0.0 if self.started_at is None else timing.monotonic() - self.started_at

    @contextlib.contextmanager
    def waiting_on(self, what: str) -> Iterator[None]:
        """Note what the probe waits for, so a timeout can say so."""
        with self._lock:
            self._waiting.append(what)
        try:
            yield
        except BaseException:
            self.last_waiting_on = what
            raise
        finally:
            with self._lock:
                self._waiting.remove(what)
                self._last_wait = (what, timing.monotonic())

    def waiting_at_deadline(self) -> str | None:
        """What the probe was waiting for when its deadline passed: what it
        waits for now, or a wait that ended at the deadline or after it.

        A client bounded by the probe's time left gives up at the deadline
        itself; on a busy machine that can be a moment before the watchdog
        looks, and the probe was still waiting on the target, not running
        its own code.
        """
        with self._lock:
            if self._waiting:
                return ", ".join(self._waiting)
            last = self._last_wait
        if last is not None and last[1] >= self.deadline:
            return last[0]
        return None

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def replace_exchange(self, old: Exchange, new: Exchange) -> None:
        """Swap a recorded exchange for a fuller one (its body, read later)."""
        with self._lock:
            # From the end: the exchange is one of the probe's latest.
            for i in range(len(self.exchanges) - 1, -1, -1):
                if self.exchanges[i] is old:
                    self.exchanges[i] = new
                    return

    def record_setting(self, lookup: SettingLookup) -> None:
        with self._lock:
            self.settings.append(lookup)

    def note_retry(self, note: str) -> None:
        with self._lock:
            self.retry_notes.append(note)

    def note_client(self, name: str, *, guarded: bool) -> None:
        with self._lock:
            self.clients[name] = guarded

    def warn(self, message: str) -> None:
        with self._lock:
            self.warnings.append(message)

    @property
    def was_retried(self) -> bool:
        """Did any request of this probe need another attempt?"""
        return bool(self.retry_notes)

    def timeout_message(self, *, waiting_on: str | None = None) -> str:
        """``timed out after 2.0 s waiting for GET url (timeout from sleuth.yaml)``."""
        waiting_on = waiting_on or self.waiting_at_deadline()
        budget = self.deadline_reason == BUDGET_REASON
        limit = self.elapsed() if budget else self.timeout_s
        reason = f" ({self.deadline_reason})" if self.deadline_reason else ""
        if waiting_on:
            return f"timed out after {limit:.1f} s waiting for {waiting_on}{reason}"
        return (
            f"timed out after {limit:.1f} s{reason}; it was not waiting on the "
            f"target: its own code was still running"
        )


current: contextvars.ContextVar[ProbeContext | None] = contextvars.ContextVar(
    "sleuth_current_probe", default=None
)


def get_or_default(default_timeout_s: float) -> ProbeContext:
    """The running probe's context, or a fresh one for code outside any probe."""
    ctx = current.get()
    if ctx is None:
        ctx = ProbeContext(probe_id="(outside a probe)", timeout_s=default_timeout_s)
        ctx.start()
    return ctx
