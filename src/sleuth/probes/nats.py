"""``target.nats``: is a NATS server up, and is a JetStream stream keeping up.

nats-py on the engine's loop. A probe connects once (no reconnection: the
first failure is the answer), reads the server's INFO, and, when a stream or
consumer is named, its JetStream state: messages held, consumers, pending.
Nothing is published, created or acknowledged: the client it uses refuses
all but the two info requests (see ``_nats_subjects``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict
from urllib.parse import urlsplit

from sleuth import _timing as timing
from sleuth._compat import nats as nats_compat
from sleuth.engine.context import ProbeContext
from sleuth.errors import CheckFailed, ConfigError, ProbeError, TargetUnreachable
from sleuth.probes._dependency import (
    DependencyProbe,
    Parser,
    helper_options,
    load,
    ms,
    other_error,
    over,
    record,
    require,
    step,
    too_slow,
    translate_os_error,
    under,
    unhealthy,
)
from sleuth.probes._nats_subjects import check_name, guard
from sleuth.redact import mask_url
from sleuth.suite.units import parse_count, parse_duration

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

KIND = "nats"


def _count(value: object, where: str, what: str) -> int:
    return parse_count(value, where=where, what=what)


_THRESHOLDS = {
    "max_messages": _count,
    "min_consumers": _count,
    "max_pending": _count,
    "max_ack_pending": _count,
    "max_connect_time": lambda v, where, what: parse_duration(
        v, where=where, what=what
    ),
}
_STREAM_CHECKS = frozenset({"max_messages", "min_consumers"})
_CONSUMER_CHECKS = frozenset({"max_pending", "max_ack_pending"})
_CLOSE_TIMEOUT_S = 1.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StreamState:
    name: str
    messages: int
    bytes: int
    consumers: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerState:
    stream: str
    name: str
    pending: int  # messages not yet delivered to it
    ack_pending: int  # delivered, not yet acknowledged
    redelivered: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NatsHealth:
    """What one check read from the server."""

    url: str  # credentials masked
    server_name: str
    version: str
    jetstream: bool
    connect_s: float
    stream: StreamState | None = None
    consumer: ConsumerState | None = None


class NatsProbeOptions(TypedDict, total=False):
    """The options of ``target.nats(...)`` and of ``services: nats:``."""

    url: str  # nats://host:4222
    stream: str  # a JetStream stream to read the figures of
    consumer: str  # a consumer of that stream


class NatsProbe(DependencyProbe[NatsHealth]):
    """``target.nats("events").check(max_pending=100)``: server, stream, consumer.

    ``check()`` connects, reads the stream and consumer (if named), and fails
    on a figure past its threshold, a stream or consumer that does not exist,
    or JetStream not enabled (category "unhealthy"), or when the server cannot
    be reached.
    """

    kind: ClassVar[str] = KIND
    drivers: ClassVar[tuple[str, ...]] = ("nats.aio.client",)
    address_keys: ClassVar[frozenset[str]] = frozenset(NatsProbeOptions.__annotations__)
    check_keys: ClassVar[frozenset[str]] = frozenset(_THRESHOLDS)
    thresholds: ClassVar[Mapping[str, Parser]] = _THRESHOLDS

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        opts, where = helper_options(env, KIND, name, options, self.address_keys)
        self._env = env
        self._url = str(require(opts, "url", kind=KIND, where=where))
        self.stream = _name_or_none(opts.get("stream"), "stream", where)
        self.consumer = _name_or_none(opts.get("consumer"), "consumer", where)
        if self.consumer and not self.stream:
            raise ConfigError(
                f"nats consumer {self.consumer!r} needs stream: the stream it reads",
                where=where,
            )
        self.display = mask_url(self._url)
        parts = urlsplit(self._url if "://" in self._url else f"nats://{self._url}")
        self._host, self._port = parts.hostname, parts.port or 4222

    def __repr__(self) -> str:
        return f"<NatsProbe {self.display}>"

    def server_info(self) -> Mapping[str, Any]:
        """The INFO the server sends on connect (version, server_name, jetstream...)."""
        __tracebackhide__ = True
        return self._run(self._info)

    async def aserver_info(self) -> Mapping[str, Any]:
        """``server_info()`` for ``async def`` probes."""
        __tracebackhide__ = True
        return await self._arun(self._info)

    async def _info(self, ctx: ProbeContext) -> Mapping[str, Any]:
        return (await self._read(ctx, info_only=True))[1]

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> NatsHealth:
        __tracebackhide__ = True
        for needs, what in ((_STREAM_CHECKS, "stream"), (_CONSUMER_CHECKS, "consumer")):
            given = sorted(needs & set(limits))
            if given and getattr(self, what) is None:
                raise ConfigError(
                    f"nats {self.display}: {', '.join(given)} needs a {what}: add "
                    f"{what}: to the service's options or {what}= to nats()."
                )
        health, _info = await self._read(ctx, info_only=False)
        problems = _problems(health, limits)
        if problems:
            raise unhealthy(
                KIND,
                self.display,
                problems,
                "Look at the consumers of the stream and the server's logs.",
            )
        return health

    async def _read(
        self, ctx: ProbeContext, *, info_only: bool
    ) -> tuple[NatsHealth, Mapping[str, Any]]:
        __tracebackhide__ = True
        request = f"nats connect {self.display}"
        if self.stream and not info_only:
            request += f", stream {self.stream!r}"
        if self.consumer and not info_only:
            request += f", consumer {self.consumer!r}"
        started = timing.perf_counter()
        health, info = await step(
            ctx,
            self._talk(ctx, info_only=info_only),
            kind=KIND,
            request=request,
            translate=self.translate_error,
        )
        figures: dict[str, object] = {
            "server": f"{health.server_name} (nats-server {health.version})",
            "jetstream": "enabled" if health.jetstream else "not enabled",
        }
        if health.stream is not None:
            figures["stream messages"] = health.stream.messages
            figures["stream consumers"] = health.stream.consumers
        if health.consumer is not None:
            figures["consumer pending"] = health.consumer.pending
            figures["consumer ack pending"] = health.consumer.ack_pending
        record(
            ctx,
            kind=KIND,
            request=request,
            started=started,
            answer="connected",
            figures=figures,
            remote=f"{self._host}:{self._port}",
            phases_ms={"connect": ms(health.connect_s)},
        )
        return health, info

    async def _talk(
        self, ctx: ProbeContext, *, info_only: bool
    ) -> tuple[NatsHealth, Mapping[str, Any]]:
        client_module = load(
            "nats.aio.client", kind=KIND, package="nats-py", extra="nats"
        )
        started = timing.perf_counter()
        client = client_module.Client()
        guard(client, display=self.display)
        try:
            await _connect(client, self._url, timeout_s=max(ctx.remaining(), 0.1))
            connect_s = timing.perf_counter() - started
            info = nats_compat.server_info(client)
            stream = consumer = None
            if self.stream and not info_only:
                js = client.jetstream(timeout=max(ctx.remaining(), 0.1))
                stream = await _stream_state(js, self.stream)
                if self.consumer:
                    consumer = await _consumer_state(js, self.stream, self.consumer)
            health = NatsHealth(
                url=self.display,
                server_name=str(info.get("server_name") or info.get("server_id", "?")),
                version=str(info.get("version", "?")),
                jetstream=bool(info.get("jetstream", False)),
                connect_s=connect_s,
                stream=stream,
                consumer=consumer,
            )
            return health, info
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                    await client.close()

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place nats-py's errors become sleuth's, with a category."""
        what = f"nats {self.display}"
        if isinstance(exc, _Missing):
            return CheckFailed(
                f"{what}: {exc.describe()} does not exist. Check the name, and that "
                f"the service that creates it has started. Nothing was created.",
                target=self.display,
                category="unhealthy",
            )
        name = type(exc).__name__
        text = str(exc)
        if "authorization violation" in text.lower() or name == "AuthorizationError":
            return TargetUnreachable(
                f"{what}: the server refused the credentials (Authorization "
                f"Violation). Check the user and password, or token, in the URL.",
                target=self.display,
                category="auth",
            )
        if name in ("ServiceUnavailableError", "NoRespondersError"):
            return CheckFailed(
                f"{what}: JetStream is not enabled on this server or account, so "
                f"stream {self.stream!r} cannot be read. Start nats-server with -js.",
                target=self.display,
                category="unhealthy",
            )
        if isinstance(exc, OSError):
            translated = translate_os_error(
                exc, what=what, host=self._host, port=self._port
            )
            if translated is not None:
                translated.target = self.display
                return translated
        return other_error(exc, what=what)


