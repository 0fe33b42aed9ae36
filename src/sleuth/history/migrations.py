"""Versioned schema: each step upgrades a store in place, under a lock.

A store records its version in ``sleuth_meta``. Opening a store brings it to
``SCHEMA_VERSION`` by running the missing steps in one transaction, holding a
lock so that two runs opening an old store at once upgrade it once: SQLite's
``BEGIN IMMEDIATE`` (one writer at a time), PostgreSQL's transaction-scoped
advisory lock. A new store is made by running every step from the first, so
the upgrade path is the path every store takes.

Each step is frozen once released: a store made by any release upgrades
through the same steps. The DDL goes through SQLAlchemy, which writes each
dialect's own; the queries in ``store.py`` are written against the result.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import sqlalchemy as sa

from sleuth import _timing as timing
from sleuth.history.schema import SCHEMA_VERSION

# Any constant will do; it only has to be the same for every sleuth.
_PG_LOCK_ID = 0x51E07A


class SchemaTooNew(Exception):
    """The store was written by a newer sleuth than this one."""


def _v1(conn: sa.Connection) -> None:
    """The first schema: runs, their results and settings, and the store's key."""
    md = sa.MetaData()
    sa.Table(
        "sleuth_meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    sa.Table(
        "sleuth_runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("base_url", sa.Text),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("sleuth_version", sa.String(64), nullable=False),
        sa.Column("git_revision", sa.String(64)),
        sa.Column("exit_status", sa.Integer, nullable=False),
        sa.Column("selection", sa.Text, nullable=False),
    )
    sa.Table(
        "sleuth_results",
        md,
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("sleuth_runs.id"), primary_key=True
        ),
        sa.Column("probe_id", sa.Text, primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    sa.Table(
        "sleuth_settings",
        md,
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("sleuth_runs.id"), primary_key=True
        ),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("source", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
    )
    md.create_all(conn)
    table = md.tables["sleuth_meta"]
    # The fingerprint key: made once, here, and kept with the store, so every
    # agent writing to it fingerprints a value the same way.
    conn.execute(
        table.insert(),
        [
            {"key": "hmac_key", "value": secrets.token_hex(32)},
            {"key": "created_at", "value": timing.utcnow().isoformat()},
            {"key": "schema_version", "value": "1"},
        ],
    )


def _v2(conn: sa.Connection) -> None:
    """The failure category per result, and indexes for timelines."""
    conn.execute(
        sa.text(
            "ALTER TABLE sleuth_results "
            "ADD COLUMN category VARCHAR(32) DEFAULT '' NOT NULL"
        )
    )
    conn.execute(
        sa.text(
            "CREATE INDEX ix_sleuth_results_probe ON sleuth_results (probe_id, run_id)"
        )
    )
    conn.execute(
        sa.text(
            "CREATE INDEX ix_sleuth_settings_name ON sleuth_settings (name, run_id)"
        )
    )
    conn.execute(
        sa.text("CREATE INDEX ix_sleuth_runs_target ON sleuth_runs (target, id)")
    )


def _v3(conn: sa.Connection) -> None:
    """Each source's answer per setting and run, not only the one that won.

    A run before this step kept only the source that won: it is copied here as
    that run's one known source, so its value's changes still show per source.
    The other sources of those runs are unknown, not absent.
    """
    md = sa.MetaData()
    sa.Table("sleuth_runs", md, sa.Column("id", sa.Integer, primary_key=True))
    table = sa.Table(
        "sleuth_setting_sources",
        md,
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("sleuth_runs.id"), primary_key=True
        ),
        sa.Column("name", sa.String(255), primary_key=True),
        # The order the sources were asked in (a copied row: 0).
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
        sa.Index("ix_sleuth_setting_sources_name", "name", "run_id"),
    )
    table.create(conn)
    conn.execute(
        sa.text(
            "INSERT INTO sleuth_setting_sources "
            "(run_id, name, position, source, state, fingerprint) "
            "SELECT run_id, name, 0, source, state, fingerprint "
            "FROM sleuth_settings WHERE source IS NOT NULL"
        )
    )


