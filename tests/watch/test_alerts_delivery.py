"""Delivery: retried with backoff, logged with the receiver's scheme and host
only, never raised into the watch; and the decisions on each store backend."""

from __future__ import annotations

import asyncio
import json
import logging
import threading

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sleuth.history.store import HistoryStore
from sleuth.watch.delivery import Retry
from tests.history.conftest import store_url  # noqa: F401 (a fixture)
from tests.watch.alerting import FAST, WAIT_S, Receiver, closed_port, serve
from tests.watch.stored import PROBE, alerter, cycles

TOKEN = "xoxb-secret-hook-77aa12f0c3"  # noqa: S105 (a planted test secret)


@pytest.fixture
def store(tmp_path):
    opened = HistoryStore.open(f"sqlite:///{tmp_path}/h.db")
    yield opened
    opened.close()


def warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "sleuth.watch.alerts" and r.levelno == logging.WARNING
    ]


def test_a_receiver_that_is_down_is_retried_then_logged_and_nothing_raises(
    tmp_path, store, caplog
):
    caplog.set_level(logging.INFO, logger="sleuth.watch.alerts")
    port = closed_port()
    made = alerter(
        tmp_path, f"- webhook: {{url: 'http://127.0.0.1:{port}/h/{TOKEN}'}}\n"
    )
    cycles(store, made, ["failed", "failed", "failed", "passed", "passed"])
    assert made.close(timeout_s=30)
    assert (made.sent, made.failed) == (0, 2)  # the alert and the recovery
    said = warnings(caplog)
    assert len(said) == 2 * FAST.attempts
    assert said[0] == (
        f"alerts: alert for {PROBE} to http://127.0.0.1:{port} webhook failed "
        "(attempt 1 of 3): connection refused; retrying in 0.05 s"
    )
    assert said[2] == (
        f"alerts: alert for {PROBE} to http://127.0.0.1:{port} webhook failed "
        "after 3 attempts: connection refused; not sent"
    )
    assert TOKEN not in caplog.text
    assert "sleuth-alerts" not in [t.name for t in threading.enumerate()]


def test_nothing_stored_yet_sends_nothing(tmp_path, store):
    made = alerter(tmp_path, "- webhook: {url: 'http://127.0.0.1:9/x'}\n")
    made.after_cycle(store, target="local", agent="eu-1")
    made.after_cycle(store, target="other", agent="eu-1")
    assert made.close(timeout_s=5)
    assert made.close(timeout_s=5)  # twice is fine
    assert (made.sent, made.failed) == (0, 0)


def test_a_500_is_retried_until_it_arrives_once(tmp_path, store, caplog):
    caplog.set_level(logging.INFO, logger="sleuth.watch.alerts")
    receiver = Receiver(fail_first=2)
    with serve(receiver.app()) as server:
        made = alerter(tmp_path, f"- slack: {{url: '{server.url}/services/{TOKEN}'}}\n")
        cycles(store, made, ["error", "error", "error"])
        assert made.close(timeout_s=30)
        [body] = receiver.wait_for(1)
    assert receiver.attempts == 3
    assert (made.sent, made.failed) == (1, 0)
    assert body["text"].startswith(f":red_circle: FAILING: {PROBE} fails on local")
    said = warnings(caplog)
    assert [s.split(": ", 2)[-1] for s in said] == [
        "HTTP 500 Internal Server Error; retrying in 0.05 s",
        "HTTP 500 Internal Server Error; retrying in 0.10 s",
    ]
    assert all(f" to {server.url} slack failed " in s for s in said)
    assert TOKEN not in caplog.text


