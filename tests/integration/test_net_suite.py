"""A sleuth suite end to end: def probes using the network helpers, run by pytest."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import require_service


def test_amqp_probe_in_a_suite_fails_with_message_and_evidence(
    pytester: pytest.Pytester, suite
):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    require_service("NATS", "127.0.0.1", 4222)
    absent = f"sleuth-absent-{uuid.uuid4().hex[:10]}"
    suite(
        f"""
        targets:
          local:
            timeout: 5s
            services:
              amqp:
                events:
                  url: amqp://guest:guest@127.0.0.1:5672/
                  queue: {absent}
        """,
        test_deps="""
        def test_broker_answers(target):
            health = target.amqp(url="amqp://guest:guest@127.0.0.1:5672/").check()
            assert health.product == "RabbitMQ"

        def test_events_queue(target):
            target.amqp("events").check(max_queue_depth=100)

        async def test_bus_from_an_async_probe(target):
            health = await target.nats(url="nats://127.0.0.1:4222").acheck()
            assert health.jetstream

        async def test_blocking_check_in_an_async_probe_is_refused(target):
            target.tcp(host="127.0.0.1", port=4222).check()
        """,
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*amqp amqp://guest:***@127.0.0.1:5672/: no queue '{absent}' in vhost "
            f"'/'. It was looked up by passive declare, so nothing was created.*",
            "*sleuth evidence*",
            f"amqp connect amqp://guest:***@127.0.0.1:5672/, passive declare queue "
            f"'{absent}' -> amqp amqp://guest:***@127.0.0.1:5672/: no queue*",
            "*a blocking call inside an 'async def' probe would stall every other "
            "probe: use the async helpers*",
        ]
    )
    assert "guest:guest" not in result.stdout.str()
