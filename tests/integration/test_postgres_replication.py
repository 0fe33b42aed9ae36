"""Replication figures read from a real streaming replica of a throwaway primary.

The pair is made once per session (tests/integration/pgreplica.py). The tests
write to that throwaway primary and pause replay on its replica themselves;
sleuth only reads, through ``target.postgres`` and a probe table.
"""

# ruff: noqa: S608  (the test's own scratch table names)
from __future__ import annotations

import re
import textwrap
import uuid
from collections.abc import Iterator

import pytest

from sleuth.errors import CheckFailed
from sleuth.target import Target
from tests.conftest import outcomes
from tests.integration.conftest import MakeTarget, in_probe, wait_until
from tests.integration.pgreplica import StreamingPair, connect, streaming_pair


@pytest.fixture(scope="session")
def pair() -> Iterator[StreamingPair]:
    with streaming_pair() as made:
        yield made


@pytest.fixture
def target(make_target: MakeTarget, pair: StreamingPair) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              postgres:
                primary: {{dsn: "{pair.primary_dsn}"}}
                replica: {{dsn: "{pair.replica_dsn}"}}
        """
    )


@pytest.fixture
def table(pair: StreamingPair) -> Iterator[str]:
    """A table of this test's own on the primary, dropped after."""
    name = f"sleuth_repl_{uuid.uuid4().hex[:10]}"
    with connect(pair.primary_dsn) as conn:
        conn.execute(f"CREATE TABLE {name} (id int)")
    try:
        yield name
    finally:
        with connect(pair.primary_dsn) as conn:
            conn.execute(f"DROP TABLE {name}")


def write_and_wait_for_replay(pair: StreamingPair, table: str, rows: int) -> None:
    """Insert ``rows`` rows on the primary; wait until the replica has replayed them."""
    with connect(pair.primary_dsn) as conn:
        conn.execute(f"INSERT INTO {table} SELECT generate_series(1, %s)", (rows,))
        written = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    with connect(pair.replica_dsn) as replica:
        wait_until(
            "the replica replays the primary's insert",
            lambda: replica.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written,)
            ).fetchone()[0],
        )


def test_primary_counts_its_streaming_replica(target: Target, pair: StreamingPair):
    with in_probe() as ctx:
        health = target.postgres("primary").check(role="primary")
    assert health.role == "primary"
    assert health.replicas == 1
    assert health.replication_lag_s is None
    [exchange] = ctx.exchanges
    assert exchange.headers["role"] == "primary"
    assert exchange.headers["replicas"] == "1"
    assert exchange.remote == f"127.0.0.1:{pair.primary_port}"


def test_caught_up_replica_reports_its_role_and_no_lag(
    target: Target, pair: StreamingPair, table: str
):
    write_and_wait_for_replay(pair, table, rows=3)
    with in_probe() as ctx:
        health = target.postgres("replica").check(
            role="replica", max_replication_lag="5s"
        )
        # The rows written on the primary, read back from the replica by sleuth.
        copied = target.postgres("replica").scalar(f"SELECT count(*) FROM {table}")
    assert health.role == "replica"
    assert health.replication_lag_s == 0
    assert health.replicas == 0  # nothing streams from the replica
    assert copied == 3
    assert ctx.exchanges[0].headers["role"] == "replica"
    assert "replicas" not in ctx.exchanges[0].headers  # a primary's figure


def test_replica_where_a_primary_is_expected_fails(target: Target, pair: StreamingPair):
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.postgres("replica").check(role="primary")
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"postgres {pair.replica_dsn}: the server is a replica, expected a "
        f"primary (role). Check the DSN points at the intended server: a failover "
        f"swaps roles."
    )


def test_paused_replay_makes_the_lag_grow_until_it_fails(
    target: Target, pair: StreamingPair, table: str
):
    write_and_wait_for_replay(pair, table, rows=1)  # the last replayed transaction
    with connect(pair.replica_dsn) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            wait_until(
                "replay is paused",
                lambda: (
                    replica.execute(
                        "SELECT pg_get_wal_replay_pause_state()"
                    ).fetchone()[0]
                    == "paused"
                ),
            )
            with connect(pair.primary_dsn) as primary:
                primary.execute(f"INSERT INTO {table} VALUES (2)")
            # Received but not replayed; then the replay is over a second old.
            wait_until(
                "the replica receives what it does not replay, for over a second",
                lambda: replica.execute(
                    "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"
                    " AND now() - pg_last_xact_replay_timestamp() > '1.2 s'"
                ).fetchone()[0],
            )
            with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
                target.postgres("replica").check(max_replication_lag="1s")
            behind = replica.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    assert behind == 1  # the replica really was behind while sleuth looked
    assert caught.value.category == "unhealthy"
    message = str(caught.value)
    pattern = (
        rf"postgres {re.escape(pair.replica_dsn)}: replication lag "
        r"(\d+\.\d\d) s, over max_replication_lag 1\.00 s\. Check "
        r"pg_stat_wal_receiver on the replica and the primary's load\."
    )
    matched = re.fullmatch(pattern, message)
    assert matched, message
    assert float(matched[1]) > 1.2
    assert ctx.exchanges[0].headers["replication lag"] == f"{matched[1]} s"

    # Replay resumed: the replica catches up and the same check passes.
    wait_until(
        "the replica catches up",
        lambda: target.postgres("replica").scalar(f"SELECT count(*) FROM {table}") == 2,
    )
    with in_probe():
        health = target.postgres("replica").check(max_replication_lag="1s")
    assert health.replication_lag_s == 0


def test_replication_rows_in_a_probe_table(
    pytester: pytest.Pytester, pair: StreamingPair
):
    pytester.makefile(
        ".yaml",
        sleuth=textwrap.dedent(
            f"""
            targets:
              local:
                timeout: 5s
                services:
                  postgres:
                    primary: {{dsn: "{pair.primary_dsn}"}}
                    replica: {{dsn: "{pair.replica_dsn}"}}
            """
        ),
        deps=textwrap.dedent(
            """
            postgres:
              - {name: primary is the primary, service: primary, role: primary}
              - {name: replica keeps up, service: replica, role: replica, max_replication_lag: 30s}
              - {name: replica took over, service: replica, role: primary}
            """
        ),
    )
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 2, "failed": 1}
    result.stdout.fnmatch_lines(
        [
            "*deps.yaml::primary is the primary PASSED*",
            "*deps.yaml::replica keeps up PASSED*",
            "*deps.yaml::replica took over FAILED*",
            "*the server is a replica, expected a primary (role)*",
        ]
    )
