"""Helpers that ask one server things in short sessions (postgres, mysql, redis).

Each call opens a connection under the probe's deadline, asks, records what
it read, and closes. Four hundred probes of one database must not open four
hundred sessions on a server already in trouble, so a call first takes one of
the run's slots for that server and gives it back when it has closed; waiting
for a slot counts against the deadline, and a timeout says so.

``SessionProbe`` is that flow behind ``DependencyProbe``'s ``check()`` and
``acheck()``; a kind supplies the hooks (connect, close, read its health, judge
it, translate its driver's errors). A base class rather than a Protocol,
because the flow is the part that must not differ between kinds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from sleuth import _timing as timing
from sleuth.engine import Engine, bounded
from sleuth.engine.context import ProbeContext
from sleuth.errors import ConfigError, ProbeError
from sleuth.probes._dependency import (
    DependencyProbe,
    Translate,
    helper_options,
    ms,
    record,
    step,
)
from sleuth.probes._judge import Verdict
from sleuth.redact import mask_dsn

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

C = TypeVar("C")
T = TypeVar("T")
H = TypeVar("H", bound="Health")

# Sessions one run holds open to one server (host:port) at most, per kind.
DEFAULT_SLOTS_PER_SERVER = 8
# Closing never waits on the server for long: the probe's answer is in already.
CLOSE_TIMEOUT_S = 1.0


class Health(Protocol):
    """A kind's health report, as the shared flow needs it."""

    @property
    def role(self) -> str: ...
    def figures(self) -> dict[str, object]: ...
    def summary(self) -> str: ...


class SessionProbe(DependencyProbe[H]):
    """The shared face of a server helper; see postgres.py, mysql.py, redis.py."""

    example: ClassVar[str]  # an address, for messages

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        kind = self.kind
        opts, where = helper_options(env, kind, name, options, self.address_keys)
        if opts.get("dsn") and opts.get("url"):
            raise ConfigError(
                f"give the {kind} address as dsn= or url=, not both", where=where
            )
        address = opts.get("dsn") or opts.get("url")
        if not (address or opts.get("host")):
            key = "dsn" if "dsn" in self.address_keys else "url"
            raise ConfigError(
                f"the {kind} probe needs {key}=, e.g. {key}='{self.example}', or host=",
                where=where,
            )
        self._env = env
        self._options = opts
        self._where = where
        self._label = name or mask_dsn(str(address or opts.get("host")))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._label}>"

    # -- what a kind provides -----------------------------------------------

    @property
    def display(self) -> str:
        """The address with its password masked: ``scheme://app:***@db-1:5432/x``."""
        raise NotImplementedError

    @property
    def server(self) -> str:
        """``host:port``: the key of the run's connection slots."""
        raise NotImplementedError

    async def _connect(self, ctx: ProbeContext) -> Any:
        raise NotImplementedError

    async def _close(self, conn: Any) -> None:
        raise NotImplementedError

    async def _read_health(self, conn: Any) -> H:
        raise NotImplementedError

    def _judge(self, health: H, verdict: Verdict) -> None:
        raise NotImplementedError

    def _remote(self, conn: Any) -> str | None:
        return self.server

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place a kind's driver exceptions become sleuth's."""
        raise NotImplementedError

    # -- on the loop --------------------------------------------------------

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> H:
        __tracebackhide__ = True
        started = timing.perf_counter()
        request = f"{self.kind} check {self.display}"
        async with self._session(ctx) as conn:
            connected = timing.perf_counter()
            health = await self._step(ctx, request, self._read_health(conn))
            remote = self._remote(conn)
        record(
            ctx,
            kind=self.kind,
            request=request,
            started=started,
            answer=health.summary(),
            figures=health.figures(),
            remote=remote,
            phases_ms={
                "connect": ms(connected - started),
                "queries": ms(timing.perf_counter() - connected),
            },
        )
        verdict = Verdict(limits)
        self._judge(health, verdict)
        verdict.raise_if_any(self.kind, self.display)
        return health

    async def _step(self, ctx: ProbeContext, request: str, work: Awaitable[T]) -> T:
        """``work`` under the deadline; a failure translated, recorded, raised."""
        __tracebackhide__ = True
        return await step(
            ctx, work, kind=self.kind, request=request, translate=self.translate_error
        )

    def _session(
        self, ctx: ProbeContext
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        return session(
            ctx,
            self._env.engine,
            kind=self.kind,
            server=self.server,
            display=self.display,
            connect=lambda: self._connect(ctx),
            close=self._close,
            translate=self.translate_error,
        )


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
    """A connection made under the probe's deadline, within a server slot.

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
