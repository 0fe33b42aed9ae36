from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.demo.server import BackgroundServer
from sleuth.errors import CheckFailed, ConfigError, ProbeTimeout, TargetUnreachable
from sleuth.probes.amqp import AmqpHealth, NodeState, QueueState
from tests.conftest import require_service
from tests.integration import seeding
from tests.integration.conftest import MakeTarget, in_probe, service_url

URL = service_url("amqp", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(autouse=True)
def _rabbitmq() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)


@pytest.fixture
def filled_queue() -> Iterator[str]:
    """A queue of this test's own, holding 12 messages, deleted afterwards."""
    with seeding.amqp_queue(12, URL) as name:
        yield name


def test_healthy_broker_reports_server_and_queue(
    make_target: MakeTarget, filled_queue: str
):
    with in_probe() as ctx:
        health = (
            make_target()
            .amqp(url=URL, queue=filled_queue)
            .check(max_queue_depth=100, min_consumers=0, max_connect_time="5s")
        )
    assert isinstance(health, AmqpHealth)
    assert health.product == "RabbitMQ"
    assert health.version[0].isdigit()
    assert health.queue == QueueState(name=filled_queue, messages=12, consumers=0)
    assert health.nodes is None  # no management_url
    assert health.url == "amqp://guest:***@127.0.0.1:5672/"
    [exchange] = ctx.exchanges
    assert exchange.request == (
        f"amqp connect amqp://guest:***@127.0.0.1:5672/, passive declare queue "
        f"{filled_queue!r}"
    )
    assert exchange.headers["messages"] == "12"
    assert exchange.headers["server"].startswith("RabbitMQ ")


def test_queue_depth_over_threshold_fails_with_figures(
    make_target: MakeTarget, filled_queue: str
):
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        make_target().amqp(url=URL, queue=filled_queue).check(
            max_queue_depth="10", min_consumers=1
        )
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"amqp amqp://guest:***@127.0.0.1:5672/: queue {filled_queue!r} holds 12 "
        f"messages, over max_queue_depth 10; queue {filled_queue!r} has 0 consumers, "
        f"under min_consumers 1. Look at the consumers of the queue and the "
        f"broker's logs."
    )
    assert "guest:guest" not in str(ctx.exchanges)


def test_missing_queue_is_reported_and_not_created(make_target: MakeTarget):
    name = f"sleuth-absent-{uuid.uuid4().hex[:10]}"
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        make_target().amqp(url=URL, queue=name).check()
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"amqp amqp://guest:***@127.0.0.1:5672/: no queue {name!r} in vhost '/'. "
        f"It was looked up by passive declare, so nothing was created. Check the "
        f"queue name, and that the service that declares it has started."
    )
    assert ctx.exchanges[0].error == str(caught.value)
    assert not seeding.amqp_exists(name, URL)


def test_queue_accessor_reads_depth(make_target: MakeTarget, filled_queue: str):
    probe = make_target().amqp(url=URL)
    assert probe.queue(filled_queue).messages == 12
    with pytest.raises(ConfigError, match="which queue"):
        probe.queue()


def test_service_by_name_with_setting_interpolated(
    make_target: MakeTarget, filled_queue: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BROKER_URL", URL)
    target = make_target(
        f"""
        targets:
          local:
            services:
              amqp:
                events:
                  url: "${{setting:BROKER_URL}}"
                  queue: "{filled_queue}"
        """
    )
    health = target.amqp("events").check(max_queue_depth=12)
    assert health.queue is not None
    assert health.queue.messages == 12


def test_wrong_password_is_an_auth_failure(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url="amqp://guest:wrong@127.0.0.1:5672/").check()
    assert caught.value.category == "auth"
    message = str(caught.value)
    assert message.startswith(
        "amqp amqp://guest:***@127.0.0.1:5672/: the broker refused the login"
    )
    assert "wrong" not in message


def test_missing_vhost_is_an_auth_failure(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url="amqp://guest:guest@127.0.0.1:5672/nope").check()
    assert caught.value.category == "auth"
    assert "virtual host 'nope': it does not exist" in str(caught.value)


def test_closed_port_is_refused(make_target: MakeTarget, closed_port: int):
    url = f"amqp://guest:guest@127.0.0.1:{closed_port}/"
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url=url).check()
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"amqp amqp://guest:***@127.0.0.1:{closed_port}/: connection refused by "
        f"127.0.0.1:{closed_port}. Is the service running and listening there?"
    )


