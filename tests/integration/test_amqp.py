from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from sleuth.errors import CheckFailed, ConfigError, ProbeTimeout, TargetUnreachable
from sleuth.probes.amqp import AmqpHealth, NodeState, QueueState
from sleuth.redact import mask_url
from tests.conftest import require_service
from tests.integration import seeding
from tests.integration.conftest import MakeTarget, in_probe, service_url, wait_until
from tests.integration.rabbitmqnode import RabbitNode, management_call, throwaway_node

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


# -- the management API: the machine's broker, and a throwaway node for alarms --

MANAGEMENT = service_url("amqp_management", "http://guest:guest@127.0.0.1:15672")


@pytest.fixture
def management() -> str:
    """The machine's management API (``make services`` enables the plugin)."""
    parts = urlsplit(MANAGEMENT)
    require_service(
        "RabbitMQ's management API", parts.hostname or "", parts.port or 15672
    )
    return MANAGEMENT


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.hostname}:{parts.port}").geturl()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ApiUser:
    name: str
    password: str

    def amqp_url(self) -> str:
        return f"amqp://{self.name}:{self.password}@127.0.0.1:5672/"

    def management_url(self, management: str) -> str:
        plain = urlsplit(_without_password(management))
        netloc = f"{self.name}:{self.password}@{plain.netloc}"
        return plain._replace(netloc=netloc).geturl()


@pytest.fixture
def api_user(management: str) -> Iterator[Callable[[str], ApiUser]]:
    """Users of this test's own on the broker, with the tags asked and read access
    to vhost '/'; deleted after."""
    made: list[str] = []

    def make(tags: str) -> ApiUser:
        user = ApiUser(
            name=f"sleuth-test-{uuid.uuid4().hex[:8]}", password=uuid.uuid4().hex
        )
        body = {"password": user.password, "tags": tags}
        management_call(management, f"/api/users/{user.name}", method="PUT", body=body)
        made.append(user.name)
        access = {"configure": "", "write": "", "read": ".*"}
        path = f"/api/permissions/%2F/{user.name}"
        management_call(management, path, method="PUT", body=access)
        return user

    yield make
    for name in made:
        management_call(management, f"/api/users/{name}", method="DELETE")


def test_management_api_reports_the_brokers_nodes(
    make_target: MakeTarget, management: str
):
    nodes = management_call(management, "/api/nodes")
    with in_probe() as ctx:
        health = make_target().amqp(url=URL, management_url=management).check()
    assert health.nodes == tuple(
        NodeState(name=node["name"], running=True, alarms=(), partitions=())
        for node in nodes
    )
    assert ctx.exchanges[1].request == (
        f"GET {mask_url(management.rstrip('/') + '/api/nodes')}"
    )
    assert ctx.exchanges[1].reason == "200"
    assert ctx.exchanges[1].headers == {
        f"node {node['name']}": "running" for node in nodes
    }
    assert "guest:guest" not in repr(ctx.exchanges)


def test_management_credentials_default_to_the_amqp_urls(
    make_target: MakeTarget, management: str, api_user: Callable[[str], ApiUser]
):
    plain = _without_password(management)
    monitor, plain_user = api_user("monitoring"), api_user("")
    health = make_target().amqp(url=monitor.amqp_url(), management_url=plain).check()
    assert health.nodes
    assert all(node.running for node in health.nodes)
    # The AMQP URL's user, not guest, was asked: one without the tag is refused.
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url=plain_user.amqp_url(), management_url=plain).check()
    assert "(status 401: Not management user)" in str(caught.value)


def test_queue_figures_agree_with_the_management_api(
    make_target: MakeTarget, management: str, filled_queue: str
):
    """A consumer of the test's own holds one message unacknowledged."""
    probe = make_target().amqp(url=URL, queue=filled_queue)
    path = f"/api/queues/%2F/{filled_queue}"

    async def consumed() -> tuple[QueueState, dict[str, Any], str]:
        import aiormq

        connection = await aiormq.connect(URL)
        try:
            channel = await connection.channel()
            await channel.basic_qos(prefetch_count=1)
            await channel.basic_consume(filled_queue, _keep_unacknowledged)
            # The API's figures are sampled every few seconds: wait for them.
            await asyncio.to_thread(
                wait_until,
                "the management API counts the consumer and the delivery",
                lambda: (
                    (lambda q: (q.get("consumers"), q.get("messages_ready")))(
                        management_call(management, path)
                    )
                    == (1, 11)
                ),
            )
            seen = await asyncio.to_thread(probe.queue)
            with in_probe(), pytest.raises(CheckFailed) as caught:
                await asyncio.to_thread(
                    probe.check, max_queue_depth=10, min_consumers=2
                )
            return seen, management_call(management, path), str(caught.value)
        finally:
            await connection.close()

    seen, listed, message = asyncio.run(consumed())
    assert seen == QueueState(name=filled_queue, messages=11, consumers=1)
    assert (listed["messages_ready"], listed["consumers"]) == (11, 1)
    assert listed["messages_unacknowledged"] == 1  # not counted by sleuth
    assert f"queue {filled_queue!r} holds 11 messages, over max_queue_depth 10" in (
        message
    )
    assert f"queue {filled_queue!r} has 1 consumers, under min_consumers 2" in message


