"""``target.amqp``: is a RabbitMQ broker healthy, and how deep is a queue.

AMQP 0-9-1 through aiormq on the engine's loop (aio-pika's layer on top adds
reconnection, which a probe must not do). A queue is looked at by passive
declare only, so a probe never creates one. Alarms and node health come from
the management API, asked only when ``management_url`` is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict
from urllib.parse import urlsplit

from sleuth import _timing as timing
from sleuth.engine.context import ProbeContext
from sleuth.errors import CheckFailed, ConfigError, ProbeError, TargetUnreachable
from sleuth.probes import _rabbitmq_api as management_api
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
from sleuth.probes._rabbitmq_api import NodeState
from sleuth.redact import mask_url
from sleuth.suite.units import parse_count, parse_duration

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

__all__ = ["AmqpHealth", "AmqpProbe", "NodeState", "QueueState"]

KIND = "amqp"
_THRESHOLDS = {
    "max_queue_depth": lambda v, where, what: parse_count(v, where=where, what=what),
    "min_consumers": lambda v, where, what: parse_count(v, where=where, what=what),
    "max_connect_time": lambda v, where, what: parse_duration(
        v, where=where, what=what
    ),
}
_CLOSE_TIMEOUT_S = 1.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class QueueState:
    """A queue as a passive declare sees it."""

    name: str
    messages: int  # ready to deliver; unacknowledged ones are not counted
    consumers: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AmqpHealth:
    """What one check read from the broker."""

    url: str  # password masked
    product: str
    version: str
    cluster_name: str | None
    connect_s: float
    queue: QueueState | None = None
    nodes: tuple[NodeState, ...] | None = None  # None: no management_url


class AmqpProbeOptions(TypedDict, total=False):
    """The options of ``target.amqp(...)`` and of ``services: amqp:``."""

    url: str  # amqp://user:password@host:5672/vhost
    queue: str  # a queue to read the depth and consumers of
    management_url: str  # the management API, for figures AMQP does not give


class AmqpProbe(DependencyProbe[AmqpHealth]):
    """``target.amqp("events", queue="orders").check(max_queue_depth=1000)``.

    ``check()`` connects and logs in, reads the queue (if any) by passive
    declare and the nodes (if ``management_url`` is given), and fails on a
    figure past its threshold, a missing queue, or a node alarm (category
    "unhealthy"), or when the broker cannot be reached.
    """

    kind: ClassVar[str] = KIND
    drivers: ClassVar[tuple[str, ...]] = ("aiormq",)
    address_keys: ClassVar[frozenset[str]] = frozenset(AmqpProbeOptions.__annotations__)
    check_keys: ClassVar[frozenset[str]] = frozenset(_THRESHOLDS)
    thresholds: ClassVar[Mapping[str, Parser]] = _THRESHOLDS

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        opts, where = helper_options(env, KIND, name, options, self.address_keys)
        self._env = env
        self._url = str(require(opts, "url", kind=KIND, where=where))
        self.queue_name: str | None = opts.get("queue")
        self._management_url: str | None = opts.get("management_url")
        self.display = mask_url(self._url)
        parts = urlsplit(self._url)
        self._host, self._port = parts.hostname, parts.port or 5672
        self._vhost = parts.path[1:] or "/"

    def __repr__(self) -> str:
        return f"<AmqpProbe {self.display}>"

    # -- the health check ---------------------------------------------------

    def queue(self, name: str | None = None) -> QueueState:
        """Depth and consumers of queue ``name`` (default: the configured one)."""
        __tracebackhide__ = True
        queue = self._queue_or_fail(name)
        return self._run(lambda ctx: self._queue_state(ctx, queue))

    async def aqueue(self, name: str | None = None) -> QueueState:
        """``queue()`` for ``async def`` probes."""
        __tracebackhide__ = True
        queue = self._queue_or_fail(name)
        return await self._arun(lambda ctx: self._queue_state(ctx, queue))

    async def _queue_state(self, ctx: ProbeContext, queue: str) -> QueueState:
        health = await self._read(ctx, queue, management=False)
        assert health.queue is not None  # noqa: S101 (asked for)
        return health.queue

    def _queue_or_fail(self, name: str | None) -> str:
        queue = name or self.queue_name
        if not queue:
            raise ConfigError(
                f"amqp {self.display}: which queue? Give queue('name'), or queue: "
                f"in the service's options."
            )
        return queue

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> AmqpHealth:
        __tracebackhide__ = True
        needs_queue = {"max_queue_depth", "min_consumers"} & set(limits)
        if needs_queue and not self.queue_name:
            raise ConfigError(
                f"amqp {self.display}: {', '.join(sorted(needs_queue))} needs a "
                f"queue: add queue: to the service's options or queue= to amqp()."
            )
        health = await self._read(ctx, self.queue_name, management=True)
        problems = too_slow(
            "connect time", health.connect_s, "max_connect_time", limits
        )
        queue = health.queue
        if queue is not None:
            depth = limits.get("max_queue_depth")
            if depth is not None and queue.messages > depth:
                problems.append(
                    over(
                        f"queue {queue.name!r} holds",
                        f"{queue.messages} messages",
                        "max_queue_depth",
                        depth,
                    )
                )
            wanted = limits.get("min_consumers")
            if wanted is not None and queue.consumers < wanted:
                problems.append(
                    under(
                        f"queue {queue.name!r} has",
                        f"{queue.consumers} consumers",
                        "min_consumers",
                        wanted,
                    )
                )
        problems.extend(_node_problems(health.nodes or ()))
        if problems:
            raise unhealthy(
                KIND,
                self.display,
                problems,
                "Look at the consumers of the queue and the broker's logs.",
            )
        return health

    # -- reading ------------------------------------------------------------

    async def _read(
        self, ctx: ProbeContext, queue: str | None, *, management: bool
    ) -> AmqpHealth:
        __tracebackhide__ = True
        request = f"amqp connect {self.display}" + (
            f", passive declare queue {queue!r}" if queue else ""
        )
        started = timing.perf_counter()
        health = await step(
            ctx,
            self._talk(queue),
            kind=KIND,
            request=request,
            translate=self.translate_error,
        )
        figures: dict[str, object] = {
            "server": f"{health.product} {health.version}",
            "cluster": health.cluster_name,
        }
        if health.queue is not None:
            figures["messages"] = health.queue.messages
            figures["consumers"] = health.queue.consumers
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
        if management and self._management_url:
            nodes = await self._management_nodes(ctx, self._management_url)
            health = dataclasses.replace(health, nodes=nodes)
        return health

    async def _talk(self, queue: str | None) -> AmqpHealth:
        aiormq = load("aiormq", kind=KIND, package="aiormq", extra="amqp")
        started = timing.perf_counter()
        connection = await aiormq.connect(self._url)
        connect_s = timing.perf_counter() - started
        try:
            state = None
            if queue:
                channel = await connection.channel()
                # passive: only look; a queue that does not exist is an error
                # from the broker, never created.
                ok = await channel.queue_declare(queue, passive=True)
                state = QueueState(
                    name=queue, messages=ok.message_count, consumers=ok.consumer_count
                )
            props = connection.server_properties
            return AmqpHealth(
                url=self.display,
                product=_text(props.get("product")) or "AMQP broker",
                version=_text(props.get("version")) or "?",
                cluster_name=_text(props.get("cluster_name")) or None,
                connect_s=connect_s,
                queue=state,
            )
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                    await connection.close()

    async def _management_nodes(
        self, ctx: ProbeContext, base_url: str
    ) -> tuple[NodeState, ...]:
        __tracebackhide__ = True
        url = base_url.rstrip("/") + "/api/nodes"
        request = f"GET {mask_url(url)}"
        started = timing.perf_counter()
        status, states = await step(
            ctx,
            management_api.get_nodes(url, self._url),
            kind=KIND,
            request=request,
            translate=self.translate_error,
        )
        record(
            ctx,
            kind=KIND,
            request=request,
            started=started,
            answer=str(status),
            figures={
                f"node {n.name}": ("running" if n.running else "not running")
                + (f", alarms: {', '.join(n.alarms)}" if n.alarms else "")
                for n in states
            },
        )
        return states

    # -- errors -------------------------------------------------------------

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place aiormq's (and the management API's) errors become ours."""
        what = f"amqp {self.display}"
        if isinstance(exc, management_api.Refused):
            said = f": {exc.reason}" if exc.reason else ""
            return TargetUnreachable(
                f"{what}: the management API refused the credentials (status "
                f"{exc.status}{said}). Give a user with the monitoring tag in "
                f"management_url.",
                target=self.display,
                category="auth",
            )
        if isinstance(exc, management_api.BadStatus):
            return CheckFailed(
                f"{what}: the management API answered {exc.status}: {exc.detail}",
                target=self.display,
                category="http-5xx" if exc.status >= 500 else "failed",
            )
        if _module_of(exc).startswith("aiohttp"):
            from sleuth.http.wire import translate_error as translate_http

            translated = translate_http(exc, f"{what} management API")
            translated.target = self.display
            return translated
        return self._translate_amqp(exc, what)

    def _translate_amqp(self, exc: BaseException, what: str) -> ProbeError:
        name = type(exc).__name__
        detail = str(exc.args[0]) if exc.args else str(exc)
        if name == "ProbableAuthenticationError":
            return TargetUnreachable(
                f"{what}: the broker refused the login ({detail}). Check the user "
                f"and password in the URL.",
                target=self.display,
                category="auth",
            )
        if name == "ChannelNotFoundEntity":
            return CheckFailed(
                f"{what}: {detail.removeprefix('NOT_FOUND - ')}. It was looked up by "
                f"passive declare, so nothing was created. Check the queue name, and "
                f"that the service that declares it has started.",
                target=self.display,
                category="unhealthy",
            )
        if name == "ChannelAccessRefused":
            return TargetUnreachable(
                f"{what}: access refused ({detail}). Give the probe's user read "
                f"access to the queue.",
                target=self.display,
                category="auth",
            )
        if name == "InvalidFrameError" and "Connection.Close" in detail:
            # The broker closed during open: a vhost that is missing or not allowed.
            return TargetUnreachable(
                f"{what}: the broker closed the connection on opening virtual host "
                f"{self._vhost!r}: it does not exist, or the user may not use it.",
                target=self.display,
                category="auth",
            )
        cause = exc if isinstance(exc, OSError) and exc.errno is not None else None
        if cause is None and isinstance(exc.__cause__, OSError):
            cause = exc.__cause__
        if cause is not None:
            translated = translate_os_error(
                _as_os_error(cause), what=what, host=self._host, port=self._port
            )
            if translated is not None:
                translated.target = self.display
                return translated
        if name == "IncompatibleProtocolError":
            return TargetUnreachable(
                f"{what}: {self._host}:{self._port} closed the connection without "
                f"speaking AMQP 0-9-1. Is it a RabbitMQ port?",
                target=self.display,
                category="reset",
            )
        return other_error(exc, what=what)


def _node_problems(nodes: Iterable[NodeState]) -> list[str]:
    """What is wrong with the nodes the management API lists, one line each."""
    problems = []
    for node in nodes:
        if not node.running:
            problems.append(f"node {node.name} is not running")
        if node.alarms:
            problems.append(f"node {node.name} has alarms: {', '.join(node.alarms)}")
        if node.partitions:
            problems.append(
                f"node {node.name} is partitioned from {', '.join(node.partitions)}"
            )
    return problems


def _as_os_error(exc: OSError) -> OSError:
    # aiormq wraps socket errors in AMQPConnectionError(errno, text): keep the errno
    # but make a gaierror of a resolution failure so it reads as one.
    if exc.errno is not None and exc.errno < 0:
        return socket.gaierror(exc.errno, exc.strerror)
    if type(exc) is not OSError and not isinstance(exc, ConnectionError | TimeoutError):
        return OSError(exc.errno, exc.strerror)
    return exc


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "" if value is None else str(value)


def _module_of(exc: BaseException) -> str:
    return type(exc).__module__ or ""
