"""target.amqp never changes the broker: it only looks at queues by passive declare.

Against the local RabbitMQ (shared with other tests, so every name here is this
test's own). What changed is counted from a second connection, not through
sleuth: the depth and consumers of a queue holding 12 messages, whether any
name the helper was given now exists, and whether the first message was ever
delivered (its ``redelivered`` flag is set once a consumer took it and it
went back).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sleuth.errors import CheckFailed, ConfigError, SleuthError
from sleuth.target import Target
from tests.conftest import require_service
from tests.integration.conftest import MakeTarget, in_probe, service_url

URL = service_url("amqp", "amqp://guest:guest@127.0.0.1:5672/")
MESSAGES = 12


@pytest.fixture(autouse=True)
def _rabbitmq() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)


def broker(work: Callable[[Any], Any]) -> Any:
    """``work(channel)`` on a connection of the test's own, not sleuth's."""

    async def run() -> Any:
        import aiormq

        connection = await aiormq.connect(URL)
        try:
            return await work(await connection.channel())
        finally:
            await connection.close()

    return asyncio.run(run())


def exists(name: str) -> bool:
    import aiormq

    async def look(channel: Any) -> None:
        await channel.queue_declare(name, passive=True)

    try:
        broker(look)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return False
    return True


def state(name: str) -> tuple[int, int]:
    """Messages ready and consumers of queue ``name``, by passive declare."""

    async def look(channel: Any) -> tuple[int, int]:
        ok = await channel.queue_declare(name, passive=True)
        return int(ok.message_count), int(ok.consumer_count)

    return broker(look)  # type: ignore[no-any-return]


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own holding 12 messages, deleted afterwards."""
    name = f"sleuth-ro-{uuid.uuid4().hex[:10]}"

    async def fill(channel: Any) -> None:
        await channel.confirm_delivery()
        await channel.queue_declare(name)
        for i in range(MESSAGES):
            await channel.basic_publish(f"m{i}".encode(), routing_key=name)

    broker(fill)  # with publisher confirms: all 12 are in when this returns
    try:
        yield name
    finally:

        async def delete(channel: Any) -> None:
            await channel.queue_delete(name)

        broker(delete)


def first_message_was_delivered_before(name: str) -> bool:
    """Take the first message and put it back: was it delivered before?

    Taking it marks it delivered, so a test asks this once, last.
    """

    async def peek(channel: Any) -> bool:
        got = await channel.basic_get(name, no_ack=False)
        await channel.basic_reject(got.delivery.delivery_tag, requeue=True)
        return bool(got.delivery.redelivered)

    return broker(peek)  # type: ignore[no-any-return]


@pytest.fixture
def target(make_target: MakeTarget) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              amqp:
                events: {{url: "{URL}"}}
        """
    )


def test_reading_a_queue_leaves_it_as_it_was(target: Target, queue: str) -> None:
    with in_probe():
        for _ in range(3):
            assert target.amqp("events").queue(queue).messages == MESSAGES
            health = target.amqp("events", queue=queue).check(max_queue_depth=100)
            assert health.queue is not None
    assert state(queue) == (MESSAGES, 0)
    assert not first_message_was_delivered_before(queue)


TAG = uuid.uuid4().hex[:10]
ABSENT = [
    pytest.param(f"sleuth-ro-missing-{TAG}", id="missing"),
    pytest.param(f"amq.gen-{TAG}", id="server-named-prefix"),
    pytest.param(f"sleuth ro {TAG}", id="spaces"),
    pytest.param(f"sleuth-ro-{TAG}/#,+:@", id="punctuation"),
]
# Names the AMQP client (pamqp) will not put in a frame: nothing is sent.
UNSENDABLE = [
    pytest.param(f"sleuth-ro-{TAG}\r\nx", id="crlf"),
    pytest.param(f"sleuth-ro-ünï-{TAG}", id="non-ascii"),
    pytest.param(f"sleuth-ro-{TAG}-" + "x" * 255, id="too-long"),
]
WAYS = [
    pytest.param(lambda amqp: amqp.check(), id="check"),
    pytest.param(lambda amqp: amqp.queue(), id="queue"),
]


@pytest.mark.parametrize("name", ABSENT)
@pytest.mark.parametrize("look", WAYS)
def test_a_queue_that_is_not_there_is_never_created(
    target: Target, queue: str, name: str, look: Callable[[Any], object]
) -> None:
    with in_probe(), pytest.raises(CheckFailed, match="nothing was created"):
        look(target.amqp("events", queue=name))
    assert not exists(name)
    assert state(queue) == (MESSAGES, 0)
    assert not first_message_was_delivered_before(queue)


@pytest.mark.parametrize("name", UNSENDABLE)
@pytest.mark.parametrize("look", WAYS)
def test_a_name_no_frame_can_carry_is_never_sent(
    target: Target, queue: str, name: str, look: Callable[[Any], object]
) -> None:
    with in_probe(), pytest.raises(SleuthError, match=r" for queue$"):
        look(target.amqp("events", queue=name))
    assert state(queue) == (MESSAGES, 0)
    assert not first_message_was_delivered_before(queue)


@pytest.mark.parametrize("name", ["", None])
def test_no_queue_name_is_asked_for_not_sent(target: Target, name: str | None):
    with in_probe() as ctx, pytest.raises(ConfigError, match="which queue"):
        target.amqp("events").queue(name)
    assert ctx.exchanges == []
