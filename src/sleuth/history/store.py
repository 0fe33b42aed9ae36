"""The history store: every run, with its results and the settings it saw.

One run is written in one transaction, so a run killed half-way leaves the
store as it was. The queries are plain SQL valid on SQLite and PostgreSQL,
composed from constant parts and a list of ``WHERE`` conditions (``_where``);
``db.py`` runs them (sqlite3 for SQLite, SQLAlchemy for PostgreSQL) and
``migrations.py`` keeps the schema current. Importing this module is cheap:
SQLAlchemy loads only for PostgreSQL or when a schema must change.
"""

# ruff: noqa: S608 (SQL is assembled from constants here; values are always bound)
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sleuth._evidence import RunRecord
from sleuth.history.db import Database, StoreError, Tx, open_database
from sleuth.history.masking import history_scrub
from sleuth.history.model import (
    ProbePoint,
    ResultRow,
    RunRow,
    RunSnapshot,
    SettingPoint,
    SettingRow,
    SourcePoint,
)
from sleuth.history.options import Retention
from sleuth.history.retention import prune
from sleuth.history.rows import (
    RunRows,
    probe_point,
    rows_from_record,
    run_row,
    setting_point,
    source_point,
)
from sleuth.history.schema import SCHEMA_VERSION

_RUN_COLUMNS = (
    "id, target, base_url, agent, started_at, duration_s, sleuth_version, "
    "git_revision, exit_status, selection"
)
# A run already stored under its key (a buffered run written again after a
# flush that was cut short) inserts nothing and returns no id. Plain SQL that
# SQLite (3.35+) and PostgreSQL both take, like every query here, so a SQLite
# store still needs no SQLAlchemy; the unique index is ux_sleuth_runs_run_key.
_INSERT_RUN = (
    "INSERT INTO sleuth_runs (run_key, target, base_url, agent, started_at, "
    "duration_s, sleuth_version, git_revision, exit_status, selection) VALUES "
    "(:run_key, :target, :base_url, :agent, :started_at, :duration_s, "
    ":sleuth_version, :git_revision, :exit_status, :selection) "
    "ON CONFLICT (run_key) DO NOTHING RETURNING id"
)
_INSERT_RESULT = (
    "INSERT INTO sleuth_results (run_id, probe_id, outcome, category, duration_s, "
    "message, evidence) VALUES (:run_id, :probe_id, :outcome, :category, "
    ":duration_s, :message, :evidence)"
)
_INSERT_SETTING = (
    "INSERT INTO sleuth_settings (run_id, name, source, state, fingerprint) "
    "VALUES (:run_id, :name, :source, :state, :fingerprint)"
)
_INSERT_SOURCE = (
    "INSERT INTO sleuth_setting_sources (run_id, name, position, source, state, "
    "fingerprint) VALUES (:run_id, :name, :position, :source, :state, :fingerprint)"
)
# The SELECTs below end before their WHERE: each caller adds its conditions.
_PROBE_POINT = (
    "SELECT r.run_id, u.started_at, u.agent, r.outcome, r.category, r.duration_s, "
    "r.message FROM sleuth_results r JOIN sleuth_runs u ON u.id = r.run_id"
)
_SETTING_POINT = (
    "SELECT s.run_id, u.started_at, u.agent, s.source, s.state, s.fingerprint "
    "FROM sleuth_settings s JOIN sleuth_runs u ON u.id = s.run_id"
)
_SOURCE_POINT = (
    "SELECT p.run_id, u.started_at, u.agent, p.position, p.source, p.state, "
    "p.fingerprint "
    "FROM sleuth_setting_sources p JOIN sleuth_runs u ON u.id = p.run_id"
)