def test_silent_port_times_out(make_target: MakeTarget, silent_port: int):
    url = f"amqp://guest:guest@127.0.0.1:{silent_port}/"
    with in_probe(timeout_s=0.5), pytest.raises(ProbeTimeout) as caught:
        make_target().amqp(url=url).check()
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for amqp connect "
        f"amqp://guest:***@127.0.0.1:{silent_port}/"
        " (timeout from test)"
    )


def test_unresolvable_host_is_a_dns_failure(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url="amqp://guest:guest@-broker.invalid:5672/").check()
    assert caught.value.category == "dns"
    assert "the name -broker.invalid does not resolve" in str(caught.value)


def test_depth_threshold_without_queue_is_a_config_error(make_target: MakeTarget):
    with pytest.raises(ConfigError, match="max_queue_depth needs a queue"):
        make_target().amqp(url=URL).check(max_queue_depth=5)


# -- the management API, against a fake: the plugin is not enabled here --------


def _management_app(nodes: list[dict[str, Any]]):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    expected = "Basic " + base64.b64encode(b"monitor:s3cret").decode()

    async def api_nodes(request):
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "not_authorised"}, status_code=401)
        return JSONResponse(nodes)

    return Starlette(routes=[Route("/api/nodes", api_nodes)])


HEALTHY_NODE = {
    "name": "rabbit@a",
    "running": True,
    "mem_alarm": False,
    "disk_free_alarm": False,
    "partitions": [],
}


@pytest.fixture
def management():
    servers: list[BackgroundServer] = []

    def serve(nodes: list[dict[str, Any]]) -> str:
        server = BackgroundServer(_management_app(nodes)).start()
        servers.append(server)
        return server.url.replace("http://", "http://monitor:s3cret@")

    yield serve
    for server in servers:
        server.stop()


def test_management_api_reports_nodes_when_configured(
    make_target: MakeTarget, management
):
    url = management([HEALTHY_NODE])
    with in_probe() as ctx:
        health = make_target().amqp(url=URL, management_url=url).check()
    assert health.nodes == (
        NodeState(name="rabbit@a", running=True, alarms=(), partitions=()),
    )
    assert ctx.exchanges[1].request.endswith(
        ":***@127.0.0.1:" + url.rsplit(":", 1)[1] + "/api/nodes"
    )
    assert ctx.exchanges[1].headers == {"node rabbit@a": "running"}


def test_management_alarms_fail_the_check(make_target: MakeTarget, management):
    nodes = [
        HEALTHY_NODE,
        {
            **HEALTHY_NODE,
            "name": "rabbit@b",
            "mem_alarm": True,
            "disk_free_alarm": True,
        },
        {**HEALTHY_NODE, "name": "rabbit@c", "running": False},
    ]
    with in_probe(), pytest.raises(CheckFailed) as caught:
        make_target().amqp(url=URL, management_url=management(nodes)).check()
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        "amqp amqp://guest:***@127.0.0.1:5672/: node rabbit@b has alarms: memory, "
        "disk; node rabbit@c is not running. Look at the consumers of the queue and "
        "the broker's logs."
    )


def test_management_wrong_credentials_is_an_auth_failure(
    make_target: MakeTarget, management
):
    url = management([HEALTHY_NODE]).replace("s3cret", "wrong")
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url=URL, management_url=url).check()
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        "amqp amqp://guest:***@127.0.0.1:5672/: the management API refused the "
        "credentials (status 401). Give a monitoring user in management_url."
    )


def test_management_refused_port(make_target: MakeTarget, closed_port: int):
    url = f"http://127.0.0.1:{closed_port}"
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url=URL, management_url=url).check()
    assert caught.value.category == "refused"
    assert "management API" in str(caught.value)
