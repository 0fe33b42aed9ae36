"""target.postgres's read-only guard, tried the way an attacker would.

Each sneaky form goes through ``target.postgres(...).query()`` to the local
server; what counts is what changed THERE, seen from a separate connection:
the victim table's rows, its sequence, a bystander session, a table the form
would create, the database's settings. Then the guard is switched off to see
which forms the session alone (one statement per call, a read-only
transaction never committed) still stops, and which only a role without
grants stops: docs/probes.md gives the numbers.
"""

# ruff: noqa: S608  (scratch table names)
from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.target import Target
from tests.conftest import require_service
from tests.integration.conftest import MakeTarget, docs_role_example, service_url
from tests.integration.sneaky import (
    ROLE,
    SESSION,
    Query,
    check_gets_through,
    check_no_grant,
    check_refused,
    check_session_alone,
    form,
    guard_off,
    stopped_by,
)

ADMIN = service_url("postgres", "postgresql://postgres@127.0.0.1:5432/test")
DSN = "postgresql://postgres@127.0.0.1:5432/test"

# What stops a form on its own, besides the guard: "session" (the read-only
# transaction, or one statement per call), "role" (a role holding no grants
# beyond SELECT on the table), or None: never sent with the guard off.
PSQL_DELETE = "psql -h 127.0.0.1 -U postgres -d test -c ''DELETE FROM {v}''"


FORMS = [
    form("SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM {v}; COMMIT", "issue-15"),
    form("SELECT 1; ROLLBACK; DELETE FROM {v}", "rollback-then-delete"),
    form(
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM {v}",
        "set-session-characteristics",
    ),
    form(
        "SET default_transaction_read_only = off; COMMIT; DELETE FROM {v}",
        "set-default-transaction-read-only",
    ),
    form(
        "SELECT set_config('default_transaction_read_only', 'off', false); "
        "COMMIT; DELETE FROM {v}",
        "set-config-then-delete",
    ),
    form(
        "SELECT set_config('transaction_read_only', 'off', false)",
        "set-config-alone",
    ),
    form(
        "WITH d AS (DELETE FROM {v} RETURNING 1) SELECT count(*) FROM d", "writing-cte"
    ),
    form(
        "WITH d AS (/* a read */ delete\nfrom {v} RETURNING 1) SELECT 1",
        "writing-cte-commented",
    ),
    form("DO $$ BEGIN DELETE FROM {v}; END $$", "do-block"),
    form("CALL {v}_purge()", "call-procedure"),
    form("COPY {v} FROM PROGRAM 'echo 9'", "copy-from-program"),
    form(f"COPY (SELECT 1) TO PROGRAM '{PSQL_DELETE}'", "copy-to-program", ROLE),
    form("SELECT nextval('{v}_seq')", "nextval"),
    form("SELECT setval('{v}_seq', 100)", "setval"),
    form("SELECT {v}_add()", "function-that-writes"),
    form("SELECT * INTO {v}_copy FROM {v}", "select-into"),
    form("EXPLAIN ANALYZE DELETE FROM {v}", "explain-analyze-delete"),
    form("SELECT * FROM {v} FOR UPDATE", "for-update"),
    form("/**/DELETE FROM {v}", "comment-before-delete"),
    form("(DELETE FROM {v})", "bracketed-delete"),
    form("SELECT '\\'; DELETE FROM {v}; --'", "backslash-ends-no-string"),
    form("SELECT $x$;$x$; DELETE FROM {v}", "dollar-quoted-semicolon"),
    form("select\t1\f;\r\n\tdelete\ffrom {v}", "odd-whitespace"),
    form("SELECT 1\u00a0; DELETE FROM {v}", "no-break-space"),
    form("SELECT 1 {{# ; DELETE FROM {v} #}}", "sqlglot-jinja-comment"),
    form("PREPARE p AS DELETE FROM {v}; EXECUTE p", "prepare-execute"),
    form("TRUNCATE {v}", "truncate"),
    form(
        "MERGE INTO {v} USING (SELECT 1 AS id) s ON {v}.id = s.id "
        "WHEN MATCHED THEN DELETE",
        "merge",
    ),
    form(
        "ALTER DATABASE test SET default_transaction_read_only = off",
        "alter-database",
        None,
    ),
    form("SELECT pg_terminate_backend({pid})", "terminate-backend", ROLE),
    form('SELECT "pg_terminate_backend"({pid})', "terminate-quoted", ROLE),
    form(
        "SELECT pg_catalog . pg_terminate_backend /* a read */ ({pid})",
        "terminate-qualified-commented",
        ROLE,
    ),
    form('SELECT U&"pg\\005fterminate_backend"({pid})', "terminate-unicode-name", ROLE),
    form("SELECT 1 # 1, pg_terminate_backend({pid})", "terminate-behind-hash", ROLE),
    form(
        "SELECT query_to_xml('SELECT pg_terminate_backend({pid})', true, false, '')",
        "terminate-in-query-to-xml",
        ROLE,
    ),
    form("SELECT pg_advisory_lock(15)", "advisory-lock"),
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class World:
    """The victim's objects and a bystander session, made for one test."""

    name: str
    bystander_pid: int
    role: str


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


def admin() -> Any:
    """A direct connection for set-up and inspection, not through sleuth."""
    import psycopg

    return psycopg.connect(ADMIN, autocommit=True)


@pytest.fixture
def world() -> Iterator[World]:
    v = f"sleuth_victim_{uuid.uuid4().hex[:10]}"
    role = f"{v}_reader"
    with admin() as conn:
        conn.execute(f"CREATE TABLE {v} (id int)")
        conn.execute(f"INSERT INTO {v} VALUES (1), (2), (3)")
        conn.execute(f"CREATE SEQUENCE {v}_seq")
        conn.execute(
            f"CREATE FUNCTION {v}_add() RETURNS int LANGUAGE sql "
            f"AS 'INSERT INTO {v} VALUES (9) RETURNING 1'"
        )
        conn.execute(f"CREATE PROCEDURE {v}_purge() LANGUAGE sql AS 'DELETE FROM {v}'")
        with one_grant_at_a_time(conn):
            conn.execute(docs_role_sql("PostgreSQL", role=role, tables=v))
    bystander = admin()
    bystander.execute(f"SET application_name = '{v}'")
    try:
        yield World(name=v, bystander_pid=bystander.info.backend_pid, role=role)
    finally:
        bystander.close()
        with admin() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {v}, {v}_copy")
            conn.execute(f"DROP SEQUENCE IF EXISTS {v}_seq")
            conn.execute(f"DROP FUNCTION IF EXISTS {v}_add()")
            conn.execute(f"DROP PROCEDURE IF EXISTS {v}_purge()")
            with one_grant_at_a_time(conn):
                conn.execute(f"DROP OWNED BY {role}")
                conn.execute(f"DROP ROLE IF EXISTS {role}")


@contextlib.contextmanager
def one_grant_at_a_time(conn: Any) -> Iterator[None]:
    """GRANT CONNECT ON DATABASE from two test workers at once fails with "tuple
    concurrently updated" (one pg_database row): take turns."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(15015)")
        yield


def docs_role_sql(server: str, *, role: str, tables: str) -> str:
    """docs/probes.md's example role for ``server``, made for this test."""
    return (
        docs_role_example(server)
        .replace("sleuth_probe", role)
        .replace("orders, customers", tables)
        .replace("DATABASE orders", "DATABASE test")
    )


def seen_from_outside(world: World) -> dict[str, Any]:
    """What a form could change, read over a separate connection."""
    v = world.name
    with admin() as conn:
        return {
            "rows": conn.execute(f"SELECT count(*) FROM {v}").fetchone()[0],
            "sequence": conn.execute(
                f"SELECT last_value, is_called FROM {v}_seq"
            ).fetchone(),
            "bystander alive": conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                (world.bystander_pid,),
            ).fetchone()[0],
            "copy exists": conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (f"{v}_copy",)
            ).fetchone()[0],
            "database settings": conn.execute(
                "SELECT count(*) FROM pg_db_role_setting WHERE setrole = 0"
            ).fetchone()[0],
        }


