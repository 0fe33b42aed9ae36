"""A probe suite written the way a user writes one, with annotations.

``tests/test_typed_api.py`` runs ``mypy --strict`` on it: what ``target``
offers must type-check in a user's suite, and an editor must be able to
complete it. It is never run as tests (its name does not start with test_).
"""

from __future__ import annotations

import pytest

from sleuth import CheckFailed, Response, Target


@pytest.mark.parametrize("name", ["DATABASE_URL", "CACHE_HOST"])
def test_critical_settings_are_present(target: Target, name: str) -> None:
    assert target.setting(name) is not None


def test_the_api_key_looks_like_one(target: Target) -> None:
    target.check_setting("API_KEY", non_empty=True, matches=r"[A-Za-z0-9]{32}")


@pytest.mark.parametrize(("path", "expected"), [("/users/123", 200), ("/items", 200)])
def test_endpoints(target: Target, path: str, expected: int) -> None:
    response: Response = target.http.get(
        path,
        params={"page": 2},
        headers={"Accept": "application/json"},
        timeout=2.5,
        follow_redirects=True,
    )
    assert response.status_code == expected
    assert response.elapsed.total_seconds() < 1.0


def test_search_answers_json(target: Target) -> None:
    answer = target.http.request(
        "POST", "/search", json={"q": "probe"}, tls={"verify": False}
    ).raise_for_status()
    assert answer.json()["total"] >= 0
    assert "results" in answer.text


async def test_health_from_an_async_probe(target: Target) -> None:
    response = await target.ahttp.head("/health", timeout=1.0)
    assert response.is_success


def test_the_orders_database_is_a_healthy_primary(target: Target) -> None:
    health = target.postgres("orders").check(role="primary", max_replication_lag="5s")
    assert health.connections_used < health.max_connections
    lag: float | None = health.replication_lag_s
    assert lag is None or lag < 5.0


def test_orders_are_being_written(target: Target) -> None:
    orders = target.postgres(dsn=target.setting("DATABASE_URL"))
    assert orders.scalar("SELECT count(*) FROM orders") > 0


def test_the_cache_has_memory_left(target: Target) -> None:
    cache = target.redis(url="redis://cache-1:6379/0", db=0)
    health = cache.check(max_memory_used="80%")
    assert health.evicted_keys == 0
    assert cache.execute("PING")


async def test_the_queue_is_drained(target: Target) -> None:
    health = await target.amqp("events", queue="orders").acheck(max_queue_depth=100)
    assert health.queue is not None
    assert health.queue.consumers > 0


def test_dependencies_answer(target: Target) -> None:
    target.tcp(host="db-1", port=5432).check()
    target.tls(host="api.example.com", port="443").check(min_days_left=14)
    target.dns(name="api.example.com", type="AAAA").check()
    target.mysql(host="shop-db", user="app", tls=True).check()
    target.nats(url="nats://nats-1:4222").check()
    target.mqtt("broker").check()


def test_a_failed_check_names_its_target(target: Target) -> None:
    with pytest.raises(CheckFailed) as caught:
        target.http.get("/health").raise_for_status()
    assert caught.value.target is not None
