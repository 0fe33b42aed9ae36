"""When an HTTP request is tried again, and how long sleuth waits before it.

Politeness first: retries are opt-in (a probe's ``retries``), bounded, only for
idempotent methods (RFC 9110 section 9.2.2), and only after an answer worth
another try: none at all (refused, reset, an attempt's own timeout), a 5xx, or
a 429. Waits grow exponentially with jitter, so many probes retrying at once
do not arrive together. A 429 or 503 carrying ``Retry-After`` is honoured: the
wait is what the server asked (once even for a probe that asked for no
retries, since the server itself asked), and never past the probe's deadline.

Decisions, the wait, and the messages; the HTTP helper sends and records.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from sleuth import _timing as timing
from sleuth.errors import CheckFailed, ConfigError, ProbeError

if TYPE_CHECKING:
    from sleuth.engine.context import ProbeContext

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Errors worth another attempt: the next connection may well get through.
# Not dns (a name that does not resolve will not resolve in 0.2 s) nor tls.
RETRYABLE_CATEGORIES = frozenset({"refused", "reset", "timeout", "other"})
BACKOFF_BASE_S = 0.1
BACKOFF_MAX_S = 5.0
# The most retries a probe may ask for: a probe is a question, not a load test.
MAX_RETRIES = 10
# Another attempt is only worth making with at least this much time left.
MIN_ATTEMPT_S = 0.1

Jitter = Callable[[float, float], float]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Try again after ``wait_s``; ``reason`` is what the last attempt got."""

    wait_s: float
    reason: str
    retry_after_s: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TooLate:
    """The server asked for a wait that would pass the probe's deadline."""

    retry_after_s: float
    remaining_s: float


def parse_retry_after(value: str | None, *, now: _dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date).

    None when there is no usable value; a date in the past means no wait.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        import email.utils

        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=_dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def backoff_s(retry_number: int, *, jitter: Jitter = random.uniform) -> float:
    """The wait before retry ``retry_number`` (1, 2, ...): exponential, jittered.

    Half the step is fixed and half random ("equal jitter"), so a retry never
    comes at once and retries of many probes spread out.
    """
    step = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** (retry_number - 1))
    return step / 2 + jitter(0.0, step / 2)


class Retries:
    """The retry decisions for one request of one probe.

    Args:
        method: the HTTP method; only idempotent ones are retried.
        allowed: retries the probe asked for (0 = none beyond one Retry-After).
    """

    def __init__(self, method: str, *, allowed: int, jitter: Jitter = random.uniform):
        self.allowed = allowed
        self.idempotent = method.upper() in IDEMPOTENT_METHODS
        self.made = 0
        self.reconnected = False
        self.history: list[str] = []
        self._jitter = jitter

    @property
    def attempt(self) -> int:
        """The number of the attempt about to be made (1 for the first)."""
        return self.made + self.reconnected + 1

    def reconnect(self, exc: ProbeError, *, reused: bool) -> bool:
        """Whether to resend at once on a new connection: the server closed a
        kept-alive one as the request went out (RFC 9112 section 9.3.1).

        Once per request, idempotent methods only, and not a retry: the probe
        is not flaky for it, though the attempt is in the evidence.
        """
        if not (reused and self.idempotent and exc.category == "reset"):
            return False
        if self.reconnected:
            return False
        self.reconnected = True
        self.history.append("no answer (reset on a kept-alive connection)")
        return True

    def attempt_timeout(self, remaining_s: float) -> float | None:
        """An attempt's share of the time left, so a hung attempt leaves room
        for the next one; None when no retries were asked for."""
        if self.allowed == 0 or not self.idempotent:
            return None
        attempts_left = self.allowed - self.made + 1
        return max(remaining_s / attempts_left, MIN_ATTEMPT_S)

    def after_answer(
        self, status: int, reason: str, retry_after: str | None, *, remaining_s: float
    ) -> Plan | TooLate | None:
        """Whether to try again after an answer with ``status``."""
        described = f"{status} {reason}".strip()
        self.history.append(described)
        if not self.idempotent:
            return None
        asked = None
        if status in RETRY_AFTER_STATUSES:
            asked = parse_retry_after(retry_after, now=timing.utcnow())
        if asked is not None:
            if self.made >= max(self.allowed, 1):
                return None
            if asked > remaining_s - MIN_ATTEMPT_S:
                return TooLate(retry_after_s=asked, remaining_s=remaining_s)
            wait = asked
            if self.allowed:
                backoff = backoff_s(self.made + 1, jitter=self._jitter)
                if backoff <= remaining_s - MIN_ATTEMPT_S:
                    wait = max(asked, backoff)
            self.made += 1
            return Plan(wait_s=wait, reason=described, retry_after_s=asked)
        if status == 429 or status >= 500:
            return self._backoff(described, remaining_s)
        return None

    def after_error(self, exc: ProbeError, *, remaining_s: float) -> Plan | None:
        """Whether to try again after an attempt that got no answer."""
        reason = f"no answer ({exc.category})"
        self.history.append(reason)
        if not self.idempotent or exc.category not in RETRYABLE_CATEGORIES:
            return None
        return self._backoff(reason, remaining_s)

    def _backoff(self, reason: str, remaining_s: float) -> Plan | None:
        if self.made >= self.allowed:
            return None
        wait = backoff_s(self.made + 1, jitter=self._jitter)
        if wait > remaining_s - MIN_ATTEMPT_S:
            return None  # no time left for another attempt worth making
        self.made += 1
        return Plan(wait_s=wait, reason=reason)

    def summary(self) -> str:
        """``3 attempts: 503 Service Unavailable, refused, 200 OK``."""
        return f"{len(self.history)} attempts: {', '.join(self.history)}"


def check_retries(value: object, *, where: str) -> int:
    """A probe's ``retries`` option: a whole number from 0 to MAX_RETRIES.

    Raises:
        ConfigError: naming ``where`` and the bounds.
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_RETRIES
    ):
        raise ConfigError(
            f"invalid retries {value!r}: expected a whole number from 0 to "
            f"{MAX_RETRIES}, e.g. 2",
            where=where,
        )
    return value


async def wait_to_retry(
    ctx: ProbeContext, request_line: str, attempt: int, plan: Plan
) -> None:
    """Wait before the next attempt (the plan fits in the deadline), noting why."""
    asked = (
        f" (the server asked: Retry-After {plan.retry_after_s:g} s)"
        if plan.retry_after_s is not None
        else ""
    )
    ctx.note_retry(
        f"{request_line}: attempt {attempt} got {plan.reason}; retried after "
        f"{plan.wait_s:.2f} s{asked}"
    )
    with ctx.waiting_on(f"the wait of {plan.wait_s:.1f} s to retry {request_line}"):
        import asyncio

        await asyncio.sleep(plan.wait_s)


def asked_too_late(
    ctx: ProbeContext, request_line: str, answer: str, too_late: TooLate
) -> CheckFailed:
    """A 429/503 whose Retry-After would pass the deadline: fail now, saying so."""
    deadline = ctx.deadline_reason or "its deadline"
    return CheckFailed(
        f"{request_line}: status {answer}; the server asked to retry after "
        f"{too_late.retry_after_s:g} s (Retry-After), but this probe has "
        f"{max(too_late.remaining_s, 0):.1f} s left ({deadline}). "
        f"Not retried: the server is shedding load. Raise the probe's timeout to "
        f"wait it out, or look at why it is overloaded.",
        target=request_line,
        category="http-5xx" if answer.startswith("5") else "failed",
    )
