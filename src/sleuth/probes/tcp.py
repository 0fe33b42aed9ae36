"""``target.tcp``: does a port accept connections, and how fast.

The smallest dependency probe: resolve the name, open a TCP connection under
the probe's deadline, time it, and close it. Nothing is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from sleuth import _timing as timing, _wireclock as wireclock
from sleuth.engine.context import ProbeContext
from sleuth.errors import ProbeError
from sleuth.probes._dependency import (
    DependencyProbe,
    Parser,
    helper_options,
    ms,
    other_error,
    port_option,
    record,
    require,
    step,
    too_slow,
    translate_os_error,
    unhealthy,
)
from sleuth.suite.units import parse_duration

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

KIND = "tcp"
_THRESHOLDS = {
    "max_connect_time": lambda v, where, what: parse_duration(v, where=where, what=what)
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TcpHealth:
    """What one connection showed: where it went and how long it took."""

    host: str
    port: int
    remote: str | None
    connect_s: float


class TcpProbeOptions(TypedDict, total=False):
    """The options of ``target.tcp(...)`` and of ``services: tcp:``."""

    host: str
    port: int | str


class TcpProbe(DependencyProbe[TcpHealth]):
    """``target.tcp(host="db-1", port=5432).check(max_connect_time="200ms")``.

    ``check()`` connects once and fails when it cannot, or when it is slower
    than ``max_connect_time``.
    """

    kind: ClassVar[str] = KIND
    address_keys: ClassVar[frozenset[str]] = frozenset(TcpProbeOptions.__annotations__)
    check_keys: ClassVar[frozenset[str]] = frozenset(_THRESHOLDS)
    thresholds: ClassVar[Mapping[str, Parser]] = _THRESHOLDS

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        opts, where = helper_options(env, KIND, name, options, self.address_keys)
        self._env = env
        self.host = str(require(opts, "host", kind=KIND, where=where))
        self.port = port_option(
            require(opts, "port", kind=KIND, where=where), kind=KIND, where=where
        )
        self.display = f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<TcpProbe {self.display}>"

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> TcpHealth:
        __tracebackhide__ = True
        request = f"tcp connect {self.display}"
        started = timing.perf_counter()
        health = await step(
            ctx,
            self._connect(),
            kind=KIND,
            request=request,
            translate=self.translate_error,
        )
        record(
            ctx,
            kind=KIND,
            request=request,
            started=started,
            answer="connected",
            remote=health.remote,
            phases_ms={"connect": ms(health.connect_s)},
            wire_s=health.connect_s,
        )
        problems = too_slow(
            "connect time", health.connect_s, "max_connect_time", limits
        )
        if problems:
            raise unhealthy(
                KIND,
                self.display,
                problems,
                "The port answers, slowly: look at the host's load and the network "
                "path from this runner.",
            )
        return health

    async def _connect(self) -> TcpHealth:
        started = timing.perf_counter()
        _reader, writer = await asyncio.open_connection(self.host, self.port)
        seen = timing.perf_counter()
        # Connected when the server's SYN-ACK came, not when this loop (busy
        # with other probes, or waiting for the interpreter lock) noticed.
        connected = wireclock.last_acked_at(wireclock.socket_of(writer), seen)
        took = max(connected - started, 0.0)
        remote = wireclock.peer_of(writer)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return TcpHealth(host=self.host, port=self.port, remote=remote, connect_s=took)

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place a connection failure becomes sleuth's error."""
        what = f"tcp {self.display}"
        translated = translate_os_error(exc, what=what, host=self.host, port=self.port)
        return translated or other_error(exc, what=what)
