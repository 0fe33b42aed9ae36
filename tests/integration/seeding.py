"""State staged in the local brokers for a test, straight through their own clients.

sleuth never writes to a broker, so what a probe is to find (a queue holding
messages, a stream with a lagging consumer, a retained message) is put there
by these, under names of the test's own, and removed when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from tests.integration.conftest import service_url

AMQP_URL = service_url("amqp", "amqp://guest:guest@127.0.0.1:5672/")
NATS_URL = service_url("nats", "nats://127.0.0.1:4222")
MQTT_HOST = "127.0.0.1"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def amqp(work: Callable[[Any], Awaitable[Any]], url: str = AMQP_URL) -> Any:
    """``work(channel)`` on a connection of its own."""

    async def run() -> Any:
        import aiormq

        connection = await aiormq.connect(url)
        try:
            return await work(await connection.channel())
        finally:
            await connection.close()

    return asyncio.run(run())


async def _depth(channel: Any, name: str) -> int:
    return int((await channel.queue_declare(name, passive=True)).message_count)


def amqp_depth(queue: str, url: str = AMQP_URL) -> int:
    """How many messages the broker holds in ``queue`` (a passive declare)."""
    return int(amqp(lambda channel: _depth(channel, queue), url))


def amqp_exists(queue: str, url: str = AMQP_URL) -> bool:
    import aiormq

    try:
        amqp_depth(queue, url)
    except aiormq.exceptions.ChannelNotFoundEntity:
        return False
    return True


@contextlib.contextmanager
def amqp_queue(messages: int, url: str = AMQP_URL) -> Iterator[str]:
    """A queue holding ``messages`` messages (counted by the broker), then deleted."""
    name = unique("sleuth-test-")

    async def fill(channel: Any) -> None:
        await channel.queue_declare(name, auto_delete=False)
        for i in range(messages):
            await channel.basic_publish(f"m{i}".encode(), routing_key=name)

    async def delete(channel: Any) -> None:
        await channel.queue_delete(name)

    amqp(fill, url)
    # Publishes are asynchronous: wait (bounded) until the broker counts them all.
    for _ in range(200):
        if amqp_depth(name, url) == messages:
            break
    try:
        yield name
    finally:
        amqp(delete, url)


def jetstream(work: Callable[[Any], Awaitable[Any]], url: str = NATS_URL) -> Any:
    """``work(jetstream)`` on a connection of its own."""

    async def run() -> Any:
        import nats

        client = await nats.connect(url, allow_reconnect=False)
        try:
            return await work(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(run())


@contextlib.contextmanager
def nats_stream(messages: int, url: str = NATS_URL) -> Iterator[str]:
    """A stream holding ``messages`` messages, read by none yet of its consumer
    ``billing``; deleted afterwards."""
    name = unique("SLEUTH_TEST_").upper()

    async def create(js: Any) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig

        await js.add_stream(name=name, subjects=[f"{name}.>"])
        for i in range(messages):
            await js.publish(f"{name}.orders", f"order {i}".encode())
        await js.add_consumer(
            name, ConsumerConfig(durable_name="billing", ack_policy=AckPolicy.EXPLICIT)
        )

    async def delete(js: Any) -> None:
        await js.delete_stream(name)

    jetstream(create, url)
    try:
        yield name
    finally:
        jetstream(delete, url)


def nats_stream_exists(name: str, url: str = NATS_URL) -> bool:
    async def names(js: Any) -> list[str]:
        return [info.config.name for info in await js.streams_info()]

    return name in jetstream(names, url)


def publish_retained(topic: str, payload: bytes, host: str = MQTT_HOST) -> None:
    async def run() -> None:
        import aiomqtt

        async with aiomqtt.Client(host, 1883) as client:
            await client.publish(topic, payload, qos=1, retain=True)

    asyncio.run(run())


@contextlib.contextmanager
def retained_topic(payload: bytes, host: str = MQTT_HOST) -> Iterator[str]:
    """A topic of its own holding a retained ``payload``, cleared afterwards."""
    topic = f"sleuth-test/{uuid.uuid4().hex[:10]}/status"
    publish_retained(topic, payload, host)
    try:
        yield topic
    finally:
        publish_retained(topic, b"", host)  # an empty retained message clears it


def retained_payload(topic: str, host: str = MQTT_HOST) -> bytes | None:
    """The retained message on ``topic``, as a new subscriber gets it (bounded)."""

    async def run() -> bytes | None:
        import aiomqtt

        async with aiomqtt.Client(host, 1883) as client:
            await client.subscribe(topic)
            try:
                async with asyncio.timeout(5):
                    async for message in client.messages:
                        return bytes(message.payload)
            except TimeoutError:
                return None
        return None

    return asyncio.run(run())
