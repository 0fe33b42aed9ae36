"""A target whose answer the test sets between cycles, and a suite aimed at it."""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sleuth.demo.server import BackgroundServer
from tests.watch import alerting

HOLD_MAX_S = 60.0  # a held request answers after this at the latest


class Switch:
    """What ``/state`` answers (``status``), when each request came and went,
    and a gate that holds ``/held`` requests until the test opens it."""

    def __init__(self) -> None:
        self.status = 200
        # Statuses for the next ``/state`` requests, one each, before
        # ``status``: how a test changes the answer between the cycles of a
        # real ``sleuth watch`` process (one request per cycle).
        self.script: list[int] = []
        # Called with the number of ``/state`` requests so far, before the
        # answer: what a test does to the world as a given cycle probes.
        self.on_request: Callable[[int], None] | None = None
        self.lock = threading.Lock()
        self.spans: list[tuple[float, float]] = []  # loop time in, out
        self.arrived = threading.Event()
        self.gate: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def open_gate(self) -> None:
        loop, gate = self.loop, self.gate
        if loop is not None and gate is not None:
            loop.call_soon_threadsafe(gate.set)


def create_app(switch: Switch) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def state(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        start = loop.time()
        delay = float(request.query_params.get("delay", "0"))
        if delay:
            await asyncio.sleep(delay)
        with switch.lock:
            switch.spans.append((start, loop.time()))
            status = switch.script.pop(0) if switch.script else switch.status
            count = len(switch.spans)
        if switch.on_request is not None:
            switch.on_request(count)
        return PlainTextResponse(f"state {status}", status_code=status)

    async def held(request: Request) -> Response:
        switch.loop = asyncio.get_running_loop()
        if switch.gate is None:
            switch.gate = asyncio.Event()
        switch.arrived.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(switch.gate.wait(), HOLD_MAX_S)
        return PlainTextResponse("released")

    routes = [Route("/state", state), Route("/health", state), Route("/held", held)]
    return Starlette(routes=routes)


class Target:
    def __init__(self, server: BackgroundServer, switch: Switch) -> None:
        self.url = server.url
        self.switch = switch


@pytest.fixture
def switch() -> Iterator[alerting.Switch]:
    """The alerts tests' target: ``/health`` answers ``switch.status``."""
    target = alerting.Switch()
    with alerting.serve(target.app()) as server:
        target.url = server.url  # type: ignore[attr-defined]
        yield target


@pytest.fixture
def receiver() -> Iterator[alerting.Receiver]:
    """Where the alerts tests' alerts go, counting what arrived."""
    found = alerting.Receiver()
    with alerting.serve(found.app()) as server:
        found.url = server.url  # type: ignore[attr-defined]
        yield found


@pytest.fixture
def target_app() -> Iterator[Target]:
    switch = Switch()
    with BackgroundServer(create_app(switch)) as server:
        yield Target(server, switch)
        switch.open_gate()  # a held request goes before the server stops


def write_suite(
    root: Path, base_url: str, probes: str, *, timeout: str = "10s"
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sleuth.yaml").write_text(
        f"targets:\n  local:\n    base_url: {base_url}\n    timeout: {timeout}\n"
    )
    (root / "test_probes.py").write_text(textwrap.dedent(probes))
    return root


STATE_PROBE = """
    def test_state_is_ok(target):
        assert target.http.get("/state").status_code == 200
"""
