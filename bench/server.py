"""The benchmark's target: every path answers 200 after 100 ms.

Run as its own process (``python bench/server.py``) so that its CPU time is
never counted in a measured command's. It prints ``PORT <n>`` once it listens on
127.0.0.1, and stops on SIGTERM, when the process that started it is gone, or
after ``--max-seconds`` whatever happens.

``GET /p/<anything>`` answers ``200 ok`` after ``--delay-ms`` (100 ms).
``GET /t/<name>`` does the same and keeps its own handling time under
``name``: from the moment the request's last byte reached this machine's
kernel (``TCP_INFO``, see ``kernel_age_s``) to the moment the answer was
handed to the socket; ``GET /handled`` gives those times and forgets them
(bench/latency.py compares them with sleuth's figures).
``GET /stats`` answers at once with the requests served so far, the most
that were in flight at one moment (``?reset`` starts that count afresh) and
this process's CPU seconds, so the benchmark can check the server is not the
bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import struct
import time
from typing import Any

from aiohttp import web

# Far above the 500 connections opened at once: with aiohttp's default backlog
# (128) the kernel drops SYNs past it and the client retries a second later.
BACKLOG = 4096


# struct tcp_info's tcpi_last_data_recv (ms ago), Linux; see sleuth/_wireclock.py.
_LAST_DATA_RECV_OFFSET = 8 + 4 * 11


def kernel_age_s(sock: Any) -> float:
    """How long ago the last data came in on ``sock``, by the kernel (0 if unknown)."""
    tcp_info = getattr(socket, "TCP_INFO", None)
    if tcp_info is None or sock is None:
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 64)
    except OSError:
        return 0.0
    return float(struct.unpack_from("I", info, _LAST_DATA_RECV_OFFSET)[0]) / 1000


def make_app(delay_s: float) -> web.Application:
    counts = {"served": 0, "in_flight": 0, "max_in_flight": 0}
    handled: dict[str, float] = {}

    async def timed(request: web.Request) -> web.StreamResponse:
        seen = time.perf_counter()
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        arrived = seen - kernel_age_s(sock)
        await asyncio.sleep(delay_s)
        response = web.Response(text="ok")
        await response.prepare(request)
        await response.write_eof()
        handled[request.match_info["name"]] = time.perf_counter() - arrived
        return response

    async def handled_times(_request: web.Request) -> web.Response:
        times = dict(handled)
        handled.clear()
        return web.json_response(times)

    async def slow(_request: web.Request) -> web.Response:
        counts["in_flight"] += 1
        counts["max_in_flight"] = max(counts["max_in_flight"], counts["in_flight"])
        try:
            await asyncio.sleep(delay_s)
        finally:
            counts["in_flight"] -= 1
        counts["served"] += 1
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        body = {**counts, "cpu_s": time.process_time()}
        if "reset" in request.query:
            counts["max_in_flight"] = counts["in_flight"]
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/p/{name}", slow)
    app.router.add_get("/stats", stats)
    app.router.add_get("/t/{name}", timed)
    app.router.add_get("/handled", handled_times)
    return app


async def serve(delay_s: float, max_seconds: float) -> None:
    runner = web.AppRunner(make_app(delay_s), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=BACKLOG)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    print(f"PORT {port}", flush=True)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    parent = os.getppid()
    give_up_at = time.monotonic() + max_seconds
    # Bounded: stop when told, when the benchmark that started us is gone
    # (we are re-parented), or at --max-seconds.
    while not stop.is_set() and time.monotonic() < give_up_at:
        if os.getppid() != parent:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=100.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    asyncio.run(serve(args.delay_ms / 1000, args.max_seconds))


if __name__ == "__main__":
    main()
