"""Probe code for the httpx and aiohttp hook tests: one request, three clients.

Each flavour writes the same probe body with a different client, so one test
checks the three: httpx's ``Client`` in a ``def`` probe, its ``AsyncClient``
and aiohttp's ``ClientSession`` in an ``async def`` probe. The server is the
tests' real HTTP target (tests/targetapp.py), which counts what reached it.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
import time
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class Flavour:
    name: str  # the test id
    client: str  # how sleuth names the client: "via httpx"
    header: str  # the suite's imports
    is_async: bool
    call: str  # a statement making METHOD URL into `status`, indented 4
    # An async client in a `def` probe, through asyncio.run: the engine cannot
    # cancel it there, so only the client's own (bounded) timeout ends a hang.
    in_asyncio_run: bool = False

    def sync_via_asyncio_run(self) -> Flavour:
        return dataclasses.replace(
            self, name=f"{self.name}-in-asyncio.run", in_asyncio_run=True
        )

    def probe(
        self,
        name: str,
        method: str,
        url: str,
        *,
        marks: str = "",
        then: str = "",
        released: Path | None = None,
    ) -> str:
        """Probe ``name`` making ``method url`` (its status in ``status``), then
        running ``then``. With ``released``, the seconds its call lasted are
        written there when the call ends, even after the run abandoned it."""
        call = self.call.replace("METHOD", method).replace("URL", url)
        head = "async def" if self.is_async else "def"
        if self.in_asyncio_run:
            call = (
                f"    async def request():\n{textwrap.indent(call, '    ')}\n"
                "        return status\n"
                "    status = asyncio.run(request())"
            )
            head = "def"
        if released is not None:
            call = (
                "    started = time.monotonic()\n"
                "    try:\n"
                f"{textwrap.indent(call, '    ')}\n"
                "    finally:\n"
                f"        pathlib.Path({str(released)!r}).write_text("
                "str(time.monotonic() - started))"
            )
        tail = textwrap.indent(then, "    ") if then else ""
        return f"\n{marks}{head} {name}():\n{call}\n{tail}\n"

    def suite(self, *probes: str) -> str:
        return (
            f"import asyncio\nimport pathlib\nimport time\n\nimport pytest\n{self.header}"
            + "".join(probes)
        )


FLAVOURS = [
    Flavour(
        name="httpx-sync",
        client="httpx",
        header="import httpx\n",
        is_async=False,
        call=textwrap.indent(
            "with httpx.Client() as client:\n"
            "    status = client.request('METHOD', 'URL').status_code",
            "    ",
        ),
    ),
    Flavour(
        name="httpx-async",
        client="httpx",
        header="import httpx\n",
        is_async=True,
        call=textwrap.indent(
            "async with httpx.AsyncClient() as client:\n"
            "    status = (await client.request('METHOD', 'URL')).status_code",
            "    ",
        ),
    ),
    Flavour(
        name="aiohttp",
        client="aiohttp",
        header="import aiohttp\n",
        is_async=True,
        call=textwrap.indent(
            "async with aiohttp.ClientSession() as session:\n"
            "    async with session.request('METHOD', 'URL') as answer:\n"
            "        status = answer.status\n"
            "        await answer.read()",
            "    ",
        ),
    ),
]


def probes_of(path: Path) -> dict[str, dict[str, Any]]:
    """A run's probes from its --sleuth-json file, by name."""
    return {p["name"]: p for p in json.loads(path.read_text())["probes"]}


def wait_for_file(path: Path, timeout_s: float = 10.0) -> str:
    """The text a probe abandoned by the run writes when its call is released."""
    end = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > end:
            raise AssertionError(
                f"{path.name} never written: the call was not released"
            )
        time.sleep(0.02)
    time.sleep(0.02)  # written whole
    return path.read_text()
