"""``target.http`` and ``target.ahttp``: HTTP probes, read-only unless allowed.

Requests run on the engine's loop over aiohttp (measured fastest here; see
bench/RESULTS.md); ``def`` probes use the synchronous facade, ``async def``
probes await the async client. Responses read like httpx's. Every request is
bounded by the probe's deadline and recorded as evidence on the probe.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from sleuth import _bodytext as bodytext, _timing as timing
from sleuth._evidence import BODY_EXCERPT_BYTES, Exchange
from sleuth.engine import Engine, bounded, context as _context
from sleuth.engine.context import BUDGET_REASON, ProbeContext
from sleuth.engine.readonly import check_write_allowed
from sleuth.errors import (
    ConfigError,
    ProbeError,
    ProbeTimeout,
    SleuthError,
)
from sleuth.http.response import Request, Response
from sleuth.http.retry import Retries, TooLate, asked_too_late, wait_to_retry
from sleuth.http.wire import (
    LocalTransport,
    Timings,
    Transport,
    body_cut_short,
    incomplete_body,
    translate_error,
)
from sleuth.suite.tlsoptions import TlsOptions, describe as describe_tls, parse_tls

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is Python 3.12+

    from sleuth.http.worker import WorkerHandle

# A probe reads at most this much of a body; the rest is left unread so that a
# huge answer cannot exhaust memory (``Response.truncated`` says so).
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
# In-flight caps on the run's one connection pool. 500 probes at one host all
# run at once by default (bench/RESULTS.md); lower it to be gentler.
DEFAULT_MAX_IN_FLIGHT = 1000
DEFAULT_MAX_IN_FLIGHT_PER_HOST = 500
EVIDENCE_HEADERS = (
    "content-type",
    "content-length",
    "location",
    "retry-after",
    "server",
    "www-authenticate",
    "date",
    "cache-control",
)


class RequestOptions(TypedDict, total=False):
    """The keywords every request method takes, as httpx's do.

    ``target.http.get("/users", params={"page": 2}, timeout=1.5)``: an editor
    completes them and mypy checks them. ``AsyncHttpClient.send`` is the one
    place they are read; a test holds the two to the same names.
    """

    params: Mapping[str, Any] | None  # the query string, added to the URL's
    headers: Mapping[str, str] | None  # over the target's own headers
    json: Any  # a body sent as JSON
    content: bytes | str | None  # a raw body
    data: Mapping[str, Any] | None  # a form body
    timeout: float | None  # seconds for this request, within the probe's deadline
    follow_redirects: bool  # False by default: a redirect is an answer to check
    tls: Mapping[str, Any] | TlsOptions | None  # over the target's tls: options


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """How one target is spoken to over HTTP."""

    base_url: str | None
    headers: Callable[[], Mapping[str, str]]  # resolved on first use: may read settings
    timeout_s: float | None
    timeout_origin: str
    default_timeout_s: float
    target_name: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_in_flight_per_host: int = DEFAULT_MAX_IN_FLIGHT_PER_HOST
    tls: TlsOptions | None = None  # the target's tls: options
    root: Path = Path()  # where relative paths in a request's tls= are


class AsyncHttpClient:
    """HTTP for ``async def`` probes: ``await target.ahttp.get("/health")``."""

    def __init__(
        self,
        settings: HttpSettings,
        engine: Engine,
        *,
        http_worker: WorkerHandle | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._http_worker = http_worker  # the run's worker process, if it has one

    def __repr__(self) -> str:
        return f"<AsyncHttpClient {self._settings.base_url or '(no base_url)'}>"

    async def get(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("GET", url, **kwargs)

    async def head(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("HEAD", url, **kwargs)

    async def options(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("OPTIONS", url, **kwargs)

    async def post(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Unpack[RequestOptions]) -> Response:
        return await self.request("DELETE", url, **kwargs)

    async def request(
        self, method: str, url: str, **kwargs: Unpack[RequestOptions]
    ) -> Response:
        __tracebackhide__ = True
        ctx = _context.get_or_default(self._settings.default_timeout_s)
        return await self.send(ctx, method, url, **kwargs)

    async def send(
        self,
        ctx: ProbeContext,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        follow_redirects: bool = False,
        tls: Mapping[str, Any] | TlsOptions | None = None,
    ) -> Response:
        """Send one request for the probe ``ctx``; the core of both clients.

        Idempotent requests are tried again as the probe's ``retries`` allow
        (and once more when a 429/503 says ``Retry-After``); see ``sleuth.http.retry``.
        ``tls`` overrides the target's ``tls:`` options, key by key.
        """
        __tracebackhide__ = True
        method = method.upper()
        full_url = self.absolute_url(url)
        request_line = f"{method} {full_url}"
        check_write_allowed(ctx, method, full_url)
        merged = with_user_agent({**self._settings.headers(), **(headers or {})})
        tls_options = self._tls_options(tls, request_line)
        transport = self._transport()
        retries = Retries(method, allowed=ctx.retries)
        while True:
            timeout_s, origin = self._attempt_timeout(timeout, retries, ctx)
            trace = Timings()
            attempt = retries.attempt
            try:
                response = await self._attempt(
                    transport,
                    ctx,
                    trace,
                    method,
                    full_url,
                    attempt=attempt,
                    timeout_s=timeout_s,
                    timeout_origin=origin,
                    params=params,
                    headers=merged,
                    json=json,
                    content=content,
                    data=data,
                    follow_redirects=follow_redirects,
                    tls=tls_options,
                )
            except ProbeError as exc:
                if retries.reconnect(exc, reused="reused" in trace.marks):
                    continue  # a kept-alive connection the server had closed
                plan = retries.after_error(exc, remaining_s=ctx.remaining())
                if plan is None:
                    if retries.made:
                        exc.add_note(f"sleuth: {retries.summary()}")
                    raise
            else:
                decision = retries.after_answer(
                    response.status_code,
                    response.reason_phrase,
                    response.headers.get("retry-after"),
                    remaining_s=ctx.remaining(),
                )
                if isinstance(decision, TooLate):
                    raise asked_too_late(
                        ctx,
                        f"{response.request.method} {response.request.url}",
                        f"{response.status_code} {response.reason_phrase}",
                        decision,
                    )
                if decision is None:
                    return response
                plan = decision
            await wait_to_retry(ctx, request_line, attempt, plan)

    def _tls_options(
        self, tls: Mapping[str, Any] | TlsOptions | None, request_line: str
    ) -> TlsOptions | None:
        if tls is None:
            return self._settings.tls
        return parse_tls(
            tls,
            root=self._settings.root,
            where=lambda key: (
                f"tls={{...}}{f' {key}' if key else ''} of {request_line}"
            ),
            inherited=self._settings.tls,
        )

    def _attempt_timeout(
        self, explicit: float | None, retries: Retries, ctx: ProbeContext
    ) -> tuple[float | None, str]:
        """One attempt's own limit, and where it comes from (for the message)."""
        if explicit is not None:
            return explicit, "timeout= argument"
        configured = self._settings.timeout_s
        share = retries.attempt_timeout(ctx.remaining())
        if share is not None and (configured is None or share < configured):
            return share, (
                f"an equal share of the probe's time left for "
                f"{retries.allowed - retries.made + 1} attempts"
            )
        return configured, self._settings.timeout_origin

    async def _attempt(
        self,
        transport: Transport,
        ctx: ProbeContext,
        trace: Timings,
        method: str,
        url: str,
        *,
        attempt: int,
        timeout_s: float | None,
        timeout_origin: str,
        **kwargs: Any,
    ) -> Response:
        """One try of a request, bounded and recorded, errors translated."""
        __tracebackhide__ = True
        request_line = f"{method} {url}"
        started = timing.perf_counter()
        own_limit = timeout_s is not None and timeout_s < ctx.remaining()
        try:
            return await bounded(
                self._exchange(
                    transport, ctx, trace, method, url, attempt=attempt, **kwargs
                ),
                ctx=ctx,
                what=request_line,
                timeout_s=timeout_s,
                timeout_origin=timeout_origin,
            )
        except ProbeTimeout as exc:
            if trace.body is not None:  # it answered; its body did not all come
                said = incomplete_body(
                    request_line, trace.body, _limit_s(ctx, timeout_s, own_limit)
                )
                _record_failure(ctx, request_line, said, trace, started, attempt)
                raise ProbeTimeout(said, waiting_on=exc.waiting_on) from None
            took = timing.perf_counter() - started
            failed = f"no answer within {took:.1f} s"
            _record_failure(ctx, request_line, failed, trace, started, attempt)
            raise
        except SleuthError as exc:  # a ProbeError, or the HTTP worker gone
            cut = body_cut_short(exc, request_line, trace.body)
            _record_failure(ctx, request_line, str(cut), trace, started, attempt)
            if cut is exc:
                raise
            raise cut from exc
        except Exception as exc:
            translated = body_cut_short(
                translate_error(exc, request_line), request_line, trace.body
            )
            _record_failure(ctx, request_line, str(translated), trace, started, attempt)
            raise translated from exc

    def absolute_url(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        base = self._settings.base_url
        if base is None:
            raise ConfigError(
                f"cannot request {url!r}: target {self._settings.target_name!r} has no "
                f"base_url. Add base_url: to it in sleuth.yaml, or pass a full URL."
            )
        return base + (url if url.startswith("/") else "/" + url)

    def _transport(self) -> Transport:
        return self._engine.resource(
            ("http-transport", id(self._engine)), self._open_transport
        )

    def _open_transport(self) -> Transport:
        """The run's one transport: its HTTP worker if it has one, else its own."""
        caps = (self._settings.max_in_flight, self._settings.max_in_flight_per_host)
        worker = self._http_worker
        claimed = worker.claim(caps) if worker is not None else None
        transport: Transport = claimed or LocalTransport(caps)
        self._engine.on_close(transport.close)
        return transport

    async def _exchange(
        self,
        transport: Transport,
        ctx: ProbeContext,
        trace: Timings,
        method: str,
        url: str,
        *,
        attempt: int,
        **kwargs: Any,
    ) -> Response:
        from multidict import CIMultiDict, CIMultiDictProxy

        started = timing.perf_counter()
        if kwargs.get("content") is not None:
            kwargs["data"] = kwargs.pop("content")
        else:
            kwargs.pop("content")
        answer = await transport.fetch(
            trace,
            method,
            url,
            max_body_bytes=self._settings.max_body_bytes,
            **kwargs,
        )
        ended = timing.perf_counter()
        response = Response(
            status_code=answer.status,
            reason_phrase=answer.reason,
            headers=CIMultiDictProxy(CIMultiDict(answer.headers)),
            content=answer.body,
            request=Request(method=method, url=answer.url),
            # The target's time on the wire: not the wait for a slot under our
            # own caps, nor sleuth's own work around the request (Timings).
            elapsed=_dt.timedelta(seconds=trace.wire_s(ended)),
            http_version=answer.http_version,
            truncated=answer.truncated,
            encoding=answer.charset,
            attempt=attempt,
        )
        body = answer.body
        shown = {
            k: v for k, v in response.headers.items() if k.lower() in EVIDENCE_HEADERS
        }
        unverified = (
            describe_tls(kwargs.get("tls")) if url.startswith("https") else None
        )
        if unverified is not None:  # so nobody takes it for a verified answer
            shown["tls verified"] = unverified
        ctx.record(
            Exchange(
                kind="http",
                request=f"{method} {url}",
                status=response.status_code,
                reason=response.reason_phrase,
                headers=shown,
                body_excerpt=bodytext.excerpt(
                    body,
                    content_type=response.headers.get("content-type"),
                    encoding=response.encoding,
                    max_bytes=BODY_EXCERPT_BYTES,
                ),
                body_bytes=len(body),
                remote=answer.remote,
                timings_ms=trace.as_ms(started, ended),
                busy_ms=trace.busy_ms(started, ended),
                attempt=attempt,
            )
        )
        return response


def with_user_agent(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers``, with ``User-Agent: sleuth/<version>`` unless they name one:
    so that a target's owners can tell probes from their users."""
    if any(name.lower() == "user-agent" for name in headers):
        return dict(headers)
    from sleuth._version import USER_AGENT

    return {**headers, "User-Agent": USER_AGENT}


def _limit_s(ctx: ProbeContext, timeout_s: float | None, own_limit: bool) -> float:
    """The deadline a request met, in seconds: its own limit, the probe's
    timeout, or the time the probe had when the run's budget ran out."""
    if own_limit and timeout_s is not None:
        return timeout_s
    return ctx.elapsed() if ctx.deadline_reason == BUDGET_REASON else ctx.timeout_s


def _record_failure(
    ctx: ProbeContext,
    request_line: str,
    error: str,
    trace: Timings,
    started: float,
    attempt: int,
) -> None:
    ctx.record(
        Exchange(
            kind="http",
            request=request_line,
            error=error,
            timings_ms=trace.as_ms(started),
            attempt=attempt,
        )
    )