def _v4(conn: sa.Connection) -> None:
    """A unique key per run, so a run written twice is stored once.

    An agent that could not reach a shared store keeps its runs in a local
    buffer and writes them when the store is back (``buffer.py``); a write
    whose commit was made but never acknowledged is buffered too. The key
    (a UUID made by the run) lets the second write of the same run do
    nothing. Runs stored before this step have none: a unique index takes
    any number of NULLs on SQLite and PostgreSQL alike.
    """
    conn.execute(sa.text("ALTER TABLE sleuth_runs ADD COLUMN run_key VARCHAR(36)"))
    conn.execute(
        sa.text("CREATE UNIQUE INDEX ux_sleuth_runs_run_key ON sleuth_runs (run_key)")
    )


def _v5(conn: sa.Connection) -> None:
    """What `sleuth watch` last announced per probe and agent (watch/alerts.py).

    Kept in the store, so a restarted watch (or another process on the same
    store) never sends an alert again for a change already announced.
    """
    md = sa.MetaData()
    sa.Table(
        "sleuth_alerts",
        md,
        sa.Column("target", sa.String(200), primary_key=True),
        sa.Column("agent", sa.String(200), primary_key=True),
        sa.Column("probe_id", sa.Text, primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),  # failing, passing
        sa.Column("run_id", sa.Integer, nullable=False),  # the run that changed it
        # When the failing streak began (or the recovery was seen), and the
        # failure's category: a recovery names the alert it ends by them.
        sa.Column("since", sa.DateTime, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
    ).create(conn)


def _v6(conn: sa.Connection) -> None:
    """Alerts recorded as announced whose delivery has not finished yet.

    A watch killed or stopped before its receivers answered leaves them here;
    the next watch of the same target and agent sends them (watch/outbox.py).
    """
    md = sa.MetaData()
    sa.Table(
        "sleuth_alert_outbox",
        md,
        sa.Column("key", sa.String(36), primary_key=True),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        # A keyed digest of the receiver's kind and URL, never the URL.
        sa.Column("receiver", sa.String(64), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),  # as built: scrubbed
        sa.Column("created_at", sa.DateTime, nullable=False),
    ).create(conn)


# version -> the step that makes it from the one before
STEPS: dict[int, Callable[[sa.Connection], None]] = {
    1: _v1,
    2: _v2,
    3: _v3,
    4: _v4,
    5: _v5,
    6: _v6,
}


def read_version(conn: sa.Connection) -> int:
    """The store's schema version; 0 for an empty database."""
    if conn.dialect.name == "postgresql":
        # One round trip, where the inspector takes several. Not to_regclass():
        # after waiting for the lock it can miss a table another run just made.
        exists = conn.execute(
            sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'sleuth_meta' "
                "AND n.nspname = ANY (current_schemas(false)))"
            )
        ).scalar()
    else:
        exists = sa.inspect(conn).has_table("sleuth_meta")
    if not exists:
        return 0
    value = conn.execute(
        sa.text("SELECT value FROM sleuth_meta WHERE key = 'schema_version'")
    ).scalar()
    return int(value) if value is not None else 0


def upgrade(engine: sa.Engine, *, to: int = SCHEMA_VERSION) -> int:
    """Bring the store to version ``to``; returns the version found before.

    Raises:
        SchemaTooNew: the store's version is above what this sleuth knows.
    """
    with engine.connect() as conn:
        found = read_version(conn)
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store has schema version {found}, newer than this sleuth "
            f"understands ({SCHEMA_VERSION}): upgrade sleuth, or use another store"
        )
    if found >= to:
        return found
    with (
        engine.connect().execution_options(sleuth_write=True) as conn,
        conn.begin(),
    ):
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})"))
        current = read_version(conn)  # another run may have upgraded meanwhile
        for version in range(current + 1, to + 1):
            STEPS[version](conn)
            conn.execute(
                sa.text(
                    "UPDATE sleuth_meta SET value = :v WHERE key = 'schema_version'"
                ),
                {"v": str(version)},
            )
    return found
