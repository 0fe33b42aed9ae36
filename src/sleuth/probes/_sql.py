"""What the SQL helpers (postgres, mysql) share: the public calls and their flow.

``SqlProbe`` holds the sync and async faces of ``check()``, ``query()`` and
``scalar()``, the session around each call and the evidence it leaves; a kind
says how to connect, read its health figures and judge them, and translates
its driver's errors in one place. One shallow base class rather than a
Protocol: the two kinds differ only in those hooks, and the flow must not.

Writes are refused twice: here, before anything is sent, unless a statement
starts as a read; and by the server, since every session is read-only.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sleuth import timing
from sleuth.context import ProbeContext
from sleuth.errors import ConfigError, ProbeError, WriteRefused
from sleuth.probes._dependency import (
    helper_options,
    ms,
    parse_thresholds,
    probe_context,
    record,
    step,
)
from sleuth.probes._judge import Parser, Verdict
from sleuth.probes._sessions import session
from sleuth.redact import mask_dsn

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

Params = Sequence[Any] | Mapping[str, Any] | None

# Comments and opening brackets before the first keyword of a statement.
_LEADING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
_KEYWORD = re.compile(r"[A-Za-z]+")
# Characters of a statement shown in evidence and messages.
SQL_EXCERPT_CHARS = 120


class Health(Protocol):
    """A kind's health report, as the shared flow needs it."""

    @property
    def role(self) -> str: ...
    def figures(self) -> dict[str, object]: ...
    def summary(self) -> str: ...


