"""Dependency rows in a probe table run the real kinds against real services."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from tests.conftest import outcomes, require_service
from tests.integration import seeding
from tests.integration.dnsserver import DnsServer
from tests.integration.tlsserver import CertFactory, TlsServer


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


def run_table(pytester, table: str, config: str = "") -> tuple[Any, dict[str, Any]]:
    """Run one table as a suite; the run's outcome and its JSON report's probes."""
    pytester.makefile(
        ".yaml",
        sleuth=textwrap.dedent(config) or "targets:\n  local:\n    timeout: 5s\n",
    )
    pytester.makefile(".yaml", deps=textwrap.dedent(table))
    result = pytester.runpytest("-v", "--sleuth-json=run.json")
    report = json.loads((pytester.path / "run.json").read_text())
    return result, {p["name"]: p for p in report["probes"]}


def verdicts(probes: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {name: (p["outcome"], p["category"]) for name, p in probes.items()}


def requests(probe: dict[str, Any]) -> list[str]:
    return [e["request"] for e in probe["evidence"]["exchanges"]]


def test_mysql_rows_against_the_local_mariadb(pytester, closed_port):
    require_service("MariaDB", "127.0.0.1", 3306)
    result, probes = run_table(
        pytester,
        f"""
        mysql:
          - {{name: shop db has headroom, dsn: "mysql://root@127.0.0.1:3306/test",
              max_connections_used: 95%, max_threads_running: 50}}
          - {{name: shop db is a replica, dsn: "mysql://root@127.0.0.1:3306/test",
              role: replica}}
          - {{name: shop db port, host: 127.0.0.1, port: {closed_port}, user: root}}
        """,
    )
    assert verdicts(probes) == {
        "shop db has headroom": ("passed", ""),
        "shop db is a replica": ("failed", "unhealthy"),
        "shop db port": ("error", "refused"),
    }, result.stdout.str()
    [check] = probes["shop db has headroom"]["evidence"]["exchanges"]
    assert check["request"] == "mysql check mysql://root@127.0.0.1:3306/test"
    assert check["headers"]["role"] == "primary"
    assert check["remote"] == "127.0.0.1:3306"
    assert probes["shop db is a replica"]["diagnosis"].startswith(
        "mysql mysql://root@127.0.0.1:3306/test: the server is a primary, "
        "expected a replica (role)."
    )
    assert requests(probes["shop db port"]) == [
        f"mysql connect mysql://root@127.0.0.1:{closed_port}/"
    ]


def test_amqp_rows_against_the_local_rabbitmq(pytester):
    require_service("RabbitMQ", "127.0.0.1", 5672)
    url = seeding.AMQP_URL
    absent = seeding.unique("sleuth-absent-")
    with seeding.amqp_queue(3) as queue:
        result, probes = run_table(
            pytester,
            f"""
            amqp:
              - {{name: broker answers, url: "{url}", max_connect_time: 5s}}
              - {{name: queue is short, url: "{url}", queue: {queue}, max_queue_depth: 10}}
              - {{name: queue is drained, url: "{url}", queue: {queue}, max_queue_depth: 2}}
              - {{name: queue is consumed, url: "{url}", queue: {queue}, min_consumers: 1}}
              - {{name: queue exists, url: "{url}", queue: {absent}}}
            """,
        )
        depth = seeding.amqp_depth(queue)
    out = result.stdout.str()
    assert verdicts(probes) == {
        "broker answers": ("passed", ""),
        "queue is short": ("passed", ""),
        "queue is drained": ("failed", "unhealthy"),
        "queue is consumed": ("failed", "unhealthy"),
        "queue exists": ("failed", "unhealthy"),
    }, out
    # Counted at the broker: the queue was looked at, not consumed, and the
    # absent one was looked up by passive declare, not created.
    assert depth == 3
    assert not seeding.amqp_exists(absent)
    [declare] = probes["queue is drained"]["evidence"]["exchanges"]
    assert declare["request"] == (
        f"amqp connect amqp://guest:***@127.0.0.1:5672/, passive declare queue "
        f"'{queue}'"
    )
    assert (declare["headers"]["messages"], declare["headers"]["consumers"]) == (
        "3",
        "0",
    )
    assert probes["queue is drained"]["diagnosis"].startswith(
        f"amqp amqp://guest:***@127.0.0.1:5672/: queue '{queue}' holds 3 messages, "
        f"over max_queue_depth 2."
    )
    assert probes["queue is consumed"]["diagnosis"].startswith(
        f"amqp amqp://guest:***@127.0.0.1:5672/: queue '{queue}' has 0 consumers, "
        f"under min_consumers 1."
    )
    report = (pytester.path / "run.json").read_text()
    assert "guest:guest" not in out + report


def test_nats_rows_against_the_local_jetstream(pytester):
    require_service("NATS", "127.0.0.1", 4222)
    url = seeding.NATS_URL
    with seeding.nats_stream(7) as stream:
        result, probes = run_table(
            pytester,
            f"""
            nats:
              - {{name: server answers, url: "{url}"}}
              - {{name: stream is bounded, url: "{url}", stream: {stream},
                  max_messages: 10, min_consumers: 1}}
              - {{name: billing keeps up, url: "{url}", stream: {stream},
                  consumer: billing, max_pending: 5}}
              - {{name: stream exists, url: "{url}", stream: {stream}_ABSENT}}
            """,
        )
        exists = seeding.nats_stream_exists(f"{stream}_ABSENT")
    assert verdicts(probes) == {
        "server answers": ("passed", ""),
        "stream is bounded": ("passed", ""),
        "billing keeps up": ("failed", "unhealthy"),
        "stream exists": ("failed", "unhealthy"),
    }, result.stdout.str()
    assert not exists  # looked up, not created
    [read] = probes["billing keeps up"]["evidence"]["exchanges"]
    assert read["request"] == (
        f"nats connect {url}, stream '{stream}', consumer 'billing'"
    )
    assert read["headers"]["jetstream"] == "enabled"
    assert read["headers"]["stream messages"] == "7"
    assert read["headers"]["consumer pending"] == "7"
    assert probes["billing keeps up"]["diagnosis"].startswith(
        f"nats {url}: consumer 'billing' on stream '{stream}' has 7 pending, "
        f"over max_pending 5."
    )
    assert probes["stream exists"]["diagnosis"].startswith(
        f"nats {url}: stream '{stream}_ABSENT' does not exist."
    )


def test_mqtt_rows_against_the_local_mosquitto(pytester, closed_port):
    require_service("Mosquitto", "127.0.0.1", 1883)
    with seeding.retained_topic(b"up") as topic:
        result, probes = run_table(
            pytester,
            f"""
            mqtt:
              - {{name: status is up, url: "mqtt://127.0.0.1:1883", topic: {topic},
                  expect: up}}
              - {{name: status is down, url: "mqtt://127.0.0.1:1883", topic: {topic},
                  expect: down}}
              - {{name: broker port, host: 127.0.0.1, port: {closed_port}}}
            """,
        )
        still = seeding.retained_payload(topic)
    assert verdicts(probes) == {
        "status is up": ("passed", ""),
        "status is down": ("failed", "unhealthy"),
        "broker port": ("error", "refused"),
    }, result.stdout.str()
    assert still == b"up"  # read, never published over
    [read] = probes["status is down"]["evidence"]["exchanges"]
    assert read["request"] == (
        f"mqtt connect mqtt://127.0.0.1:1883, read retained '{topic}'"
    )
    assert read["headers"] == {"payload": "'up'", "retained": "yes"}
    assert probes["status is down"]["diagnosis"].startswith(
        f"mqtt mqtt://127.0.0.1:1883: topic '{topic}' holds 'up', expected 'down'."
    )
    assert requests(probes["broker port"]) == [
        f"mqtt connect mqtt://127.0.0.1:{closed_port}"
    ]


def test_dns_rows_against_a_local_name_server(pytester):
    records = {("api.test.", "A"): ["192.0.2.11", "192.0.2.10"]}
    with DnsServer(records) as server:
        at = f"server: 127.0.0.1, port: {server.port}"
        result, probes = run_table(
            pytester,
            f"""
            dns:
              - {{id: api resolves, name: api.test, {at},
                  expect: [192.0.2.10, 192.0.2.11]}}
              - {{id: api moved, name: api.test, {at}, expect: 192.0.2.99}}
              - {{id: old name, name: old.test, {at}}}
              - {{id: broken zone, name: www.broken, {at}}}
            """,
        )
    assert verdicts(probes) == {
        "api resolves": ("passed", ""),
        "api moved": ("failed", "unhealthy"),
        "old name": ("error", "dns"),
        "broken zone": ("error", "dns"),
    }, result.stdout.str()
    assert server.queries == 4  # one question a row, asked of this server
    [answer] = probes["api moved"]["evidence"]["exchanges"]
    assert answer["request"] == f"dns A api.test @127.0.0.1:{server.port}"
    assert answer["headers"] == {"records": "192.0.2.10, 192.0.2.11", "ttl": "300"}
    assert probes["api moved"]["diagnosis"].startswith(
        f"dns api.test A @127.0.0.1:{server.port}: resolves to 192.0.2.10, "
        f"192.0.2.11, expected 192.0.2.99"
    )
    assert "(NXDOMAIN)" in probes["old name"]["diagnosis"]
    assert "answered SERVFAIL" in probes["broken zone"]["diagnosis"]


def test_tls_rows_against_local_tls_servers(pytester, tmp_path):
    certs = CertFactory(tmp_path)
    with (
        TlsServer(*certs.issue("valid")) as valid,
        TlsServer(*certs.issue("soon", not_after_days=20)) as soon,
    ):
        ca = f"ca_file: {certs.ca_file}"
        result, probes = run_table(
            pytester,
            f"""
            tls:
              - {{name: api cert, host: 127.0.0.1, port: {valid.port}, {ca},
                  min_days_left: 30, min_version: "1.2"}}
              - {{name: api cert soon, host: 127.0.0.1, port: {soon.port}, {ca},
                  min_days_left: 7, warn_days_left: 30}}
              - {{name: api cert lasts, host: 127.0.0.1, port: {soon.port}, {ca},
                  min_days_left: 30}}
              - {{name: api cert trusted, host: 127.0.0.1, port: {valid.port}}}
            """,
        )
    assert verdicts(probes) == {
        "api cert": ("passed", ""),
        "api cert soon": ("warned", ""),
        "api cert lasts": ("failed", "unhealthy"),
        "api cert trusted": ("error", "tls"),
    }, result.stdout.str()
    [warning] = probes["api cert soon"]["warnings"]
    assert warning.startswith(
        f"tls 127.0.0.1:{soon.port}: certificate expires in 20.0 days ("
    )
    assert warning.endswith("), under warn_days_left 30")
    [handshake] = probes["api cert"]["evidence"]["exchanges"]
    assert handshake["request"] == f"tls handshake 127.0.0.1:{valid.port}"
    assert handshake["headers"]["issuer"] == "CN=sleuth test CA"
    assert handshake["headers"]["verified"] == "yes"
    assert probes["api cert lasts"]["diagnosis"].startswith(
        f"tls 127.0.0.1:{soon.port}: the certificate expires in 20.0 days ("
    )
    assert probes["api cert trusted"]["diagnosis"].startswith(
        f"tls 127.0.0.1:{valid.port}: the certificate chain is not trusted: "
        f"unable to get local issuer certificate (code 20)"
    )
