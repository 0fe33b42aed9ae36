"""target.redis against the local Redis, faults included."""

# ruff: noqa: S106  (the test's own passwords)
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.engine import Engine
from sleuth.errors import CheckFailed, ProbeTimeout, TargetUnreachable, WriteRefused
from sleuth.probes.redis import RedisHealth
from sleuth.suite.units import format_bytes
from sleuth.target import Target
from tests.conftest import require_service
from tests.integration.asyncprobe import run_async
from tests.integration.conftest import MakeTarget, in_probe

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_service("Redis", "127.0.0.1", 6379)


@pytest.fixture
def target(make_target: MakeTarget) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              redis:
                cache: "{URL}"
        """
    )


def admin() -> Any:
    """A direct client for set-up and inspection, not through sleuth."""
    import redis

    return redis.Redis(host="127.0.0.1", port=6379, db=0, decode_responses=True)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted after."""
    name = f"sleuth-probe:{uuid.uuid4().hex[:10]}:"
    try:
        yield name
    finally:
        with contextlib.closing(admin()) as client:
            keys = list(client.scan_iter(f"{name}*"))
            if keys:
                client.delete(*keys)


# -- health ---------------------------------------------------------------------


def test_check_reads_info(target: Target) -> None:
    with contextlib.closing(admin()) as client:
        version = client.info("server")["redis_version"]
    with in_probe() as ctx:
        health = target.redis("cache").check()
    assert isinstance(health, RedisHealth)
    assert health.target == URL
    assert health.version == version
    assert health.role == "primary"
    assert health.connected_clients >= 1
    assert health.used_memory > 0
    assert health.master_link_status is None
    [exchange] = ctx.exchanges
    assert exchange.request == f"redis check {URL}"
    assert exchange.reason == f"Redis {version}, primary"
    assert exchange.headers["memory"].startswith(format_bytes(health.used_memory))
    assert exchange.remote == "127.0.0.1:6379"


def test_memory_over_a_size_fails_with_figures(target: Target, prefix: str) -> None:
    with contextlib.closing(admin()) as client:
        client.set(f"{prefix}ballast", "x" * (2 * 1024 * 1024))  # 2 MB of value
        with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
            target.redis("cache").check(max_memory_used="2MB")
    message = str(caught.value)
    assert caught.value.category == "unhealthy"
    assert message.startswith(f"redis {URL}: memory used ")
    assert ", over max_memory_used 2 MB. See INFO memory and MEMORY STATS" in message
    assert ctx.exchanges[-1].headers["memory"].split(" of ")[0] in message


def test_clients_held_past_a_count_fail(target: Target) -> None:
    with contextlib.ExitStack() as held:
        for _ in range(5):
            client = held.enter_context(contextlib.closing(admin()))
            client.ping()  # connects
        with in_probe(), pytest.raises(CheckFailed) as caught:
            target.redis("cache").check(max_connected_clients=5)
    message = str(caught.value)
    assert message.startswith(f"redis {URL}: connected clients ")
    assert int(message.split("connected clients ")[1].split()[0]) >= 6
    assert ", over max_connected_clients 5. CLIENT LIST shows who holds them" in (
        message
    )


def test_role_other_than_expected_fails(target: Target) -> None:
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.redis("cache").check(role="replica")
    assert str(caught.value) == (
        f"redis {URL}: the server is a primary, expected a replica (role). Check the "
        f"URL points at the intended server: a failover swaps roles."
    )


def test_thresholds_that_hold_pass(target: Target, engine: Engine) -> None:
    health = run_async(
        engine,
        lambda: target.redis("cache").acheck(
            role="master",
            max_memory_used="99%",
            max_connected_clients="90%",
            max_replication_lag="5s",
        ),
    )
    assert health.role == "primary"


# -- read commands ----------------------------------------------------------------


