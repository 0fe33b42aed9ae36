"""Replication figures read from a real Redis replica of a throwaway primary.

Each test starts its own pair of redis-server processes on free loopback ports
(a few milliseconds each), so that one may kill its primary; the machine's
Redis on 6379 is never made a primary or a replica of anything. The tests
write to the throwaway primary themselves; sleuth only reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sleuth.errors import CheckFailed
from sleuth.target import Target
from tests.integration.conftest import (
    MakeTarget,
    free_port,
    in_probe,
    require_program,
    running,
    wait_until,
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RedisPair:
    primary_port: int
    replica_port: int
    primary: subprocess.Popen[bytes]
    start_s: float

    @property
    def replica_url(self) -> str:
        return f"redis://127.0.0.1:{self.replica_port}/0"

    @property
    def primary_url(self) -> str:
        return f"redis://127.0.0.1:{self.primary_port}/0"


def client(port: int) -> Any:
    """A direct client for the test's own writes and inspection, not sleuth's."""
    import redis

    return redis.Redis(host="127.0.0.1", port=port, decode_responses=True)


def link_status(port: int) -> str | None:
    with contextlib.closing(client(port)) as replica:
        status: str | None = replica.info("replication").get("master_link_status")
        return status


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[RedisPair]:
    started = time.monotonic()
    program = require_program("redis-server")
    primary_port, replica_port = free_port(), free_port()

    def argv(port: int, data: Path, *more: str) -> list[str]:
        data.mkdir()  # a replica keeps the primary's snapshot there: not in cwd
        return [
            program,
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)),
            *("--save", "", "--appendonly", "no", *more),
        ]

    with (
        running(
            argv(
                primary_port,
                tmp_path / "primary",
                # The first sync at once, not after the default 5 s wait for others.
                *("--repl-diskless-sync-delay", "0"),
                # Pings only every minute, so that what the replica last heard
                # is the test's own writes (every 10 s by default).
                *("--repl-ping-replica-period", "60", "--repl-timeout", "120"),
            ),
            primary_port,
        ) as primary,
        running(
            argv(
                replica_port,
                tmp_path / "replica",
                *("--replicaof", "127.0.0.1", str(primary_port)),
            ),
            replica_port,
        ),
    ):
        wait_until(
            "the replica's link is up", lambda: link_status(replica_port) == "up"
        )
        yield RedisPair(
            primary_port=primary_port,
            replica_port=replica_port,
            primary=primary,
            start_s=time.monotonic() - started,
        )


@pytest.fixture
def target(make_target: MakeTarget, pair: RedisPair) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              redis:
                primary: "{pair.primary_url}"
                replica: "{pair.replica_url}"
        """
    )


def test_primary_counts_its_replica(target: Target):
    with in_probe() as ctx:
        health = target.redis("primary").check(role="primary")
    assert health.role == "primary"
    assert health.connected_replicas == 1
    assert health.master_link_status is None
    assert health.replication_lag_s is None
    assert ctx.exchanges[0].headers["replicas"] == "1"


def test_replica_reports_role_link_and_what_it_last_heard(
    target: Target, pair: RedisPair
):
    with contextlib.closing(client(pair.primary_port)) as primary:
        primary.set("sleuth-test:flag", "on")
    with contextlib.closing(client(pair.replica_port)) as replica:
        wait_until(
            "the write reaches the replica",
            lambda: replica.get("sleuth-test:flag") == "on",
        )
    with in_probe() as ctx:
        health = target.redis("replica").check(
            role="replica", max_replication_lag="30s"
        )
        copied = target.redis("replica").get("sleuth-test:flag")
    assert copied == "on"  # written on the primary, read from the replica by sleuth
    assert health.role == "replica"
    assert health.master_link_status == "up"
    assert health.replication_lag_s is not None
    assert 0 <= health.replication_lag_s < 30
    assert health.keys == 1
    headers = ctx.exchanges[0].headers
    assert headers["role"] == "replica"
    assert headers["master link"] == "up"
    assert headers["last heard from primary"] == f"{health.replication_lag_s:g} s ago"


def test_replica_that_has_not_heard_its_primary_fails_the_lag(
    target: Target, pair: RedisPair
):
    # The primary says nothing (no write, no ping) for over two seconds.
    with contextlib.closing(client(pair.replica_port)) as replica:
        wait_until(
            "two seconds pass without a word from the primary",
            lambda: replica.info("replication")["master_last_io_seconds_ago"] >= 2,
        )
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.redis("replica").check(max_replication_lag="1s")
    assert caught.value.category == "unhealthy"
    message = str(caught.value)
    prefix = f"redis {pair.replica_url}: replication lag "
    assert message.startswith(prefix)
    seen = float(message.removeprefix(prefix).split()[0])
    assert seen >= 2
    assert message.endswith(
        " s, over max_replication_lag 1.00 s. The replica has not heard from its "
        "primary lately: check the network between them and the primary's load."
    )


def test_replica_whose_primary_died_reports_its_link_down(
    target: Target, pair: RedisPair
):
    pair.primary.kill()
    pair.primary.wait(timeout=10)
    wait_until(
        "the replica sees its link go down",
        lambda: link_status(pair.replica_port) == "down",
    )
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        target.redis("replica").check()
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"redis {pair.replica_url}: the replica's link to its primary is down. See "
        f"INFO replication on the replica and whether its primary is up."
    )
    headers = ctx.exchanges[0].headers
    assert headers["master link"] == "down"
    assert "last heard from primary" not in headers  # Redis says -1: not known
