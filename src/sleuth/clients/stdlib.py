"""http.client, and the clients that send through it: urllib.request, urllib3, requests.

urllib3's connection subclasses ``http_client.HTTPConnection`` and sends with its
``putrequest``, ``send`` and ``getresponse``, and requests sends through urllib3,
so hooking those three methods of the base class sees all four clients:

- ``putrequest`` (before a byte is sent): the read-only rule, the client named
  by who called, the request noted on the connection for the two others;
- ``send`` (connecting when the connection has no socket, then sending): the
  connect bounded by the probe's time left, and timed;
- ``getresponse`` (waiting for the answer): the socket bounded again (urllib3 sets
  its read timeout after sending), the answer recorded at its headers, and its
  body excerpt added as the client reads it.

One more, when the suite has imported urllib3: its HTTPS connection connects
before the request (``connect``), so that connect is bounded and named there.

Outside a probe each call passes through to the original method. Not in the
evidence: a body the client decodes (Content-Encoding), as its raw bytes would
mislead; and a connect that fails before an HTTPS request of urllib3 (no
request is known yet; the client's error says what failed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import sys
import weakref
from collections.abc import Callable
from http import client as http_client  # (1)
from types import FrameType
from typing import Any

from sleuth import _timing as timing
from sleuth._evidence import BODY_EXCERPT_BYTES, Exchange
from sleuth.clients import _guard, _release
from sleuth.engine.context import ProbeContext
from sleuth.errors import ProbeTimeout

# The libraries that send through http.client, by module name. A request is
# named after the outermost of them on the stack: requests over urllib3 over
# http.client.
_CLIENTS = ("requests", "urllib3", "urllib.request", "http.client")

# The connection's attributes for the request in progress, and for a socket
# whose timeout a probe bounded (put back before the next request outside one).
_REQUEST = "_sleuth_request"
_BOUNDED = "_sleuth_bounded_socket"
# (seconds, remote) of a connect made before the request (urllib3's HTTPS).
_CONNECTED = "_sleuth_connected"

_Conn = http_client.HTTPConnection
# (1) Not ``import http.client``: this module is imported the moment
# http.client has run (sleuth.clients' watcher), before the import system sets
# ``http.client`` on the package; ``from`` finds the module in sys.modules.


# The evidence of a request still waiting for its answer: what a probe whose
# deadline passes meanwhile is reported with (the answer comes too late for it).
NO_ANSWER = "no answer before the probe ended"


@dataclasses.dataclass(slots=True)
class _Request:
    ctx: ProbeContext
    method: str
    url: str
    client: str
    started: float
    timings_ms: dict[str, float] = dataclasses.field(default_factory=dict)
    remote: str | None = None
    exchange: Exchange | None = None

    def ms_since(self, began: float) -> float:
        return round((timing.perf_counter() - began) * 1000, 2)

    def record(self, **fields: Any) -> Exchange:
        """Record the request's evidence so far, in place of what was before."""
        self.exchange = _guard.record(
            self.ctx,
            client=self.client,
            method=self.method,
            url=self.url,
            timings_ms=dict(self.timings_ms),
            remote=self.remote,
            replacing=self.exchange,
            **fields,
        )
        return self.exchange

    def record_error(self, exc: BaseException) -> None:
        self.timings_ms["total"] = self.ms_since(self.started)
        self.record(error=_describe(exc))

    def raise_at_deadline(self, exc: BaseException) -> None:
        """A socket timed out by the bound the probe's deadline put on it (or
        released at it): say so, as target.http would, rather than let the
        client call it its own error (or retry). No client catches a SleuthError."""
        __tracebackhide__ = True
        # Past the deadline, a socket that timed out or was shut down
        # (sleuth/clients/_release) failed because of it.
        ended = isinstance(exc, OSError | http_client.HTTPException)
        if (ended or _is_timeout(exc)) and self.ctx.remaining() <= 0:
            what = f"{self.method} {self.url} via {self.client}"
            raise ProbeTimeout(
                self.ctx.timeout_message(waiting_on=what), waiting_on=what
            ) from exc


