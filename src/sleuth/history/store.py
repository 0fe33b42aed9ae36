"""The history store: every run, on SQLite or PostgreSQL, through SQLAlchemy Core.

One run is written in one transaction, so a run killed half-way leaves the
store as it was. SQLite runs in WAL mode with a busy timeout and takes its
write lock up front (``BEGIN IMMEDIATE``), so two runs finishing at once both
land, one after the other; PostgreSQL needs nothing more than its
transactions. Every connection has a timeout.

This module imports SQLAlchemy; the run imports it only when it first reads
or writes its history (see ``recorder.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from sleuth import timing
from sleuth.errors import MissingDriver
from sleuth.evidence import RunRecord
from sleuth.history import migrations
from sleuth.history.model import (
    ProbePoint,
    ResultRow,
    RunRow,
    RunSnapshot,
    SettingPoint,
    SettingRow,
    as_utc,
)
from sleuth.history.options import Retention
from sleuth.history.rows import rows_from_record
from sleuth.history.schema import meta, results, runs, settings

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_S = 15
# How long SQLite waits for another writer before giving up.
BUSY_TIMEOUT_S = 15


class HistoryStore:
    """A store, opened and brought to the current schema.

    Raises (from ``open``):
        MissingDriver: a PostgreSQL URL without psycopg installed.
        migrations.SchemaTooNew: a store written by a newer sleuth.
        sqlalchemy.exc.SQLAlchemyError: the store cannot be reached or read.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._key: bytes | None = None

    @classmethod
    def open(cls, url: str, *, create_dir: bool = True) -> HistoryStore:
        store = cls(make_engine(url, create_dir=create_dir))
        try:
            migrations.upgrade(store.engine)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def _write(self) -> sa.Connection:
        return self.engine.connect().execution_options(sleuth_write=True)

    # -- writing --------------------------------------------------------------

    def key(self) -> bytes:
        """The store's fingerprint key, made when the store was created."""
        if self._key is None:
            with self.engine.connect() as conn:
                value = conn.execute(
                    sa.select(meta.c.value).where(meta.c.key == "hmac_key")
                ).scalar_one()
            self._key = bytes.fromhex(value)
        return self._key

    def write_run(
        self,
        record: RunRecord,
        *,
        agent: str,
        git_revision: str | None = None,
        keep: Retention | None = None,
    ) -> int:
        """Store one run with its results and settings; returns its id."""
        rows = rows_from_record(
            record,
            key=self.key(),
            agent=agent,
            git_revision=git_revision,
            scrub=record.scrub,
        )
        with self._write() as conn, conn.begin():
            inserted = conn.execute(runs.insert().values(**rows.run))
            run_id = int(_first(inserted.inserted_primary_key))
            if rows.results:
                conn.execute(
                    results.insert(), [{"run_id": run_id, **r} for r in rows.results]
                )
            if rows.settings:
                conn.execute(
                    settings.insert(),
                    [{"run_id": run_id, **s} for s in rows.settings],
                )
            if keep is not None:
                _prune(conn, target=rows.run["target"], keep=keep, newest=run_id)
        return run_id

    def prune(self, *, target: str, keep: Retention) -> int:
        """Drop the runs of ``target`` past ``keep``; returns how many went."""
        with self._write() as conn, conn.begin():
            return _prune(conn, target=target, keep=keep, newest=None)

    # -- reading --------------------------------------------------------------

    def runs(self, *, target: str | None = None, limit: int = 20) -> list[RunRow]:
        """The latest runs, newest first, with their outcome counts."""
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if target is not None:
            query = query.where(runs.c.target == target)
        with self.engine.connect() as conn:
            found = list(conn.execute(query))
            counts = _counts(conn, [row.id for row in found])
        return [_run_row(row, counts.get(row.id, {})) for row in found]

    def run(self, run_id: int) -> RunRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
            if row is None:
                return None
            return _run_row(row, _counts(conn, [run_id]).get(run_id, {}))

    def count_runs(self, *, target: str, before: int | None = None) -> int:
        query = sa.select(sa.func.count()).where(runs.c.target == target)
        if before is not None:
            query = query.where(runs.c.id < before)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def latest_run_id(
        self, *, target: str | None = None, before: int | None = None
    ) -> int | None:
        return self._last_id(target=target, before=before, green=False)

    def last_green_run_id(
        self, *, target: str | None = None, before: int | None = None
    ) -> int | None:
        """The latest run in which everything passed (exit status 0)."""
        return self._last_id(target=target, before=before, green=True)

    def _last_id(
        self, *, target: str | None, before: int | None, green: bool
    ) -> int | None:
        query = sa.select(sa.func.max(runs.c.id))
        if target is not None:
            query = query.where(runs.c.target == target)
        if before is not None:
            query = query.where(runs.c.id < before)
        if green:
            query = query.where(runs.c.exit_status == 0)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    def snapshot(self, run_id: int) -> RunSnapshot | None:
        """A run with its results and settings."""
        run = self.run(run_id)
        if run is None:
            return None
        with self.engine.connect() as conn:
            result_rows = conn.execute(
                sa.select(results).where(results.c.run_id == run_id)
            )
            found = {r.probe_id: _result_row(r) for r in result_rows}
            setting_rows = conn.execute(
                sa.select(settings).where(settings.c.run_id == run_id)
            )
            seen = {s.name: _setting_row(s) for s in setting_rows}
        return RunSnapshot(run=run, results=found, settings=seen)

    def evidence(self, run_id: int, probe_id: str) -> Any:
        with self.engine.connect() as conn:
            text = conn.execute(
                sa.select(results.c.evidence).where(
                    results.c.run_id == run_id, results.c.probe_id == probe_id
                )
            ).scalar()
        return json.loads(text) if text else None

    def probe_points(
        self, probe_id: str, *, target: str | None = None, limit: int | None = None
    ) -> list[ProbePoint]:
        """A probe's results, newest first."""
        query = self._probe_query(probe_id, target=target).order_by(
            results.c.run_id.desc()
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_probe_point(row) for row in conn.execute(query)]

    def probe_point(
        self,
        probe_id: str,
        *,
        target: str,
        outcomes: Iterable[str] | None = None,
        before: int | None = None,
        after: int | None = None,
        newest: bool = True,
    ) -> ProbePoint | None:
        """The newest (or oldest) result of a probe with one of ``outcomes`` (any).

        One indexed read, so a failure's history line costs little even in a
        store of thousands of runs.
        """
        query = self._probe_query(probe_id, target=target)
        if outcomes is not None:
            query = query.where(results.c.outcome.in_(sorted(outcomes)))
        if before is not None:
            query = query.where(results.c.run_id < before)
        if after is not None:
            query = query.where(results.c.run_id > after)
        order = results.c.run_id.desc() if newest else results.c.run_id.asc()
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(order).limit(1)).first()
        return _probe_point(row) if row is not None else None

    def _probe_query(self, probe_id: str, *, target: str | None) -> sa.Select[Any]:
        query = (
            sa.select(
                results.c.run_id,
                runs.c.started_at,
                runs.c.agent,
                results.c.outcome,
                results.c.category,
                results.c.duration_s,
                results.c.message,
            )
            .join(runs, runs.c.id == results.c.run_id)
            .where(results.c.probe_id == probe_id)
        )
        if target is not None:
            query = query.where(runs.c.target == target)
        return query

    def setting_points(
        self, name: str, *, target: str | None = None, limit: int | None = None
    ) -> list[SettingPoint]:
        """Where a setting was found, run by run, newest first."""
        query = (
            sa.select(
                settings.c.run_id,
                runs.c.started_at,
                runs.c.agent,
                settings.c.source,
                settings.c.state,
                settings.c.fingerprint,
            )
            .join(runs, runs.c.id == settings.c.run_id)
            .where(settings.c.name == name)
            .order_by(settings.c.run_id.desc())
        )
        if target is not None:
            query = query.where(runs.c.target == target)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                SettingPoint(
                    run_id=row.run_id,
                    started_at=as_utc(row.started_at),
                    agent=row.agent,
                    source=row.source,
                    state=row.state,
                    fingerprint=row.fingerprint,
                )
                for row in conn.execute(query)
            ]

    def names(self, *, target: str | None = None) -> tuple[list[str], list[str]]:
        """Every probe id and every setting name in the store (for ``history NAME``)."""
        probes = sa.select(results.c.probe_id).distinct()
        names = sa.select(settings.c.name).distinct()
        if target is not None:
            probes = probes.join(runs, runs.c.id == results.c.run_id).where(
                runs.c.target == target
            )
            names = names.join(runs, runs.c.id == settings.c.run_id).where(
                runs.c.target == target
            )
        with self.engine.connect() as conn:
            return (
                sorted(conn.execute(probes).scalars()),
                sorted(conn.execute(names).scalars()),
            )


