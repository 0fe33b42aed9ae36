"""What the dependency helpers share: their options, the synchronous facade,
one step under the deadline with its errors translated, thresholds and evidence.

A helper module (amqp, nats, tcp...) keeps only what is its own: how to talk
to the dependency, the figures it reads, and one ``translate_error``.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sleuth import _timing as timing, redact
from sleuth._evidence import Exchange
from sleuth._timing import format_duration
from sleuth.clients import _guard
from sleuth.engine import bounded, context as _context, imports
from sleuth.engine.context import ProbeContext
from sleuth.errors import (
    CheckFailed,
    ConfigError,
    MissingDriver,
    ProbeError,
    ProbeTimeout,
    SleuthError,
    TargetUnreachable,
)
from sleuth.suite.units import parse_positive_int
from sleuth.suite.validate import did_you_mean

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

T = TypeVar("T")
H = TypeVar("H")  # a kind's health report
# (value, where, what) -> the parsed threshold; raises ConfigError.
Parser = Callable[[object, str, str], Any]
# (exception, what failed) -> sleuth's error for it, with a category.
Translate = Callable[[BaseException], ProbeError]


def helper_options(
    env: ProbeEnv,
    kind: str,
    name: str | None,
    given: Mapping[str, Any],
    allowed: frozenset[str],
) -> tuple[dict[str, Any], str]:
    """The helper's options and where they came from, ``${setting:X}`` replaced.

    With a ``name`` they come from ``services: {kind}: {name}:`` in the target's
    config, overridden by ``given``; without one, from ``given`` alone.

    Raises:
        ConfigError: for an unknown option, listing the valid ones.
    """
    if name is not None:
        options = {**env.service(kind, name), **given}
        where = (
            f"services: {kind}: {name}: of target {env.target.name!r} "
            f"in {env.suite_display}"
        )
    else:
        options = dict(given)
        where = f"target.{kind}(...)"
    for key in options:
        if key not in allowed:
            raise ConfigError(
                f"unknown {kind} option {key!r}. Valid options: "
                f"{', '.join(sorted(allowed))}.{did_you_mean(str(key), allowed)}",
                where=where,
            )
    resolved = {
        key: env.interpolate(value, where) if isinstance(value, str) else value
        for key, value in options.items()
    }
    for key, value in resolved.items():
        # Passwords in DSNs and credential options are secrets in every output.
        # The rest of a DSN says where the dependency is, which every message
        # about it must show: "dsn" looks secret by name, but is an address.
        if isinstance(value, str):
            redact.register_url(value)
            if redact.looks_secret(key) and key != "dsn":
                redact.register(value, name=key)
    return resolved, where


def require(options: Mapping[str, Any], key: str, *, kind: str, where: str) -> Any:
    """``options[key]``, or a ConfigError saying it is needed."""
    value = options.get(key)
    if value is None or value == "":
        raise ConfigError(
            f"the {kind} probe needs {key}=, e.g. {_EXAMPLES.get(key, key + '=...')}",
            where=where,
        )
    return value


_EXAMPLES = {
    "url": "url='amqp://user:password@host:5672/'",
    "host": "host='db.example.com'",
    "port": "port=443",
    "name": "name='api.example.com'",
}


def parse_thresholds(
    kind: str, given: Mapping[str, Any], parsers: Mapping[str, Parser]
) -> dict[str, Any]:
    """Thresholds given to ``check()``, parsed from human units; None ones dropped.

    Raises:
        ConfigError: for an unknown threshold or an unreadable value.
    """
    parsed: dict[str, Any] = {}
    for key, value in given.items():
        if key not in parsers:
            raise ConfigError(
                f"unknown {kind} check {key!r}. Valid checks: "
                f"{', '.join(sorted(parsers))}.{did_you_mean(key, parsers)}",
                where=f"{kind} check()",
            )
        if value is not None:
            parsed[key] = parsers[key](value, f"{kind} check()", key)
    return parsed


class DependencyProbe(Generic[H]):
    """What every helper shares: ``check()`` and ``acheck()`` around its own
    ``_check``, and running a coroutine for a ``def`` or an ``async def`` probe.

    A shallow base class rather than a Protocol (CONTRIBUTING.md prefers
    those) because this is the same code in every kind, not an interface each
    fills in.
    """

    kind: ClassVar[str]
    address_keys: ClassVar[frozenset[str]]  # options: url, host, queue...
    check_keys: ClassVar[frozenset[str]]  # thresholds check() takes
    thresholds: ClassVar[Mapping[str, Parser]]  # check key -> its parser
    # Its client libraries: loaded before its clocks start (see ``preload``).
    drivers: ClassVar[tuple[str, ...]] = ()
    _env: ProbeEnv

    @classmethod
    def preload(cls) -> None:
        """Import this kind's client libraries now, those that are installed.

        Loading one takes 40 to 160 ms of the interpreter's time. Done on the
        event loop that carries every probe's I/O, inside a probe's timed
        connect, it was counted as the dependency's connect time and held up
        every other probe's answers (issue 16). So it is done first: for the
        kinds a run's tables use, before any probe starts; otherwise on the
        probe's own thread, before its clock starts. A missing library is
        reported by the probe itself, as MissingDriver.
        """
        for module in cls.drivers:
            with contextlib.suppress(Exception):  # the probe reports it
                imports.load(module)

    @classmethod
    def is_loaded(cls) -> bool:
        return all(module in sys.modules for module in cls.drivers)

    def check(self, **thresholds: Any) -> H:
        """Read the figures, judge them against ``thresholds``, return the report.

        Raises:
            CheckFailed: naming each figure past its threshold.
            TargetUnreachable: with a category: refused, timeout, dns, auth, tls.
        """
        __tracebackhide__ = True
        limits = parse_thresholds(self.kind, thresholds, self.thresholds)
        return self._run(lambda ctx: self._check(ctx, limits))

    async def acheck(self, **thresholds: Any) -> H:
        """``check()`` for ``async def`` probes."""
        __tracebackhide__ = True
        limits = parse_thresholds(self.kind, thresholds, self.thresholds)
        return await self._arun(lambda ctx: self._check(ctx, limits))

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> H:
        raise NotImplementedError

    def _run(self, work: Callable[[ProbeContext], Coroutine[Any, Any, T]]) -> T:
        """Run ``work`` on the engine's loop for a ``def`` probe and wait for it."""
        __tracebackhide__ = True
        engine = self._env.engine
        ctx = probe_context(self._env.default_timeout_s)
        if engine.in_loop_thread():
            # A blocking call from an async def probe: the engine refuses it
            # (and closes the coroutine; a wrapper would leave ``work``'s unawaited).
            return engine.call(work(ctx), ctx=ctx)
        self.preload()  # here, on the probe's thread: never on the loop
        return engine.call(_noting_wait(work(ctx)), ctx=ctx)

    async def _arun(self, work: Callable[[ProbeContext], Awaitable[T]]) -> T:
        __tracebackhide__ = True
        if not self.is_loaded():
            import asyncio

            # Off the loop: it carries every other probe's I/O meanwhile.
            await asyncio.to_thread(self.preload)
        with _guard.own():  # sleuth's own sessions: not the probe's code's
            return await work(probe_context(self._env.default_timeout_s))