class SqlProbe:
    """The public face of a SQL helper; see postgres.py and mysql.py."""

    kind: ClassVar[str]
    address_keys: ClassVar[frozenset[str]]
    check_keys: ClassVar[frozenset[str]]
    thresholds: ClassVar[Mapping[str, Parser]]
    reads: ClassVar[frozenset[str]]  # keywords a read-only statement starts with
    # What acts on the server from inside a read: refused before sending too.
    side_effects: ClassVar[re.Pattern[str] | None] = None
    example: ClassVar[str]  # an address, for messages

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        kind = self.kind
        opts, where = helper_options(env, kind, name, options, self.address_keys)
        if opts.get("dsn") and opts.get("url"):
            raise ConfigError(
                f"give the {kind} address as dsn= or url=, not both", where=where
            )
        if not (opts.get("dsn") or opts.get("url") or opts.get("host")):
            raise ConfigError(
                f"the {kind} probe needs dsn=, e.g. dsn='{self.example}', "
                f"or host= and database=",
                where=where,
            )
        self._env = env
        self._options = opts
        self._where = where
        self._label = name or mask_dsn(str(opts.get("dsn") or opts.get("url") or ""))

    def __repr__(self) -> str:
        label = self._label or self._options.get("host")
        return f"<{type(self).__name__} {label}>"

    @property
    def _dsn(self) -> str:
        return str(self._options.get("dsn") or self._options.get("url") or "")

    # -- what a kind provides -----------------------------------------------

    @property
    def display(self) -> str:
        """The address with its password masked: ``scheme://app:***@db-1:5432/x``."""
        raise NotImplementedError

    @property
    def server(self) -> str:
        """``host:port``, the key of the run's connection slots."""
        raise NotImplementedError

    async def _connect(self, ctx: ProbeContext) -> Any:
        raise NotImplementedError

    async def _close(self, conn: Any) -> None:
        raise NotImplementedError

    async def _fetch(self, conn: Any, sql: str, params: Params) -> list[dict[str, Any]]:
        """The rows of one statement; WriteRefused when the server refuses a write."""
        raise NotImplementedError

    async def _read_health(self, conn: Any) -> Health:
        raise NotImplementedError

    def _judge(self, health: Any, verdict: Verdict) -> None:
        raise NotImplementedError

    def _remote(self, conn: Any) -> str | None:
        raise NotImplementedError

    def translate_error(self, exc: BaseException) -> ProbeError:
        raise NotImplementedError

    # -- the health check ---------------------------------------------------

    def check(self, **thresholds: Any) -> Any:
        """Read the server's health figures and judge them against ``thresholds``.

        Raises:
            CheckFailed: category "unhealthy", naming each figure past its
                threshold, the threshold, and what to look at.
            TargetUnreachable: refused, timeout, dns, auth, tls.
        """
        __tracebackhide__ = True
        limits = parse_thresholds(self.kind, thresholds, self.thresholds)
        ctx = probe_context(self._env.default_timeout_s)
        return self._env.engine.call(self._check(ctx, limits), ctx=ctx)

    async def acheck(self, **thresholds: Any) -> Any:
        """``check()`` for ``async def`` probes."""
        __tracebackhide__ = True
        limits = parse_thresholds(self.kind, thresholds, self.thresholds)
        return await self._check(probe_context(self._env.default_timeout_s), limits)

    # -- read-only statements -----------------------------------------------

    def query(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """The rows of one read-only statement, as dicts keyed by column name.

        Raises:
            WriteRefused: the statement does not start as a read (nothing is
                sent), or the server refused a write hidden inside it.
            CheckFailed: the server rejected the statement (syntax, a missing
                table...), in its own words.
        """
        __tracebackhide__ = True
        self._refuse_writes(sql)
        ctx = probe_context(self._env.default_timeout_s)
        return self._env.engine.call(self._query(ctx, sql, params), ctx=ctx)

    async def aquery(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """``query()`` for ``async def`` probes."""
        __tracebackhide__ = True
        self._refuse_writes(sql)
        ctx = probe_context(self._env.default_timeout_s)
        return await self._query(ctx, sql, params)

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row; None when there is no row."""
        __tracebackhide__ = True
        return _first_value(self.query(sql, params))

    async def ascalar(self, sql: str, params: Params = None) -> Any:
        """``scalar()`` for ``async def`` probes."""
        __tracebackhide__ = True
        return _first_value(await self.aquery(sql, params))

    # -- on the loop --------------------------------------------------------

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> Any:
        __tracebackhide__ = True
        started = timing.perf_counter()
        request = f"{self.kind} check {self.display}"
        async with self._session(ctx) as conn:
            connected = timing.perf_counter()
            health = await step(
                ctx,
                self._read_health(conn),
                kind=self.kind,
                request=request,
                translate=self.translate_error,
            )
            remote = self._remote(conn)
        record(
            ctx,
            kind=self.kind,
            request=request,
            started=started,
            answer=health.summary(),
            figures=health.figures(),
            remote=remote,
            phases_ms={
                "connect": ms(connected - started),
                "queries": ms(timing.perf_counter() - connected),
            },
        )
        verdict = Verdict(limits)
        self._judge(health, verdict)
        verdict.raise_if_any(self.kind, self.display)
        return health

    async def _query(
        self, ctx: ProbeContext, sql: str, params: Params
    ) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        started = timing.perf_counter()
        request = f"{self.kind} query {self.display}: {excerpt(sql)}"
        async with self._session(ctx) as conn:
            rows = await step(
                ctx,
                self._fetch(conn, sql, params),
                kind=self.kind,
                request=request,
                translate=self.translate_error,
            )
            remote = self._remote(conn)
        record(
            ctx,
            kind=self.kind,
            request=request,
            started=started,
            answer=f"{len(rows)} row{'' if len(rows) == 1 else 's'}",
            remote=remote,
        )
        return rows

    def _session(
        self, ctx: ProbeContext
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        return session(
            ctx,
            self._env.engine,
            kind=self.kind,
            server=self.server,
            display=self.display,
            connect=lambda: self._connect(ctx),
            close=self._close,
            translate=self.translate_error,
        )

    def _refuse_writes(self, sql: str) -> None:
        __tracebackhide__ = True
        refuse_unless_read(
            sql,
            kind=self.kind,
            display=self.display,
            reads=self.reads,
            side_effects=self.side_effects,
        )

    def _server_refused_write(self, sql: str, said: str) -> WriteRefused:
        return WriteRefused(
            f"{self.kind} {self.display}: the server refused a write: {said}. The "
            f"helper's sessions are read-only and never commit, so nothing was "
            f"changed.",
            method=first_keyword(sql),
            url=self.display,
        )


def first_keyword(sql: str) -> str:
    """``DELETE`` for ``"/* x */ delete from t"``; ``""`` when there is none."""
    leading = _LEADING.match(sql)
    match = _KEYWORD.match(sql, leading.end() if leading else 0)
    return match.group(0).upper() if match else ""


def refuse_unless_read(
    sql: str,
    *,
    kind: str,
    display: str,
    reads: frozenset[str],
    side_effects: re.Pattern[str] | None = None,
) -> None:
    """Raise WriteRefused, before anything is sent, unless ``sql`` is a read.

    A read starts with one of ``reads`` and has no match for ``side_effects``.
    """
    __tracebackhide__ = True
    keyword = first_keyword(sql)
    if keyword not in reads:
        said = f"a {keyword} statement" if keyword else "a statement with no keyword"
        raise WriteRefused(
            f"{kind} {display}: {said} refused: the {kind} helper only reads, and "
            f"a statement must start with one of {', '.join(sorted(reads))}. "
            f"Nothing was sent.",
            method=keyword or "?",
            url=display,
        )
    acts = side_effects.search(sql) if side_effects is not None else None
    if acts is not None:
        raise WriteRefused(
            f"{kind} {display}: a statement with {' '.join(acts.group(0).split())} "
            f"refused: it acts on the server even in a read-only session. Nothing "
            f"was sent.",
            method=keyword,
            url=display,
        )


def excerpt(sql: str, limit: int = SQL_EXCERPT_CHARS) -> str:
    """The statement on one line, cut to ``limit`` characters for evidence."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _first_value(rows: list[dict[str, Any]]) -> Any:
    return next(iter(rows[0].values())) if rows and rows[0] else None