def make_engine(url: str, *, create_dir: bool = True) -> sa.Engine:
    """An engine with the timeouts and, for SQLite, WAL and write locking."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401 (checked here for a clear message)
        except ImportError:
            raise MissingDriver(
                kind="PostgreSQL history", package="psycopg", extra="history-postgres"
            ) from None
        engine = sa.create_engine(
            parsed,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_S * 1000}",
                "application_name": "sleuth-history",
            },
        )
        return engine
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"unsupported history store: {parsed.get_backend_name()}")
    if create_dir and parsed.database and not parsed.database.startswith("file:"):
        _make_store_dir(parsed.database)
    engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _make_store_dir(database: str) -> None:
    from pathlib import Path

    directory = Path(database).parent
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    if directory.name == ".sleuth":
        # Like .pytest_cache: a local store is not something to commit.
        (directory / ".gitignore").write_text(
            "# Created by sleuth: the run history of this suite.\n*\n"
        )


def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
    # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own
    # transaction handling defers it and breaks BEGIN IMMEDIATE); see
    # SQLAlchemy's "Serializable isolation / Savepoints / Transactional DDL".
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode and str(mode[0]).lower() not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL is safe against a killed process (not a power cut).
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # Writers take the write lock at BEGIN, so the busy timeout applies; a
    # deferred transaction that upgrades to writing fails at once instead.
    mode = "IMMEDIATE" if conn.get_execution_options().get("sleuth_write") else ""
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _prune(
    conn: sa.Connection, *, target: str, keep: Retention, newest: int | None
) -> int:
    doomed = sa.select(runs.c.id).where(runs.c.target == target)
    if keep.max_age_s is not None:
        cutoff = timing.utcnow() - _dt.timedelta(seconds=keep.max_age_s)
        doomed = doomed.where(runs.c.started_at < cutoff.replace(tzinfo=None))
    elif keep.runs is not None:
        kept = (
            sa.select(runs.c.id)
            .where(runs.c.target == target)
            .order_by(runs.c.id.desc())
            .limit(keep.runs)
        )
        floor = conn.execute(sa.select(sa.func.min(kept.subquery().c.id))).scalar()
        if floor is None:
            return 0
        doomed = doomed.where(runs.c.id < floor)
    else:
        return 0
    if newest is not None:
        doomed = doomed.where(runs.c.id != newest)  # never the run just written
    ids = list(conn.execute(doomed).scalars())
    for chunk in _chunks(ids, 500):
        conn.execute(results.delete().where(results.c.run_id.in_(chunk)))
        conn.execute(settings.delete().where(settings.c.run_id.in_(chunk)))
        conn.execute(runs.delete().where(runs.c.id.in_(chunk)))
    return len(ids)


def _first(row: Any) -> Any:
    if not row:
        raise RuntimeError("the store gave no id for the run just written")
    return row[0]


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _counts(conn: sa.Connection, run_ids: list[int]) -> dict[int, dict[str, int]]:
    if not run_ids:
        return {}
    query = (
        sa.select(results.c.run_id, results.c.outcome, sa.func.count())
        .where(results.c.run_id.in_(run_ids))
        .group_by(results.c.run_id, results.c.outcome)
    )
    counts: dict[int, dict[str, int]] = {}
    for run_id, outcome, n in conn.execute(query):
        counts.setdefault(run_id, {})[outcome] = int(n)
    return counts


def _run_row(row: Any, counts: dict[str, int]) -> RunRow:
    return RunRow(
        id=row.id,
        target=row.target,
        base_url=row.base_url,
        agent=row.agent,
        started_at=as_utc(row.started_at),
        duration_s=row.duration_s,
        sleuth_version=row.sleuth_version,
        git_revision=row.git_revision,
        exit_status=row.exit_status,
        selection=tuple(json.loads(row.selection or "[]")),
        counts=counts,
    )


def _result_row(row: Any) -> ResultRow:
    return ResultRow(
        run_id=row.run_id,
        probe_id=row.probe_id,
        outcome=row.outcome,
        category=row.category,
        duration_s=row.duration_s,
        message=row.message,
    )


def _probe_point(row: Any) -> ProbePoint:
    return ProbePoint(
        run_id=row.run_id,
        started_at=as_utc(row.started_at),
        agent=row.agent,
        outcome=row.outcome,
        category=row.category,
        duration_s=row.duration_s,
        message=row.message,
    )


def _setting_row(row: Any) -> SettingRow:
    return SettingRow(
        run_id=row.run_id,
        name=row.name,
        source=row.source,
        state=row.state,
        fingerprint=row.fingerprint,
    )