@pytest.fixture
def target(make_target: MakeTarget) -> Target:
    return make_target()


def query_as(target: Target, world: World, sql: str, dsn: str = DSN) -> Query:
    text = sql.format(v=world.name, pid=world.bystander_pid)
    return lambda: target.postgres(dsn=dsn).query(text)


@pytest.mark.parametrize(("sql", "layer"), FORMS)
def test_sneaky_form_is_refused_and_changes_nothing(target, world, sql, layer):
    check_refused(
        query_as(target, world, sql),
        lambda: seen_from_outside(world),
        shown=f"postgres {DSN}",
        server_said="cannot execute ",
    )


@pytest.mark.parametrize(("sql", "layer"), stopped_by(FORMS, SESSION))
def test_with_the_guard_off_the_session_still_changes_nothing(
    target, world, sql, layer, monkeypatch
):
    guard_off(monkeypatch)
    check_session_alone(query_as(target, world, sql), lambda: seen_from_outside(world))


@pytest.mark.parametrize(("sql", "layer"), stopped_by(FORMS, ROLE))
def test_with_the_guard_off_a_role_without_grants_changes_nothing(
    target, world, sql, layer, monkeypatch
):
    guard_off(monkeypatch)
    reader = f"postgresql://{world.role}@127.0.0.1:5432/test"
    said = check_no_grant(
        query_as(target, world, sql, reader), lambda: seen_from_outside(world)
    )
    assert said.endswith("(SQLSTATE 42501)")  # insufficient privilege


@pytest.mark.parametrize(("sql", "layer"), stopped_by(FORMS, ROLE))
def test_with_the_guard_off_a_superuser_gets_through(
    target, world, sql, layer, monkeypatch
):
    """The forms only the guard and the role stop are real: as a superuser,
    with the guard off, each changes something despite the read-only session."""
    guard_off(monkeypatch)
    check_gets_through(query_as(target, world, sql), lambda: seen_from_outside(world))
