"""Two ways to reach a store, one interface: the stdlib's sqlite3, and SQLAlchemy.

The store's queries are plain SQL with ``:name`` parameters, valid on both
SQLite and PostgreSQL, run by either adapter:

- ``SqliteDatabase``: SQLite through the standard library. A run pays about
  5 ms for it, against about 200 ms to import SQLAlchemy (docs/history.md has
  the measurements), which would make a one-probe run half as fast again.
- ``EngineDatabase``: a SQLAlchemy engine, for PostgreSQL (psycopg 3).

Schema changes (``migrations.py``) always go through SQLAlchemy, which writes
each dialect's DDL; a run pays for that once in the life of a store.

SQLite runs in WAL mode with a busy timeout, and a write transaction takes
the write lock up front (``BEGIN IMMEDIATE``) so the busy timeout applies:
two runs finishing at once both land, one after the other.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from sleuth._atomicfile import create_file
from sleuth._localdir import make_dir
from sleuth.clients import _guard

# Raised here; kept importable from here (store.py, older callers) by name.
from sleuth.errors import StoreError as StoreError

if TYPE_CHECKING:
    import sqlite3

    import sqlalchemy as sa

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_S = 15
# How long SQLite waits for another writer before giving up.
BUSY_TIMEOUT_S = 15
# SQLAlchemy's own text form of a SQLite DATETIME, so both write the same.
SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

Params = Mapping[str, Any]


class Tx(Protocol):
    """One transaction: run statements, read rows as dicts."""

    def rows(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]: ...
    def scalar(self, sql: str, params: Params | None = None) -> Any: ...
    def execute(self, sql: str, params: Params | None = None) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...


class Database(Protocol):
    kind: str  # "sqlite" or "postgresql"
    url: str

    def read(self) -> contextlib.AbstractContextManager[Tx]: ...
    def write(self) -> contextlib.AbstractContextManager[Tx]: ...
    def engine(self) -> sa.Engine: ...
    def close(self) -> None: ...


# -- SQLite, standard library ----------------------------------------------------


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        cursor = self._conn.execute(sql, _sqlite_params(params))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        row = self._conn.execute(sql, _sqlite_params(params)).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._conn.execute(sql, _sqlite_params(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._conn.executemany(sql, [_sqlite_params(r) for r in rows])


def _sqlite_params(params: Params | None) -> dict[str, Any]:
    # Times as SQLAlchemy's SQLite dialect writes them (and sqlite3's own
    # datetime adapter is deprecated since Python 3.12).
    return {
        k: v.strftime(SQLITE_TIME_FORMAT) if isinstance(v, _dt.datetime) else v
        for k, v in (params or {}).items()
    }


class SqliteDatabase:
    """A SQLite store file through ``sqlite3``, with WAL and a busy timeout."""

    kind = "sqlite"

    def __init__(self, url: str, *, create_dir: bool = True) -> None:
        import sqlite3

        self.url = url
        path, _, query = url[len("sqlite:///") :].partition("?")
        self.path = Path(path)
        if create_dir:
            make_dir(self.path.parent)
            if not query:
                create_store_file(path)
        target = f"file:{quote(path)}?{query}" if query else path
        self._conn = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,  # we say BEGIN ourselves
            uri=bool(query),
            check_same_thread=False,
        )
        sqlite_pragmas(self._conn)

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        with self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[Tx]:
        self._conn.execute(begin)
        try:
            yield _SqliteTx(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def engine(self) -> sa.Engine:
        return make_engine(self.url, create_dir=False)

    def close(self) -> None:
        self._conn.close()


def create_store_file(path: str) -> None:
    """Make a new SQLite store with the mode ``open()`` gives (umask and all).

    SQLite itself makes a new database 0644, whatever the umask says; a URL
    with options (``?mode=ro``) is left to SQLite.
    """
    if path and path != ":memory:":
        create_file(Path(path))


def sqlite_pragmas(conn: Any) -> None:
    """WAL, the busy timeout and NORMAL sync, on a DB-API sqlite3 connection."""
    cursor = conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode and str(mode[0]).lower() not in ("wal", "memory"):
            # Fails on a read-only store; reading it still works.
            with contextlib.suppress(Exception):
                cursor.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL is safe against a killed process (not a power cut).
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


# -- SQLAlchemy --------------------------------------------------------------------


class _EngineTx:
    def __init__(self, conn: sa.Connection) -> None:
        import sqlalchemy as sa

        self._conn = conn
        self._text = sa.text

    def rows(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        result = self._conn.execute(self._text(sql), dict(params or {}))
        return [dict(row._mapping) for row in result]

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        return self._conn.execute(self._text(sql), dict(params or {})).scalar()

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._conn.execute(self._text(sql), dict(params or {}))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._conn.execute(self._text(sql), [dict(r) for r in rows])


class EngineDatabase:
    """A store behind a SQLAlchemy engine (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self.kind = self._engine.dialect.name

    # psycopg connects made here are sleuth's own: own() keeps the client hook
    # (sleuth/clients) from taking them for a probe's code's.

    @contextlib.contextmanager
    def read(self) -> Iterator[Tx]:
        with _guard.own(), self._engine.connect() as conn, conn.begin():
            yield _EngineTx(conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        with (
            _guard.own(),
            self._engine.connect().execution_options(sleuth_write=True) as conn,
            conn.begin(),
        ):
            yield _EngineTx(conn)

    def engine(self) -> sa.Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()


def make_engine(url: str, *, create_dir: bool = True) -> sa.Engine:
    """An engine with timeouts; for SQLite also WAL and ``BEGIN IMMEDIATE`` writes."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401 (checked here for a clear message)
        except ImportError:
            raise StoreError(
                "a PostgreSQL history needs the 'psycopg' package. Install it with: "
                "pip install 'sleuth[history-postgres]'"
            ) from None
        # Keep the URL's own libpq options (a search_path, say) beside ours.
        given = parsed.query.get("options", "")
        given = " ".join(given) if isinstance(given, tuple) else given
        options = f"{given} -c statement_timeout={STATEMENT_TIMEOUT_S * 1000}"
        return sa.create_engine(
            parsed.difference_update_query(["options"]),
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "options": options.strip(),
                "application_name": "sleuth-history",
            },
        )
    if create_dir and parsed.database:
        make_dir(Path(parsed.database).parent)
        if not parsed.query:
            create_store_file(parsed.database)
    engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
    # Let the begin event issue BEGIN itself (pysqlite's own transaction
    # handling defers it and breaks BEGIN IMMEDIATE); see SQLAlchemy's
    # "Serializable isolation / Savepoints / Transactional DDL" for SQLite.
    dbapi_conn.isolation_level = None
    sqlite_pragmas(dbapi_conn)


def _sqlite_begin(conn: sa.Connection) -> None:
    # Writers take the write lock at BEGIN, so the busy timeout applies; a
    # deferred transaction that upgrades to writing fails at once instead.
    mode = "IMMEDIATE" if conn.get_execution_options().get("sleuth_write") else ""
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def open_database(url: str, *, create_dir: bool = True) -> Database:
    """The adapter for a store URL: sqlite3 for SQLite, SQLAlchemy for the rest."""
    if url.startswith("sqlite:///"):
        return SqliteDatabase(url, create_dir=create_dir)
    return EngineDatabase(url)
