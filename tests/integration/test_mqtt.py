from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sleuth.errors import CheckFailed, ConfigError, ProbeTimeout, TargetUnreachable
from sleuth.probes.mqtt import MqttHealth
from tests.conftest import require_service
from tests.integration import seeding
from tests.integration.conftest import (
    MakeTarget,
    free_port,
    in_probe,
    require_program,
    running,
)

URL = "mqtt://127.0.0.1:1883"


@pytest.fixture(autouse=True)
def _mosquitto() -> None:
    require_service("Mosquitto", "127.0.0.1", 1883)


@pytest.fixture
def retained_topic() -> Iterator[str]:
    with seeding.retained_topic(b"up") as topic:
        yield topic


def test_connects_and_reads_the_retained_message(
    make_target: MakeTarget, retained_topic: str
):
    with in_probe() as ctx:
        health = (
            make_target()
            .mqtt(url=URL, topic=retained_topic)
            .check(expect="up", max_connect_time="5s")
        )
    assert isinstance(health, MqttHealth)
    assert (health.payload, health.retained, health.text) == (b"up", True, "up")
    [exchange] = ctx.exchanges
    assert exchange.request == f"mqtt connect {URL}, read retained {retained_topic!r}"
    assert exchange.headers == {"payload": "'up'", "retained": "yes"}


def test_connect_only_without_topic(make_target: MakeTarget):
    health = make_target().mqtt(host="127.0.0.1").check()
    assert health.topic is None
    assert health.connect_s > 0


def test_unexpected_payload_fails_with_both_values(
    make_target: MakeTarget, retained_topic: str
):
    with in_probe(), pytest.raises(CheckFailed) as caught:
        make_target().mqtt(url=URL, topic=retained_topic).check(expect="down")
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"mqtt {URL}: topic {retained_topic!r} holds 'up', expected 'down'. Check "
        f"that the publisher is up and publishes with retain."
    )


def test_topic_without_retained_message_fails_after_wait(make_target: MakeTarget):
    topic = f"sleuth-test/{uuid.uuid4().hex[:10]}/nothing"
    probe = make_target().mqtt(url=URL, topic=topic)
    with in_probe(), pytest.raises(CheckFailed) as caught:
        probe.check(wait="200ms")
    assert str(caught.value) == (
        f"mqtt {URL}: no retained message on topic {topic!r} within 0.20 s (wait). "
        f"Check that the publisher is up and publishes with retain."
    )
    assert probe.retained(wait=0.1) is None


def test_retained_accessor(make_target: MakeTarget, retained_topic: str):
    assert make_target().mqtt(url=URL).retained(retained_topic) == b"up"
    with pytest.raises(ConfigError, match="which topic"):
        make_target().mqtt(url=URL).retained()


def test_closed_port_is_refused(make_target: MakeTarget, closed_port: int):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().mqtt(host="127.0.0.1", port=closed_port).check()
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"mqtt mqtt://127.0.0.1:{closed_port}: connection refused by "
        f"127.0.0.1:{closed_port}. Is the service running and listening there?"
    )


def test_silent_port_times_out(make_target: MakeTarget, silent_port: int):
    with in_probe(timeout_s=0.5), pytest.raises(ProbeTimeout) as caught:
        make_target().mqtt(url=f"mqtt://127.0.0.1:{silent_port}").check()
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for mqtt connect mqtt://127.0.0.1:{silent_port}"
        " (timeout from test)"
    )


def test_unresolvable_host_is_a_dns_failure(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().mqtt(url="mqtt://-broker.invalid:1883").check()
    assert caught.value.category == "dns"
    assert "the name -broker.invalid does not resolve" in str(caught.value)


@pytest.fixture
def mosquitto_with_password(tmp_path: Path) -> Iterator[int]:
    """A mosquitto of the test's own: only user probe, password sekrit."""
    program = require_program("mosquitto")
    passwd = require_program("mosquitto_passwd")
    port = free_port()
    subprocess.run(
        [passwd, "-c", "-b", str(tmp_path / "passwd"), "probe", "sekrit"], check=True
    )
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {tmp_path / 'passwd'}\npersistence false\n"
        # As root, mosquitto would switch to its own user, who cannot read tmp_path.
        "user root\n"
    )
    with running([program, "-c", str(conf)], port):
        yield port


def test_wrong_password_is_an_auth_failure(
    make_target: MakeTarget, mosquitto_with_password: int
):
    url = f"mqtt://probe:wrong@127.0.0.1:{mosquitto_with_password}"
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().mqtt(url=url).check()
    assert caught.value.category == "auth"
    assert str(caught.value) == (
        f"mqtt mqtt://probe:***@127.0.0.1:{mosquitto_with_password}: the broker "
        f"refused the login (Not authorized). Check the username and password."
    )
    good = url.replace("wrong", "sekrit")
    assert make_target().mqtt(url=good).check().connect_s > 0


def test_bad_scheme_and_expect_without_topic_are_config_errors(
    make_target: MakeTarget,
):
    with pytest.raises(ConfigError, match="expected mqtt:// or mqtts://"):
        make_target().mqtt(url="http://127.0.0.1:1883")
    with pytest.raises(ConfigError, match="expect needs a topic"):
        make_target().mqtt(url=URL).check(expect="up")