def _name_or_none(name: object, what: str, where: str | None) -> str | None:
    return None if name is None else check_name(name, what=what, where=where)


class _Missing(Exception):
    def __init__(self, stream: str, consumer: str | None = None) -> None:
        super().__init__(stream, consumer)
        self.stream = stream
        self.consumer = consumer

    def describe(self) -> str:
        if self.consumer is None:
            return f"stream {self.stream!r}"
        return f"consumer {self.consumer!r} on stream {self.stream!r}"


async def _connect(client: Any, url: str, *, timeout_s: float) -> None:
    """Connect once; the first connection error is the answer (no retries).

    nats-py keeps trying the server pool even with reconnection off, and
    reports each failure only to ``error_cb``: so the first report ends it.
    """
    loop = asyncio.get_running_loop()
    first_error: asyncio.Future[BaseException] = loop.create_future()

    async def on_error(exc: BaseException) -> None:
        if not first_error.done():
            first_error.set_result(exc)

    connecting = asyncio.ensure_future(
        client.connect(
            servers=[url],
            name="sleuth-probe",
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=timeout_s + 1,  # our deadline ends it first
            error_cb=on_error,
        )
    )
    try:
        await asyncio.wait(
            {connecting, first_error}, return_when=asyncio.FIRST_COMPLETED
        )
        if connecting.done():
            connecting.result()
            return
        raise first_error.result()
    finally:
        for future in (connecting, first_error):
            if not future.done():
                future.cancel()
        with contextlib.suppress(BaseException):
            await connecting


