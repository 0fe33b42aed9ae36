"""aiohttp at the edges of an HTTP probe: one request made and read (capped),
the peer, per-phase timings from aiohttp's trace hooks, and aiohttp's
exceptions turned into sleuth's in one place (as httpx's
``map_httpcore_exceptions`` does).

The same code runs in the run's own process or in its HTTP worker process
(``sleuth.http.worker``): what it returns is plain data either way.
"""

from __future__ import annotations

import contextvars
import dataclasses
import errno
import re
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sleuth import _timing as timing, _wireclock as wireclock
from sleuth._compat import aiohttp as aiohttp_compat
from sleuth.clients import aiohttp_hook
from sleuth.errors import CheckFailed, ProbeError, SleuthError, TargetUnreachable
from sleuth.suite.tlsoptions import Contexts, TlsOptions

if TYPE_CHECKING:
    import ssl

    import aiohttp

TLS_HINT = "Renew or reissue the certificate."
TLS_UNTRUSTED_HINT = (
    "Reissue it from a trusted CA, or give tls: {ca_file: ...} if a private CA "
    "issued it."
)


SleuthErrorT = TypeVar("SleuthErrorT", bound=SleuthError)
# The in-flight caps of a run's requests: (overall, per host).
Caps = tuple[int, int]
# sleuth's own waits around a request longer than this are said in its evidence.
BUSY_NOTE_MS = 50.0
# The request whose connection this task is making (set by the trace hook
# that starts it, read by the socket factory aiohttp then calls in this task).
_CONNECTING: contextvars.ContextVar[Timings | None] = contextvars.ContextVar(
    "sleuth_connecting", default=None
)


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
        self._contexts = Contexts()

    async def fetch(
        self, trace: Timings, method: str, url: str, **kwargs: Any
    ) -> Answer:
        return await fetch(
            self._session, trace, method, url, contexts=self._contexts, **kwargs
        )

    async def close(self) -> None:
        await self._session.close()


