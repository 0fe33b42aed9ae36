"""Retry decisions: opt-in, bounded, idempotent only, Retry-After within the deadline."""

from __future__ import annotations

import datetime as dt

import pytest

from sleuth.errors import ConfigError, TargetUnreachable
from sleuth.http.retry import (
    BACKOFF_MAX_S,
    Plan,
    Retries,
    TooLate,
    backoff_s,
    check_retries,
    parse_retry_after,
)

NOW = dt.datetime(2026, 11, 26, 8, 0, 0, tzinfo=dt.UTC)


def no_jitter(low: float, high: float) -> float:
    return low


def full_jitter(low: float, high: float) -> float:
    return high


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("120", 120.0, id="seconds"),
        pytest.param(" 0 ", 0.0, id="zero"),
        pytest.param("Thu, 26 Nov 2026 08:00:30 GMT", 30.0, id="http-date"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="date-in-the-past"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("-5", None, id="negative"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


def test_backoff_doubles_with_jitter_and_is_capped():
    assert [backoff_s(n, jitter=no_jitter) for n in (1, 2, 3)] == [0.05, 0.1, 0.2]
    assert [backoff_s(n, jitter=full_jitter) for n in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert backoff_s(30, jitter=full_jitter) == BACKOFF_MAX_S


def retries(method: str = "GET", allowed: int = 2) -> Retries:
    return Retries(method, allowed=allowed, jitter=no_jitter)


def refused() -> TargetUnreachable:
    return TargetUnreachable("refused", category="refused")


def test_no_retries_unless_asked():
    r = retries(allowed=0)
    assert r.after_answer(500, "Internal Server Error", None, remaining_s=5) is None
    assert r.after_error(refused(), remaining_s=5) is None
    assert r.attempt_timeout(5) is None


def test_retries_stop_at_the_number_asked():
    r = retries(allowed=2)
    assert r.after_answer(502, "Bad Gateway", None, remaining_s=5) == Plan(
        wait_s=0.05, reason="502 Bad Gateway"
    )
    assert r.after_error(refused(), remaining_s=5) == Plan(
        wait_s=0.1, reason="no answer (refused)"
    )
    assert r.after_answer(502, "Bad Gateway", None, remaining_s=5) is None
    assert r.attempt == 3
    assert r.summary() == (
        "3 attempts: 502 Bad Gateway, no answer (refused), 502 Bad Gateway"
    )


@pytest.mark.parametrize("status", [200, 301, 400, 404, 409])
def test_answers_that_another_try_would_not_change_are_not_retried(status):
    assert retries().after_answer(status, "", None, remaining_s=5) is None


@pytest.mark.parametrize("category", ["dns", "tls", "auth"])
def test_errors_that_another_try_would_not_change_are_not_retried(category):
    exc = TargetUnreachable("x", category=category)
    assert retries().after_error(exc, remaining_s=5) is None


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_methods_that_are_not_idempotent_are_never_retried(method):
    r = retries(method, allowed=5)
    assert r.after_answer(503, "", "1", remaining_s=30) is None
    assert r.after_error(refused(), remaining_s=30) is None
    assert r.attempt_timeout(30) is None


def test_retry_after_is_honoured_once_even_without_retries():
    r = retries(allowed=0)
    plan = r.after_answer(503, "Service Unavailable", "2", remaining_s=5)
    assert plan == Plan(wait_s=2.0, reason="503 Service Unavailable", retry_after_s=2.0)
    assert r.after_answer(503, "Service Unavailable", "2", remaining_s=3) is None


def test_retry_after_only_counts_on_429_and_503():
    assert retries(allowed=0).after_answer(500, "", "1", remaining_s=5) is None


def test_retry_after_past_the_deadline_is_too_late():
    decision = retries().after_answer(429, "Too Many Requests", "30", remaining_s=4)
    assert decision == TooLate(retry_after_s=30.0, remaining_s=4)


def test_retry_after_waits_at_least_the_backoff_when_retries_were_asked():
    r = Retries("GET", allowed=3, jitter=full_jitter)
    plan = r.after_answer(503, "", "0", remaining_s=5)
    assert isinstance(plan, Plan)
    assert plan.wait_s == 0.1
    assert plan.retry_after_s == 0.0


def test_no_backoff_that_would_pass_the_deadline():
    assert retries().after_answer(500, "", None, remaining_s=0.12) is None


def test_each_attempt_gets_an_equal_share_of_the_time_left():
    r = retries(allowed=2)
    assert r.attempt_timeout(6.0) == 2.0
    r.after_error(refused(), remaining_s=6)
    assert r.attempt_timeout(4.0) == 2.0


def test_a_dropped_kept_alive_connection_is_resent_once_without_a_retry():
    r = retries(allowed=0)
    reset = TargetUnreachable("reset", category="reset")
    assert r.reconnect(reset, reused=False) is False
    assert r.reconnect(reset, reused=True) is True
    assert r.attempt == 2
    assert r.made == 0  # not a retry: the probe is not flaky for it
    assert r.reconnect(reset, reused=True) is False


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (3, 3), ("2", 2), (10, 10)])
def test_check_retries_accepts_small_whole_numbers(value, expected):
    assert check_retries(value, where="here") == expected


@pytest.mark.parametrize("value", [-1, 11, 1.5, True, "two", None])
def test_check_retries_rejects_the_rest_saying_where(value):
    with pytest.raises(ConfigError) as caught:
        check_retries(value, where="api.yaml line 3")
    assert str(caught.value) == (
        f"api.yaml line 3: invalid retries {value!r}: expected a whole number from 0 "
        f"to 10, e.g. 2"
    )
