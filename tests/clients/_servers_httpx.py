"""Probe code and a stalling server for the httpx and aiohttp hook tests.

Each flavour writes the same probe with a different client: httpx's ``Client``
in a ``def`` probe, its ``AsyncClient`` and aiohttp's ``ClientSession`` in an
``async def`` probe. A test puts every flavour's probes in one suite and runs
it once (a run costs more than its probes). The server is the tests' real HTTP
target (tests/targetapp.py), which counts what reached it, or the stalling one
here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sleuth import clients
from sleuth.engine import context as _context
from sleuth.engine.context import ProbeContext

HALF_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nabc"
)


@pytest.fixture(name="stalled_body_port")
def stalled_body_port_fixture() -> Iterator[int]:
    """A server that answers every request with its headers and 3 of its 6
    bytes of body, then sends nothing more until the test ends."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(HALF_ANSWER)
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for conn in held:
            conn.close()


@dataclasses.dataclass(frozen=True)
class Flavour:
    """One way a probe's own code makes a request: the client, and the probe around it."""

    name: str  # the probes' prefix: test_<name>_get
    client: str  # how sleuth names the client: "via httpx"
    is_async: bool
    call: str  # statements making METHOD URL, its status in `status`, indented 4
    # An async client in a `def` probe, through asyncio.run: the engine cannot
    # cancel it there, so only the client's own (bounded) timeout ends a hang.
    in_asyncio_run: bool = False

    def sync_via_asyncio_run(self) -> Flavour:
        return dataclasses.replace(
            self, name=f"{self.name}_in_asyncio_run", in_asyncio_run=True
        )

    def probe(
        self,
        what: str,
        method: str,
        url: str,
        *,
        marks: str = "",
        then: str = "",
        released: Path | None = None,
    ) -> str:
        """Probe ``test_<name>_<what>`` making ``method url``, then running
        ``then``. With ``released``, the seconds its call lasted are written
        there when the call ends, even after the run abandoned the probe."""
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
        return f"\n\n{marks}{head} test_{self.name}_{what}():\n{call}\n{tail}\n"


def suite_of(*probes: str) -> str:
    """A test file of ``probes``, each flavour's imports at its top."""
    head = "import asyncio\nimport pathlib\nimport time\n\nimport aiohttp\nimport httpx\nimport pytest\n"
    return head + "".join(probes)


FLAVOURS = [
    Flavour(
        name="httpx_sync",
        client="httpx",
        is_async=False,
        call=textwrap.indent(
            "with httpx.Client() as client:\n"
            "    status = client.request('METHOD', 'URL').status_code",
            "    ",
        ),
    ),
    Flavour(
        name="httpx_async",
        client="httpx",
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
    while not (path.exists() and path.read_text()):  # made, then written
        if time.monotonic() > end:
            raise AssertionError(
                f"{path.name} never written: the call was not released"
            )
        time.sleep(0.02)
    return path.read_text()


@contextlib.contextmanager
def hooked_probe(timeout_s: float = 5.0) -> Iterator[ProbeContext]:
    """The block runs as a probe's own code, with every client hook installed
    (as for a run); undone after it."""
    ctx = ProbeContext(probe_id="test", timeout_s=timeout_s, timeout_origin="test")
    ctx.start()
    clients.install()
    token = _context.current.set(ctx)
    try:
        yield ctx
    finally:
        _context.current.reset(token)
        clients.uninstall()
