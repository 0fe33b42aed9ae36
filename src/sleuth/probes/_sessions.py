"""Sessions with a server: a slot, a connection under the deadline, closed after.

Four hundred probes of one database must not open four hundred sessions on a
server that is already in trouble: a helper takes one of the run's slots for
its server before it connects and gives it back when it has closed. Waiting
for a slot counts against the probe's deadline, and a timeout says so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from sleuth.context import ProbeContext
from sleuth.engine import Engine, bounded
from sleuth.probes._dependency import Translate, step

C = TypeVar("C")

# Sessions one run holds open to one server (host:port) at most, per kind.
DEFAULT_SLOTS_PER_SERVER = 8
# Closing never waits on the server for long: the probe's answer is in already.
CLOSE_TIMEOUT_S = 1.0


@contextlib.asynccontextmanager
async def server_slot(
    ctx: ProbeContext,
    engine: Engine,
    *,
    kind: str,
    server: str,
    slots: int = DEFAULT_SLOTS_PER_SERVER,
) -> AsyncIterator[None]:
    """Hold one of the run's ``slots`` for ``kind`` at ``server`` (on the loop)."""
    __tracebackhide__ = True
    semaphore = engine.resource(
        ("server-slots", kind, server), lambda: asyncio.Semaphore(slots)
    )
    await bounded(
        semaphore.acquire(),
        ctx=ctx,
        what=f"a free {kind} connection to {server} "
        f"(sleuth opens at most {slots} at once per server)",
    )
    try:
        yield
    finally:
        semaphore.release()


@contextlib.asynccontextmanager
async def session(
    ctx: ProbeContext,
    engine: Engine,
    *,
    kind: str,
    server: str,
    display: str,
    connect: Callable[[], Awaitable[C]],
    close: Callable[[C], Awaitable[object]],
    translate: Translate,
) -> AsyncIterator[C]:
    """A connection made under the probe's deadline within a server slot.

    A failure to connect is translated, recorded as ``{kind} connect
    {display}`` and raised; the connection is closed however the block ends.
    """
    __tracebackhide__ = True
    async with server_slot(ctx, engine, kind=kind, server=server):
        connection = await step(
            ctx,
            connect(),
            kind=kind,
            request=f"{kind} connect {display}",
            translate=translate,
        )
        try:
            yield connection
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await close(connection)
