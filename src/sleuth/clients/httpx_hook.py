"""httpx, sync and async, as a probe's own code uses it: guarded, bounded, evidenced.

Hooked at ``Client._send_single_request`` and ``AsyncClient._send_single_request``:
every request passes through them, once per hop of a redirect, whatever
transport the client was given (its own, a proxy's, a mounted one). Each hop is
held to the read-only rule and the probe's deadline, and recorded as evidence
when its headers come: what httpx has not read of the body by then is not read
here either (a streamed response stays streamed).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from sleuth import _timing as timing
from sleuth.clients import _facts, _guard
from sleuth.engine.context import ProbeContext

CLIENT = "httpx"
_METHOD = "_send_single_request"
_TIMEOUT_KEYS = ("connect", "read", "write", "pool")


def install() -> Callable[[], None] | None:
    """Hook httpx's clients for the run; None unless the suite imported httpx.

    Not imported here: a suite that does not use httpx does not pay for it.
    """
    httpx = sys.modules.get("httpx")
    if httpx is None:
        return None
    originals = {
        cls: cls.__dict__.get(_METHOD) for cls in (httpx.Client, httpx.AsyncClient)
    }
    if None in originals.values():
        return None  # an httpx without the layer hooked here: leave it alone
    sync_body, async_body = _body_streams(httpx)
    setattr(httpx.Client, _METHOD, _sync_hook(originals[httpx.Client], sync_body))
    setattr(
        httpx.AsyncClient,
        _METHOD,
        _async_hook(originals[httpx.AsyncClient], async_body),
    )

    def undo() -> None:
        for cls, original in originals.items():
            setattr(cls, _METHOD, original)

    return undo


def _sync_hook(original: Callable[..., Any], body: type) -> Callable[..., Any]:
    @functools.wraps(original)
    def send_single_request(self: Any, request: Any) -> Any:
        __tracebackhide__ = True
        ctx = _guard.probe()
        if ctx is None:
            return original(self, request)
        hop = _Hop(ctx, request, _SyncTrace)
        try:
            with hop.waiting():
                response = original(self, request)
        except BaseException as exc:
            hop.failed(exc)
            hop.raise_if_past_deadline(exc)
            raise
        hop.answered(response)
        response.stream = body(response.stream, hop)
        return response

    return send_single_request


def _async_hook(original: Callable[..., Any], body: type) -> Callable[..., Any]:
    @functools.wraps(original)
    async def send_single_request(self: Any, request: Any) -> Any:
        __tracebackhide__ = True
        ctx = _guard.probe()
        if ctx is None:
            return await original(self, request)
        hop = _Hop(ctx, request, _AsyncTrace)
        try:
            with hop.waiting():
                response = await original(self, request)
        except BaseException as exc:
            hop.failed(exc)
            hop.raise_if_past_deadline(exc)
            raise
        hop.answered(response)
        response.stream = body(response.stream, hop)
        return response

    return send_single_request


class _Hop:
    """One request of a probe through httpx: allowed, bounded, then recorded."""

    def __init__(self, ctx: ProbeContext, request: Any, trace: type[_Trace]) -> None:
        __tracebackhide__ = True
        self.ctx = ctx
        self.method = request.method
        self.url = str(request.url)
        # Before a byte is sent: WriteRefused leaves httpx as it is raised.
        _guard.allow(ctx, self.method, self.url, CLIENT)
        # A copy: httpx hands the request's dict on to a redirect's next hop.
        extensions = dict(request.extensions)
        timeout = extensions.get("timeout") or {}
        extensions["timeout"] = {
            key: _guard.socket_timeout(ctx, timeout.get(key)) for key in _TIMEOUT_KEYS
        }
        self.trace = trace(extensions.get("trace"))
        extensions["trace"] = self.trace
        request.extensions = extensions
        self.started = timing.perf_counter()

    def waiting(self) -> contextlib.AbstractContextManager[None]:
        return _guard.waiting(self.ctx, self.method, self.url, CLIENT)

    def raise_if_past_deadline(self, exc: BaseException) -> None:
        __tracebackhide__ = True
        _facts.raise_if_past_deadline(self.ctx, self.method, self.url, CLIENT, exc)

    def answered(self, response: Any) -> None:
        _guard.record(
            self.ctx,
            client=CLIENT,
            method=self.method,
            url=self.url,
            status=response.status_code,
            reason=response.reason_phrase,
            headers=dict(response.headers.items()),
            body=_content_read(response),
            remote=_remote(response),
            timings_ms=self._timings_ms(),
        )

    def failed(self, exc: BaseException) -> None:
        _guard.record(
            self.ctx,
            client=CLIENT,
            method=self.method,
            url=self.url,
            error=_facts.describe_error(self.ctx, exc),
            timings_ms=self._timings_ms(),
        )

    def _timings_ms(self) -> dict[str, float]:
        """httpcore's phases where its trace gave them; ``total`` up to the headers."""
        ended = timing.perf_counter()
        marks = self.trace.marks
        phases: dict[str, float] = {}
        connected = marks.get("start_tls.complete", marks.get("connect_tcp.complete"))
        if "connect_tcp.started" in marks and connected is not None:
            phases["connect"] = _facts.ms(connected - marks["connect_tcp.started"])
        sent = marks.get("send_request_headers.complete")
        came = marks.get("receive_response_headers.complete")
        if sent is not None and came is not None:
            phases["first_byte"] = _facts.ms(came - sent)
        phases["total"] = _facts.ms(ended - self.started)
        return phases