# The last green run g of the same agent (before :run_id) that lacks no probe
# of :run_id which the suite already had when g ran: a run that left such a
# probe out was a subset (-k, node ids). A probe added since g is not asked
# of it. "Already had" is known from the runs before g, so a run chosen with
# -k, -m or test ids (its stored selection says so), unlike :run_id, must have
# run every probe of :run_id: it may be the first run there is, and what it
# deselected would otherwise look added since. (Chosen the same way, as with
# `-m` in addopts, a probe g lacks was added since, not left out.) Another
# agent's run is no baseline: each place has its own network and settings,
# and their differences are not changes.
_BASELINE = (
    "SELECT g.id FROM sleuth_runs g WHERE g.target = :target "
    "AND g.agent = :agent AND g.exit_status = 0 AND g.id < :run_id AND NOT EXISTS ("
    "SELECT 1 FROM sleuth_results b WHERE b.run_id = :run_id "
    "AND NOT EXISTS (SELECT 1 FROM sleuth_results a "
    "WHERE a.run_id = g.id AND a.probe_id = b.probe_id) "
    "AND ((g.selection LIKE :by_keyword OR g.selection LIKE :by_mark "
    "OR g.selection LIKE :by_id) AND g.selection <> "
    "(SELECT r.selection FROM sleuth_runs r WHERE r.id = :run_id) "
    "OR EXISTS (SELECT 1 FROM sleuth_results e JOIN sleuth_runs eu "
    "ON eu.id = e.run_id WHERE e.probe_id = b.probe_id AND e.run_id < g.id "
    "AND eu.target = :target AND eu.agent = :agent))) "
    "ORDER BY g.id DESC LIMIT 1"  # newest first: stop at the first that fits
)
# How a chosen subset shows in a run's selection (a JSON list of strings, as
# plugin/session.py's ``selection`` makes it): "-k EXPR", "-m EXPR", or a test
# id ("test_api.py::test_items").
_NARROWED = {"by_keyword": '%"-k %', "by_mark": '%"-m %', "by_id": "%::%"}

# The id of a target's run ``:window`` places back from its newest (index only).
_NTH_RUN = (
    "SELECT id FROM sleuth_runs WHERE target = :target "
    "ORDER BY id DESC LIMIT 1 OFFSET :window"
)