# How long the loop took to start a ``def`` probe's work after it was handed
# over (sleuth busy before sending), until the first exchange recorded says so.
_WAITED_S: contextvars.ContextVar[float] = contextvars.ContextVar(
    "sleuth_waited_s", default=0.0
)
# sleuth's own waits longer than this are said in an exchange's evidence.
BUSY_NOTE_S = 0.05


def _noting_wait(work: Coroutine[Any, Any, T]) -> Coroutine[Any, Any, T]:
    """``work``, noting how long the loop takes to start it (see ``record``).

    Called on the probe's thread as it hands ``work`` to the loop.
    """
    return _started(work, timing.perf_counter())


async def _started(work: Coroutine[Any, Any, T], handed_over: float) -> T:
    __tracebackhide__ = True
    _WAITED_S.set(timing.perf_counter() - handed_over)
    # On the loop, in the task running sleuth's own sessions for the probe:
    # the client hooks (sleuth/clients) must not take them for its code's.
    with _guard.own():
        return await work


def probe_context(default_timeout_s: float) -> ProbeContext:
    """The running probe's context, or a fresh one outside a probe."""
    return _context.get_or_default(default_timeout_s)


def warn_once(ctx: ProbeContext, message: str) -> None:
    """Note a clue that does not fail the probe (a warned outcome), once per
    probe however many sessions it opened."""
    if message not in ctx.warnings:
        ctx.warn(message)


def load(module: str, *, kind: str, package: str, extra: str) -> Any:
    """Import a client library now, or raise MissingDriver with the pip hint."""
    try:
        return imports.load(module)
    except ImportError as exc:
        raise MissingDriver(kind=kind, package=package, extra=extra) from exc


