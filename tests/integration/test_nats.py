from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sleuth.errors import CheckFailed, ConfigError, ProbeTimeout, TargetUnreachable
from sleuth.probes.nats import ConsumerState, NatsHealth
from tests.conftest import require_service
from tests.integration import seeding
from tests.integration.conftest import (
    MakeTarget,
    free_port,
    in_probe,
    require_program,
    running,
    service_url,
)

URL = service_url("nats", "nats://127.0.0.1:4222")


@pytest.fixture(autouse=True)
def _nats() -> None:
    require_service("NATS", "127.0.0.1", 4222)


@pytest.fixture
def stream() -> Iterator[str]:
    """A stream of this test's own with 7 messages and a consumer that read none."""
    with seeding.nats_stream(7, URL) as name:
        yield name


def test_server_info_without_stream(make_target: MakeTarget):
    with in_probe() as ctx:
        health = make_target().nats(url=URL).check(max_connect_time="5s")
    assert isinstance(health, NatsHealth)
    assert health.jetstream is True
    assert health.version[0].isdigit()
    assert health.stream is None
    [exchange] = ctx.exchanges
    assert exchange.request == "nats connect nats://127.0.0.1:4222"
    assert exchange.headers["jetstream"] == "enabled"
    info = make_target().nats(url=URL).server_info()
    assert info["version"] == health.version


def test_stream_and_consumer_state_are_read(make_target: MakeTarget, stream: str):
    probe = make_target().nats(url=URL, stream=stream, consumer="billing")
    health = probe.check(max_messages=10, min_consumers=1, max_pending=7)
    assert health.stream is not None
    assert (health.stream.name, health.stream.messages) == (stream, 7)
    assert health.stream.consumers == 1
    assert health.stream.bytes > 0
    assert health.consumer == ConsumerState(
        stream=stream, name="billing", pending=7, ack_pending=0, redelivered=0
    )


def test_consumer_pending_over_threshold_fails_with_figures(
    make_target: MakeTarget, stream: str
):
    probe = make_target().nats(url=URL, stream=stream, consumer="billing")
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        probe.check(max_pending="5", max_messages=3, min_consumers=2)
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"nats nats://127.0.0.1:4222: stream {stream!r} holds 7 messages, over "
        f"max_messages 3; stream {stream!r} has 1 consumers, under min_consumers 2; "
        f"consumer 'billing' on stream {stream!r} has 7 pending, over max_pending 5. "
        f"Look at the consumers of the stream and the server's logs."
    )
    assert ctx.exchanges[0].headers["consumer pending"] == "7"


def test_missing_stream_and_consumer_are_reported(make_target: MakeTarget, stream: str):
    absent = f"SLEUTH_ABSENT_{uuid.uuid4().hex[:8].upper()}"
    with in_probe(), pytest.raises(CheckFailed) as caught:
        make_target().nats(url=URL, stream=absent).check()
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"nats nats://127.0.0.1:4222: stream {absent!r} does not exist. Check the "
        f"name, and that the service that creates it has started. Nothing was "
        f"created."
    )
    with in_probe(), pytest.raises(CheckFailed) as caught:
        make_target().nats(url=URL, stream=stream, consumer="nobody").check()
    assert f"consumer 'nobody' on stream {stream!r} does not exist" in str(caught.value)

    assert not seeding.nats_stream_exists(absent, URL)


def test_closed_port_is_refused(make_target: MakeTarget, closed_port: int):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().nats(url=f"nats://127.0.0.1:{closed_port}").check()
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"nats nats://127.0.0.1:{closed_port}: connection refused by "
        f"127.0.0.1:{closed_port}. Is the service running and listening there?"
    )


def test_silent_port_times_out(make_target: MakeTarget, silent_port: int):
    url = f"nats://127.0.0.1:{silent_port}"
    with in_probe(timeout_s=0.5), pytest.raises(ProbeTimeout) as caught:
        make_target().nats(url=url).check()
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for nats connect {url} (timeout from test)"
    )


def test_unresolvable_host_is_a_dns_failure(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().nats(url="nats://-queue.invalid:4222").check()
    assert caught.value.category == "dns"
    assert "the name -queue.invalid does not resolve" in str(caught.value)


@pytest.fixture
def nats_with_password() -> Iterator[int]:
    """A nats-server of the test's own: user probe, password sekrit, no JetStream."""
    program = require_program("nats-server")
    port = free_port()
    argv = [program, "-a", "127.0.0.1", "-p", str(port)]
    with running([*argv, "--user", "probe", "--pass", "sekrit"], port):
        yield port


def test_wrong_password_is_an_auth_failure(
    make_target: MakeTarget, nats_with_password: int
):
    url = f"nats://probe:wrong@127.0.0.1:{nats_with_password}"
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().nats(url=url).check()
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        f"nats nats://probe:***@127.0.0.1:{nats_with_password}: the server refused "
        f"the credentials (Authorization Violation). Check the user and password, "
        f"or token, in the URL."
    )


def test_stream_on_server_without_jetstream_is_reported(
    make_target: MakeTarget, nats_with_password: int
):
    url = f"nats://probe:sekrit@127.0.0.1:{nats_with_password}"
    with in_probe(timeout_s=3), pytest.raises(CheckFailed) as caught:
        make_target().nats(url=url, stream="ORDERS").check()
    assert caught.value.category == "unhealthy"
    assert "JetStream is not enabled on this server or account" in str(caught.value)


def test_thresholds_need_their_stream_or_consumer(make_target: MakeTarget):
    with pytest.raises(ConfigError, match="max_pending needs a consumer"):
        make_target().nats(url=URL, stream="S").check(max_pending=1)
    with pytest.raises(ConfigError, match="needs stream"):
        make_target().nats(url=URL, consumer="c")