class HistoryStore:
    """A store, opened and brought to the current schema."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._key: bytes | None = None

    @classmethod
    def open(cls, url: str, *, create_dir: bool = True) -> HistoryStore:
        """Open (creating or upgrading it if need be) the store at ``url``.

        Raises:
            StoreError: the store was written by a newer sleuth, or a
                PostgreSQL URL is given without psycopg installed.
            Exception: the driver's own, when the store cannot be reached.
        """
        store = cls(open_database(url, create_dir=create_dir))
        try:
            store._upgrade()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_current(cls, url: str) -> HistoryStore | None:
        """Open a SQLite store already at this sleuth's schema, else None.

        Imports nothing (no SQLAlchemy), so another thread can call it while
        the main thread imports (recorder.py says why).
        """
        store = cls(open_database(url, create_dir=False))
        try:
            current = store._is_current()
        except BaseException:
            store.close()
            raise
        if not current:
            store.close()
        return store if current else None

    def _is_current(self) -> bool:
        """A SQLite store at this schema: the one kind opened without SQLAlchemy."""
        if self.db.kind != "sqlite":
            return False
        with self.db.read() as tx:
            return bool(_sqlite_version(tx) == SCHEMA_VERSION)

    def _upgrade(self) -> None:
        if self._is_current():
            return  # the common case: no SQLAlchemy needed at all
        from sleuth.history import migrations

        engine = self.db.engine()
        try:
            migrations.upgrade(engine)
        except migrations.SchemaTooNew as exc:
            raise StoreError(str(exc)) from None
        finally:
            if self.db.kind == "sqlite":
                engine.dispose()

    def close(self) -> None:
        self.db.close()

    # -- writing --------------------------------------------------------------

    def key(self) -> bytes:
        """The store's fingerprint key, made when the store was created."""
        if self._key is None:
            with self.db.read() as tx:
                value = tx.scalar(
                    "SELECT value FROM sleuth_meta WHERE key = 'hmac_key'"
                )
            if not value:
                raise StoreError("the store has no fingerprint key (sleuth_meta)")
            self._key = bytes.fromhex(value)
        return self._key

    def write_run(
        self,
        record: RunRecord,
        *,
        agent: str,
        git_revision: str | None = None,
        keep: Retention | None = None,
        run_key: str | None = None,
    ) -> int:
        """Store one run with its results and settings; returns its id.

        A run whose ``run_key`` is already stored is not stored again: the
        id is the stored one's.
        """
        rows = rows_from_record(
            record,
            key=self.key(),
            agent=agent,
            git_revision=git_revision,
            scrub=history_scrub(record.scrub, record.setting_values),
        )
        key = run_key or new_run_key()
        run_id = self.write_rows(rows, run_key=key, keep=keep)
        return run_id if run_id is not None else self.run_id_of(key)

    def write_rows(
        self, rows: RunRows, *, run_key: str, keep: Retention | None = None
    ) -> int | None:
        """Store one run's rows in one transaction; its id, or None when a run
        with ``run_key`` is stored already (and nothing was written)."""
        with self.db.write() as tx:
            new_id = tx.scalar(_INSERT_RUN, {**rows.run, "run_key": run_key})
            if new_id is None:
                return None
            run_id = int(new_id)
            if rows.results:
                tx.executemany(
                    _INSERT_RESULT, [{"run_id": run_id, **r} for r in rows.results]
                )
            if rows.settings:
                tx.executemany(
                    _INSERT_SETTING, [{"run_id": run_id, **s} for s in rows.settings]
                )
            if rows.sources:
                tx.executemany(
                    _INSERT_SOURCE, [{"run_id": run_id, **s} for s in rows.sources]
                )
            if keep is not None:
                prune(tx, target=rows.run["target"], keep=keep, spare=run_id)
        return run_id

    def run_id_of(self, run_key: str) -> int:
        """The id of the run stored under ``run_key``.

        Raises:
            StoreError: no run has that key (pruned since, or never written).
        """
        with self.db.read() as tx:
            found = tx.scalar(
                "SELECT id FROM sleuth_runs WHERE run_key = :run_key",
                {"run_key": run_key},
            )
        if found is None:
            raise StoreError(f"no run with the key {run_key} in the store")
        return int(found)

    def prune(self, *, target: str, keep: Retention) -> int:
        """Drop the runs of ``target`` past ``keep``; returns how many went."""
        with self.db.write() as tx:
            return prune(tx, target=target, keep=keep, spare=None)

    # -- reading --------------------------------------------------------------

    def runs(self, *, target: str | None = None, limit: int = 20) -> list[RunRow]:
        """The latest runs, newest first, with their outcome counts."""
        where, params = _by_target(target, column="target")
        sql = (
            f"SELECT {_RUN_COLUMNS} FROM sleuth_runs{_where(where)} "
            "ORDER BY id DESC LIMIT :limit"
        )
        with self.db.read() as tx:
            found = tx.rows(sql, {**params, "limit": limit})
            counts = _counts(tx, [row["id"] for row in found])
        return [run_row(row, counts.get(row["id"], {})) for row in found]

    def run(self, run_id: int) -> RunRow | None:
        with self.db.read() as tx:
            found = tx.rows(
                f"SELECT {_RUN_COLUMNS} FROM sleuth_runs WHERE id = :id", {"id": run_id}
            )
            counts = _counts(tx, [run_id])
        return run_row(found[0], counts.get(run_id, {})) if found else None

    def count_runs(
        self, *, target: str, agent: str | None = None, before: int | None = None
    ) -> int:
        """How many runs of ``target`` (from ``agent``: None, every agent's)."""
        where, params = _by_target(target, column="target")
        if agent is not None:
            where.append("agent = :agent")
            params["agent"] = agent
        if before is not None:
            where.append("id < :before")
            params["before"] = before
        sql = f"SELECT count(*) FROM sleuth_runs{_where(where)}"
        with self.db.read() as tx:
            return int(tx.scalar(sql, params))

    def latest_run_id(
        self, *, target: str | None = None, before: int | None = None
    ) -> int | None:
        return self._last_id(target=target, before=before, green=False)

    def last_green_run_id(
        self,
        *,
        target: str | None = None,
        before: int | None = None,
        agent: str | None = None,
    ) -> int | None:
        """The latest run in which everything passed (exit status 0), of
        ``agent``'s runs if named, whatever probes it ran."""
        return self._last_id(target=target, before=before, green=True, agent=agent)

    def other_agents_passed(self, *, target: str, agent: str) -> bool:
        """Whether another agent than ``agent`` has a run of ``target`` in
        which everything passed."""
        sql = (
            "SELECT 1 FROM sleuth_runs WHERE target = :target AND agent <> :agent "
            "AND exit_status = 0 LIMIT 1"
        )
        with self.db.read() as tx:
            return tx.scalar(sql, {"target": target, "agent": agent}) is not None

    def baseline_run_id(self, run_id: int, *, target: str, agent: str) -> int | None:
        """The last green run of ``target`` from ``agent`` before ``run_id``
        that ran every probe of ``run_id`` the suite had then: what a run is
        compared with.

        A green run of a subset (``-k settings``) says nothing about the
        probes it did not run, so it is never the baseline of a wider run;
        nor is another agent's run (see ``_BASELINE``).
        """
        params = {"run_id": run_id, "target": target, "agent": agent, **_NARROWED}
        with self.db.read() as tx:
            found = tx.scalar(_BASELINE, params)
        return int(found) if found is not None else None

    def count_probe_runs(
        self,
        probe_id: str,
        *,
        target: str,
        agent: str | None = None,
        before: int | None = None,
    ) -> int:
        """How many kept runs of ``target`` (from ``agent``) ran ``probe_id``."""
        where, params = _by_target(target, column="u.target")
        where.append("r.probe_id = :probe_id")
        params["probe_id"] = probe_id
        if agent is not None:
            where.append("u.agent = :agent")
            params["agent"] = agent
        if before is not None:
            where.append("r.run_id < :before")
            params["before"] = before
        sql = (
            "SELECT count(*) FROM sleuth_results r JOIN sleuth_runs u "
            f"ON u.id = r.run_id{_where(where)}"
        )
        with self.db.read() as tx:
            return int(tx.scalar(sql, params))

    def probes_run_before(self, run_id: int, *, target: str) -> frozenset[str]:
        """The probes of ``target``'s runs before ``run_id``."""
        with self.db.read() as tx:
            found = tx.rows(
                "SELECT DISTINCT r.probe_id AS name FROM sleuth_results r "
                "JOIN sleuth_runs u ON u.id = r.run_id "
                "WHERE u.target = :target AND r.run_id < :run_id",
                {"target": target, "run_id": run_id},
            )
        return frozenset(row["name"] for row in found)

    def _last_id(
        self,
        *,
        target: str | None,
        before: int | None,
        green: bool,
        agent: str | None = None,
    ) -> int | None:
        where, params = _by_target(target, column="target")
        if agent is not None:
            where.append("agent = :agent")
            params["agent"] = agent
        if before is not None:
            where.append("id < :before")
            params["before"] = before
        if green:
            where.append("exit_status = 0")
        sql = f"SELECT max(id) FROM sleuth_runs{_where(where)}"
        with self.db.read() as tx:
            found = tx.scalar(sql, params)
        return int(found) if found is not None else None

    def snapshot(self, run_id: int) -> RunSnapshot | None:
        """A run with its results and settings."""
        run = self.run(run_id)
        if run is None:
            return None
        with self.db.read() as tx:
            result_rows = tx.rows(
                "SELECT run_id, probe_id, outcome, category, duration_s, message "
                "FROM sleuth_results WHERE run_id = :id",
                {"id": run_id},
            )
            setting_rows = tx.rows(
                "SELECT run_id, name, source, state, fingerprint "
                "FROM sleuth_settings WHERE run_id = :id",
                {"id": run_id},
            )
        return RunSnapshot(
            run=run,
            results={r["probe_id"]: ResultRow(**r) for r in result_rows},
            settings={s["name"]: SettingRow(**s) for s in setting_rows},
        )

    def evidence(self, run_id: int, probe_id: str) -> Any:
        """What a probe recorded in one run, as stored (JSON, scrubbed)."""
        with self.db.read() as tx:
            text = tx.scalar(
                "SELECT evidence FROM sleuth_results "
                "WHERE run_id = :run_id AND probe_id = :probe_id",
                {"run_id": run_id, "probe_id": probe_id},
            )
        return json.loads(text) if text else None

    def probe_points(
        self,
        probe_id: str,
        *,
        target: str | None = None,
        agent: str | None = None,
        limit: int = 20,
    ) -> list[ProbePoint]:
        """A probe's results (of one agent's runs, or all), newest first."""
        where, params = _by_target(target, column="u.target")
        where.insert(0, "r.probe_id = :probe_id")
        if agent is not None:
            where.append("u.agent = :agent")
            params["agent"] = agent
        sql = f"{_PROBE_POINT}{_where(where)} ORDER BY r.run_id DESC LIMIT :limit"
        with self.db.read() as tx:
            found = tx.rows(sql, {**params, "probe_id": probe_id, "limit": limit})
        return [probe_point(row) for row in found]

    def probe_point(
        self,
        probe_id: str,
        *,
        target: str,
        outcomes: Iterable[str] | None = None,
        after: int | None = None,
        newest: bool = True,
        agent: str | None = None,
    ) -> ProbePoint | None:
        """The newest (or oldest) result of a probe with one of ``outcomes`` (any).

        One indexed read, so a failure's history line costs little even in a
        store of thousands of runs.
        """
        where = ["r.probe_id = :probe_id", "u.target = :target"]
        params: dict[str, Any] = {"probe_id": probe_id, "target": target}
        if outcomes is not None:
            names = {f"o{i}": o for i, o in enumerate(sorted(outcomes))}
            where.append(f"r.outcome IN ({', '.join(':' + n for n in names)})")
            params.update(names)
        if after is not None:
            where.append("r.run_id > :after")
            params["after"] = after
        if agent is not None:
            where.append("u.agent = :agent")
            params["agent"] = agent
        order = "DESC" if newest else "ASC"
        sql = f"{_PROBE_POINT}{_where(where)} ORDER BY r.run_id {order} LIMIT 1"
        with self.db.read() as tx:
            found = tx.rows(sql, params)
        return probe_point(found[0]) if found else None

    def targets(self) -> list[str]:
        """Every target with a run kept (read off the ``(target, id)`` index)."""
        with self.db.read() as tx:
            found = tx.rows("SELECT DISTINCT target FROM sleuth_runs ORDER BY target")
        return [row["target"] for row in found]

    def agent_runs(self, *, target: str, window: int = 1000) -> dict[str, int]:
        """Each agent's latest run of ``target``, among the target's last
        ``window`` runs (an agent silent for longer is no longer shown)."""
        sql = (
            "SELECT agent, max(id) AS id FROM sleuth_runs WHERE target = :target "
            f"AND id >= coalesce(({_NTH_RUN}), 0) GROUP BY agent ORDER BY agent"
        )
        with self.db.read() as tx:
            found = tx.rows(sql, {"target": target, "window": window - 1})
        return {row["agent"]: int(row["id"]) for row in found}

    def results(self, run_ids: Sequence[int]) -> list[dict[str, Any]]:
        """The stored results of these runs, each with its evidence (JSON text,
        scrubbed) and the run's agent and start."""
        if not run_ids:
            return []
        names = {f"r{i}": run_id for i, run_id in enumerate(run_ids)}
        sql = (
            "SELECT r.run_id, u.agent, u.started_at, r.probe_id, r.outcome, "
            "r.category, r.duration_s, r.message, r.evidence FROM sleuth_results r "
            "JOIN sleuth_runs u ON u.id = r.run_id "
            f"WHERE r.run_id IN ({', '.join(':' + n for n in names)}) "
            "ORDER BY r.run_id, r.probe_id"
        )
        with self.db.read() as tx:
            return tx.rows(sql, names)

    def setting_points(
        self, name: str, *, target: str | None = None, limit: int = 20
    ) -> list[SettingPoint]:
        """Where a setting was found, run by run, newest first."""
        where, params = _by_target(target, column="u.target")
        where.insert(0, "s.name = :name")
        sql = f"{_SETTING_POINT}{_where(where)} ORDER BY s.run_id DESC LIMIT :limit"
        with self.db.read() as tx:
            found = tx.rows(sql, {**params, "name": name, "limit": limit})
        return [setting_point(row) for row in found]

    def source_points(
        self, name: str, *, target: str | None = None, since: int = 0
    ) -> list[SourcePoint]:
        """What each source held for a setting in the runs from ``since`` on,
        oldest first, each run's sources in the order it asked them."""
        where, params = _by_target(target, column="u.target")
        where[:0] = ["p.name = :name", "p.run_id >= :since"]
        sql = f"{_SOURCE_POINT}{_where(where)} ORDER BY p.run_id, p.position"
        with self.db.read() as tx:
            found = tx.rows(sql, {**params, "name": name, "since": since})
        return [source_point(row) for row in found]

    def names(self, *, target: str | None = None) -> tuple[list[str], list[str]]:
        """Every probe id and setting name in the store (for ``history NAME``)."""
        where, params = _by_target(target, column="u.target")
        with self.db.read() as tx:
            probes = tx.rows(
                "SELECT DISTINCT r.probe_id AS name FROM sleuth_results r "
                f"JOIN sleuth_runs u ON u.id = r.run_id{_where(where)}",
                params,
            )
            settings = tx.rows(
                "SELECT DISTINCT s.name AS name FROM sleuth_settings s "
                f"JOIN sleuth_runs u ON u.id = s.run_id{_where(where)}",
                params,
            )
        return sorted(r["name"] for r in probes), sorted(s["name"] for s in settings)