def install() -> Callable[[], None] | None:
    """Hook ``http_client.HTTPConnection``; returns what puts it back."""
    originals = {
        name: _Conn.__dict__[name] for name in ("putrequest", "send", "getresponse")
    }
    putrequest, send, getresponse = originals.values()

    def hooked_putrequest(self: _Conn, method: str, url: str, *a: Any, **k: Any) -> Any:
        __tracebackhide__ = True
        ctx = _guard.probe()
        if ctx is None:
            _unbind(self)
            return putrequest(self, method, url, *a, **k)
        self.__dict__.pop(_REQUEST, None)
        full_url = _full_url(self, url)
        client = _client_name(sys._getframe(1))
        if ctx.remaining() <= 0:
            # Its deadline has passed (the watchdog has said so): a client
            # retrying on its own (urllib3 does) must not keep the thread.
            what = f"{method.upper()} {full_url} via {client}"
            raise ProbeTimeout(ctx.timeout_message(waiting_on=what), waiting_on=what)
        _guard.allow(ctx, method, full_url, client)
        if self.sock is not None:  # a kept-alive connection: bound its socket now
            _bind(self, _guard.socket_timeout(ctx, _seconds(self.timeout)))
        request = _Request(ctx, method.upper(), full_url, client, timing.perf_counter())
        connected = self.__dict__.pop(_CONNECTED, None)
        if connected is not None:
            request.timings_ms["connect"] = round(connected[0] * 1000, 2)
            request.remote = connected[1]
        request.record(error=NO_ANSWER)
        self.__dict__[_REQUEST] = request
        try:
            return putrequest(self, method, url, *a, **k)
        except BaseException as exc:
            self.__dict__.pop(_REQUEST, None)
            request.record_error(exc)
            raise

    def hooked_send(self: _Conn, data: Any) -> Any:
        __tracebackhide__ = True
        request: _Request | None = self.__dict__.get(_REQUEST)
        if request is None:
            return send(self, data)
        ctx = request.ctx
        try:
            with _guard.waiting(ctx, request.method, request.url, request.client):
                if self.sock is None and self.auto_open:
                    # What send would do first, done here to bound and time it.
                    _connect(self, request)
                return send(self, data)
        except BaseException as exc:
            self.__dict__.pop(_REQUEST, None)
            request.record_error(exc)
            request.raise_at_deadline(exc)
            raise

    def hooked_getresponse(self: _Conn) -> Any:
        __tracebackhide__ = True
        request: _Request | None = self.__dict__.pop(_REQUEST, None)
        if request is None:
            return getresponse(self)
        ctx = request.ctx
        sock = self.sock  # kept: the connection lets go of it on a "close" answer
        own_timeout = _client_read_timeout(self)
        if sock is not None:
            _bind(self, _guard.socket_timeout(ctx, own_timeout))
            request.remote = request.remote or _remote(sock)
        began = timing.perf_counter()
        try:
            with (
                _guard.waiting(ctx, request.method, request.url, request.client),
                _release.held(ctx, sock),
            ):
                response = getresponse(self)
        except BaseException as exc:
            request.record_error(exc)
            request.raise_at_deadline(exc)
            raise
        request.timings_ms["first_byte"] = request.ms_since(began)
        request.timings_ms["total"] = request.ms_since(request.started)
        exchange = request.record(
            status=response.status,
            reason=response.reason,
            headers=dict(response.getheaders()),
        )
        _Body.attach(response, request, exchange, sock, own_timeout)
        return response

    _Conn.putrequest = hooked_putrequest  # type: ignore[method-assign]
    _Conn.send = hooked_send  # type: ignore[method-assign]
    _Conn.getresponse = hooked_getresponse  # type: ignore[method-assign]

    def undo() -> None:
        for name, original in originals.items():
            setattr(_Conn, name, original)

    return undo