async def _stream_state(js: Any, stream: str) -> StreamState:
    try:
        info = await js.stream_info(stream)
    except Exception as exc:
        if type(exc).__name__ == "NotFoundError":
            raise _Missing(stream) from exc
        raise
    state = info.state
    return StreamState(
        name=stream,
        messages=int(state.messages),
        bytes=int(state.bytes),
        consumers=int(state.consumer_count),
    )


async def _consumer_state(js: Any, stream: str, consumer: str) -> ConsumerState:
    try:
        info = await js.consumer_info(stream, consumer)
    except Exception as exc:
        if type(exc).__name__ == "NotFoundError":
            raise _Missing(stream, consumer) from exc
        raise
    return ConsumerState(
        stream=stream,
        name=consumer,
        pending=int(info.num_pending or 0),
        ack_pending=int(info.num_ack_pending or 0),
        redelivered=int(info.num_redelivered or 0),
    )


def _problems(health: NatsHealth, limits: Mapping[str, Any]) -> list[str]:
    problems = too_slow("connect time", health.connect_s, "max_connect_time", limits)
    stream, consumer = health.stream, health.consumer
    if stream is not None:
        limit = limits.get("max_messages")
        if limit is not None and stream.messages > limit:
            problems.append(
                over(
                    f"stream {stream.name!r} holds",
                    f"{stream.messages} messages",
                    "max_messages",
                    limit,
                )
            )
        limit = limits.get("min_consumers")
        if limit is not None and stream.consumers < limit:
            problems.append(
                under(
                    f"stream {stream.name!r} has",
                    f"{stream.consumers} consumers",
                    "min_consumers",
                    limit,
                )
            )
    if consumer is not None:
        label = f"consumer {consumer.name!r} on stream {consumer.stream!r} has"
        limit = limits.get("max_pending")
        if limit is not None and consumer.pending > limit:
            problems.append(
                over(label, f"{consumer.pending} pending", "max_pending", limit)
            )
        limit = limits.get("max_ack_pending")
        if limit is not None and consumer.ack_pending > limit:
            problems.append(
                over(
                    label,
                    f"{consumer.ack_pending} awaiting ack",
                    "max_ack_pending",
                    limit,
                )
            )
    return problems
