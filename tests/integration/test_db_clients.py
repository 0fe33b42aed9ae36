"""psycopg and redis-py connections a probe's own code opens (issue 17, item 4).

Suites run through pytester against the machine's PostgreSQL and Redis: each
connect is evidence (its address, the password masked, what failed), bounded
by the probe's deadline, and the run names these clients as ones sleuth cannot
guard. sleuth's own ``target.postgres``/``target.redis`` sessions, made with
the same libraries, are not the probe's code and are never counted as such.
"""

# ruff: noqa: S105  (the tests' own planted passwords)
from __future__ import annotations

import fnmatch
import gc
import json
import socket
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
import redis.asyncio.connection
import redis.connection

from tests.conftest import outcomes, require_service
from tests.integration.conftest import service_url

PG = service_url("postgres", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = "redis://127.0.0.1:6379/0"
PASSWORD = "canary-dbhook-7312"
SUITE = "targets:\n  local:\n    timeout: 5s\n"


def _originals() -> dict[str, Any]:
    """What the hooks replace, as it is outside a run."""
    sync_redis = redis.connection.AbstractConnection.__dict__
    async_redis = redis.asyncio.connection.AbstractConnection.__dict__
    return {
        "Connection.connect": psycopg.Connection.__dict__["connect"],
        "AsyncConnection.connect": psycopg.AsyncConnection.__dict__["connect"],
        "psycopg.connect": psycopg.connect,
        "redis": sync_redis.get("connect_check_health", sync_redis.get("connect")),
        "redis.asyncio": async_redis.get(
            "connect_check_health", async_redis.get("connect")
        ),
    }


@pytest.fixture
def run(pytester: pytest.Pytester):
    """Run a suite of ``test_probes.py`` in-process; afterwards every client
    hooked for the run must be back as it was."""
    before = _originals()

    def make(probes: str, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
        pytester.makefile(".yaml", sleuth=SUITE)
        pytester.makepyfile(test_probes=textwrap.dedent(probes))
        result = pytester.runpytest(
            "-p", "no:cacheprovider", "--sleuth-json=run.json", "-rA", *args
        )
        path = pytester.path / "run.json"
        document = json.loads(path.read_text()) if path.exists() else {}
        return result, document

    yield make
    assert _originals() == before, "a client hook outlived the run"


def _exchanges(document: dict[str, Any], probe: str) -> list[dict[str, Any]]:
    [found] = [p for p in document["probes"] if p["name"] == probe]
    exchanges: list[dict[str, Any]] = found["evidence"]["exchanges"]
    return exchanges


def _junit_times(path: Any) -> dict[str, float]:
    return {
        str(case.get("name")): float(case.get("time") or 0)
        for case in ET.parse(path).iter("testcase")
    }


def test_connects_to_live_servers_are_evidence_and_named_unguarded(run):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    result, document = run(
        f"""
        import psycopg
        import redis
        import redis.asyncio

        def test_pg():
            with psycopg.connect({PG!r}) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)

        async def test_apg():
            async with await psycopg.AsyncConnection.connect({PG!r}) as conn:
                cursor = await conn.execute("SELECT 2")
                assert await cursor.fetchone() == (2,)

        def test_redis():
            client = redis.Redis.from_url({REDIS!r})
            try:
                assert client.ping()
                assert client.ping()  # the connection is open: no second connect
            finally:
                client.close()

        async def test_aredis():
            client = redis.asyncio.Redis.from_url({REDIS!r})
            try:
                assert await client.ping()
            finally:
                await client.aclose()
        """
    )
    assert outcomes(result) == {"passed": 4}
    address = PG.replace("postgresql://", "", 1)
    for probe in ("test_pg", "test_apg"):
        [exchange] = _exchanges(document, probe)
        assert exchange["kind"] == "postgres"
        assert exchange["request"] == f"connect postgresql://{address} via psycopg"
        assert (exchange["reason"], exchange["error"]) == ("connected", None)
        assert set(exchange["timings_ms"]) == {"connect", "total"}
    for probe in ("test_redis", "test_aredis"):
        [exchange] = _exchanges(document, probe)
        assert exchange["request"] == f"connect {REDIS} via redis"
        assert (exchange["reason"], exchange["error"]) == ("connected", None)
        assert exchange["remote"] == "127.0.0.1:6379"
    assert document["run"]["clients"] == [
        {"name": "psycopg", "guarded": False, "probes": 2},
        {"name": "redis", "guarded": False, "probes": 2},
    ]
    result.stdout.fnmatch_lines(
        [
            "*= sleuth =*",
            "target local: 4 probes in *",
            "read-only held for target.http; not for psycopg (2 probes used it) and "
            "redis (2 probes used it): sleuth cannot guard their writes",
        ]
    )


def test_a_refused_connect_names_the_masked_address_never_the_password(
    run, closed_port, pytester
):
    result, document = run(
        f"""
        import psycopg
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        def test_pg():
            psycopg.connect("postgresql://app:{PASSWORD}@127.0.0.1:{closed_port}/test")

        def test_redis():
            # The app's own retries, without their backoff (seconds of it)
            redis.Redis(host="127.0.0.1", port={closed_port}, password="{PASSWORD}",
                        username="app", retry=Retry(NoBackoff(), 2)).ping()
        """,
        "--sleuth-report=run.md",
    )
    assert outcomes(result) == {"errors": 2}
    text = result.stdout.str()
    pg = f"postgresql://app:***@127.0.0.1:{closed_port}/test"
    result.stdout.fnmatch_lines(
        [f"connect {pg} via psycopg -> OperationalError: *Connection refused*"]
    )
    redis_line = (
        f"connect redis://app:***@127.0.0.1:{closed_port}/0 via redis -> "
        # "(attempt 3)" where redis-py retries around the hooked method (5.1+);
        # before, its retries run inside the one connect sleuth sees
        f"ConnectionError: *{closed_port}*refused*"
    )
    result.stdout.fnmatch_lines([redis_line])
    # redis-py's own retries are attempts of one connect, not lines of their own
    [line] = fnmatch.filter(text.splitlines(), redis_line)
    if _redis_retries_each_connect():
        assert "(attempt 3)" in line, line
    [exchange] = _exchanges(document, "test_pg")
    assert exchange["request"] == f"connect {pg} via psycopg"
    assert "Connection refused" in exchange["error"]
    assert "read-only held for target.http; not for psycopg (1 probe used it) and " in (
        text
    )
    report = (pytester.path / "run.md").read_text()
    assert (
        "The read-only rule held for target.http; not for psycopg (1 probe used it) "
        "and redis (1 probe used it): sleuth cannot guard their writes."
    ) in report
    for output in (text, json.dumps(document), report):
        assert PASSWORD not in output


@pytest.fixture
def blackhole() -> Iterator[socket.socket]:
    """A listening socket that never answers: connects land in its backlog."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock
    finally:
        sock.close()


def _all_let_go(listener: socket.socket, within_s: float) -> int:
    """How many connections reached ``listener``, once the client has closed
    each; fails if one is still open ``within_s`` after it is looked at."""
    listener.settimeout(within_s)
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return count
        listener.settimeout(0.2)  # the rest are in the backlog already
        count += 1
        with conn:
            _wait_closed(conn, within_s)


def _wait_closed(conn: socket.socket, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    conn.settimeout(0.25)
    while time.monotonic() < deadline:
        # A connect psycopg gave up on is closed when it is collected, and
        # the run pauses the collector: collected here, it is let go.
        gc.collect()
        try:
            while conn.recv(4096):  # what the client sent before giving up
                pass
            return
        except TimeoutError:
            continue
    pytest.fail(f"the client still holds its connection {within_s} s later")


@pytest.mark.parametrize(
    ("client", "probe", "waiting_for"),
    [
        (
            "psycopg",
            "psycopg.connect('postgresql://app:{password}@127.0.0.1:{port}/test')",
            "connect postgresql://app:***@127.0.0.1:{port}/test via psycopg",
        ),
        (
            "psycopg-async",
            "await psycopg.AsyncConnection.connect("
            "'postgresql://app@127.0.0.1:{port}/test')",
            "connect postgresql://app@127.0.0.1:{port}/test via psycopg",
        ),
        (
            "redis",
            "redis.Redis(host='127.0.0.1', port={port}, retry=NO_RETRY, **SLOW).ping()",
            "connect redis://127.0.0.1:{port}/0 via redis",
        ),
        (
            "redis-async",
            "await redis.asyncio.Redis(host='127.0.0.1', port={port}, **SLOW).ping()",
            "connect redis://127.0.0.1:{port}/0 via redis",
        ),
    ],
    ids=["psycopg", "psycopg-async", "redis", "redis-async"],
)
def test_a_connect_that_never_gets_an_answer_ends_at_the_deadline(
    run, blackhole, pytester, client, probe, waiting_for
):
    silent_port = blackhole.getsockname()[1]
    body = probe.format(password=PASSWORD, port=silent_port)
    define = "async def" if body.startswith("await") else "def"
    junit = pytester.path / "junit.xml"
    result, _ = run(
        f"""
        import psycopg
        import pytest
        import redis
        import redis.asyncio
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # redis-py's own retries would go on connecting after the run, when
        # its hooks are gone, and hold a connection here (each retry made
        # during the run is bounded too: the probe's time left, or 0.25 s).
        NO_RETRY = Retry(NoBackoff(), 0)
        # The app's own timeouts, longer than the probe's deadline
        SLOW = dict(socket_timeout=30, socket_connect_timeout=30)

        @pytest.mark.probe(timeout=1)
        {define} test_hangs():
            {body}
        """,
        f"--junitxml={junit}",
    )
    assert outcomes(result) == {"errors": 1}
    result.stdout.fnmatch_lines(
        [
            "*timed out after 1.0 s waiting for "
            + waiting_for.format(port=silent_port)
            + "*"
        ]
    )
    # Bounded by the probe's 1 s (unbounded, these clients wait 30 to 130 s),
    # with slack for a loaded machine.
    assert _junit_times(junit)["test_hangs"] <= 5
    assert PASSWORD not in result.stdout.str()
    # The connect itself was bounded, not only the probe's report: the client
    # let go of every connection it made (unbounded, psycopg waits 130 s and
    # redis-py the app's 30 s).
    assert _all_let_go(blackhole, within_s=5) >= 1


def test_sleuths_own_postgres_and_redis_probes_are_not_the_probes_code(run):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    result, document = run(
        f"""
        def test_pg(target):
            target.postgres(dsn={PG!r}).check()
            target.postgres(dsn={PG!r}).query("SELECT 1")

        async def test_apg(target):
            await target.postgres(dsn={PG!r}).acheck()

        def test_redis(target):
            target.redis(url={REDIS!r}).check()

        async def test_aredis(target):
            await target.redis(url={REDIS!r}).acheck()
        """
    )
    assert outcomes(result) == {"passed": 4}
    requests = [
        e["request"] for p in document["probes"] for e in p["evidence"]["exchanges"]
    ]
    assert requests, "sleuth's own probes recorded nothing"
    assert not [r for r in requests if r.endswith(("via psycopg", "via redis"))]
    assert document["run"]["clients"] == []
    assert "cannot guard" not in result.stdout.str()


def _redis_retries_each_connect() -> bool:
    """redis-py 5.1+ retries a refused connect around the method sleuth hooks."""
    import redis.connection

    return hasattr(redis.connection.AbstractConnection, "connect_check_health")
