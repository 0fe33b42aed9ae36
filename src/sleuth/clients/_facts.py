"""What an HTTP hook says of one request besides its answer: the peer it
reached, what went wrong, how long it took. Shared by the httpx and aiohttp hooks."""

from __future__ import annotations

from typing import Any

from sleuth.context import ProbeContext


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
