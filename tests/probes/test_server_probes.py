"""The server helpers' logic that needs no server: options, thresholds, verdicts,
the read-only guards, addresses, missing drivers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.engine import Engine
from sleuth.errors import CheckFailed, ConfigError, MissingDriver, WriteRefused
from sleuth.probes import KINDS, ProbeEnv, load_kind
from sleuth.probes._address import UrlAddress, parse_address
from sleuth.probes._judge import Verdict
from sleuth.probes._sql import excerpt
from sleuth.probes.mysql import MysqlHealth, MysqlProbe
from sleuth.probes.postgres import PostgresHealth, PostgresProbe
from sleuth.probes.redis import RedisHealth, RedisProbe
from sleuth.suite.config import TargetConfig
from sleuth.suite.units import Limit


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine(workers=2)
    yield engine
    engine.close()


@pytest.fixture
def env(engine: Engine) -> ProbeEnv:
    target = TargetConfig(
        name="prod",
        services={"postgres": {"orders": {"dsn": "postgresql://app:s3cret@db-1/o"}}},
        where="sleuth.yaml line 2",
    )
    return ProbeEnv(
        engine=engine,
        target=target,
        default_timeout_s=1.0,
        suite_display="sleuth.yaml",
        interpolate=lambda text, where: text,
    )


# -- the table contract ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cls"),
    [("postgres", PostgresProbe), ("mysql", MysqlProbe), ("redis", RedisProbe)],
)
def test_kind_is_registered_with_its_keys(kind, cls):
    assert cls.kind == kind
    assert cls.check_keys == frozenset(cls.thresholds)
    assert {"host", "port", "user", "password"} <= cls.address_keys
    assert "max_replication_lag" in cls.check_keys
    assert "role" in cls.check_keys
    assert load_kind(kind) is cls


def test_registry_lines_are_sorted():
    assert list(KINDS) == sorted(KINDS)


# -- options -------------------------------------------------------------------


def test_service_by_name_masks_the_password_in_repr(env):
    probe = PostgresProbe(env, "orders")
    assert repr(probe) == "<PostgresProbe orders>"
    assert "s3cret" not in repr(PostgresProbe(env, dsn="postgresql://a:s3cret@h/d"))


def test_unknown_service_lists_the_known_ones(env):
    with pytest.raises(ConfigError) as caught:
        PostgresProbe(env, "order")
    assert str(caught.value) == (
        "sleuth.yaml line 2: target 'prod' has no postgres service named 'order'. "
        "Its postgres services: orders. Did you mean 'orders'? Add it under "
        "services: postgres: order: in sleuth.yaml, or give the address directly."
    )


def test_unknown_option_lists_the_valid_ones(env):
    with pytest.raises(ConfigError) as caught:
        RedisProbe(env, url="redis://cache", databse=1)
    assert str(caught.value) == (
        "target.redis(...): unknown redis option 'databse'. Valid options: db, "
        "host, password, port, tls, url, user."
    )


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (
            PostgresProbe,
            "target.postgres(...): the postgres probe needs dsn=, e.g. "
            "dsn='postgresql://app@db-1:5432/orders', or host=",
        ),
        (
            RedisProbe,
            "target.redis(...): the redis probe needs url=, e.g. "
            "url='redis://cache-1:6379/0', or host=",
        ),
    ],
)
def test_an_address_is_needed(env, cls, message):
    with pytest.raises(ConfigError) as caught:
        cls(env)
    assert str(caught.value) == message


def test_dsn_and_url_together_are_refused(env):
    with pytest.raises(ConfigError, match="as dsn= or url=, not both"):
        MysqlProbe(env, dsn="mysql://a@h/d", url="mysql://b@h/d")


def test_unknown_threshold_is_refused_before_connecting(env):
    probe = PostgresProbe(env, dsn="postgresql://app@127.0.0.1:1/x")
    with pytest.raises(ConfigError) as caught:
        probe.check(max_conections_used="80%")
    assert str(caught.value) == (
        "postgres check(): unknown postgres check 'max_conections_used'. Valid "
        "checks: max_connections_used, max_lock_waits, max_replication_lag, "
        "max_transaction_age, role. Did you mean 'max_connections_used'?"
    )


def test_bad_threshold_value_names_the_threshold(env):
    probe = RedisProbe(env, url="redis://127.0.0.1:1")
    with pytest.raises(ConfigError) as caught:
        probe.check(max_memory_used="lots")
    assert str(caught.value) == (
        "redis check(): invalid max_memory_used 'lots': expected a share of the "
        "server's maximum, e.g. 80% or 0.8, or an amount above zero, e.g. 512MB"
    )


def test_bad_role_threshold(env):
    probe = MysqlProbe(env, url="mysql://root@127.0.0.1:1/x")
    with pytest.raises(ConfigError, match="invalid role 'leader': expected primary"):
        probe.check(role="leader")


# -- addresses -----------------------------------------------------------------


def _address(options: dict[str, Any], **kwargs: Any) -> UrlAddress:
    defaults = {
        "kind": "mysql",
        "where": "here",
        "schemes": {"mysql": False, "mariadb": False},
        "default_port": 3306,
        "path_key": "database",
        "example": "mysql://app@db-1:3306/shop",
    }
    return parse_address(options, **{**defaults, **kwargs})


def test_address_from_url_with_options_over_it():
    address = _address(
        {"url": "mysql+aiomysql://app:p%40ss@db-1/shop?ssl-mode=REQUIRED", "port": 3307}
    )
    assert (address.host, address.port, address.user) == ("db-1", 3307, "app")
    assert address.password == "p@ss"  # noqa: S105  (the test's own value)
    assert address.tls is True
    assert address.display == "mysql://app:***@db-1:3307/shop"
    assert "p@ss" not in repr(address)


def test_address_from_options_alone():
    address = _address({"host": "db-2", "user": "ro", "database": "shop"})
    assert address.display == "mysql://ro@db-2:3306/shop"


def test_rediss_means_tls():
    address = _address(
        {"url": "rediss://:pw@cache:6380/2"},
        kind="redis",
        schemes={"redis": False, "rediss": True},
        default_port=6379,
        path_key="db",
    )
    assert address.tls is True
    assert address.display == "rediss://:***@cache:6380/2"


@pytest.mark.parametrize(
    "url", ["postgres://app:pw@db/x", "mysql://app:pw@db:notaport/x", "db-1"]
)
def test_bad_url_is_refused_masked(url):
    with pytest.raises(ConfigError) as caught:
        _address({"url": url})
    assert "expected e.g. mysql://app@db-1:3306/shop" in str(caught.value)
    assert ":pw@" not in str(caught.value)


def test_postgres_key_value_dsn_and_overrides(env):
    probe = PostgresProbe(
        env, dsn="host=db-1 dbname=orders user=app password=s3cret", port=6432
    )
    assert probe.display == "postgresql://app:***@db-1:6432/orders"


def test_postgres_bad_dsn_never_shows_the_password(env):
    probe = PostgresProbe(env, dsn="postgresql://app:s3cret@[db-1/orders")
    with pytest.raises(ConfigError) as caught:
        _ = probe.display
    assert str(caught.value).startswith(
        "target.postgres(...): invalid postgres dsn 'postgresql://app:***@[db-1/"
        "orders': libpq cannot read it."
    )
    assert "s3cret" not in str(caught.value)


# -- the read-only guards -----------------------------------------------------


def test_write_statement_refused_before_anything_is_sent(env):
    probe = PostgresProbe(env, dsn="postgresql://app:s3cret@127.0.0.1:1/orders")
    with pytest.raises(WriteRefused) as caught:
        probe.query("/* fix */ UPDATE orders SET paid = true")
    assert str(caught.value) == (
        "postgres postgresql://app:***@127.0.0.1:1/orders: an UPDATE statement "
        "refused: the postgres helper only reads, and a statement must start with "
        "one of EXPLAIN, SELECT, SHOW, TABLE, VALUES, WITH. Nothing was sent."
    )
    assert caught.value.method == "UPDATE"


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (("SET", "k", "v"), "SET"),
        (("flushall",), "FLUSHALL"),
        (("CONFIG", "SET", "maxmemory", "1"), "CONFIG SET"),
        (("EVAL", "return 1", "0"), "EVAL"),
        ((), "(no command)"),
    ],
)
def test_redis_write_commands_refused_before_anything_is_sent(env, command, said):
    probe = RedisProbe(env, url="redis://:s3cret@127.0.0.1:1/0")
    with pytest.raises(WriteRefused) as caught:
        probe.execute(*command)
    assert str(caught.value).startswith(
        f"redis redis://:***@127.0.0.1:1/0: {said} refused: the redis helper sends "
        f"only read commands"
    )
    assert str(caught.value).endswith("Nothing was sent.")


def test_redis_keys_refused_with_scan_suggested(env):
    with pytest.raises(WriteRefused) as caught:
        RedisProbe(env, url="redis://127.0.0.1:1").execute("KEYS", "*")
    assert str(caught.value).endswith(
        "; it blocks the server while it walks every key; scan() reads the names in "
        "batches. Nothing was sent."
    )


@pytest.mark.parametrize("part", [None, True, 1.5j, ["k"]])
def test_redis_argument_it_cannot_send_is_a_config_error(env, part):
    probe = RedisProbe(env, url="redis://127.0.0.1:1")
    with pytest.raises(ConfigError) as caught:
        probe.execute("GET", part)
    assert str(caught.value) == (
        f"redis redis://127.0.0.1:1/0: part 2 of the command is "
        f"{type(part).__name__} {part!r}: expected a str, bytes, int or float"
    )


def test_excerpt_is_one_line_and_bounded():
    assert excerpt("select\n  1,\n  2") == "select 1, 2"
    assert len(excerpt("select " + "x, " * 100)) == 120


# -- verdicts ------------------------------------------------------------------


def _pg(**figures) -> PostgresHealth:
    base = {
        "target": "postgresql://app@db-1:5432/orders",
        "version": "16.4",
        "role": "replica",
        "connections_used": 10,
        "max_connections": 100,
        "lock_waits": 0,
        "oldest_transaction_s": None,
        "replicas": 0,
        "replication_lag_s": 12.0,
    }
    return PostgresHealth(**{**base, **figures})


def _judge(probe_cls, health, **limits) -> str:
    verdict = Verdict(limits)
    probe_cls._judge(None, health, verdict)
    with pytest.raises(CheckFailed) as caught:
        verdict.raise_if_any(probe_cls.kind, health.target)
    assert caught.value.category == "unhealthy"
    return str(caught.value)


def test_replica_lag_over_threshold():
    assert _judge(PostgresProbe, _pg(), max_replication_lag=5.0) == (
        "postgres postgresql://app@db-1:5432/orders: replication lag 12.00 s, over "
        "max_replication_lag 5.00 s. Check pg_stat_wal_receiver on the replica and "
        "the primary's load."
    )


def test_replica_with_nothing_replayed_has_unknown_lag():
    message = _judge(PostgresProbe, _pg(replication_lag_s=None), max_replication_lag=5)
    assert "replication lag unknown (the replica reports none), expected at most " in (
        message
    )


def test_primary_has_no_lag_to_judge():
    verdict = Verdict({"max_replication_lag": 1.0})
    PostgresProbe._judge(None, _pg(role="primary"), verdict)  # type: ignore[arg-type]
    assert verdict.problems == []


def test_every_breach_is_named_once_with_its_hint():
    message = _judge(
        PostgresProbe,
        _pg(role="primary", connections_used=95, lock_waits=3, oldest_transaction_s=90),
        role="replica",
        max_connections_used=Limit(share=0.8),
        max_lock_waits=0,
        max_transaction_age=60.0,
    )
    assert message == (
        "postgres postgresql://app@db-1:5432/orders: the server is a primary, "
        "expected a replica (role); connections in use 95 of 100 (95%), over "
        "max_connections_used 80%; oldest open transaction 90.00 s, over "
        "max_transaction_age 60.00 s; sessions waiting on locks 3, over "
        "max_lock_waits 0. Check the DSN points at the intended server: a failover "
        "swaps roles. Look for a connection leak or an oversized pool "
        "(pg_stat_activity by application_name), or raise max_connections. Find it "
        "in pg_stat_activity (xact_start, state): an open transaction holds its "
        "locks and holds back vacuum. pg_blocking_pids(pid) names the sessions that "
        "hold the locks."
    )


def _mysql(**figures) -> MysqlHealth:
    base = {
        "target": "mysql://app@db-1:3306/shop",
        "version": "8.0.36",
        "role": "replica",
        "read_only": True,
        "connections_used": 3,
        "max_connections": 151,
        "threads_running": 2,
        "replication_lag_s": None,
        "replica_io_running": "Connecting",
        "replica_sql_running": "Yes",
        "replica_error": "error connecting to master 'repl@db-0:3306'",
    }
    return MysqlHealth(**{**base, **figures})


def test_mysql_replica_with_stopped_thread_always_fails():
    assert _judge(MysqlProbe, _mysql()) == (
        "mysql mysql://app@db-1:3306/shop: replication is not running (IO thread "
        "Connecting, SQL thread Yes): error connecting to master 'repl@db-0:3306'. "
        "See SHOW REPLICA STATUS on the replica (Last_IO_Error, Last_SQL_Error)."
    )


def test_mysql_role_unknown_without_privilege_only_matters_when_asked():
    health = _mysql(role="unknown", replica_io_running=None, replica_sql_running=None)
    verdict = Verdict({})
    MysqlProbe._judge(None, health, verdict)  # type: ignore[arg-type]
    assert verdict.problems == []
    assert "SHOW REPLICA STATUS needs the REPLICATION CLIENT privilege" in _judge(
        MysqlProbe, health, role="primary"
    )


def _redis(**figures) -> RedisHealth:
    base = {
        "target": "redis://cache-1:6379/0",
        "version": "7.2.4",
        "role": "replica",
        "connected_clients": 12,
        "max_clients": 10000,
        "used_memory": 900 * 1024**2,
        "max_memory": 1024**3,
        "system_memory": 16 * 1024**3,
        "evicted_keys": 42,
        "keys": 1000,
        "connected_replicas": 0,
        "master_link_status": "down",
        "replication_lag_s": None,
    }
    return RedisHealth(**{**base, **figures})


def test_redis_replica_link_down_always_fails():
    assert _judge(RedisProbe, _redis()) == (
        "redis redis://cache-1:6379/0: the replica's link to its primary is down. "
        "See INFO replication on the replica and whether its primary is up."
    )


def test_redis_memory_share_of_maxmemory_and_evictions():
    message = _judge(
        RedisProbe,
        _redis(role="primary", master_link_status=None),
        max_memory_used=Limit(share=0.8, unit="bytes"),
        max_evicted_keys=0,
    )
    assert message.startswith(
        "redis redis://cache-1:6379/0: memory used 900 MB of 1 GB maxmemory (88%), "
        "over max_memory_used 80%; evicted keys 42, over max_evicted_keys 0. "
    )


def test_redis_memory_share_without_maxmemory_is_of_the_machine():
    message = _judge(
        RedisProbe,
        _redis(role="primary", master_link_status=None, max_memory=0),
        max_memory_used=Limit(share=0.05, unit="bytes"),
    )
    assert (
        "memory used 900 MB of 16 GB (the machine's memory: no maxmemory is set) "
        "(5%), over max_memory_used 5%" in message
    )


def test_share_of_an_unknown_maximum_asks_for_an_amount():
    message = _judge(
        RedisProbe,
        _redis(role="primary", master_link_status=None, max_clients=None),
        max_connected_clients=Limit(share=0.5),
    )
    assert (
        "connected clients 12, but max_connected_clients 50% is a share of a "
        "maximum the server does not set maxclients. Give the threshold as an "
        "amount instead." in message
    )


# -- missing drivers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "url", "module", "package", "extra"),
    [
        (PostgresProbe, "postgresql://a@127.0.0.1:1/d", "psycopg", "psycopg",
         "postgres"),
        (MysqlProbe, "mysql://a@127.0.0.1:1/d", "aiomysql", "aiomysql", "mysql"),
        (RedisProbe, "redis://127.0.0.1:1/0", "redis.asyncio", "redis", "redis"),
    ],
)  # fmt: skip
def test_missing_driver_gives_the_install_hint(
    env, monkeypatch, cls, url, module, package, extra
):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDriver) as caught:
        cls(env, url=url).check()
    assert str(caught.value) == (
        f"The {cls.kind} probe needs the '{package}' package. "
        f"Install it with: pip install 'sleuth[{extra}]'"
    )


@pytest.mark.parametrize(
    ("cls", "url"),
    [
        (PostgresProbe, "postgresql://a@127.0.0.1:1/d"),
        (MysqlProbe, "mysql://a@127.0.0.1:1/d"),
    ],
)
def test_missing_sql_parser_gives_the_install_hint(env, monkeypatch, cls, url):
    monkeypatch.setitem(sys.modules, f"sqlglot.dialects.{cls.read_rules.dialect}", None)
    with pytest.raises(MissingDriver) as caught:
        cls(env, url=url).query("SELECT 1")
    assert str(caught.value) == (
        f"The {cls.kind} probe needs the 'sqlglot' package. "
        f"Install it with: pip install 'sleuth[{cls.kind}]'"
    )