def open_session(caps: Caps) -> aiohttp.ClientSession:
    """The one aiohttp session of a run (or of its worker), with the caps given."""
    import aiohttp

    max_in_flight, max_in_flight_per_host = caps
    connector = aiohttp.TCPConnector(
        limit=max_in_flight,
        limit_per_host=max_in_flight_per_host,
        **aiohttp_compat.socket_factory(Timings.socket_for_connect),
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
    # Its requests are target.http's, evidenced by it: the probe-code hook lets them by.
    return aiohttp_hook.mark_own(session)


async def fetch(
    session: aiohttp.ClientSession,
    trace: Timings,
    method: str,
    url: str,
    *,
    max_body_bytes: int,
    follow_redirects: bool,
    contexts: Contexts,
    tls: TlsOptions | None = None,
    **kwargs: Any,
) -> Answer:
    """Make one request and read its answer, at most ``max_body_bytes`` of it.

    ``tls`` options become an ``ssl.SSLContext`` here, in the process that
    makes the request (built once per set of options, in ``contexts``).
    """
    import aiohttp

    context = contexts.get(tls)
    if context is not None:
        kwargs["ssl"] = context
    try:
        return await _fetch(
            session, trace, method, url, max_body_bytes, follow_redirects, kwargs
        )
    except aiohttp.ClientConnectorCertificateError as exc:
        raise await certificate_error(exc, f"{method} {url}") from exc
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        refused = await _client_certificate_refused(method, url, trace, context)
        if refused is None:
            raise
        raise refused from exc


async def _fetch(
    session: aiohttp.ClientSession,
    trace: Timings,
    method: str,
    url: str,
    max_body_bytes: int,
    follow_redirects: bool,
    kwargs: dict[str, Any],
) -> Answer:
    async with session.request(
        method,
        url,
        allow_redirects=follow_redirects,
        max_redirects=10,
        trace_request_ctx=trace,
        **kwargs,
    ) as answer:
        # Before reading: then the connection is let go.
        transport = aiohttp_compat.response_transport(answer)
        remote = wireclock.peer_of(transport)
        sock = wireclock.socket_of(transport)
        body, truncated = await read_capped(answer, max_body_bytes, trace)
        # When the last byte arrived, not when this loop got round to it.
        trace.mark("body_end", wireclock.last_received_at(sock))
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
    """Per-phase times of one request, taken where its bytes move.

    The marks come from aiohttp's trace hooks, on the loop that carries the
    request (the HTTP worker's, or the run's own); the moments an answer's
    bytes arrived are the kernel's (``sleuth._wireclock``), so a loop that was
    busy when they came does not count its wait as the target's.

    What the target is charged with (``wire_s``): resolving its name,
    connecting, and from the request's headers going out to the last byte of
    the answer. What it is not: waiting for a slot under sleuth's own
    in-flight caps (``queued``), and sleuth's own work before sending and
    after the answer came (``busy_ms``: the hop to the worker, a loop busy
    with other probes, the interpreter lock).
    """

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self._socket: socket.socket | None = None  # the one it is connecting
        self.body: BodyProgress | None = None  # an answer whose body is coming
        self.on_body: Callable[[BodyProgress], object] | None = None

    def note_body(self, body: BodyProgress) -> None:
        self.body = body
        if self.on_body is not None:  # the HTTP worker tells the run
            self.on_body(body)

    def mark(self, name: str, at: float | None = None) -> None:
        self.marks.setdefault(name, timing.perf_counter() if at is None else at)

    def queued_s(self) -> float:
        """Time spent waiting for a slot under the in-flight caps."""
        return self._span("queued_start", "queued_end")

    def wire_s(self, ended: float | None = None) -> float:
        """The target's time: name, connection, request out to answer in.

        ``ended`` is when the caller saw the request end, for one that ended
        without an answer (an error, a deadline).
        """
        m = self.marks
        end = m.get("body_end", m.get("headers_received"))
        if "headers_sent" in m:
            if end is None:
                end = timing.perf_counter() if ended is None else ended
            phases = self._span("dns_start", "dns_end")
            phases += self._span("connect_start", "connect_end")
            return phases + max(end - m["headers_sent"], 0.0)
        # Nothing was sent (an error while connecting): up to the end, less the wait.
        if "request_start" not in m:
            return 0.0
        if end is None:
            end = timing.perf_counter() if ended is None else ended
        return max(end - m["request_start"] - self.queued_s(), 0.0)

    def busy_ms(self, started: float, ended: float) -> dict[str, float]:
        """sleuth's own waits around the request, when over ``BUSY_NOTE_MS``.

        ``started``/``ended``: when the probe handed the request over and got
        its answer back (the run's clock; the worker's is the same one).
        """
        m = self.marks
        sent = m.get("headers_sent")
        if sent is None:
            return {}
        before = sent - started - self.queued_s()
        before -= self._span("dns_start", "dns_end")
        before -= self._span("connect_start", "connect_end")
        came = m.get("body_end", m.get("headers_received"))
        after = ended - came if came is not None else 0.0
        busy = {"before_sending": max(before, 0.0), "after_the_answer": max(after, 0.0)}
        if sum(busy.values()) * 1000 <= BUSY_NOTE_MS:
            return {}
        return {k: round(v * 1000, 1) for k, v in busy.items() if v * 1000 >= 1}

    def as_ms(self, started: float, ended: float | None = None) -> dict[str, float]:
        """The phases in ms; ``total`` is ``wire_s`` (what a latency check judges)."""
        phases: dict[str, float] = {}
        for phase, begin, end in (
            ("queued", "queued_start", "queued_end"),  # waiting for an in-flight slot
            ("dns", "dns_start", "dns_end"),
            ("connect", "connect_start", "connect_end"),
            ("first_byte", "headers_sent", "headers_received"),
        ):
            if begin in self.marks and end in self.marks:
                phases[phase] = round(self._span(begin, end) * 1000, 2)
        ended = timing.perf_counter() if ended is None else ended
        # No mark at all: its worker's marks never came back (a deadline).
        total = self.wire_s(ended) if self.marks else ended - started
        phases["total"] = round(total * 1000, 2)
        return phases

    def _span(self, begin: str, end: str) -> float:
        m = self.marks
        if begin in m and end in m:
            return max(m[end] - m[begin], 0.0)
        return 0.0

    @staticmethod
    def socket_for_connect(addr_info: Any) -> socket.socket:
        """aiohttp's socket factory: the socket is kept by the request
        connecting in this task, to read the kernel's times from it."""
        family, type_, proto, _, _ = addr_info
        sock = socket.socket(family=family, type=type_, proto=proto)
        trace = _CONNECTING.get()
        if trace is not None:
            trace._socket = sock
        return sock

    @staticmethod
    def install(config: aiohttp.TraceConfig) -> None:
        def hook(name: str) -> Any:
            async def on(_session: Any, trace_ctx: Any, _params: Any) -> None:
                if isinstance(trace_ctx.trace_request_ctx, Timings):
                    trace_ctx.trace_request_ctx.mark(name)

            return on

        async def connecting(_session: Any, trace_ctx: Any, _params: Any) -> None:
            trace = trace_ctx.trace_request_ctx
            if isinstance(trace, Timings):
                trace.mark("connect_start")
                _CONNECTING.set(trace)  # for socket_for_connect, in this task

        async def connected(_session: Any, trace_ctx: Any, _params: Any) -> None:
            trace = trace_ctx.trace_request_ctx
            if isinstance(trace, Timings):
                # When the handshake's last segment came, not when this loop
                # (making 499 other connections, say) got round to it.
                trace.mark("connect_end", wireclock.last_acked_at(trace._socket))
                trace._socket = None

        async def headers_came(_session: Any, trace_ctx: Any, params: Any) -> None:
            trace = trace_ctx.trace_request_ctx
            if isinstance(trace, Timings):
                transport = aiohttp_compat.response_transport(params.response)
                trace.mark(
                    "headers_received",
                    wireclock.last_received_at(wireclock.socket_of(transport)),
                )

        config.on_request_start.append(hook("request_start"))
        config.on_connection_queued_start.append(hook("queued_start"))
        config.on_connection_queued_end.append(hook("queued_end"))
        config.on_connection_reuseconn.append(hook("reused"))
        config.on_dns_resolvehost_start.append(hook("dns_start"))
        config.on_dns_resolvehost_end.append(hook("dns_end"))
        config.on_connection_create_start.append(connecting)
        config.on_connection_create_end.append(connected)
        config.on_request_headers_sent.append(hook("headers_sent"))
        config.on_request_end.append(headers_came)


async def certificate_error(
    exc: aiohttp.ClientConnectorCertificateError, request_line: str
) -> ProbeError:
    """A certificate that did not verify, diagnosed as ``target.tls`` does it."""
    from sleuth._certificate import diagnose

    host, port = exc.host, exc.port or 443
    diagnosis = await diagnose(
        exc.certificate_error, host=host, port=port, server_name=host
    )
    hint = TLS_UNTRUSTED_HINT if "not trusted" in diagnosis else TLS_HINT
    return TargetUnreachable(
        f"{request_line}: TLS failed: {diagnosis}. {hint}",
        target=request_line,
        category="tls",
    )


async def _client_certificate_refused(
    method: str, url: str, trace: Timings, context: ssl.SSLContext | None
) -> ProbeError | None:
    """A new HTTPS connection dropped before an answer: did the server refuse
    the client's certificate (or the lack of one)? Asked of the server again."""
    import ssl

    from yarl import URL

    from sleuth._certificate import alert_after_handshake, handshake_failure

    parsed = URL(url)
    if parsed.scheme != "https" or "reused" in trace.marks or parsed.host is None:
        return None
    reason = await alert_after_handshake(
        parsed.host,
        parsed.port or 443,
        parsed.host,
        context or ssl.create_default_context(),
    )
    if reason is None:
        return None
    request_line = f"{method} {url}"
    return TargetUnreachable(
        f"{request_line}: {handshake_failure(reason)}",
        target=request_line,
        category="tls",
    )


def translate_error(exc: BaseException, request_line: str) -> ProbeError:
    """One place that turns aiohttp's exceptions into sleuth's, with a category."""
    import aiohttp
    from aiohttp import http_exceptions

    if isinstance(exc, ProbeError):
        return exc  # already said (a certificate diagnosed in ``fetch``)

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
    tls_reason = _ssl_reason(exc)
    if tls_reason is not None or isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ):
        from sleuth._certificate import handshake_failure

        said = handshake_failure(tls_reason) if tls_reason else f"TLS failed: {exc}"
        return TargetUnreachable(
            f"{request_line}: {said}", target=request_line, category="tls"
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


def _ssl_reason(exc: BaseException) -> str | None:
    """OpenSSL's reason when a handshake failed (not a certificate: see
    ``certificate_error``), e.g. a server's alert that it wants a client
    certificate, which aiohttp reports as an OSError."""
    import ssl

    for cause in (exc, exc.__cause__, exc.__context__):
        if isinstance(cause, ssl.SSLError) and not isinstance(
            cause, ssl.SSLCertVerificationError
        ):
            return str(getattr(cause, "reason", None) or cause)
    return None