async def _keep_unacknowledged(message: Any) -> None:
    """Receive, and never acknowledge: the message stays with the consumer."""


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        pytest.param("", "Not management user", id="no-tag"),
        pytest.param("management", "Not monitor user", id="management-tag-only"),
    ],
)
def test_management_user_without_the_monitoring_tag_is_refused(
    make_target: MakeTarget,
    management: str,
    api_user: Callable[[str], ApiUser],
    tags: str,
    reason: str,
):
    user = api_user(tags)
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(
            url=URL, management_url=user.management_url(management)
        ).check()
    assert user.password not in repr(ctx.exchanges)
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        f"amqp amqp://guest:***@127.0.0.1:5672/: the management API refused the "
        f"credentials (status 401: {reason}). Give a user with the monitoring tag "
        f"in management_url."
    )


def test_management_wrong_password_is_an_auth_failure(
    make_target: MakeTarget, management: str
):
    url = management.replace(":guest@", ":wrong@")
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url=URL, management_url=url).check()
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        "amqp amqp://guest:***@127.0.0.1:5672/: the management API refused the "
        "credentials (status 401: Login failed). Give a user with the monitoring "
        "tag in management_url."
    )
    assert "wrong" not in repr(ctx.exchanges)


def test_management_url_with_a_wrong_path_is_a_failed_answer(
    make_target: MakeTarget, management: str
):
    url = management + "/api"  # the API's base, not the server's: /api/api/nodes
    with in_probe(), pytest.raises(CheckFailed) as caught:
        make_target().amqp(url=URL, management_url=url).check()
    assert caught.value.category == "failed"
    assert str(caught.value) == (
        "amqp amqp://guest:***@127.0.0.1:5672/: the management API answered 404: "
        '{"error":"Object Not Found","reason":"Not Found"}'
    )


def test_management_url_at_the_amqp_port_is_not_http(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url=URL, management_url="http://127.0.0.1:5672").check()
    assert caught.value.category == "other"
    # What came is as aiohttp quotes it: its parser stops at the first NUL
    # before 3.14.3 (b'AMQP'), and shows the whole protocol header after.
    began = "b'AMQP\\x00\\x00\\t\\x01'" if _aiohttp_at_least(3, 14, 3) else "b'AMQP'"
    assert str(caught.value) == (
        "amqp amqp://guest:***@127.0.0.1:5672/ management API: the answer is not "
        f"HTTP (it began {began}). Is that port the service's HTTP port?"
    )


def _aiohttp_at_least(*wanted: int) -> bool:
    from importlib.metadata import version

    return tuple(int(n) for n in version("aiohttp").split(".")[:3]) >= wanted


def test_management_absent_port_is_refused(make_target: MakeTarget, closed_port: int):
    url = f"http://guest:guest@127.0.0.1:{closed_port}"
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().amqp(url=URL, management_url=url).check()
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"amqp amqp://guest:***@127.0.0.1:5672/ management API: connection refused "
        f"by 127.0.0.1:{closed_port}. Is the service running and listening there?"
    )


@pytest.fixture(scope="module")
def rabbitmq_node() -> Iterator[RabbitNode]:
    with throwaway_node() as node:
        yield node


def test_management_alarms_fail_the_check(
    make_target: MakeTarget, rabbitmq_node: RabbitNode
):
    node = rabbitmq_node
    probe = make_target().amqp(url=node.amqp_url, management_url=node.management_url)
    with in_probe():
        assert probe.check().nodes == (
            NodeState(name=node.name, running=True, alarms=(), partitions=()),
        )
    # Both alarms at once: a free disk limit no disk has, a memory limit no node keeps.
    node.ctl("set_disk_free_limit", "100000GB")
    node.ctl("set_vm_memory_high_watermark", "0.00001")
    wait_until(
        "the management API shows both alarms",
        lambda: (lambda n: n["mem_alarm"] and n["disk_free_alarm"])(
            node.api("/api/nodes")[0]
        ),
    )
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        probe.check()
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"amqp amqp://guest:***@127.0.0.1:{node.amqp_port}/: node {node.name} has "
        f"alarms: memory, disk. Look at the consumers of the queue and the broker's "
        f"logs."
    )
    assert ctx.exchanges[1].headers == {
        f"node {node.name}": "running, alarms: memory, disk"
    }