def install_urllib3_tls() -> Callable[[], None] | None:
    """urllib3 connects an HTTPS connection before its request (to check the
    certificate first), where none of the three hooks is: bound, time and name
    that connect too. Only when the suite has imported urllib3 (requests does)."""
    module = sys.modules.get("urllib3.connection")
    if module is None:
        return None
    cls = module.HTTPSConnection
    original = cls.__dict__["connect"]

    def hooked_connect(self: Any) -> Any:
        __tracebackhide__ = True
        ctx = _guard.probe()
        if ctx is None or self.__dict__.get(_REQUEST) is not None:
            return original(self)  # outside a probe, or bounded by send's _connect
        client = _client_name(sys._getframe(1))
        what = f"a connection to {_full_url(self, '')} via {client}"
        if ctx.remaining() <= 0:
            raise ProbeTimeout(ctx.timeout_message(waiting_on=what), waiting_on=what)
        own = self.timeout
        self.timeout = _guard.socket_timeout(ctx, _seconds(own))
        began = timing.perf_counter()
        try:
            with ctx.waiting_on(what):
                original(self)
        except BaseException as exc:
            if _is_timeout(exc) and ctx.remaining() <= 0:
                raise ProbeTimeout(
                    ctx.timeout_message(waiting_on=what), waiting_on=what
                ) from exc
            raise
        finally:
            self.timeout = own
        self.__dict__[_BOUNDED] = True
        # For the request's evidence, made next on this connection.
        self.__dict__[_CONNECTED] = (timing.perf_counter() - began, _remote(self.sock))

    cls.connect = hooked_connect

    def undo() -> None:
        cls.connect = original

    return undo


def _connect(conn: _Conn, request: _Request) -> None:
    """Connect within the probe's time left: the connection's own timeout,
    bounded, for the connect only (it stays on the socket for the request)."""
    own = conn.timeout
    conn.timeout = _guard.socket_timeout(request.ctx, _seconds(own))
    began = timing.perf_counter()
    try:
        conn.connect()
    finally:
        conn.timeout = own
    conn.__dict__[_BOUNDED] = True
    request.timings_ms["connect"] = request.ms_since(began)
    request.remote = _remote(conn.sock)
    request.record(error=NO_ANSWER)  # connected, at least


def _bind(conn: _Conn, timeout_s: float) -> None:
    assert conn.sock is not None  # noqa: S101 (checked by the callers)
    conn.sock.settimeout(timeout_s)
    conn.__dict__[_BOUNDED] = True


def _unbind(conn: _Conn) -> None:
    """Put back the socket timeout a probe bounded, for a request outside one
    on the same kept-alive connection: what http.client's connect had set."""
    if conn.__dict__.pop(_BOUNDED, False) and conn.sock is not None:
        conn.sock.settimeout(_seconds(conn.timeout))
    conn.__dict__.pop(_REQUEST, None)
    conn.__dict__.pop(_CONNECTED, None)


def _client_read_timeout(conn: _Conn) -> float | None:
    """The timeout the client means for the answer: urllib3 sets the
    connection's to its read timeout after sending, http.client keeps one."""
    return _seconds(conn.timeout)


def _seconds(timeout: object) -> float | None:
    """A connection's ``timeout`` in seconds (None: none), as socket would take it."""
    if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
        return socket.getdefaulttimeout()
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        return float(timeout)
    return None


def _full_url(conn: _Conn, target: str) -> str:
    """``scheme://host:port/path?query`` of the request, in whatever form it went."""
    if "://" in target:  # to a proxy, in absolute form
        return target
    host = conn._tunnel_host or conn.host  # type: ignore[attr-defined]
    port = conn._tunnel_port or conn.port  # type: ignore[attr-defined]
    scheme = "https" if conn.default_port == http_client.HTTPS_PORT else "http"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{target}"


def _client_name(frame: FrameType | None) -> str:
    """The outermost of ``_CLIENTS`` among the callers: the one the probe used."""
    found = "http.client"
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        for client in _CLIENTS:
            if module == client or module.startswith(client + "."):
                found = client
                break
        frame = frame.f_back
    return found


def _remote(sock: socket.socket) -> str | None:
    try:
        host, port = sock.getpeername()[:2]
    except (OSError, ValueError):
        return None
    return f"{host}:{port}"


def _describe(exc: BaseException) -> str:
    """What went wrong, in the socket's words: ``ConnectionRefusedError: [Errno
    111] Connection refused`` rather than urllib3's wrapping of it."""
    if _is_timeout(exc):
        return "timed out"
    cause = _os_error(exc) or exc
    text = str(cause)
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(_os_error(exc), TimeoutError)


