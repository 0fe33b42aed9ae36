"""aiohttp at the edges of an HTTP probe: one request made and read (capped),
the peer, per-phase timings from aiohttp's trace hooks, and aiohttp's
exceptions turned into sleuth's in one place (as httpx's
``map_httpcore_exceptions`` does).

The same code runs in the run's own process or in its HTTP worker process
(``sleuth.http_worker``): what it returns is plain data either way.
"""

from __future__ import annotations

import dataclasses
import errno
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sleuth import timing
from sleuth._compat import aiohttp as aiohttp_compat
from sleuth.errors import CheckFailed, ProbeError, SleuthError, TargetUnreachable

if TYPE_CHECKING:
    import aiohttp


SleuthErrorT = TypeVar("SleuthErrorT", bound=SleuthError)
# The in-flight caps of a run's requests: (overall, per host).
Caps = tuple[int, int]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """What one request got back, as plain data (it may cross a process)."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool
    url: str
    http_version: str
    charset: str | None
    remote: str | None


class Transport(Protocol):
    """Where requests are made: in this process, or by the HTTP worker."""

    async def fetch(
        self,
        trace: Timings,
        method: str,
        url: str,
        *,
        max_body_bytes: int,
        follow_redirects: bool,
        **kwargs: Any,
    ) -> Answer: ...

    async def close(self) -> None: ...


class LocalTransport:
    """Requests made on this process's loop, over its own aiohttp session."""

    def __init__(self, caps: Caps) -> None:
        self._session = open_session(caps)

    async def fetch(
        self, trace: Timings, method: str, url: str, **kwargs: Any
    ) -> Answer:
        return await fetch(self._session, trace, method, url, **kwargs)

    async def close(self) -> None:
        await self._session.close()


def open_session(caps: Caps) -> aiohttp.ClientSession:
    """The one aiohttp session of a run (or of its worker), with the caps given."""
    import aiohttp

    max_in_flight, max_in_flight_per_host = caps
    connector = aiohttp.TCPConnector(
        limit=max_in_flight, limit_per_host=max_in_flight_per_host
    )
    trace_config = aiohttp.TraceConfig()
    Timings.install(trace_config)
    trace_config.on_request_end.append(_note_body_start)
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),  # deadlines are the caller's
        trace_configs=[trace_config],
        auto_decompress=True,
    )
    # aiohttp quietly sends an idempotent request again after a reset, even
    # on a new connection: an attempt nobody would see. sleuth retries
    # itself (see Retries.reconnect), so that every attempt is evidence.
    aiohttp_compat.disable_silent_retry(session)
    return session


async def fetch(
    session: aiohttp.ClientSession,
    trace: Timings,
    method: str,
    url: str,
    *,
    max_body_bytes: int,
    follow_redirects: bool,
    **kwargs: Any,
) -> Answer:
    """Make one request and read its answer, at most ``max_body_bytes`` of it."""
    async with session.request(
        method,
        url,
        allow_redirects=follow_redirects,
        max_redirects=10,
        trace_request_ctx=trace,
        **kwargs,
    ) as answer:
        remote = peer_of(answer)  # before reading: then the connection is let go
        body, truncated = await read_capped(answer, max_body_bytes, trace)
        version = answer.version
        return Answer(
            status=answer.status,
            reason=answer.reason or "",
            headers=list(answer.headers.items()),
            body=body,
            truncated=truncated,
            url=str(answer.url),
            http_version=f"HTTP/{version.major}.{version.minor}"
            if version
            else "HTTP/1.1",
            charset=answer.charset,
            remote=remote,
        )


