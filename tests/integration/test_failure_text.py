"""A failing probe prints sleuth's diagnosis, its own line and the evidence.

Not the driver's internals: the exception a ``ProbeError`` was translated from
(psycopg's connect loop, redis-py's parser) stays out of the default report,
and comes back with ``--tb=long``. Real servers, real driver errors.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import require_service

PROBES = """
def test_postgres(target):
    target.postgres(dsn="postgresql://postgres@127.0.0.1:5432/sleuth_no_such_db").check()

def test_redis(target):
    target.redis(url="redis://127.0.0.1:6379/0").execute("GET", "a", "b")

def test_http(target):
    target.http.get("http://127.0.0.1:{closed}/health")
"""
# What each failure must say, in sleuth's words.
DIAGNOSES = {
    "test_postgres": 'database "sleuth_no_such_db" does not exist',
    "test_redis": "the command failed: wrong number of arguments for 'get' command",
    "test_http": "connection refused by 127.0.0.1:",
}
# Driver frames the short report must leave out.
DRIVER_PATHS = ("site-packages/psycopg/", "site-packages/redis/", "aiohttp/")


@pytest.fixture(autouse=True)
def _services() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)


def failure_sections(text: str) -> dict[str, list[str]]:
    """Each probe's failure section of a pytest report, by test name."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        title = re.match(r"^_{3,} (?:ERROR at call of )?(test_\w+) _{3,}$", line)
        if title:
            current = sections.setdefault(title[1], [])
            continue
        if re.match(r"^={3,} ", line):
            current = None
        elif current is not None:
            current.append(line)
    return sections


def test_a_failure_is_the_diagnosis_not_the_drivers_traceback(
    suite, pytester, closed_port
):
    suite(test_faults=PROBES.format(closed=closed_port))
    result = pytester.runpytest()
    sections = failure_sections(result.stdout.str())
    assert set(sections) == set(DIAGNOSES)
    for name, diagnosis in DIAGNOSES.items():
        lines = sections[name]
        text = "\n".join(lines)
        assert len(lines) < 25, f"{name}: {len(lines)} lines\n{text}"
        assert diagnosis in text, text
        assert f"def {name}(target):" in text  # the probe's own line
        assert "sleuth evidence" in text
        assert "direct cause of the following exception" not in text
        assert not any(path in text for path in DRIVER_PATHS), text


def test_long_tracebacks_keep_the_drivers_frames(suite, pytester, closed_port):
    suite(test_faults=PROBES.format(closed=closed_port))
    for flag in ("--tb=long", "--full-trace"):
        result = pytester.runpytest(flag)
        sections = failure_sections(result.stdout.str())
        postgres, redis = (
            "\n".join(sections["test_postgres"]),
            "\n".join(sections["test_redis"]),
        )
        assert "direct cause of the following exception" in postgres, flag
        assert "psycopg.OperationalError" in postgres, flag
        assert "site-packages/psycopg/" in postgres, flag
        assert "site-packages/redis/" in redis, flag
        assert len(sections["test_postgres"]) > 25, flag