def _os_error(exc: BaseException) -> OSError | None:
    """The first OSError in ``exc``'s chain (urllib3 raises its own around it)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OSError) and type(seen).__module__ == "builtins":
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class _Body:
    """The body of an answer as the client reads it: bounded by the probe's
    deadline, named while it waits, and its first bytes kept for evidence.

    The response's own read methods are wrapped on the instance, and each hands
    back exactly what the original did: the client reads what it would have.
    A read inside another (``read`` uses ``readinto``) is seen once. The
    wrappers hold the response weakly, so it is freed (and closed) as before.

    Before each read the socket's timeout is bounded again by the time left,
    and during it the socket is held for release at the deadline: a body that
    drips a byte at a time renews a timeout within one read.

    urllib3 reads a chunked body itself, chunk by chunk with ``_safe_read``
    (then ``_safe_read(2)`` for the CRLF after each, which is not the body).
    """

    _METHODS = ("read", "readinto", "read1", "readline")
    _CHUNKED = ("_safe_read",)

    def __init__(
        self,
        request: _Request,
        exchange: Exchange,
        sock: socket.socket | None,
        own_timeout: float | None,
        *,
        keep: bool,
    ) -> None:
        self.request = request
        self.exchange = exchange
        self.sock = sock
        self.own_timeout = own_timeout  # the client's read timeout
        self.keep = keep
        self.head = bytearray()
        self.read_bytes = 0
        self.depth = 0

    @classmethod
    def attach(
        cls,
        response: http_client.HTTPResponse,
        request: _Request,
        exchange: Exchange,
        sock: socket.socket | None,
        own_timeout: float | None,
    ) -> None:
        encoding = response.getheader("Content-Encoding", "identity")
        # A body the client decodes above http.client: its raw bytes would
        # mislead as evidence; its reads are bounded all the same.
        keep = encoding.strip().lower() == "identity"
        body = cls(request, exchange, sock, own_timeout, keep=keep)
        ref = weakref.ref(response)
        for name in cls._METHODS + (cls._CHUNKED if response.chunked else ()):
            response.__dict__[name] = body.wrap(ref, getattr(type(response), name))

    def wrap(
        self,
        ref: weakref.ref[http_client.HTTPResponse],
        method: Callable[..., Any],
    ) -> Callable[..., Any]:
        into = method.__name__ == "readinto"
        chunk_read = method.__name__ == "_safe_read"
        request = self.request

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            response = ref()
            if response is None:  # cannot happen while it is being read
                raise ValueError("I/O operation on a freed response")
            if self.depth:
                return method(response, *args, **kwargs)
            self.bound()
            self.depth += 1
            try:
                with (
                    _guard.waiting(
                        request.ctx, request.method, request.url, request.client
                    ),
                    _release.held(request.ctx, self.sock),
                ):
                    result = method(response, *args, **kwargs)
            except BaseException as exc:
                # Past the deadline: timed out, or released (shut down) for it.
                why = "timed out" if request.ctx.remaining() <= 0 else _describe(exc)
                self.exchange = _guard.record_body(
                    request.ctx,
                    self.exchange,
                    bytes(self.head),
                    self.read_bytes,
                    error=f"{self.exchange.status} {self.exchange.reason}, then "
                    f"its body was cut short: {why}",
                )
                request.raise_at_deadline(exc)
                raise
            finally:
                self.depth -= 1
            if not self.keep:
                return result
            if chunk_read and result == b"\r\n" and (args or (None,))[0] == 2:
                return result  # the CRLF that ends a chunk
            chunk = (
                memoryview(args[0] if args else kwargs["b"])[: result or 0]
                if into
                else result
            )
            # http.client lets go of the socket once the body is all read.
            self.seen(chunk, at_end=not chunk or response.fp is None)
            return result

        return wrapped

    def bound(self) -> None:
        """The socket's timeout for this read: the client's, at most the time left."""
        __tracebackhide__ = True
        ctx = self.request.ctx
        if ctx.remaining() <= 0:
            what = f"{self.request.method} {self.request.url} via {self.request.client}"
            raise ProbeTimeout(ctx.timeout_message(waiting_on=what), waiting_on=what)
        if self.sock is not None:
            with contextlib.suppress(OSError):  # closed: the read will say so
                self.sock.settimeout(_guard.socket_timeout(ctx, self.own_timeout))

    def seen(self, chunk: bytes | memoryview, *, at_end: bool) -> None:
        if not chunk and not at_end:
            return
        self.read_bytes += len(chunk)
        room = BODY_EXCERPT_BYTES - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        # Each read: the count stays true when the client stops short of the end.
        self.exchange = _guard.record_body(
            self.request.ctx, self.exchange, bytes(self.head), self.read_bytes
        )
