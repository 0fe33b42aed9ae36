"""What the SQL helpers (postgres, mysql) add to a session helper: statements.

``query()`` and ``scalar()`` (and their async twins) run one read-only
statement in a session of its own. Writes are refused twice: here, before
anything is sent, unless a statement starts as a read and calls nothing known
to act on the server; and by the server, since every session is read-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from sleuth import timing
from sleuth.context import ProbeContext
from sleuth.errors import WriteRefused
from sleuth.probes._dependency import record
from sleuth.probes._sessions import Health, SessionProbe

H = TypeVar("H", bound=Health)

Params = Sequence[Any] | Mapping[str, Any] | None

# Comments and opening brackets before the first keyword of a statement.
_LEADING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
_KEYWORD = re.compile(r"[A-Za-z]+")
# Characters of a statement shown in evidence and messages.
SQL_EXCERPT_CHARS = 120


class SqlProbe(SessionProbe[H]):
    """A SQL helper: ``check()`` from SessionProbe, plus read-only statements."""

    reads: ClassVar[frozenset[str]]  # keywords a read-only statement starts with
    # What acts on the server from inside a read: refused before sending too.
    side_effects: ClassVar[re.Pattern[str] | None] = None

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
            WriteRefused: the statement does not start as a read (nothing is
                sent), or the server refused a write hidden inside it.
            CheckFailed: the server rejected the statement (syntax, a missing
                table...), in its own words.
        """
        __tracebackhide__ = True
        self._refuse_writes(sql)
        return self._run(lambda ctx: self._query(ctx, sql, params))

    async def aquery(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        """``query()`` for ``async def`` probes."""
        __tracebackhide__ = True
        self._refuse_writes(sql)
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
