"""What an HTTP hook says of one request besides its answer: the peer it
reached, what went wrong, how long it took, and a deadline that passed.
Shared by the httpx and aiohttp hooks."""

from __future__ import annotations

from typing import Any

from sleuth.engine.context import ProbeContext
from sleuth.errors import ProbeTimeout, SleuthError


def peer(address: Any) -> str | None:
    """``127.0.0.1:8000`` or ``[::1]:8000`` from a socket address; None if not one."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
        return f"{host}:{address[1]}"
    return None


def describe_error(ctx: ProbeContext, exc: BaseException) -> str:
    """``ReadTimeout: timed out``; a cancellation at the deadline said as such."""
    if not isinstance(exc, Exception) and ctx.remaining() <= 0:
        return "no answer by the probe's deadline"  # the engine cancelled the probe
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def ms(seconds: float) -> float:
    return round(max(seconds, 0.0) * 1000, 2)


def raise_if_past_deadline(
    ctx: ProbeContext, method: str, url: str, client: str, exc: BaseException
) -> None:
    """Past the probe's deadline, raise the probe's timeout naming the request
    in place of the client's error ``exc`` (call where ``exc`` is handled).

    The client's own timeout is bounded by the deadline (plus a grace), and in a
    ``def`` probe the run may look at the probe only after the client gave up
    (other probes' reports came first): then the probe still reads ``timed out
    after 2.0 s waiting for GET url via httpx``, as it would have a moment
    earlier, and as target.http's does. The client's error is in the evidence.
    """
    __tracebackhide__ = True
    if isinstance(exc, SleuthError) or not isinstance(exc, Exception):
        return
    if ctx.remaining() > 0:
        return
    what = f"{method.upper()} {url} via {client}"  # as _guard.waiting says it
    raise ProbeTimeout(ctx.timeout_message(waiting_on=what), waiting_on=what) from None