async def step(
    ctx: ProbeContext,
    work: Awaitable[T],
    *,
    kind: str,
    request: str,
    translate: Translate,
) -> T:
    """Await ``work`` under the probe's deadline; failures become sleuth's errors.

    A failure is recorded on the probe as evidence before it is raised.
    """
    __tracebackhide__ = True
    started = timing.perf_counter()
    try:
        return await bounded(work, ctx=ctx, what=request)
    except ProbeTimeout:
        took = timing.perf_counter() - started
        record(
            ctx,
            kind=kind,
            request=request,
            started=started,
            error=f"no answer within {took:.1f} s",
        )
        raise
    except ProbeError as exc:
        record(ctx, kind=kind, request=request, started=started, error=str(exc))
        raise
    except SleuthError:
        raise  # MissingDriver, ConfigError: about this run, not the target
    except Exception as exc:
        translated = translate(exc)
        record(ctx, kind=kind, request=request, started=started, error=str(translated))
        raise translated from exc


def record(
    ctx: ProbeContext,
    *,
    kind: str,
    request: str,
    started: float,
    answer: str = "",
    figures: Mapping[str, object] | None = None,
    remote: str | None = None,
    phases_ms: Mapping[str, float] | None = None,
    error: str | None = None,
    wire_s: float | None = None,
) -> None:
    """Record one exchange with a dependency: the figures read, or the error.

    ``wire_s``, when the kind knows it, is the exchange's time on the wire
    (the total); otherwise the total is the time since ``started``.
    """
    timings = dict(phases_ms or {})
    took = timing.perf_counter() - started if wire_s is None else wire_s
    timings["total"] = round(took * 1000, 2)
    waited_s = _WAITED_S.get()
    _WAITED_S.set(0.0)  # said once, on the first exchange
    ctx.record(
        Exchange(
            kind=kind,
            request=request,
            reason=answer,
            headers={k: str(v) for k, v in (figures or {}).items() if v is not None},
            remote=remote,
            timings_ms=timings,
            error=error,
            busy_ms=(
                {"before_sending": round(waited_s * 1000, 1)}
                if waited_s > BUSY_NOTE_S
                else {}
            ),
        )
    )


def unhealthy(kind: str, display: str, problems: list[str], hint: str) -> CheckFailed:
    """The CheckFailed for figures past their thresholds, each one named."""
    return CheckFailed(
        f"{kind} {display}: {'; '.join(problems)}. {hint}".rstrip(),
        target=display,
        category="unhealthy",
    )


def over(figure: str, value: object, key: str, limit: object) -> str:
    """``queue 'q' holds 25 messages, over max_queue_depth 10``."""
    return f"{figure} {value}, over {key} {limit}"


def under(figure: str, value: object, key: str, limit: object) -> str:
    """``1 consumer on queue 'q', under min_consumers 2``."""
    return f"{figure} {value}, under {key} {limit}"


def too_slow(
    figure: str, seconds: float, key: str, limits: Mapping[str, Any]
) -> list[str]:
    """``["connect time 1.20 s, over max_connect_time 500.0 ms"]``, or ``[]``."""
    limit = limits.get(key)
    if limit is None or seconds <= limit:
        return []
    return [over(figure, format_duration(seconds), key, format_duration(limit))]


def port_option(value: object, *, kind: str, where: str) -> int:
    """A TCP/UDP port number from an int or a string of digits."""
    port = parse_positive_int(value, where=where, what=f"{kind} port")
    if port > 65535:
        raise ConfigError(
            f"invalid {kind} port {port}: expected 1 to 65535", where=where
        )
    return port


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def translate_os_error(
    exc: BaseException, *, what: str, host: str | None, port: int | None
) -> ProbeError | None:
    """Socket-level failures in any helper: dns, refused, reset, timeout, tls."""
    address = f"{host}:{port}" if host is not None and port is not None else host
    if isinstance(exc, socket.gaierror):
        return TargetUnreachable(
            f"{what}: the name {host} does not resolve ({exc.strerror}). Check the "
            f"host name and this runner's DNS.",
            target=what,
            category="dns",
        )
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED
    ):
        return TargetUnreachable(
            f"{what}: connection refused by {address}. Is the service running and "
            f"listening there?",
            target=what,
            category="refused",
        )
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError) or (
        isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE)
    ):
        return TargetUnreachable(
            f"{what}: {address} closed the connection before answering",
            target=what,
            category="reset",
        )
    if isinstance(exc, TimeoutError):
        return TargetUnreachable(
            f"{what}: {address} did not answer in time", target=what, category="timeout"
        )
    if isinstance(exc, ssl.SSLError):
        return TargetUnreachable(
            f"{what}: TLS failed with {address}: {exc}", target=what, category="tls"
        )
    if isinstance(exc, OSError):
        return TargetUnreachable(
            f"{what}: cannot connect to {address}: {exc.strerror or exc}",
            target=what,
            category="other",
        )
    return None


def other_error(exc: BaseException, *, what: str) -> ProbeError:
    detail = str(exc) or type(exc).__name__
    return TargetUnreachable(
        f"{what}: {type(exc).__name__}: {detail}", target=what, category="other"
    )
