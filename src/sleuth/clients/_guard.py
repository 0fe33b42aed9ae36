"""What every client hook does with one request: the rule, the deadline, evidence.

The hooks (one module per client library) call these and nothing else of
sleuth, so a request made through requests reads in every report exactly like
one made through ``target.http``.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator, Mapping

from sleuth import _bodytext as bodytext
from sleuth._evidence import BODY_EXCERPT_BYTES, Exchange
from sleuth.engine import context as _context
from sleuth.engine.context import ProbeContext
from sleuth.engine.readonly import check_write_allowed

# A socket's timeout is the probe's time left plus this much, so that at the
# deadline the engine's watchdog speaks first ("timed out after 2.0 s waiting
# for GET url via requests") and the hung call is released just after.
SOCKET_GRACE_S = 0.25

# Headers kept as evidence, as target.http keeps them.
EVIDENCE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "location",
        "retry-after",
        "server",
        "www-authenticate",
        "date",
        "cache-control",
    }
)

# Set while sleuth itself drives a client (its own probes' drivers, its history
# database): such calls are sleuth's, not the probe's code, and pass through.
_own: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sleuth_own_client_call", default=False
)


@contextlib.contextmanager
def own() -> Iterator[None]:
    """Mark the calls inside as sleuth's own, so no hook treats them as a probe's."""
    token = _own.set(True)
    try:
        yield
    finally:
        _own.reset(token)


def probe() -> ProbeContext | None:
    """The probe whose own code is making this call; None outside one."""
    if _own.get():
        return None
    return _context.current.get()


def allow(ctx: ProbeContext, method: str, url: str, client: str) -> None:
    """Refuse the request (raise WriteRefused) unless the read-only rule allows
    it; called before a byte is sent. Notes the client as guarded for the run."""
    __tracebackhide__ = True
    ctx.note_client(client, guarded=True)
    check_write_allowed(ctx, method.upper(), url, via=client)


def socket_timeout(ctx: ProbeContext, timeout_s: float | None) -> float:
    """The timeout to put on the socket: the client's own, at most the time the
    probe has left (plus the grace that lets the watchdog report first)."""
    left = max(ctx.remaining(), 0.0) + SOCKET_GRACE_S
    return left if timeout_s is None else min(timeout_s, left)


def waiting(
    ctx: ProbeContext, method: str, url: str, client: str
) -> contextlib.AbstractContextManager[None]:
    """While inside, a timeout says ``waiting for GET url via requests``."""
    return ctx.waiting_on(f"{method.upper()} {url} via {client}")


def record(
    ctx: ProbeContext,
    *,
    client: str,
    method: str,
    url: str,
    timings_ms: Mapping[str, float],
    status: int | None = None,
    reason: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    error: str | None = None,
    remote: str | None = None,
    replacing: Exchange | None = None,
) -> Exchange:
    """Record one request of the probe's own code as evidence, like target.http's.

    ``body`` is what the hook could see of the answer without reading more than
    the client would (None: not seen). Secrets are masked where every piece of
    evidence is masked, on the way out. ``replacing``: an exchange recorded
    before, while the request was still waiting, that this one completes.
    """
    shown = {
        name: value
        for name, value in (headers or {}).items()
        if name.lower() in EVIDENCE_HEADERS
    }
    content_type = next(
        (v for k, v in (headers or {}).items() if k.lower() == "content-type"), None
    )
    exchange = Exchange(
        kind="http",
        request=f"{method.upper()} {url} via {client}",
        status=status,
        reason=reason,
        headers=shown,
        body_excerpt="" if body is None else _excerpt(body, content_type),
        body_bytes=None if body is None else len(body),
        remote=remote,
        timings_ms=timings_ms,
        error=error,
    )
    if replacing is None:
        ctx.record(exchange)
    else:
        ctx.replace_exchange(replacing, exchange)
    return exchange


def record_body(
    ctx: ProbeContext,
    exchange: Exchange,
    body: bytes,
    body_bytes: int,
    *,
    error: str | None = None,
) -> Exchange:
    """Put the body read since ``record`` into its evidence: ``body`` is its
    first bytes as the client read them, ``body_bytes`` how many it read in all,
    ``error`` what cut it short. For hooks that record at the headers and see
    the body only as the probe reads it (or never, when it does not)."""
    content_type = next(
        (v for k, v in exchange.headers.items() if k.lower() == "content-type"), None
    )
    updated = dataclasses.replace(
        exchange,
        body_excerpt=_excerpt(body, content_type),
        body_bytes=body_bytes,
        error=error or exchange.error,
    )
    ctx.replace_exchange(exchange, updated)
    return updated


def _excerpt(body: bytes, content_type: str | None) -> str:
    return bodytext.excerpt(
        body,
        content_type=content_type,
        encoding=_charset(content_type),
        max_bytes=BODY_EXCERPT_BYTES,
    )


def _charset(content_type: str | None) -> str:
    if content_type and "charset=" in content_type:
        return content_type.split("charset=", 1)[1].split(";", 1)[0].strip() or "utf-8"
    return "utf-8"
