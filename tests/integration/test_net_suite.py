"""A sleuth suite end to end: def probes using the network helpers, run by pytest."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import require_service


def test_amqp_probe_in_a_suite_fails_with_message_and_evidence(
    pytester: pytest.Pytester, suite
):
    require_service("RabbitMQ", "127.0.0.1", 5672)
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
        """,
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*amqp amqp://guest:***@127.0.0.1:5672/: no queue '{absent}' in vhost "
            f"'/'. It was looked up by passive declare, so nothing was created.*",
            "*sleuth evidence*",
            f"amqp connect amqp://guest:***@127.0.0.1:5672/, passive declare queue "
            f"'{absent}' -> amqp amqp://guest:***@127.0.0.1:5672/: no queue*",
        ]
    )
    assert "guest:guest" not in result.stdout.str()
