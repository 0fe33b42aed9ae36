"""target.postgres against the local PostgreSQL, faults included.

The local server trusts every loopback connection, so the DSN's password is
never checked there; it is in the DSN to prove that it never shows.
"""

# ruff: noqa: S105, S608  (the test's own passwords and scratch table names)
from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.engine import Engine
from sleuth.engine.context import ProbeContext
from sleuth.errors import (
    CheckFailed,
    ConfigError,
    ProbeTimeout,
    TargetUnreachable,
    WriteRefused,
)
from sleuth.probes.postgres import PostgresHealth
from sleuth.target import Target
from tests.conftest import outcomes, require_service
from tests.integration.asyncprobe import run_async
from tests.integration.conftest import MakeTarget, in_probe, service_url
from tests.integration.sneaky import guard_off

ADMIN = service_url("postgres", "postgresql://postgres@127.0.0.1:5432/test")
DSN = "postgresql://postgres:s3cret@127.0.0.1:5432/test"
SHOWN = "postgresql://postgres:***@127.0.0.1:5432/test"
SECRET = "s3cret"


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


@pytest.fixture
def target(make_target: MakeTarget) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              postgres:
                orders: {{dsn: "{DSN}"}}
        """
    )


def admin() -> Any:
    """A direct connection for set-up and inspection, not through sleuth."""
    import psycopg

    return psycopg.connect(ADMIN, autocommit=True)


@pytest.fixture
def table() -> Iterator[str]:
    """A table of three rows, made for this test and dropped after."""
    name = f"sleuth_probe_{uuid.uuid4().hex[:10]}"
    with admin() as conn:
        conn.execute(f"CREATE TABLE {name} (id int)")
        conn.execute(f"CREATE SEQUENCE {name}_id_seq")
        conn.execute(f"INSERT INTO {name} VALUES (1), (2), (3)")
    try:
        yield name
    finally:
        with admin() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute(f"DROP SEQUENCE IF EXISTS {name}_id_seq")


def rows_in(table: str) -> int:
    with admin() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def assert_no_secret(ctx: ProbeContext, *texts: str) -> None:
    for exchange in ctx.exchanges:
        assert SECRET not in repr(exchange)
    for text in texts:
        assert SECRET not in text


# -- health ---------------------------------------------------------------------


def test_check_reads_version_role_and_connections(target: Target) -> None:
    with admin() as conn:
        max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
    with in_probe() as ctx:
        health = target.postgres("orders").check()
    assert isinstance(health, PostgresHealth)
    assert health.target == SHOWN
    assert health.version[0].isdigit()
    assert health.role == "primary"
    assert health.replication_lag_s is None
    assert health.max_connections == max_connections
    assert 1 <= health.connections_used <= max_connections
    [exchange] = ctx.exchanges
    assert exchange.kind == "postgres"
    assert exchange.request == f"postgres check {SHOWN}"
    assert exchange.reason == f"PostgreSQL {health.version.split()[0]}, primary"
    assert exchange.headers["role"] == "primary"
    assert exchange.headers["connections"].endswith(
        f"of {max_connections} ("
        + (f"{health.connections_used / max_connections:.0%})")
    )
    assert exchange.remote == "127.0.0.1:5432"
    assert set(exchange.timings_ms) == {"connect", "queries", "total"}
    assert_no_secret(ctx)


def test_dsn_from_a_setting(make_target: MakeTarget, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", DSN)
    target = make_target("targets:\n  local: {}\n")
    with in_probe() as ctx:
        health = target.postgres(dsn="${setting:DATABASE_URL}").check(role="primary")
    assert health.target == SHOWN
    assert_no_secret(ctx)


def test_missing_setting_names_the_sources(make_target: MakeTarget) -> None:
    target = make_target("targets:\n  local: {}\n")
    with pytest.raises(ConfigError) as caught:
        target.postgres(dsn="${setting:SLEUTH_NO_SUCH_DSN}")
    assert "${setting:SLEUTH_NO_SUCH_DSN} has no value" in str(caught.value)


def test_connections_held_past_a_count_fail_with_figures(target: Target) -> None:
    with contextlib.ExitStack() as held:
        for _ in range(5):
            held.enter_context(admin())
        with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
            target.postgres("orders").check(max_connections_used=5)
    message = str(caught.value)
    assert caught.value.category == "unhealthy"
    assert message.startswith(f"postgres {SHOWN}: connections in use ")
    assert ", over max_connections_used 5. Look for a connection leak" in message
    used = int(message.split("connections in use ")[1].split()[0])
    assert used >= 6  # the five held, and the probe's own
    assert ctx.exchanges[-1].headers["connections"].startswith(f"{used} of ")
    assert_no_secret(ctx, message)


def test_connections_as_a_share_of_max_connections(target: Target) -> None:
    with admin() as conn:
        max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
    share = f"{500 / max_connections:g}%"  # five connections' worth
    with contextlib.ExitStack() as held:
        for _ in range(5):
            held.enter_context(admin())
        with in_probe(), pytest.raises(CheckFailed) as caught:
            target.postgres("orders").check(max_connections_used=share)
    assert f", over max_connections_used {share}." in str(caught.value)
    with in_probe():
        target.postgres("orders").check(max_connections_used="100%")


def test_role_other_than_expected_fails(target: Target) -> None:
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.postgres("orders").check(role="replica")
    assert str(caught.value) == (
        f"postgres {SHOWN}: the server is a primary, expected a replica (role). "
        f"Check the DSN points at the intended server: a failover swaps roles."
    )


def test_old_transaction_fails_max_transaction_age(target: Target, table: str) -> None:
    with admin() as holder, admin() as watcher:
        holder.autocommit = False
        holder.execute(f"SELECT count(*) FROM {table}")  # opens the transaction
        pid = holder.info.backend_pid
        for _ in range(10_000):  # bounded: until it is at least 20 ms old
            old = watcher.execute(
                "SELECT now() - xact_start > interval '20 ms' "
                "FROM pg_stat_activity WHERE pid = %s",
                (pid,),
            ).fetchone()[0]
            if old:
                break
        assert old
        with in_probe(), pytest.raises(CheckFailed) as caught:
            target.postgres("orders").check(max_transaction_age="10ms")
        holder.rollback()
    assert "oldest open transaction " in str(caught.value)
    assert ", over max_transaction_age 0.01 s." in str(caught.value).replace(
        "10.0 ms", "0.01 s"
    )


def test_session_waiting_on_a_lock_fails_max_lock_waits(
    target: Target, table: str
) -> None:
    import psycopg

    with admin() as holder, admin() as watcher:
        holder.autocommit = False
        holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

        def wait_for_the_lock() -> None:
            options = "-c lock_timeout=10s"
            with psycopg.connect(ADMIN, autocommit=True, options=options) as conn:
                conn.execute(f"SELECT count(*) FROM {table}")

        waiter = threading.Thread(target=wait_for_the_lock, daemon=True)
        waiter.start()
        try:
            for _ in range(10_000):  # bounded: until the waiter waits on the lock
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE %s",
                    (f"%{table}%",),
                ).fetchone()[0]
                if waiting:
                    break
            assert waiting
            with in_probe(), pytest.raises(CheckFailed) as caught:
                target.postgres("orders").check(max_lock_waits=0)
        finally:
            holder.rollback()
            waiter.join(timeout=10)
    assert "sessions waiting on locks " in str(caught.value)
    assert ", over max_lock_waits 0. pg_blocking_pids(pid) names" in str(caught.value)


def test_async_check(target: Target, engine: Engine) -> None:
    health = run_async(engine, lambda: target.postgres("orders").acheck(role="primary"))
    assert health.role == "primary"


# -- queries --------------------------------------------------------------------


def test_query_returns_rows_as_dicts(target: Target, table: str) -> None:
    probe = target.postgres("orders")
    with in_probe() as ctx:
        rows = probe.query(f"SELECT id FROM {table} WHERE id > %s ORDER BY id", (1,))
        count = probe.scalar(f"SELECT count(*) AS n FROM {table}")
        nothing = probe.scalar(f"SELECT id FROM {table} WHERE id < 0")
    assert rows == [{"id": 2}, {"id": 3}]
    assert count == 3
    assert nothing is None
    assert [e.reason for e in ctx.exchanges] == ["2 rows", "1 row", "0 rows"]
    assert ctx.exchanges[0].request == (
        f"postgres query {SHOWN}: SELECT id FROM {table} WHERE id > %s ORDER BY id"
    )


def test_async_query(target: Target, table: str, engine: Engine) -> None:
    probe = target.postgres("orders")
    count = run_async(engine, lambda: probe.ascalar(f"SELECT count(*) FROM {table}"))
    rows = run_async(engine, lambda: probe.aquery(f"TABLE {table}"))
    assert count == 3
    assert len(rows) == 3


def test_session_is_read_only(target: Target) -> None:
    with in_probe():
        settings = target.postgres("orders").query(
            "SELECT current_setting('default_transaction_read_only') AS session, "
            "current_setting('transaction_read_only') AS tx, "
            "current_setting('statement_timeout') AS statement_timeout"
        )
    assert settings[0]["session"] == "on"
    assert settings[0]["tx"] == "on"
    assert settings[0]["statement_timeout"] != "0"


def test_write_is_refused_and_nothing_changes(target: Target, table: str) -> None:
    probe = target.postgres("orders")
    with in_probe() as ctx:
        with pytest.raises(WriteRefused) as delete:
            probe.query(f"DELETE FROM {table}")
        with pytest.raises(WriteRefused) as cte:
            probe.query(f"WITH gone AS (DELETE FROM {table} RETURNING 1) SELECT 1")
        with pytest.raises(WriteRefused) as sequence:
            probe.query(f"SELECT nextval('{table}_id_seq')")
        with pytest.raises(WriteRefused) as several:
            probe.query(f"SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM {table}")
    assert str(delete.value) == (
        f"postgres {SHOWN}: a DELETE statement refused: the postgres helper only "
        f"reads, and a statement must start with one of EXPLAIN, SELECT, SHOW, "
        f"TABLE, VALUES, WITH. Nothing was sent."
    )
    assert str(cte.value) == (
        f"postgres {SHOWN}: a statement with DELETE inside refused: a read may not "
        f"contain INSERT, UPDATE, DELETE or MERGE (a data-modifying WITH, EXPLAIN "
        f"ANALYZE of a write). Nothing was sent."
    )
    assert cte.value.method == "WITH"
    assert str(sequence.value) == (
        f"postgres {SHOWN}: a statement calling nextval refused: it acts beyond a "
        f"read (on other sessions, the server, its files, sequences or settings), "
        f"which a read-only session may not stop. Nothing was sent."
    )
    assert str(several.value) == (
        f"postgres {SHOWN}: a text of 4 statements (SELECT, COMMIT, BEGIN, DELETE) "
        f"refused: the postgres helper sends one statement per call, so that "
        f"nothing can end or widen its read-only transaction. Nothing was sent."
    )
    assert ctx.exchanges == []  # nothing reached the server
    assert rows_in(table) == 3
    with admin() as conn:
        called = conn.execute(f"SELECT is_called FROM {table}_id_seq").fetchone()[0]
    assert called is False


def test_past_the_guard_the_server_refuses_a_write(
    target: Target, table: str, monkeypatch
) -> None:
    guard_off(monkeypatch)
    with in_probe() as ctx, pytest.raises(WriteRefused) as caught:
        target.postgres("orders").query(
            f"WITH gone AS (DELETE FROM {table} RETURNING 1) SELECT 1"
        )
    assert str(caught.value) == (
        f"postgres {SHOWN}: the server refused a write: cannot execute SELECT in a "
        f"read-only transaction. The helper's sessions are read-only and never "
        f"commit, so nothing was changed."
    )
    assert caught.value.method == "WITH"
    assert ctx.exchanges[-1].error == str(caught.value)
    assert rows_in(table) == 3


def test_past_the_guard_the_server_takes_one_statement_per_call(
    target: Target, table: str, monkeypatch
) -> None:
    """The extended protocol (pipeline mode) refuses a text of several
    statements, so the issue's "SELECT 1; COMMIT; BEGIN READ WRITE; DELETE"
    cannot leave the read-only transaction even with the guard off."""
    guard_off(monkeypatch)
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.postgres("orders").query(
            f"SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM {table}; COMMIT"
        )
    assert str(caught.value) == (
        f"postgres {SHOWN}: the statement failed: cannot insert multiple commands "
        f"into a prepared statement (SQLSTATE 42601)"
    )
    assert rows_in(table) == 3


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "WITH big AS (SELECT id FROM {t} WHERE id > %s) SELECT count(*) FROM big",
            id="with",
        ),
        pytest.param("SELECT count(*) FROM {t} WHERE id > %(floor)s", id="named"),
        pytest.param(
            "/* why */ SELECT count(*) -- the rows\n FROM {t} WHERE id > %s;",
            id="comments-and-semicolon",
        ),
        pytest.param(
            "SELECT count(*) FROM {t} WHERE id > %s AND $$a;b$$ <> 'c;d'",
            id="semicolons-in-strings",
        ),
        pytest.param("SELECT count(*) FROM {t} WHERE id # 0 > %s", id="xor-operator"),
        pytest.param("SHOW default_transaction_read_only", id="show"),
        pytest.param("EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM {t}", id="explain"),
        pytest.param("VALUES (1), (2)", id="values"),
        pytest.param(
            "SELECT slot_name FROM pg_replication_slots UNION ALL SELECT 'x'",
            id="catalog-view",
        ),
    ],
)
def test_reads_pass_the_guard(target: Target, table: str, sql: str) -> None:
    text = sql.format(t=table)
    params: Any = (
        {"floor": 1} if "%(floor)s" in text else (1,) if "%s" in text else None
    )
    with in_probe() as ctx:
        rows = target.postgres("orders").query(text, params)
    assert rows
    if "count(*)" in text:
        assert next(iter(rows[0].values())) == 2
    assert ctx.exchanges[-1].request.startswith(f"postgres query {SHOWN}: ")


def test_failing_statement_gives_the_servers_words(target: Target) -> None:
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        target.postgres("orders").query("SELECT * FROM sleuth_no_such_table")
    assert caught.value.category == "failed"
    assert str(caught.value) == (
        f"postgres {SHOWN}: the statement failed: relation "
        f'"sleuth_no_such_table" does not exist (SQLSTATE 42P01)'
    )
    assert ctx.exchanges[-1].error == str(caught.value)


def test_slow_statement_times_out_at_the_deadline(target: Target) -> None:
    # 2 s: the connect is done well within it, even on a loaded machine, so
    # that the deadline falls on the statement.
    with in_probe(timeout_s=2), pytest.raises(ProbeTimeout) as caught:
        target.postgres("orders").query("SELECT pg_sleep(30)")
    assert str(caught.value) in (
        f"timed out after 2.0 s waiting for postgres query {SHOWN}: SELECT pg_sleep(30) (timeout from test)",
        f"postgres {SHOWN}: the server cancelled the statement at its "
        f"statement_timeout (the probe's remaining time). Make the query cheaper "
        f"or give the probe a longer timeout.",
    )


# -- faults -----------------------------------------------------------------------


def test_closed_port_is_refused(target: Target, closed_port: int) -> None:
    dsn = f"postgresql://postgres:s3cret@127.0.0.1:{closed_port}/test"
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        target.postgres(dsn=dsn).check()
    shown = f"postgresql://postgres:***@127.0.0.1:{closed_port}/test"
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"postgres {shown}: connection refused by 127.0.0.1:{closed_port}. Is "
        f"PostgreSQL running and listening there?"
    )
    [exchange] = ctx.exchanges
    assert exchange.request == f"postgres connect {shown}"
    assert exchange.error == str(caught.value)
    assert_no_secret(ctx)


def test_silent_port_times_out_at_the_probe_deadline(
    target: Target, silent_port: int
) -> None:
    dsn = f"postgresql://postgres@127.0.0.1:{silent_port}/test"
    with in_probe(timeout_s=0.5) as ctx, pytest.raises(ProbeTimeout) as caught:
        target.postgres(dsn=dsn).check()
    assert caught.value.category == "timeout"
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for postgres connect "
        f"postgresql://postgres@127.0.0.1:{silent_port}/test (timeout from test)"
    )
    assert ctx.exchanges[-1].error == "no answer within 0.5 s"


def test_name_that_does_not_resolve(target: Target) -> None:
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        target.postgres(dsn="postgresql://app@-orders-db.invalid:5432/orders").check()
    assert caught.value.category == "dns"
    assert str(caught.value) == (
        "postgres postgresql://app@-orders-db.invalid:5432/orders: the name "
        "-orders-db.invalid does not resolve. Check the host name and this "
        "runner's DNS."
    )


def test_unknown_user_is_an_auth_failure(target: Target) -> None:
    # The local server trusts loopback, so a wrong password cannot fail here;
    # a role it does not know fails authentication the same way.
    dsn = "postgresql://sleuth_nobody:s3cret@127.0.0.1:5432/test"
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        target.postgres(dsn=dsn).check()
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        "postgres postgresql://sleuth_nobody:***@127.0.0.1:5432/test: "
        'authentication failed: the server said \'role "sleuth_nobody" does not '
        "exist'. Check the user and password (and pg_hba.conf)."
    )
    assert_no_secret(ctx)


def test_unknown_database(target: Target) -> None:
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        target.postgres("orders", database="sleuth_no_such_db").check()
    assert str(caught.value) == (
        "postgres postgresql://postgres:***@127.0.0.1:5432/sleuth_no_such_db: "
        'database "sleuth_no_such_db" does not exist. Check the database name.'
    )


# -- in a suite -------------------------------------------------------------------


def test_suite_probe_fails_with_message_and_evidence(
    suite, http_target, pytester: pytest.Pytester
) -> None:
    suite(
        f"""
        targets:
          local:
            base_url: {http_target.url}
            timeout: 5s
            services:
              postgres:
                orders: {{dsn: "{DSN}"}}
        """,
        test_db="""
        def test_orders_db_is_a_replica(target):
            target.postgres("orders").check(role="replica")

        def test_orders_db_has_headroom(target):
            health = target.postgres("orders").check(max_connections_used="99%")
            assert health.role == "primary"
        """,
    )
    result = pytester.runpytest()
    # The local server trusts loopback: the DSN's password is never asked for.
    assert outcomes(result) == {"warned": 1, "failed": 1}
    result.stdout.fnmatch_lines(
        [
            "*Failed: postgres postgresql://postgres:***@127.0.0.1:5432/test: the "
            "server is a primary, expected a replica (role). Check the DSN points at "
            "the intended server: a failover swaps roles.",
            "*- sleuth evidence -*",
            "postgres check postgresql://postgres:***@127.0.0.1:5432/test -> "
            "PostgreSQL *, primary (* ms) from 127.0.0.1:5432",
            "  timings: connect * ms, queries * ms",
            "  version: *",
            "  role: primary",
            "  connections: * of * (*%)",
            "*what failed:*",
            "*test_db.py::test_orders_db_is_a_replica",
            "*postgres postgresql://postgres:***@127.0.0.1:5432/test: the server is a "
            "primary, expected a replica (role)*",
        ]
    )
    assert SECRET not in result.stdout.str()


def test_refused_statements_are_write_refused_failures_in_the_json_report(
    suite, http_target, pytester: pytest.Pytester, table: str
) -> None:
    with admin() as conn:
        conn.execute(
            f"CREATE FUNCTION {table}_add() RETURNS int LANGUAGE sql "
            f"AS 'INSERT INTO {table} VALUES (9) RETURNING 1'"
        )
    try:
        suite(
            f"""
            targets:
              local:
                base_url: {http_target.url}
                timeout: 5s
                services:
                  postgres:
                    orders: {{dsn: "{DSN}"}}
            """,
            test_db=f"""
            def test_issue_15(target):
                target.postgres("orders").query(
                    "SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM {table}; COMMIT"
                )

            def test_function_that_writes(target):
                target.postgres("orders").scalar("SELECT {table}_add()")

            def test_a_read(target):
                assert target.postgres("orders").scalar("SELECT count(*) FROM {table}") == 3
            """,
        )
        result = pytester.runpytest("--sleuth-json=run.json")
    finally:
        with admin() as conn:
            conn.execute(f"DROP FUNCTION {table}_add()")
    assert outcomes(result) == {"warned": 1, "failed": 2}  # the password unused
    probes = {
        p["name"]: p
        for p in json.loads((pytester.path / "run.json").read_text())["probes"]
    }
    assert {name: (p["outcome"], p["category"]) for name, p in probes.items()} == {
        "test_issue_15": ("failed", "write-refused"),
        "test_function_that_writes": ("failed", "write-refused"),
        "test_a_read": ("warned", ""),
    }
    assert "a text of 5 statements (SELECT, COMMIT, BEGIN, DELETE, COMMIT) " in (
        json.dumps(probes["test_issue_15"])
    )
    assert (
        "the server refused a write: cannot execute INSERT in a read-only "
        f'transaction (SQL function \\"{table}_add\\" statement 1).'
    ) in json.dumps(probes["test_function_that_writes"])
    assert rows_in(table) == 3
    assert SECRET not in (pytester.path / "run.json").read_text()
    assert "Traceback" not in result.stdout.str()
    assert "psycopg" not in result.stdout.str()
