"""What the database hooks do with one connect of a probe's own code.

psycopg and redis-py connections opened by the probe's code (an app's own
``db.connect()``) are seen, not guarded: sleuth cannot hold what they send
once connected to the read-only rule, so each use is noted as unguarded and
the run says so (the header, the summary). What sleuth can do it does here:
the connect is evidence (its masked address, what failed, how long it took)
and, while it lasts, what the probe is waiting on, so a timeout names it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from sleuth import _timing as timing, redact
from sleuth._evidence import Exchange
from sleuth.engine.context import ProbeContext


class Connect:
    """One connect under way; the hook may say where it ended up (``remote``)."""

    remote: str | None = None


@contextlib.contextmanager
def connecting(
    ctx: ProbeContext, *, kind: str, client: str, address: str
) -> Iterator[Connect]:
    """Around one connect of the probe's own ``client`` to ``address`` (its
    password masked): noted as unguarded, waited on by name, recorded."""
    ctx.note_client(client, guarded=False)
    connect = Connect()
    started = timing.perf_counter()
    error: str | None = None
    try:
        with ctx.waiting_on(f"connect {address} via {client}"):
            yield connect
    except BaseException as exc:
        error = describe(exc, took_s=timing.perf_counter() - started)
        raise
    finally:
        took_ms = round((timing.perf_counter() - started) * 1000, 2)
        _record(
            ctx,
            Exchange(
                kind=kind,
                request=f"connect {address} via {client}",
                reason="" if error else "connected",
                remote=connect.remote,
                timings_ms={"connect": took_ms, "total": took_ms},
                error=error,
            ),
        )


def _record(ctx: ProbeContext, exchange: Exchange) -> None:
    """Record ``exchange``; a connect right after the same one failed (the
    client's own retries: redis-py tries a refused connect up to 11 times) is
    another attempt of it, not another line."""
    exchanges = ctx.exchanges
    last = len(exchanges) - 1  # appends never move it: nothing is removed
    if last >= 0:
        previous = exchanges[last]
        if previous.request == exchange.request and previous.error is not None:
            exchanges[last] = dataclasses.replace(
                exchange, attempt=previous.attempt + 1
            )
            return
    ctx.record(exchange)


def describe(exc: BaseException, *, took_s: float) -> str:
    """The driver's error on one line: ``OperationalError: connection failed: ...``."""
    if isinstance(exc, (TimeoutError, _cancelled())) and not str(exc):
        return f"no answer within {took_s:.1f} s"
    words = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {words}"


def register_password(password: str | None) -> None:
    """A password the probe's code connects with is a secret in every output."""
    if password:
        redact.register(password, name="password")


def _cancelled() -> type[BaseException]:
    import asyncio  # loaded already wherever an async client connects

    return asyncio.CancelledError
