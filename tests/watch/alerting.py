"""Helpers for the alerts tests: a receiver that counts, a target whose answer
changes between runs, and a suite run for real into a history store."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

from sleuth.demo.server import BackgroundServer
from sleuth.history.store import HistoryStore
from sleuth.suite.config import load_suite_config
from sleuth.watch.alerts import Alerter
from sleuth.watch.delivery import Retry

CANARY = "canary-alert-secret-4e91b7c2"
WAIT_S = 30.0  # the longest any test waits for a delivery
# Retries quick enough for a test, the schedule's shape otherwise the same.
FAST = Retry(attempts=3, first_backoff_s=0.05, max_backoff_s=0.2, total_s=10)


class Receiver:
    """What reached the receiver: each request's path, body and headers.

    ``fail_first`` answers the first N requests with 500.
    """

    def __init__(self, *, fail_first: int = 0) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.requests: list[tuple[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def receive(request: Request) -> Response:
            body = await request.body()
            with self._arrived:
                self.attempts += 1
                if self.attempts <= self.fail_first:
                    return Response("busy", status_code=500)
                self.requests.append((request.url.path, json.loads(body)))
                self._arrived.notify_all()
            return Response("ok")

        return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])

    def bodies(self) -> list[Any]:
        with self._lock:
            return [body for _, body in self.requests]

    def wait_for(self, count: int, *, timeout_s: float = WAIT_S) -> list[Any]:
        """The bodies once ``count`` have arrived (or the timeout passed)."""
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return [body for _, body in self.requests]


class Switch:
    """The target's answer: ``status`` for /health, changed between runs."""

    def __init__(self) -> None:
        self.status = 200

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def health(request: Request) -> Response:
            # The body carries a secret the suite knows of (API_TOKEN): it is
            # in the failure's evidence and must be in no alert.
            return Response(f"down, token {CANARY}", status_code=self.status)

        return Starlette(routes=[Route("/health", health)])


def serve(app: Any) -> BackgroundServer:
    return BackgroundServer(app)  # started by `with`


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SUITE = """\
targets:
  local:
    base_url: {target_url}
    timeout: 5s
    sources: [env, {{dotenv: deploy.env}}]
history:
  url: .sleuth/history.db
alerts:
  after: {after}
  page_url: http://status.example.test
  to:
{receivers}
"""

PROBES = """
def test_health(target):
    token = target.setting("API_TOKEN")
    response = target.http.get("/health", headers={"X-Token": token})
    assert response.status_code == 200, f"health answered {response.status_code}"

def test_always_fine(target):
    pass
"""


def write_suite(
    pytester: Any, *, target_url: str, receivers: list[str], after: int = 3
) -> None:
    lines = "\n".join(f"    - {r}" for r in receivers)
    pytester.path.joinpath("sleuth.yaml").write_text(
        SUITE.format(target_url=target_url, after=after, receivers=lines)
    )
    pytester.path.joinpath("deploy.env").write_text(f"API_TOKEN={CANARY}\n")
    pytester.makepyfile(test_probes=PROBES)


def history_url(pytester: Any) -> str:
    return f"sqlite:///{pytester.path}/.sleuth/history.db"


def alerter_for(root: Path) -> Alerter:
    """The watch's alerter for the suite in ``root``, retrying FAST."""
    suite = load_suite_config(root / "sleuth.yaml", environ={})
    alerter = Alerter.from_suite(suite, target="local", retry=FAST)
    assert alerter is not None
    return alerter


def run_cycle(pytester: Any, alerter: Alerter) -> None:
    """One watch cycle: the suite run for real into the history, then alerts."""
    pytester.runpytest("--agent", "eu-1", "-p", "no:cacheprovider")
    store = HistoryStore.open(history_url(pytester))
    try:
        alerter.after_cycle(store, target="local", agent="eu-1")
    finally:
        store.close()