def test_a_4xx_is_not_retried(tmp_path, store, caplog):
    caplog.set_level(logging.INFO, logger="sleuth.watch.alerts")
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def gone(request: object) -> Response:
        return Response("no such hook", status_code=404)

    app = Starlette(routes=[Route("/{p:path}", gone, methods=["POST"])])
    with serve(app) as server:
        made = alerter(tmp_path, f"- webhook: {{url: '{server.url}/{TOKEN}'}}\n")
        cycles(store, made, ["failed", "failed"])
        assert made.close(timeout_s=30)
    assert (made.sent, made.failed) == (0, 1)
    assert warnings(caplog) == [
        f"alerts: alert for {PROBE} to {server.url} webhook failed after 1 attempt: "
        "HTTP 404 Not Found; not sent"
    ]


def test_close_gives_up_in_time_and_says_so(tmp_path, store, caplog):
    caplog.set_level(logging.INFO, logger="sleuth.watch.alerts")
    slow = Retry(attempts=5, first_backoff_s=30, max_backoff_s=30, total_s=300)
    made = alerter(
        tmp_path,
        f"- webhook: {{url: 'http://127.0.0.1:{closed_port()}/x'}}\n",
        retry=slow,
    )
    cycles(store, made, ["failed", "failed"])
    assert made.close(timeout_s=0.5) is False
    assert any("stopped after" in s and "not sent" in s for s in warnings(caplog))


def test_a_store_that_fails_is_logged_and_the_watch_goes_on(tmp_path, caplog):
    made = alerter(tmp_path, "- webhook: {url: 'http://127.0.0.1:9/x'}\n")
    store = HistoryStore.open(f"sqlite:///{tmp_path}/h.db")
    store.close()
    (tmp_path / "h.db").unlink()
    (tmp_path / "h.db").mkdir()  # not a database any more
    made.after_cycle(store, target="local", agent="eu-1")  # no exception
    assert made.close(timeout_s=5)
    assert any("could not read the history" in s for s in warnings(caplog))


def test_decisions_on_each_backend(tmp_path, store_url):  # noqa: F811
    receiver = Receiver()
    with serve(receiver.app()) as server:
        made = alerter(tmp_path, f"- webhook: {{url: '{server.url}/h'}}\n", after=2)
        store = HistoryStore.open(store_url)
        try:
            # skipped breaks a streak; blocked counts as failing
            cycles(store, made, ["passed", "failed", "skipped", "failed", "blocked"])
            cycles(store, made, ["failed", "passed", "skipped", "passed", "passed"])
        finally:
            store.close()
        assert made.close(timeout_s=30)
        bodies = receiver.wait_for(2)
    assert [(b["event"], b["outcome"]) for b in bodies] == [
        ("alert", "blocked"),
        ("recovery", "passed"),
    ]
    assert bodies[0]["since"] < bodies[0]["at"]
    assert json.dumps(bodies).count("items answered 503 (blocked)") == 1


def test_a_receiver_that_hangs_holds_back_no_other_receiver(tmp_path, store):
    # The first receiver holds every request until released; the second
    # must have the alert meanwhile (with one thread for all receivers, it
    # would wait behind the first's time-out and retries).
    release, arrived = threading.Event(), threading.Event()

    async def hold(request: Request) -> Response:
        arrived.set()
        await asyncio.to_thread(release.wait, WAIT_S)
        return Response("ok")

    slow_app = Starlette(routes=[Route("/{p:path}", hold, methods=["POST"])])
    receiver = Receiver()
    with serve(slow_app) as slow, serve(receiver.app()) as fast:
        made = alerter(
            tmp_path,
            f"- webhook: {{url: '{slow.url}/hook', timeout: 60s}}\n"
            f"- slack: {{url: '{fast.url}/services/{TOKEN}'}}\n",
        )
        try:
            cycles(store, made, ["failed", "failed"])
            [body] = receiver.wait_for(1)
            assert body["text"].startswith(f":red_circle: FAILING: {PROBE}")
            assert arrived.wait(WAIT_S)  # and held until released below
        finally:
            release.set()
        assert made.close(timeout_s=30)
    assert (made.sent, made.failed) == (2, 0)
