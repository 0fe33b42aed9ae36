"""The tests' HTTP target: an ASGI app that counts what reaches it.

Endpoints answer with a chosen status, after a chosen delay, with a chosen body,
so tests can stage every kind of answer and check, at the server, what arrived.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from typing import Any

HANG_S = 60.0
# ``?together=N`` holds each request until N have been in flight at once, for
# at most this long after the first such request came (then answers at once;
# ``&within=S`` for another bound): under the suites' 5 s probe timeout, and
# far more time than a few dozen concurrent requests need to arrive on a
# loaded machine, where a fixed ``delay`` would race their arrival.
TOGETHER_MAX_S = 4.0


class Recorder:
    """What reached the server: requests per (method, path), peak concurrency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: collections.Counter[tuple[str, str]] = collections.Counter()
        self.hits: collections.Counter[str] = collections.Counter()  # /flaky keys
        self.in_flight = 0
        self.max_in_flight = 0
        # Requests from before a reset (a test's hung ones) do not count after it.
        self.generation = 0
        self.together_since: float | None = None  # the first ?together= request
        # Set when the ?together= count is reached: made on the server's loop.
        self.together_reached: asyncio.Event | None = None

    def enter(self, method: str, path: str) -> int:
        with self._lock:
            self.requests[(method, path)] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.generation

    def hit(self, key: str) -> int:
        """Count one request for ``key``; returns how many there have been."""
        with self._lock:
            self.hits[key] += 1
            return self.hits[key]

    def leave(self, generation: int) -> None:
        with self._lock:
            if generation == self.generation:
                self.in_flight -= 1

    def count(self, path: str, method: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (m, p), n in self.requests.items()
                if p == path and (method is None or m == method)
            )

    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def together_deadline(self, within_s: float) -> float:
        """When ``?together=`` requests stop waiting: ``within_s`` after the
        first of them came (since the last reset)."""
        with self._lock:
            if self.together_since is None:
                self.together_since = time.monotonic()
            return self.together_since + within_s

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.hits.clear()
            self.generation += 1
            self.in_flight = 0
            self.max_in_flight = 0
            self.together_since = None
            self.together_reached = None


def create_app(recorder: Recorder) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def together(count: int, within_s: float) -> None:
        # One event for all of them, not a poll each: hundreds of polling
        # requests kept this loop (and the GIL the in-process run shares) so
        # busy that the last requests were not accepted for 30 s.
        deadline = recorder.together_deadline(within_s)
        if recorder.together_reached is None:
            recorder.together_reached = asyncio.Event()
        reached = recorder.together_reached
        if recorder.max_in_flight >= count:  # counted as this one came in
            reached.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                reached.wait(), max(0.0, deadline - time.monotonic())
            )

    async def status(request: Request) -> Response:
        code = int(request.path_params["code"])
        query = request.query_params
        if "together" in query:
            within_s = float(query.get("within", TOGETHER_MAX_S))
            await together(int(query["together"]), within_s)
        delay = float(request.query_params.get("delay", "0"))
        if delay:
            await asyncio.sleep(delay)
        body = request.query_params.get("body", f"status {code}")
        headers = {}
        if "retry_after" in request.query_params:
            headers["Retry-After"] = request.query_params["retry_after"]
        return PlainTextResponse(body, status_code=code, headers=headers)

    async def hang(request: Request) -> Response:
        await asyncio.sleep(HANG_S)
        return PlainTextResponse("too late")

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "headers": dict(request.headers),
                "query": dict(request.query_params),
                "body": body.decode("utf-8", "replace"),
            }
        )

    async def big(request: Request) -> Response:
        size = int(request.query_params.get("bytes", "10485760"))
        return Response(b"x" * size, media_type="application/octet-stream")

    async def redirect_loop(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": "/redirect-loop"})

    async def flaky(request: Request) -> Response:
        # The first `fail` requests for a key go wrong, the rest answer 200:
        # counted per key, so a test with its own key is deterministic.
        key = request.path_params["key"]
        query = request.query_params
        n = recorder.hit(key)
        if n > int(query.get("fail", "1")):
            return PlainTextResponse(f"ok on request {n}")
        if query.get("mode") == "slow":
            await asyncio.sleep(float(query.get("delay", "5")))
            return PlainTextResponse(f"slow answer to request {n}")
        headers = {}
        if "retry_after" in query:
            headers["Retry-After"] = query["retry_after"]
        return PlainTextResponse(
            f"failure {n}", status_code=int(query.get("status", "503")), headers=headers
        )

    async def user(request: Request) -> Response:
        user_id = int(request.path_params["id"])
        return JSONResponse(
            {
                "data": {"id": user_id, "name": "Ada", "active": True, "score": 1.5},
                "tags": ["admin", "ops"],
                "next": None,
            },
            headers={"X-Version": "1.2.3", "Cache-Control": "no-store"},
        )

    routes = [
        Route("/flaky/{key}", flaky, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/users/{id:int}", user),
        Route(
            "/status/{code:int}",
            status,
            methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
        ),
        Route("/hang", hang),
        Route("/echo", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/big", big),
        Route("/redirect-loop", redirect_loop),
    ]
    return counting(Starlette(routes=routes), recorder)


def counting(app: Any, recorder: Recorder, *, delay_s: float = 0.0) -> Any:
    """Wrap an ASGI app so the recorder sees every request (after ``delay_s``)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        generation = recorder.enter(scope["method"], scope["path"])
        try:
            if delay_s:
                await asyncio.sleep(delay_s)
            await app(scope, receive, send)
        finally:
            recorder.leave(generation)

    return wrapped
