"""target.mysql against the local MariaDB, faults included."""

# ruff: noqa: S106, S608  (the test's own passwords and scratch table names)
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.engine import Engine
from sleuth.errors import (
    CheckFailed,
    ConfigError,
    ProbeTimeout,
    TargetUnreachable,
    WriteRefused,
)
from sleuth.probes.mysql import MysqlHealth
from sleuth.target import Target
from tests.conftest import require_service
from tests.integration.asyncprobe import run_async
from tests.integration.conftest import MakeTarget, in_probe
from tests.integration.sneaky import guard_off

URL = "mysql://root@127.0.0.1:3306/test"
SHOWN = "mysql://root@127.0.0.1:3306/test"


@pytest.fixture(autouse=True)
def _mariadb() -> None:
    require_service("MariaDB", "127.0.0.1", 3306)


@pytest.fixture
def target(make_target: MakeTarget) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              mysql:
                shop: {{url: "{URL}"}}
        """
    )


def admin() -> Any:
    """A direct connection for set-up and inspection, not through sleuth."""
    import pymysql  # type: ignore[import-untyped]

    return pymysql.connect(
        host="127.0.0.1", user="root", database="test", autocommit=True
    )


@pytest.fixture
def table() -> Iterator[str]:
    """A table of three rows and a function that writes to it, dropped after."""
    name = f"sleuth_probe_{uuid.uuid4().hex[:10]}"
    with contextlib.closing(admin()) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (id int)")
        cursor.execute(f"INSERT INTO {name} VALUES (1), (2), (3)")
        cursor.execute(
            f"CREATE FUNCTION {name}_add() RETURNS INT MODIFIES SQL DATA "
            f"BEGIN INSERT INTO {name} VALUES (9); RETURN 1; END"
        )
    try:
        yield name
    finally:
        with contextlib.closing(admin()) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}_add")
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def rows_in(table: str) -> int:
    with contextlib.closing(admin()) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return int(cursor.fetchone()[0])


# -- health ---------------------------------------------------------------------


def test_check_reads_version_role_and_connections(target: Target) -> None:
    with contextlib.closing(admin()) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT @@max_connections")
        max_connections = int(cursor.fetchone()[0])
    with in_probe() as ctx:
        health = target.mysql("shop").check()
    assert isinstance(health, MysqlHealth)
    assert health.target == SHOWN
    assert health.role == "primary"
    assert health.max_connections == max_connections
    assert health.connections_used >= 1
    assert health.threads_running >= 1
    assert health.replica_io_running is None
    [exchange] = ctx.exchanges
    assert exchange.request == f"mysql check {SHOWN}"
    flavour = "MariaDB" if "mariadb" in health.version.lower() else "MySQL"
    assert exchange.reason == f"{flavour} {health.version.split('-')[0]}, primary"
    assert exchange.headers["version"] == health.version
    assert exchange.headers["connections"].startswith(
        f"{health.connections_used} of {max_connections} ("
    )
    assert exchange.remote == "127.0.0.1:3306"


def test_address_from_options_over_a_setting(
    make_target: MakeTarget, monkeypatch
) -> None:
    monkeypatch.setenv("SHOP_DB_URL", "mysql://root@127.0.0.1:1/test")
    target = make_target("targets:\n  local: {}\n")
    with in_probe():
        health = target.mysql(url="${setting:SHOP_DB_URL}", port=3306).check()
    assert health.target == SHOWN


def test_connections_held_past_a_count_fail_with_figures(target: Target) -> None:
    with contextlib.ExitStack() as held:
        for _ in range(5):
            held.enter_context(contextlib.closing(admin()))
        with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
            target.mysql("shop").check(max_connections_used=5)
    message = str(caught.value)
    assert caught.value.category == "unhealthy"
    assert message.startswith(f"mysql {SHOWN}: connections in use ")
    assert ", over max_connections_used 5. Look for a connection leak" in message
    used = int(message.split("connections in use ")[1].split()[0])
    assert used >= 6
    assert ctx.exchanges[-1].headers["connections"].startswith(f"{used} of ")


def test_role_other_than_expected_fails(target: Target) -> None:
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.mysql("shop").check(role="replica")
    assert str(caught.value) == (
        f"mysql {SHOWN}: the server is a primary, expected a replica (role). Check "
        f"the address points at the intended server: a failover swaps roles."
    )


def test_lag_threshold_passes_on_a_primary(target: Target) -> None:
    with in_probe():
        health = target.mysql("shop").check(
            max_replication_lag="5s", max_connections_used="100%"
        )
    assert health.replication_lag_s is None


def test_async_check(target: Target, engine: Engine) -> None:
    health = run_async(engine, lambda: target.mysql("shop").acheck(role="primary"))
    assert health.role == "primary"


# -- queries --------------------------------------------------------------------


def test_query_and_scalar(target: Target, table: str, engine: Engine) -> None:
    probe = target.mysql("shop")
    with in_probe() as ctx:
        rows = probe.query(f"SELECT id FROM {table} WHERE id > %s ORDER BY id", (1,))
        count = probe.scalar(f"SELECT count(*) FROM {table}")
    assert rows == [{"id": 2}, {"id": 3}]
    assert count == 3
    assert [e.reason for e in ctx.exchanges] == ["2 rows", "1 row"]
    assert run_async(engine, lambda: probe.ascalar(f"SELECT max(id) FROM {table}")) == 3


def test_session_is_read_only(target: Target) -> None:
    with in_probe():
        read_only = target.mysql("shop").scalar("SELECT @@session.tx_read_only")
    assert read_only == 1


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "WITH big AS (SELECT id FROM {t} WHERE id > %s) SELECT count(*) FROM big",
            id="with",
        ),
        pytest.param("SELECT count(*) FROM {t} WHERE id > %s", id="params-bound"),
        pytest.param(
            "/* why */ SELECT count(*) -- the rows\n FROM {t} WHERE id > %s;",
            id="comments-and-semicolon",
        ),
        pytest.param(
            "SELECT count(*) FROM {t} WHERE id > %s AND 'a;b' <> \"--\"",
            id="semicolon-in-a-string",
        ),
        pytest.param("SHOW TABLES LIKE '{t}'", id="show"),
        pytest.param("EXPLAIN SELECT * FROM {t}", id="explain"),
        pytest.param("DESCRIBE {t}", id="describe"),
        pytest.param(
            "SELECT REPLACE('a', 'b', 'c'), INSERT('abc', 1, 1, 'x')",
            id="replace-and-insert-functions",
        ),
    ],
)
def test_reads_pass_the_guard(target: Target, table: str, sql: str) -> None:
    text = sql.format(t=table)
    params = (1,) if "%s" in text else None
    with in_probe() as ctx:
        rows = target.mysql("shop").query(text, params)
    assert rows
    if "count(*)" in text:
        assert next(iter(rows[0].values())) == 2
    assert ctx.exchanges[-1].request.startswith(f"mysql query {SHOWN}: ")


def test_the_session_takes_one_statement_per_call(
    target: Target, table: str, monkeypatch
) -> None:
    """Past the guard, the server itself refuses a second statement: the session
    is opened without the multi-statement capability."""
    guard_off(monkeypatch)
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.mysql("shop").query(f"SELECT 1; DELETE FROM {table}")
    assert "(error 1064)" in str(caught.value)
    assert rows_in(table) == 3


def test_write_is_refused_and_nothing_changes(target: Target, table: str) -> None:
    probe = target.mysql("shop")
    with in_probe() as ctx:
        with pytest.raises(WriteRefused) as before:
            probe.query(f"DELETE FROM {table}")
        with pytest.raises(WriteRefused) as outfile:
            probe.query(f"SELECT * FROM {table} INTO OUTFILE '/tmp/{table}'")
        with pytest.raises(WriteRefused) as by_server:
            probe.query(f"SELECT {table}_add()")
    assert str(before.value) == (
        f"mysql {SHOWN}: a DELETE statement refused: the mysql helper only reads, "
        f"and a statement must start with one of DESC, DESCRIBE, EXPLAIN, SELECT, "
        f"SHOW, TABLE, VALUES, WITH. Nothing was sent."
    )
    assert str(outfile.value) == (
        f"mysql {SHOWN}: a statement with INTO refused: SELECT ... INTO creates a "
        f"table, or writes a file or a variable. Nothing was sent."
    )
    assert str(by_server.value) == (
        f"mysql {SHOWN}: the server refused a write: Cannot execute statement in a "
        f"READ ONLY transaction. The helper's sessions are read-only and never "
        f"commit, so nothing was changed."
    )
    assert len(ctx.exchanges) == 1  # only the function call was sent
    assert rows_in(table) == 3


def test_failing_statement_gives_the_servers_words(target: Target) -> None:
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.mysql("shop").query("SELECT * FROM sleuth_no_such_table")
    assert caught.value.category == "failed"
    assert str(caught.value) == (
        f"mysql {SHOWN}: the statement failed: Table 'test.sleuth_no_such_table' "
        f"doesn't exist (error 1146)"
    )


def test_slow_statement_stops_at_the_deadline(target: Target) -> None:
    with in_probe(timeout_s=0.5), pytest.raises(TargetUnreachable) as caught:
        target.mysql("shop").query("SELECT SLEEP(5)")
    assert caught.value.category == "timeout"
    assert str(caught.value) in (
        f"timed out after 0.5 s waiting for mysql query {SHOWN}: SELECT SLEEP(5) (timeout from test)",
        f"mysql {SHOWN}: the server stopped the statement at its time cap (the "
        f"probe's remaining time). Make the query cheaper or give the probe a "
        f"longer timeout.",
    )


# -- faults -----------------------------------------------------------------------


def test_wrong_password_is_an_auth_failure(target: Target) -> None:
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        target.mysql("shop", password="s3cret-wrong").check()
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        "mysql mysql://root:***@127.0.0.1:3306/test: authentication failed: the "
        "server said \"Access denied for user 'root'@'127.0.0.1' (using password: "
        'YES)". Check the user, the password and the host the grant is for.'
    )
    assert "s3cret" not in repr(ctx.exchanges)


def test_closed_port_is_refused(target: Target, closed_port: int) -> None:
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        target.mysql(url=f"mysql://root:s3cret@127.0.0.1:{closed_port}/test").check()
    shown = f"mysql://root:***@127.0.0.1:{closed_port}/test"
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"mysql {shown}: connection refused by 127.0.0.1:{closed_port}. Is the "
        f"service running and listening there?"
    )
    assert ctx.exchanges[-1].request == f"mysql connect {shown}"


def test_silent_port_times_out_at_the_probe_deadline(
    target: Target, silent_port: int
) -> None:
    with in_probe(timeout_s=0.5) as ctx, pytest.raises(ProbeTimeout) as caught:
        target.mysql(host="127.0.0.1", port=silent_port, user="root").check()
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for mysql connect "
        f"mysql://root@127.0.0.1:{silent_port}/ (timeout from test)"
    )
    assert ctx.exchanges[-1].error == "no answer within 0.5 s"


def test_name_that_does_not_resolve(target: Target) -> None:
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        target.mysql(url="mysql://app@-shop-db.invalid/shop").check()
    assert caught.value.category == "dns"
    assert str(caught.value).startswith(
        "mysql mysql://app@-shop-db.invalid:3306/shop: the name -shop-db.invalid does "
        "not resolve"
    )


def test_unknown_database(target: Target) -> None:
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        target.mysql("shop", database="sleuth_no_such_db").check()
    assert str(caught.value) == (
        "mysql mysql://root@127.0.0.1:3306/sleuth_no_such_db: Unknown database "
        "'sleuth_no_such_db'. Check the database name."
    )


def test_bad_url_is_a_config_error(target: Target) -> None:
    with in_probe(), pytest.raises(ConfigError) as caught:
        target.mysql(url="postgresql://app:s3cret@db/x").check()
    assert str(caught.value) == (
        "target.mysql(...): invalid mysql url 'postgresql://app:***@db/x': expected "
        "e.g. mysql://app@db-1:3306/shop"
    )
