"""target.mqtt never changes the broker: it publishes nothing, retains nothing,
takes no message from a shared subscription and kicks off no client.

Against a mosquitto of this module's own, watched by three clients of the
test's (paho-mqtt, in its own thread): a watcher subscribed to ``#``, which
would see any message the helper published; a bystander with a fixed client
id and a persistent session, which a probe using the same id would kick off;
and a worker in the shared subscription ``$share/workers/jobs``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sleuth.errors import ConfigError, WriteRefused
from sleuth.target import Target
from tests.integration.conftest import (
    MakeTarget,
    free_port,
    in_probe,
    require_program,
    running,
)

WAIT_S = 5.0  # the most any event below is waited for
RETAINED = {"plant/status": b"up", "plant/line-1/status": b"up"}


class Watcher:
    """A paho client on its own thread that keeps every message it receives."""

    def __init__(self, port: int, client_id: str, *, clean: bool = True) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes, bool]] = []
        self.disconnects: list[str] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean
        )
        self.client.on_connect = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda _c, _u, _f, rc, _p: self.disconnects.append(
            str(rc)
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._ready.wait(WAIT_S), f"{client_id} did not connect"

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        with self._arrived:
            self.messages.append(
                (message.topic, bytes(message.payload), message.retain)
            )
            self._arrived.notify_all()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(WAIT_S), f"no SUBACK for {topic}"

    def wait_for(self, topic: str) -> list[tuple[str, bytes, bool]]:
        """Every message up to and including the first on ``topic``."""
        ok, messages = self.wait_until(lambda m: m[0] == topic)
        assert ok, f"nothing arrived on {topic}"
        return messages

    def wait_until(
        self, arrived: Callable[[tuple[str, bytes, bool]], bool]
    ) -> tuple[bool, list[tuple[str, bytes, bool]]]:
        """Whether a message ``arrived`` within WAIT_S, and all received so far."""
        with self._arrived:
            ok = self._arrived.wait_for(
                lambda: any(arrived(m) for m in self.messages), WAIT_S
            )
            return ok, list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Broker:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"mqtt://127.0.0.1:{port}"
        self.watcher = Watcher(port, "watcher")
        self.watcher.subscribe("#")
        self.bystander = Watcher(port, "plant-controller", clean=False)
        self.bystander.subscribe("plant/commands")
        self.worker = Watcher(port, "worker")
        self.worker.subscribe("$share/workers/jobs")

    def sync(self) -> list[tuple[str, bytes, bool]]:
        """All the watcher has seen, once every earlier message has reached it.

        mosquitto handles one message at a time: one the test sends now arrives
        after anything the helper sent before it.
        """
        marker = f"sync/{uuid.uuid4().hex}"
        self.worker.client.publish(marker, b"", qos=1)
        seen = self.watcher.wait_for(marker)
        return [m for m in seen if not m[0].startswith(("sync/", "jobs"))]

    def retained(self) -> set[tuple[str, bytes]]:
        """What the broker holds retained now, as a new subscriber to # gets it."""
        reader = Watcher(self.port, f"reader-{uuid.uuid4().hex[:8]}")
        try:
            reader.subscribe("#")
            marker = f"sync/{uuid.uuid4().hex}"
            reader.client.publish(marker, b"", qos=1)
            return {(t, p) for t, p, retain in reader.wait_for(marker) if retain}
        finally:
            reader.close()

    def snapshot(self) -> dict[str, Any]:
        return {
            "messages": self.sync(),
            "retained": self.retained(),
            "bystander connected": self.bystander.client.is_connected(),
            "bystander disconnects": list(self.bystander.disconnects),
            "jobs the worker got of 4": self.jobs_to_the_worker(4),
        }

    def jobs_to_the_worker(self, count: int) -> int:
        """Of ``count`` jobs sent now, how many the shared group's worker gets.

        All of them, unless someone else is left in the group: a shared
        subscription hands each message to one member only.
        """
        batch = uuid.uuid4().hex
        for i in range(count):
            self.watcher.client.publish("jobs", f"{batch} {i}".encode(), qos=1)
        last = f"{batch} {count - 1}".encode()
        _, got = self.worker.wait_until(lambda m: m[1] == last)
        return sum(m[1].startswith(batch.encode()) for m in got)

    def close(self) -> None:
        for client in (self.worker, self.bystander, self.watcher):
            client.close()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    program = require_program("mosquitto")
    port = free_port()
    config = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
    )
    with running([program, "-c", str(config)], port):
        setup = Watcher(port, "setup")
        for topic, payload in RETAINED.items():
            setup.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(
                WAIT_S
            )
        setup.close()
        broker = Broker(port)
        try:
            yield broker
        finally:
            broker.close()


@pytest.fixture
def target(make_target: MakeTarget, broker: Broker) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              mqtt:
                plant: {{url: "{broker.url}"}}
        """
    )


def test_reads_change_nothing_and_kick_no_one(target: Target, broker: Broker) -> None:
    before = broker.snapshot()
    with in_probe():
        for _ in range(3):  # each with its own client id
            target.mqtt("plant").check()
        health = target.mqtt("plant", topic="plant/status").check(expect="up")
        assert target.mqtt("plant").retained("plant/line-1/status") == b"up"
        assert target.mqtt("plant").retained("plant/nothing", wait="0.2s") is None
    assert health.retained
    assert broker.snapshot() == before


SHARED = [
    pytest.param("$share/workers/jobs", "jobs", id="share"),
    pytest.param("$share/workers/plant/status", "plant/status", id="share-deeper"),
    pytest.param("$queue/jobs", "jobs", id="queue"),
]


WAYS = [
    pytest.param(lambda t, topic: t.mqtt("plant", topic=topic).check(), id="check"),
    pytest.param(lambda t, topic: t.mqtt("plant").retained(topic), id="retained"),
]


@pytest.mark.parametrize(("topic", "plain"), SHARED)
@pytest.mark.parametrize("read", WAYS)
def test_a_shared_subscription_is_refused_before_connecting(
    target: Target,
    broker: Broker,
    topic: str,
    plain: str,
    read: Callable[[Target, str], object],
) -> None:
    before = broker.snapshot()
    with in_probe() as ctx, pytest.raises(WriteRefused) as refused:
        read(target, topic)
    assert ctx.exchanges == []
    assert broker.snapshot() == before
    assert str(refused.value) == (
        f"mqtt {broker.url}: subscribing to {topic!r} refused: a shared "
        f"subscription joins the group's consumers and takes its share of their "
        f"messages, with or without --allow-writes. Read the topic itself: "
        f"{plain!r}. Nothing was sent."
    )


WILDCARDS = [
    pytest.param("#", id="everything"),
    pytest.param("+", id="one-level"),
    pytest.param("plant/+/status", id="plus-inside"),
    pytest.param("plant/#", id="hash-tail"),
    pytest.param("$SYS/#", id="sys"),
]


@pytest.mark.parametrize("topic", WILDCARDS)
def test_a_wildcard_topic_is_refused_before_connecting(
    target: Target, broker: Broker, topic: str
) -> None:
    before = broker.snapshot()
    with in_probe() as ctx, pytest.raises(ConfigError) as refused:
        target.mqtt("plant", topic=topic).check(expect="up")
    assert ctx.exchanges == []
    assert broker.snapshot() == before
    assert str(refused.value) == (
        f"mqtt {broker.url}: topic {topic!r} has a wildcard: a probe reads one "
        f"topic's retained message, and with a wildcard whichever came first would "
        f"be taken for the answer. Name one topic."
    )
