"""The floor: the same K requests as the probe suite, all at once, nothing else.

``python bench/floor.py BASE_URL K`` sends ``GET BASE_URL/p/<i>`` for i < K on
one aiohttp session with no connection cap, checks every answer is 200, and
exits 0. Measured as a whole command, like the pytest runs it is compared with.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp


async def fetch_all(base_url: str, k: int) -> list[int]:
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=0)  # no cap: truly the floor
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def get(i: int) -> int:
            async with session.get(f"{base_url}/p/{i}") as answer:
                await answer.read()
                return answer.status

        return await asyncio.gather(*(get(i) for i in range(k)))


def main() -> int:
    base_url, k = sys.argv[1], int(sys.argv[2])
    statuses = asyncio.run(fetch_all(base_url, k))
    bad = [s for s in statuses if s != 200]
    if bad:
        print(f"{len(bad)} of {k} answers were not 200: {sorted(set(bad))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
