"""target.mysql's read-only guard, tried the way an attacker would (MariaDB).

Each sneaky form goes through ``target.mysql(...).query()`` to the local
server; what counts is what changed THERE, seen from a separate connection:
the victim table's rows, its sequence, a bystander session, files the server
would write. Then the guard is switched off to see which forms the session
alone (no multi-statements, a read-only transaction never committed) still
stops, and which only a user without grants stops.
"""

# ruff: noqa: S108, S608  (the server's own /tmp files, scratch table names)
from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.target import Target
from tests.conftest import require_service
from tests.integration.conftest import MakeTarget, docs_role_example
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

URL = "mysql://root@127.0.0.1:3306/test"
FORMS = [
    form(
        "SELECT 1; COMMIT; SET SESSION TRANSACTION READ WRITE; START TRANSACTION; "
        "DELETE FROM {v}; COMMIT",
        "issue-15",
    ),
    form("SELECT 1; ROLLBACK; DELETE FROM {v}", "rollback-then-delete"),
    form(
        "SET SESSION TRANSACTION READ WRITE; DELETE FROM {v}",
        "set-session-read-write",
    ),
    form(
        "START TRANSACTION READ WRITE; DELETE FROM {v}; COMMIT",
        "start-transaction-read-write",
    ),
    form("/*! DELETE FROM {v} */", "executable-comment"),
    form("SELECT 1 /*!; DELETE FROM {v} */", "executable-comment-semicolon"),
    form("SELECT 1 /*M!100000 ; DELETE FROM {v} */", "mariadb-executable-comment"),
    form("SELECT 1 /*!50000 , {v}_add() */", "versioned-comment-calls-writer"),
    form("LOAD DATA INFILE '/etc/hostname' INTO TABLE {v}", "load-data"),
    form("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE {v}", "load-data-local"),
    form("HANDLER {v} OPEN", "handler"),
    form("CALL {v}_purge()", "call-procedure"),
    form("DO {v}_add()", "do-writer"),
    form("SELECT {v}_add()", "function-that-writes"),
    form("SELECT 1 # a note\n; DELETE FROM {v}", "hash-comment-then-delete"),
    form("SELECT 1 --1; DELETE FROM {v}", "dash-dash-without-space"),
    form("SELECT '\\'; DELETE FROM {v}; -- '", "backslash-quote"),
    form("SELECT NEXTVAL({v}_seq)", "nextval"),
    form("SELECT NEXT VALUE FOR {v}_seq", "next-value-for"),
    form("SELECT SETVAL({v}_seq, 100)", "setval"),
    form("SELECT * FROM {v} FOR UPDATE", "for-update"),
    form("SELECT * FROM {v} LOCK IN SHARE MODE", "lock-in-share-mode"),
    form("SELECT /*+ MAX_EXECUTION_TIME(100000) */ * FROM {v}", "optimizer-hint"),
    form("SELECT GET_LOCK('{v}', 0)", "get-lock"),
    form("select\t1\x0b;\x0cdelete\r\nfrom {v}", "odd-whitespace"),
    form("/**/DELETE FROM {v}", "comment-before-delete"),
    form("ANALYZE DELETE FROM {v}", "analyze-delete"),
    form("REPLACE INTO {v} VALUES (4)", "replace-into"),
    form("SELECT count(*) INTO @n FROM {v}", "into-variable"),
    form("TRUNCATE {v}", "truncate"),
    form("PREPARE p FROM 'DELETE FROM {v}'; EXECUTE p", "prepare-execute"),
    form("SELECT * INTO OUTFILE '/tmp/{v}.out' FROM {v}", "into-outfile", ROLE),
    form(
        "SELECT id INTO DUMPFILE '/tmp/{v}.dump' FROM {v} LIMIT 1",
        "into-dumpfile",
        ROLE,
    ),
    form("KILL {tid}", "kill", ROLE),
    form("SET GLOBAL read_only = ON", "set-global", None),
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class World:
    """The victim's objects and a bystander session, made for one test."""

    name: str
    bystander_id: int
    user: str


@pytest.fixture(autouse=True)
def _mariadb() -> None:
    require_service("MariaDB", "127.0.0.1", 3306)


def admin() -> Any:
    """A direct connection for set-up and inspection, not through sleuth."""
    import pymysql  # type: ignore[import-untyped]

    return pymysql.connect(
        host="127.0.0.1", user="root", database="test", autocommit=True
    )


def run(*statements: str) -> list[Any]:
    with contextlib.closing(admin()) as conn, conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        return list(cursor.fetchall())


@pytest.fixture
def world() -> Iterator[World]:
    v = f"sleuth_victim_{uuid.uuid4().hex[:10]}"
    user = f"{v}_r"
    run(
        f"CREATE TABLE {v} (id int)",
        f"INSERT INTO {v} VALUES (1), (2), (3)",
        f"CREATE SEQUENCE {v}_seq NOCACHE",
        f"CREATE FUNCTION {v}_add() RETURNS INT MODIFIES SQL DATA "
        f"BEGIN INSERT INTO {v} VALUES (9); RETURN 1; END",
        f"CREATE PROCEDURE {v}_purge() MODIFIES SQL DATA DELETE FROM {v}",
    )
    # docs/probes.md's example user, made for this test (on every table of test).
    run(
        *docs_role_example("MySQL / MariaDB")
        .replace("sleuth_probe", user)
        .replace("10.0.0.%", "127.0.0.1")
        .replace("shop.*", "test.*")
        .split(";")[:-1]
    )
    bystander = admin()
    try:
        yield World(name=v, bystander_id=bystander.thread_id(), user=user)
    finally:
        with contextlib.suppress(Exception):
            bystander.close()
        run(
            f"DROP USER IF EXISTS '{user}'@'127.0.0.1'",
            f"DROP PROCEDURE IF EXISTS {v}_purge",
            f"DROP FUNCTION IF EXISTS {v}_add",
            f"DROP SEQUENCE IF EXISTS {v}_seq",
            f"DROP TABLE IF EXISTS {v}",
        )
        for suffix in (".out", ".dump"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"/tmp/{v}{suffix}")


def seen_from_outside(world: World) -> dict[str, Any]:
    """What a form could change, read over a separate connection."""
    v = world.name
    [(rows,)] = run(f"SELECT count(*) FROM {v}")
    [(sequence,)] = run(f"SELECT next_not_cached_value FROM {v}_seq")
    [(alive,)] = run(
        f"SELECT count(*) FROM information_schema.PROCESSLIST "
        f"WHERE ID = {world.bystander_id}"
    )
    [(read_only,)] = run("SELECT @@global.read_only")
    return {
        "rows": rows,
        "sequence": sequence,
        "bystander alive": alive,
        "files": [s for s in (".out", ".dump") if os.path.exists(f"/tmp/{v}{s}")],
        "read_only": read_only,
    }


@pytest.fixture
def target(make_target: MakeTarget) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              mysql:
                main: {{url: "{URL}"}}
        """
    )


def query_as(target: Target, world: World, sql: str, url: str = URL) -> Query:
    text = sql.format(v=world.name, tid=world.bystander_id)
    return lambda: target.mysql(url=url).query(text)


@pytest.mark.parametrize(("sql", "layer"), FORMS)
def test_sneaky_form_is_refused_and_changes_nothing(target, world, sql, layer):
    check_refused(
        query_as(target, world, sql),
        lambda: seen_from_outside(world),
        shown=f"mysql {URL}",
        server_said="Cannot execute statement in a READ ONLY transaction",
    )


@pytest.mark.parametrize(("sql", "layer"), stopped_by(FORMS, SESSION))
def test_with_the_guard_off_the_session_still_changes_nothing(
    target, world, sql, layer, monkeypatch
):
    guard_off(monkeypatch)
    check_session_alone(query_as(target, world, sql), lambda: seen_from_outside(world))


@pytest.mark.parametrize(("sql", "layer"), stopped_by(FORMS, ROLE))
def test_with_the_guard_off_a_user_without_grants_changes_nothing(
    target, world, sql, layer, monkeypatch
):
    guard_off(monkeypatch)
    reader = f"mysql://{world.user}:...@127.0.0.1:3306/test"  # the docs' password
    said = check_no_grant(
        query_as(target, world, sql, reader), lambda: seen_from_outside(world)
    )
    assert "denied" in said or "not owner" in said


@pytest.mark.parametrize(("sql", "layer"), stopped_by(FORMS, ROLE))
def test_with_the_guard_off_root_gets_through(target, world, sql, layer, monkeypatch):
    """The forms only the guard and the grants stop are real: as root, with
    the guard off, each changes something despite the read-only session."""
    guard_off(monkeypatch)
    check_gets_through(query_as(target, world, sql), lambda: seen_from_outside(world))
