"""What the SQL helpers (postgres, mysql) add to a session helper: statements.

``query()`` and ``scalar()`` (and their async twins) run one read-only
statement in a session of their own. Writes are stopped three times over:
the guard (``_sql_guard.py``) refuses, before anything is sent, a text that is
not one read; each kind sends one statement per call (PostgreSQL's extended
protocol, MySQL without multi-statements); and the session is read-only on the
server, its transaction never committed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypedDict, TypeVar

from sleuth import _timing as timing
from sleuth.engine import imports
from sleuth.engine.context import ProbeContext
from sleuth.errors import WriteRefused
from sleuth.probes._dependency import record
from sleuth.probes._sessions import Health, SessionProbe
from sleuth.probes._sql_guard import ReadRules, SqlGuard


class SqlAddressOptions(TypedDict, total=False):
    """Where a SQL server is: a URL, or its parts, which override the URL's."""

    dsn: str  # scheme://user:password@host:port/db
    url: str  # the same as dsn
    host: str
    port: int | str
    user: str
    password: str
    database: str


H = TypeVar("H", bound=Health)

Params = Sequence[Any] | Mapping[str, Any] | None

# Characters of a statement shown in evidence and messages.
SQL_EXCERPT_CHARS = 120


class SqlProbe(SessionProbe[H]):
    """A SQL helper: ``check()`` from SessionProbe, plus read-only statements."""

    read_rules: ClassVar[ReadRules]  # what a read is on this kind of server

    @property
    def _dsn(self) -> str:
        return str(self._options.get("dsn") or self._options.get("url") or "")

    async def _fetch(self, conn: Any, sql: str, params: Params) -> list[dict[str, Any]]:
        """The rows of one statement; WriteRefused when the server refuses a write."""
        raise NotImplementedError

    # -- read-only statements -----------------------------------------------

    def query(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """The rows of one read-only statement, as dicts keyed by column name.

        Raises:
            WriteRefused: the text is not one read (nothing is sent; the
                message says what was refused and why), or the server
                refused a write hidden inside it.
            CheckFailed: the server rejected the statement (syntax, a missing
                table...), in its own words.
        """
        __tracebackhide__ = True
        self._load_guard()  # here, on the probe's thread: never on the loop
        return self._run(lambda ctx: self._query(ctx, sql, params))

    async def aquery(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """``query()`` for ``async def`` probes."""
        __tracebackhide__ = True
        if not self._guard_loaded():
            import asyncio

            await asyncio.to_thread(self._load_guard)
        return await self._arun(lambda ctx: self._query(ctx, sql, params))

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of the first row; None when there is no row."""
        __tracebackhide__ = True
        return _first_value(self.query(sql, params))

    async def ascalar(self, sql: str, params: Params = None) -> Any:
        """``scalar()`` for ``async def`` probes."""
        __tracebackhide__ = True
        return _first_value(await self.aquery(sql, params))

    # -- on the loop --------------------------------------------------------

    async def _query(
        self, ctx: ProbeContext, sql: str, params: Params
    ) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        # Before the session opens: a refused text never reaches the server.
        self._guard().refuse_unless_read(sql, kind=self.kind, display=self.display)
        started = timing.perf_counter()
        request = f"{self.kind} query {self.display}: {excerpt(sql)}"
        async with self._session(ctx) as conn:
            try:
                rows = await self._step(ctx, request, self._fetch(conn, sql, params))
            except WriteRefused as refused:  # by the server: evidence, like a failure
                record(
                    ctx,
                    kind=self.kind,
                    request=request,
                    started=started,
                    error=str(refused),
                )
                raise
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

    def _guard_modules(self) -> tuple[str, ...]:
        return (
            f"sqlglot.dialects.{self.read_rules.dialect}",
            "sqlglot.dialects.dialect",
        )

    def _guard_loaded(self) -> bool:
        return all(name in sys.modules for name in self._guard_modules())

    def _load_guard(self) -> None:
        """Load sqlglot (0.2 to 0.4 s) off the loop that carries every probe's
        I/O; a missing one is reported by the guard itself, as MissingDriver."""
        for name in self._guard_modules():
            with contextlib.suppress(Exception):  # the probe reports it
                imports.load(name)

    def _guard(self) -> SqlGuard:
        """The run's guard for this kind (on the loop thread: sqlglot loads once)."""
        return SqlGuard.for_run(self._env.engine, self.read_rules, kind=self.kind)

    def _server_refused_write(self, sql: str, said: str) -> WriteRefused:
        return WriteRefused(
            f"{self.kind} {self.display}: the server refused a write: {said}. The "
            f"helper's sessions are read-only and never commit, so nothing was "
            f"changed.",
            method=self._guard().first_keyword(sql),
            url=self.display,
        )


def excerpt(sql: str, limit: int = SQL_EXCERPT_CHARS) -> str:
    """The statement on one line, cut to ``limit`` characters for evidence."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _first_value(rows: list[dict[str, Any]]) -> Any:
    return next(iter(rows[0].values())) if rows and rows[0] else None
