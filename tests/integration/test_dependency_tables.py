"""Dependency rows in a probe table run the real kinds against real services."""

from __future__ import annotations

import json
import textwrap

from tests.conftest import outcomes, require_service


def test_postgres_redis_and_tcp_rows_against_the_local_services(pytester, closed_port):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    pytester.makefile(
        ".yaml",
        sleuth=textwrap.dedent(
            """
            targets:
              local:
                timeout: 5s
                sources: [env]
                services:
                  postgres:
                    orders: {dsn: "postgresql://postgres@127.0.0.1:5432/test"}
            """
        ),
    )
    pytester.makefile(
        ".yaml",
        deps=textwrap.dedent(
            f"""
            postgres:
              - {{name: orders db has headroom, service: orders, max_connections_used: 95%}}
              - {{name: orders db is a replica, service: orders, role: replica}}
            redis:
              - {{name: cache answers, url: "redis://127.0.0.1:6379/0", max_memory_used: 99%}}
            tcp:
              - {{name: broker port, host: 127.0.0.1, port: {closed_port}}}
            """
        ),
    )
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 2, "failed": 1, "errors": 1}
    result.stdout.fnmatch_lines(
        [
            "*deps.yaml::orders db has headroom PASSED*",
            "*deps.yaml::orders db is a replica FAILED*",
            "*deps.yaml::cache answers PASSED*",
            "*deps.yaml::broker port ERROR*",
        ]
    )
    out = result.stdout.str()
    assert "role" in out
    assert "primary" in out
    assert f"127.0.0.1:{closed_port}" in out


def test_rows_that_would_take_messages_or_bend_a_subject_send_nothing(pytester):
    """A row reaches the same guards as Python: refused before a connection."""
    require_service("Mosquitto", "127.0.0.1", 1883)
    pytester.makefile(".yaml", sleuth="targets:\n  local: {timeout: 5s}\n")
    pytester.makefile(
        ".yaml",
        deps=textwrap.dedent(
            """
            mqtt:
              - {name: shared, url: "mqtt://127.0.0.1:1883", topic: "$share/w/jobs"}
              - {name: wildcard, url: "mqtt://127.0.0.1:1883", topic: "plant/#"}
            nats:
              - {name: dotted, url: "nats://127.0.0.1:4222", stream: "orders.placed"}
            """
        ),
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    probes = {p["name"]: p for p in json.loads(out.read_text())["probes"]}
    seen = {name: (p["outcome"], p["category"]) for name, p in probes.items()}
    assert seen == {
        "shared": ("failed", "write-refused"),
        "wildcard": ("error", "other"),
        "dotted": ("error", "other"),
    }
    assert all(p["evidence"]["exchanges"] == [] for p in probes.values())
    result.stdout.fnmatch_lines(
        [
            "*ConfigError: deps.yaml line 3: mqtt *: topic 'plant/#' has a wildcard*",
            "*ConfigError: deps.yaml line 5: target.nats(...): nats stream "
            "'orders.placed' is not a JetStream name*",
            "*WriteRefused: mqtt mqtt://127.0.0.1:1883: subscribing to '$share/w/jobs'"
            " refused: *Read the topic itself: 'jobs'. Nothing was sent.",
        ]
    )
