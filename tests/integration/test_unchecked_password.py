"""A password the server never checked is a clue, said as a warning.

The machine's Redis has no password and its PostgreSQL trusts loopback, so a
probe given a password passes there without the password ever mattering: the
probe still passes, warned, and says so in the terminal, the JSON and the
report. Servers that do ask (a redis-server with requirepass, a throwaway
PostgreSQL with SCRAM) give no warning. The password itself is never shown.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from sleuth.probes.postgres import TRUSTED_LOGIN
from sleuth.probes.redis import UNCHECKED_LOGIN
from sleuth.target import Target
from tests.conftest import outcomes, require_service
from tests.integration.conftest import (
    MakeTarget,
    free_port,
    in_probe,
    require_program,
    running,
)
from tests.integration.pgreplica import password_server

PASSWORD = "pw-7c41e9d2"  # noqa: S105 (the test's own)
REDIS = f"redis://:{PASSWORD}@127.0.0.1:6379/0"
POSTGRES = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/test"


@pytest.fixture
def target(make_target: MakeTarget) -> Target:
    return make_target()


def test_redis_without_a_password_warns_once_and_passes(target: Target) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    with in_probe() as ctx:
        target.redis(url=REDIS).check()
        assert target.redis(url=REDIS).get("sleuth-no-such-key") is None
    assert ctx.warnings == [f"redis redis://:***@127.0.0.1:6379/0: {UNCHECKED_LOGIN}"]
    assert UNCHECKED_LOGIN == (
        "the server accepted the connection without checking the password: it "
        "has none set"
    )


def test_redis_with_no_password_given_says_nothing(target: Target) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    with in_probe() as ctx:
        target.redis(url="redis://127.0.0.1:6379/0").check()
    assert ctx.warnings == []


def test_redis_that_checks_the_password_gives_no_warning(target: Target) -> None:
    program = require_program("redis-server")
    port = free_port()
    argv = [program, "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no", "--requirepass", PASSWORD]
    with running(argv, port), in_probe() as ctx:
        for url in (
            f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
            f"redis://default:{PASSWORD}@127.0.0.1:{port}/0",
        ):
            assert target.redis(url=url).check().role == "primary"
    assert ctx.warnings == []


def test_the_redis_question_costs_no_connection(target: Target) -> None:
    """Asked on the probe's own connection: one connection per call, as without
    a password (counted on a redis-server of the test's own)."""
    import redis

    program = require_program("redis-server")
    port = free_port()
    argv = [program, "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no"]
    with running(argv, port), redis.Redis(port=port) as admin:

        def connections() -> int:
            return int(admin.info("stats")["total_connections_received"])

        before = connections()
        with in_probe() as ctx:
            probe = target.redis(url=f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
            probe.check()
            assert probe.get("sleuth-no-such-key") is None
        assert connections() - before == 2  # one for each call
    assert len(ctx.warnings) == 1


def test_postgres_that_trusts_the_login_warns_once_and_passes(
    target: Target,
) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with in_probe() as ctx:
        target.postgres(dsn=POSTGRES).check()
        assert target.postgres(dsn=POSTGRES).scalar("SELECT 1") == 1
        # given as password=, not in the DSN: the same clue
        target.postgres(dsn="postgresql://postgres@127.0.0.1:5432/test",
                        password=PASSWORD).check()  # fmt: skip
    shown = "postgresql://postgres:***@127.0.0.1:5432/test"
    assert ctx.warnings == [f"postgres {shown}: {TRUSTED_LOGIN}"]


def test_postgres_without_a_password_says_nothing(target: Target) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with in_probe() as ctx:
        target.postgres(dsn="postgresql://postgres@127.0.0.1:5432/test").check()
    assert ctx.warnings == []


def test_postgres_that_asks_for_the_password_gives_no_warning(
    target: Target,
) -> None:
    with password_server(PASSWORD) as port, in_probe() as ctx:
        dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
        assert target.postgres(dsn=dsn).check().role == "primary"
    assert ctx.warnings == []


SUITE = f"""
def test_cache(target):
    target.redis(url="{REDIS}").check()

def test_db(target):
    target.postgres(dsn="{POSTGRES}").check()
"""


def test_the_warning_shows_everywhere_and_the_password_nowhere(
    suite, pytester: pytest.Pytester
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    require_service("PostgreSQL", "127.0.0.1", 5432)
    suite(test_clues=SUITE)
    result = pytester.runpytest(
        "-v", "--sleuth-json=run.json", "--sleuth-report=report.md"
    )
    assert outcomes(result) == {"warned": 2}
    result.stdout.fnmatch_lines_random(
        [
            "*test_clues.py::test_cache WARNED*",
            "*test_clues.py::test_db WARNED*",
            f"warned: test_clues.py::test_cache: redis redis://:***@127.0.0.1:6379/0: "
            f"{UNCHECKED_LOGIN}",
            "warned: test_clues.py::test_db: postgres postgresql://postgres:***@"
            f"127.0.0.1:5432/test: {TRUSTED_LOGIN}",
        ]
    )
    document = json.loads((pytester.path / "run.json").read_text())
    warnings = {p["name"]: p["warnings"] for p in document["probes"]}
    assert warnings["test_cache"] == [
        f"redis redis://:***@127.0.0.1:6379/0: {UNCHECKED_LOGIN}"
    ]
    assert [w.split(": ", 1)[1] for w in warnings["test_db"]] == [TRUSTED_LOGIN]
    report = (pytester.path / "report.md").read_text()
    assert UNCHECKED_LOGIN in report
    # The short report cuts a line at 160 characters: the gist stays.
    assert TRUSTED_LOGIN.split(":")[0] in report
    history = sqlite3.connect(pytester.path / ".sleuth" / "history.db")
    stored = "\n".join(
        str(row) for table in ("sleuth_results", "sleuth_runs")
        for row in history.execute(f"SELECT * FROM {table}")  # noqa: S608
    )  # fmt: skip
    history.close()
    for text in (result.stdout.str(), result.stderr.str(), json.dumps(document),
                 report, stored):  # fmt: skip
        assert PASSWORD not in text