async def read_capped(
    answer: aiohttp.ClientResponse, max_bytes: int, trace: Timings | None = None
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size < max_bytes:
        chunk = await answer.content.read(min(65536, max_bytes - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if trace is not None and trace.body is not None:
            trace.note_body(dataclasses.replace(trace.body, received=size))
    truncated = not answer.content.at_eof()
    if truncated:
        answer.close()  # do not drain the rest into memory; drop the connection
    return b"".join(chunks), truncated


def peer_of(answer: aiohttp.ClientResponse) -> str | None:
    connection = answer.connection
    transport = connection.transport if connection is not None else None
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
        return f"{host}:{peer[1]}"
    return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BodyProgress:
    """An answer whose headers came and whose body had not all come with them.

    Kept so that a deadline that falls while the body is still coming says so
    (``incomplete_body``), instead of "no answer": the target did answer.
    """

    status: int
    reason: str
    headers_after_ms: float  # from the request's start to its headers
    length: int | None  # Content-Length, when given and the body is not encoded
    received: int = 0  # body bytes read so far


async def _note_body_start(_session: Any, trace_ctx: Any, params: Any) -> None:
    """aiohttp's hook at the headers: note a body that is still to come."""
    trace = trace_ctx.trace_request_ctx
    answer = params.response
    if not isinstance(trace, Timings) or answer.content.is_eof():
        return
    started = trace.marks.get("request_start")
    now = timing.perf_counter()
    length = answer.content_length if "content-encoding" not in answer.headers else None
    trace.note_body(
        BodyProgress(
            status=answer.status,
            reason=answer.reason or "",
            headers_after_ms=(now - started) * 1000 if started is not None else 0.0,
            length=length,
        )
    )


def incomplete_body(request_line: str, body: BodyProgress, limit_s: float) -> str:
    """``GET url: 200 OK after 2 ms, body incomplete at the 2.0 s deadline (3 of
    6 bytes)``."""
    of = f" of {body.length}" if body.length is not None else ""
    return (
        f"{request_line}: {body.status} {body.reason} after "
        f"{body.headers_after_ms:.0f} ms, body incomplete at the {limit_s:.1f} s "
        f"deadline ({body.received}{of} bytes)"
    )


def body_cut_short(
    exc: SleuthErrorT, request_line: str, body: BodyProgress | None
) -> SleuthErrorT | ProbeError:
    """A reset after the headers came, said as the body it cut short:
    ``GET url: 200 OK after 2 ms, body incomplete: the connection closed after 3
    of 6 bytes``; any other error as it is."""
    if body is None or not isinstance(exc, ProbeError) or exc.category != "reset":
        return exc
    of = f" of {body.length}" if body.length is not None else ""
    return TargetUnreachable(
        f"{request_line}: {body.status} {body.reason} after "
        f"{body.headers_after_ms:.0f} ms, body incomplete: the connection closed "
        f"after {body.received}{of} bytes",
        target=request_line,
        category="reset",
    )


class Timings:
    """Per-phase times of one request, from aiohttp's trace hooks."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.body: BodyProgress | None = None  # an answer whose body is coming
        self.on_body: Callable[[BodyProgress], object] | None = None

    def note_body(self, body: BodyProgress) -> None:
        self.body = body
        if self.on_body is not None:  # the HTTP worker tells the run
            self.on_body(body)

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, timing.perf_counter())

    def queued_s(self) -> float:
        """Time spent waiting for a slot under the in-flight caps."""
        m = self.marks
        if "queued_start" in m and "queued_end" in m:
            return m["queued_end"] - m["queued_start"]
        return 0.0

    def as_ms(self, started: float) -> dict[str, float]:
        m = self.marks
        phases: dict[str, float] = {}
        for phase, begin, end in (
            ("queued", "queued_start", "queued_end"),  # waiting for an in-flight slot
            ("dns", "dns_start", "dns_end"),
            ("connect", "connect_start", "connect_end"),
            ("first_byte", "request_start", "headers_received"),
        ):
            if begin in m and end in m:
                phases[phase] = round((m[end] - m[begin]) * 1000, 2)
        phases["total"] = round((timing.perf_counter() - started) * 1000, 2)
        return phases

    @staticmethod
    def install(config: aiohttp.TraceConfig) -> None:
        def hook(name: str) -> Any:
            async def on(_session: Any, trace_ctx: Any, _params: Any) -> None:
                if isinstance(trace_ctx.trace_request_ctx, Timings):
                    trace_ctx.trace_request_ctx.mark(name)

            return on

        config.on_request_start.append(hook("request_start"))
        config.on_connection_queued_start.append(hook("queued_start"))
        config.on_connection_queued_end.append(hook("queued_end"))
        config.on_connection_reuseconn.append(hook("reused"))
        config.on_dns_resolvehost_start.append(hook("dns_start"))
        config.on_dns_resolvehost_end.append(hook("dns_end"))
        config.on_connection_create_start.append(hook("connect_start"))
        config.on_connection_create_end.append(hook("connect_end"))
        config.on_request_end.append(hook("headers_received"))


def translate_error(exc: BaseException, request_line: str) -> ProbeError:
    """One place that turns aiohttp's exceptions into sleuth's, with a category."""
    import aiohttp
    from aiohttp import http_exceptions

    if isinstance(exc, aiohttp.TooManyRedirects):
        return CheckFailed(
            f"{request_line}: more than 10 redirects (a redirect loop?)",
            target=request_line,
            category="other",
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        host = getattr(exc, "host", "?")
        return TargetUnreachable(
            f"{request_line}: the name {host} does not resolve. Check the host name "
            f"and this runner's DNS.",
            target=request_line,
            category="dns",
        )
    if isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ):
        return TargetUnreachable(
            f"{request_line}: TLS failed: {exc}", target=request_line, category="tls"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return TargetUnreachable(
                f"{request_line}: connection refused by {exc.host}:{exc.port}. Is the "
                f"service running and listening there?",
                target=request_line,
                category="refused",
            )
        if exc.os_error.errno == errno.ECONNRESET:
            return TargetUnreachable(
                f"{request_line}: the connection to {exc.host}:{exc.port} was reset "
                f"while it was being made",
                target=request_line,
                category="reset",
            )
        return TargetUnreachable(
            f"{request_line}: cannot connect: {exc.os_error}",
            target=request_line,
            category="other",
        )
    if isinstance(exc, aiohttp.ClientPayloadError):  # after the headers
        return TargetUnreachable(
            f"{request_line}: the connection closed before the whole body came",
            target=request_line,
            category="reset",
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError | ConnectionResetError) or (
        isinstance(exc, aiohttp.ClientOSError) and exc.errno == errno.ECONNRESET
    ):
        return TargetUnreachable(
            f"{request_line}: the connection was reset before an answer came",
            target=request_line,
            category="reset",
        )
    if isinstance(exc, aiohttp.ClientResponseError) and isinstance(
        exc.__cause__, http_exceptions.HttpProcessingError
    ):
        # The parser's words quote what came instead: b'AMQP\x00\x00\t\x01' from
        # a broker's port, say. aiohttp calls it status 400, which nobody sent.
        began = re.search(r"b'[^']*'|b\"[^\"]*\"", exc.message)
        seen = f" (it began {began[0]})" if began else ""
        return TargetUnreachable(
            f"{request_line}: the answer is not HTTP{seen}. Is that port the "
            f"service's HTTP port?",
            target=request_line,
            category="other",
        )
    detail = str(exc) or type(exc).__name__
    return TargetUnreachable(
        f"{request_line}: {type(exc).__name__}: {detail}",
        target=request_line,
        category="other",
    )