def test_read_accessors(target: Target, prefix: str, engine: Engine) -> None:
    with contextlib.closing(admin()) as client:
        client.set(f"{prefix}flag", "on", ex=300)
        client.hset(f"{prefix}user", mapping={"name": "ada"})
        for i in range(5):
            client.set(f"{prefix}n{i}", i)
    cache = target.redis("cache")
    with in_probe() as ctx:
        assert cache.get(f"{prefix}flag") == "on"
        assert cache.get(f"{prefix}absent") is None
        assert cache.exists(f"{prefix}flag", f"{prefix}user", f"{prefix}absent") == 2
        assert 0 < cache.ttl(f"{prefix}flag") <= 300
        assert cache.ttl(f"{prefix}user") == -1
        assert cache.type(f"{prefix}user") == "hash"
        assert cache.execute("HGET", f"{prefix}user", "name") == "ada"
        assert sorted(cache.scan(f"{prefix}n*")) == [f"{prefix}n{i}" for i in range(5)]
        assert len(cache.scan(f"{prefix}*", limit=3)) == 3
    # Evidence says what came back, never the value itself.
    assert ctx.exchanges[0].request == f"redis GET {prefix}flag {URL}"
    assert ctx.exchanges[0].reason == "a string of 2 characters"
    assert "ada" not in repr(ctx.exchanges)
    assert run_async(engine, lambda: cache.aget(f"{prefix}flag")) == "on"
    assert run_async(engine, lambda: cache.aexists(f"{prefix}flag")) == 1
    assert run_async(engine, lambda: cache.atype(f"{prefix}flag")) == "string"
    assert run_async(engine, lambda: cache.attl(f"{prefix}absent")) == -2
    assert len(run_async(engine, lambda: cache.ascan(f"{prefix}n*"))) == 5


def test_write_is_refused_and_nothing_is_sent(target: Target, prefix: str) -> None:
    with contextlib.closing(admin()) as client:
        client.set(f"{prefix}keep", "1")
        flushes_before = client.info("commandstats").get("cmdstat_flushdb", {})
        cache = target.redis("cache")
        with in_probe() as ctx:
            with pytest.raises(WriteRefused) as set_refused:
                cache.execute("SET", f"{prefix}new", "x")
            with pytest.raises(WriteRefused):
                cache.execute("FLUSHDB")
            with pytest.raises(WriteRefused):
                cache.execute("DEL", f"{prefix}keep")
        assert client.exists(f"{prefix}new") == 0
        assert client.get(f"{prefix}keep") == "1"
        assert client.info("commandstats").get("cmdstat_flushdb", {}) == flushes_before
    assert ctx.exchanges == []  # no connection was even opened
    assert str(set_refused.value).startswith(
        f"redis {URL}: SET refused: the redis helper sends only read commands"
    )
    assert str(set_refused.value).endswith("Nothing was sent.")


def test_async_write_is_refused_too(target: Target, engine: Engine) -> None:
    with pytest.raises(WriteRefused, match="FLUSHALL refused"):
        run_async(engine, lambda: target.redis("cache").aexecute("FLUSHALL"))


def test_wrong_type_gives_the_servers_words(target: Target, prefix: str) -> None:
    with contextlib.closing(admin()) as client:
        client.set(f"{prefix}s", "x")
    with in_probe(), pytest.raises(CheckFailed) as caught:
        target.redis("cache").execute("HGET", f"{prefix}s", "f")
    assert caught.value.category == "failed"
    assert str(caught.value) == (
        f"redis {URL}: the command failed: WRONGTYPE Operation against a key "
        f"holding the wrong kind of value"
    )


# -- faults -----------------------------------------------------------------------


def test_wrong_password_is_an_auth_failure(target: Target) -> None:
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        target.redis("cache", user="sleuth-nobody", password="s3cret").check()
    shown = "redis://sleuth-nobody:***@127.0.0.1:6379/0"
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        f"redis {shown}: authentication failed: the server said 'invalid "
        f"username-password pair or user is disabled.'. Check the user and password."
    )
    assert "s3cret" not in repr(ctx.exchanges)


def test_closed_port_is_refused(target: Target, closed_port: int) -> None:
    url = f"redis://:s3cret@127.0.0.1:{closed_port}/0"
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        target.redis(url=url).check()
    shown = f"redis://:***@127.0.0.1:{closed_port}/0"
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"redis {shown}: connection refused by 127.0.0.1:{closed_port}. Is the "
        f"service running and listening there?"
    )
    assert ctx.exchanges[-1].request == f"redis connect {shown}"


def test_silent_port_times_out_at_the_probe_deadline(
    target: Target, silent_port: int
) -> None:
    with in_probe(timeout_s=0.5) as ctx, pytest.raises(ProbeTimeout) as caught:
        target.redis(host="127.0.0.1", port=silent_port).get("k")
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for redis connect "
        f"redis://127.0.0.1:{silent_port}/0 (timeout from test)"
    )
    assert ctx.exchanges[-1].error == "no answer within 0.5 s"


def test_name_that_does_not_resolve(target: Target) -> None:
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        target.redis(url="redis://-cache.invalid:6379/0").check()
    assert caught.value.category == "dns"
    assert str(caught.value).startswith(
        "redis redis://-cache.invalid:6379/0: the name -cache.invalid does not resolve"
    )