def _body_streams(httpx: Any) -> tuple[type, type]:
    """httpx's two kinds of response stream, each wrapped so that waiting for
    the body's bytes (``response.read()``, ``iter_bytes()``; httpx reads the
    body after this hook returns) is still waiting on the request: a body that
    stalls ends at the deadline as ``waiting for GET url via httpx``."""

    class WaitedSyncStream(httpx.SyncByteStream):  # type: ignore[misc]
        def __init__(self, stream: Any, hop: _Hop) -> None:
            self._stream, self._hop = stream, hop

        def __iter__(self) -> Iterator[bytes]:
            chunks = iter(self._stream)
            while True:
                try:
                    with self._hop.waiting():
                        chunk = next(chunks, None)
                except Exception as exc:
                    self._hop.raise_if_past_deadline(exc)
                    raise
                if chunk is None:
                    return
                yield chunk

        def close(self) -> None:
            self._stream.close()

    class WaitedAsyncStream(httpx.AsyncByteStream):  # type: ignore[misc]
        def __init__(self, stream: Any, hop: _Hop) -> None:
            self._stream, self._hop = stream, hop

        async def __aiter__(self) -> AsyncIterator[bytes]:
            chunks = self._stream.__aiter__()
            while True:
                try:
                    with self._hop.waiting():
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    self._hop.raise_if_past_deadline(exc)
                    raise
                yield chunk

        async def aclose(self) -> None:
            await self._stream.aclose()

    return WaitedSyncStream, WaitedAsyncStream


class _Trace:
    """httpcore's ``trace`` extension: notes when each phase of a hop ended,
    and passes every event on to the trace the probe's code gave, if any."""

    def __init__(self, given: Any) -> None:
        # A redirect's next hop carries this hop's trace: pass on the probe's own.
        self.given: Any = given.given if isinstance(given, _Trace) else given
        self.marks: dict[str, float] = {}

    def note(self, event: str) -> None:
        # "http11.send_request_headers.complete" -> "send_request_headers.complete"
        self.marks.setdefault(event.partition(".")[2], timing.perf_counter())


class _SyncTrace(_Trace):
    def __call__(self, event: str, info: dict[str, Any]) -> None:
        self.note(event)
        if self.given is not None:
            self.given(event, info)


class _AsyncTrace(_Trace):
    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        self.note(event)
        if self.given is not None:
            await self.given(event, info)


def _content_read(response: Any) -> bytes | None:
    """The body if httpx has read it already (a transport that answers whole);
    None when it is still to come: reading it here would change the probe's I/O."""
    try:
        content: bytes = response.content
    except RuntimeError:  # httpx.ResponseNotRead
        return None
    return content


def _remote(response: Any) -> str | None:
    stream = response.extensions.get("network_stream")
    try:
        address = stream.get_extra_info("server_addr") if stream is not None else None
    except Exception:  # a transport's own stream: the peer is a nicety
        return None
    return _facts.peer(address)