def new_run_key() -> str:
    """A run's unique key: a random UUID, made once per run."""
    return str(uuid.uuid4())


def _sqlite_version(tx: Tx) -> int:
    exists = tx.scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
        "AND name = 'sleuth_meta'"
    )
    if not exists:
        return 0
    value = tx.scalar("SELECT value FROM sleuth_meta WHERE key = 'schema_version'")
    return int(value) if value is not None else 0


def _by_target(target: str | None, *, column: str) -> tuple[list[str], dict[str, Any]]:
    """The condition on ``column`` for one target (none for every target), to
    extend with more conditions, and its parameters."""
    if target is None:
        return [], {}
    return [f"{column} = :target"], {"target": target}


def _where(conditions: Sequence[str]) -> str:
    """`` WHERE a AND b`` for constant ``conditions``; "" when there are none."""
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _counts(tx: Tx, run_ids: list[int]) -> dict[int, dict[str, int]]:
    if not run_ids:
        return {}
    found = tx.rows(
        "SELECT run_id, outcome, count(*) AS n FROM sleuth_results "
        "WHERE run_id >= :low AND run_id <= :high GROUP BY run_id, outcome",
        {"low": min(run_ids), "high": max(run_ids)},
    )
    wanted = set(run_ids)
    counts: dict[int, dict[str, int]] = {}
    for row in found:
        if row["run_id"] in wanted:
            counts.setdefault(row["run_id"], {})[row["outcome"]] = int(row["n"])
    return counts
