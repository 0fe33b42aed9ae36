"""One HTTP client stack sending N requests at once, timed from inside.

``python bench/stacks.py STACK BASE_URL N`` imports the stack, then times one
batch: build the client, send ``GET BASE_URL/p/<i>`` for i < N all at once (on
one event loop, or on a thread pool for the sync clients), read every body,
close the client. It prints one JSON line: wall and CPU seconds (user + sys of
the whole process, every thread) of that batch, and how many answers were 200.

Each stack runs in a fresh process so none inherits another's warm state.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

TIMEOUT_S = 60.0


def _urls(base_url: str, n: int) -> list[str]:
    return [f"{base_url}/p/{i}" for i in range(n)]


async def _aiohttp(urls: list[str], limit: int) -> list[int]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=limit)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def get(url: str) -> int:
            async with session.get(url) as answer:
                await answer.read()
                return answer.status

        return await asyncio.gather(*(get(u) for u in urls))


async def _httpx_async(urls: list[str], client: Any) -> list[int]:
    async with client:

        async def get(url: str) -> int:
            return int((await client.get(url)).status_code)

        return await asyncio.gather(*(get(u) for u in urls))


def _on_threads(urls: list[str], threads: int, get: Callable[[str], int]) -> list[int]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(get, urls))


def run_aiohttp(urls: list[str]) -> list[int]:
    return asyncio.run(_aiohttp(urls, limit=0))


def run_urllib3_threads(urls: list[str]) -> list[int]:
    import urllib3

    with urllib3.PoolManager(maxsize=256, timeout=TIMEOUT_S, retries=False) as pool:
        return _on_threads(urls, 256, lambda u: pool.request("GET", u).status)


def run_httpx_async(urls: list[str]) -> list[int]:
    import httpx

    # httpx's defaults (100 connections), as users get them.
    client = httpx.AsyncClient(timeout=TIMEOUT_S)
    return asyncio.run(_httpx_async(urls, client))


def run_httpx_async_nolimit(urls: list[str]) -> list[int]:
    import httpx

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    client = httpx.AsyncClient(timeout=TIMEOUT_S, limits=limits)
    return asyncio.run(_httpx_async(urls, client))


def run_httpx_sync_threads(urls: list[str]) -> list[int]:
    import httpx

    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    with httpx.Client(timeout=TIMEOUT_S, limits=limits) as client:
        return _on_threads(urls, 128, lambda u: client.get(u).status_code)


def run_httpx_aiohttp(urls: list[str]) -> list[int]:
    import httpx_aiohttp

    # The transport's defaults: at most 100 connections.
    client = httpx_aiohttp.HttpxAiohttpClient(timeout=TIMEOUT_S)
    return asyncio.run(_httpx_async(urls, client))


def run_httpx_aiohttp_nolimit(urls: list[str]) -> list[int]:
    import aiohttp
    import httpx
    import httpx_aiohttp

    def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    transport = httpx_aiohttp.AiohttpTransport(client=session)
    client = httpx.AsyncClient(timeout=TIMEOUT_S, transport=transport)
    return asyncio.run(_httpx_async(urls, client))


STACKS: dict[str, tuple[str, Callable[[list[str]], list[int]], tuple[str, ...]]] = {
    # name: (label, runner, modules imported before the clock starts)
    "aiohttp": ("aiohttp, TCPConnector(limit=0)", run_aiohttp, ("aiohttp",)),
    "urllib3-256": (
        "urllib3 PoolManager on 256 threads",
        run_urllib3_threads,
        ("urllib3",),
    ),
    "httpx-async": (
        "httpx AsyncClient, own pool (default 100 connections)",
        run_httpx_async,
        ("httpx",),
    ),
    "httpx-async-nolimit": (
        "httpx AsyncClient, own pool, no connection cap",
        run_httpx_async_nolimit,
        ("httpx",),
    ),
    "httpx-sync-128": (
        "httpx sync Client on 128 threads (128 connections)",
        run_httpx_sync_threads,
        ("httpx",),
    ),
    "httpx-aiohttp": (
        "httpx API over httpx-aiohttp transport (default 100 connections)",
        run_httpx_aiohttp,
        ("httpx", "httpx_aiohttp", "aiohttp"),
    ),
    "httpx-aiohttp-nolimit": (
        "httpx API over httpx-aiohttp transport, limit=0",
        run_httpx_aiohttp_nolimit,
        ("httpx", "httpx_aiohttp", "aiohttp"),
    ),
}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    name, base_url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    _label, runner, modules = STACKS[name]
    for module in modules:
        __import__(module)
    urls = _urls(base_url, n)
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    statuses = runner(urls)
    wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
    ok = sum(1 for s in statuses if s == 200)
    print(json.dumps({"stack": name, "wall_s": wall, "cpu_s": cpu, "ok": ok, "n": n}))
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
