"""target.nats never changes the server: names that bend a subject, and calls
a colleague might add, tried against a nats-server of this module's own.

What changed is read from the server's monitoring port, which is HTTP and so
adds no message of its own: how many messages clients published (``in_msgs``),
and every stream's and consumer's state (``/jsz``).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from sleuth.errors import ConfigError, WriteRefused
from sleuth.probes._nats_subjects import guard
from sleuth.target import Target
from tests.integration.conftest import (
    MakeTarget,
    free_port,
    in_probe,
    require_program,
    running,
)

STREAM, CONSUMER = "ORDERS", "billing"
# Of a consumer's state, what an acknowledgement, a fetch or a redelivery moves.
CONSUMER_FIGURES = (
    "delivered",
    "ack_floor",
    "num_ack_pending",
    "num_redelivered",
    "num_waiting",
    "num_pending",
)


class Server:
    def __init__(self, url: str, monitor: str) -> None:
        self.url = url
        self.monitor = monitor

    def snapshot(self) -> dict[str, Any]:
        """Messages published by clients, and every stream's and consumer's state."""
        jsz = self._get("/jsz?streams=true&consumers=true")
        streams = {
            s["name"]: {
                "state": s["state"],
                "consumers": {
                    c["name"]: {k: c[k] for k in CONSUMER_FIGURES}
                    for c in s.get("consumer_detail", ())
                },
            }
            for account in jsz["account_details"]
            for s in account.get("stream_detail", ())
        }
        return {"published": self._get("/varz")["in_msgs"], "streams": streams}

    def _get(self, path: str) -> Any:
        url = self.monitor + path
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (loopback)
            return json.load(answer)


def client_work(url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """``work(client)`` on a plain nats-py connection (set-up, not through sleuth)."""

    async def run() -> Any:
        import nats

        client = await nats.connect(url, allow_reconnect=False)
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A private nats-server with JetStream: stream ORDERS, 5 messages, and a
    durable consumer that has read none."""
    program = require_program("nats-server")
    port, monitor = free_port(), free_port()
    store = tmp_path_factory.mktemp("nats")
    argv = [program, "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor)]
    with running([*argv, "-js", "-sd", str(store)], port):
        url = f"nats://127.0.0.1:{port}"

        async def seed(client: Any) -> None:
            from nats.js.api import AckPolicy, ConsumerConfig

            js = client.jetstream()
            await js.add_stream(name=STREAM, subjects=["orders.>"])
            for i in range(5):
                await js.publish("orders.placed", f"order {i}".encode())
            for name in (CONSUMER, "acker"):
                config = ConsumerConfig(
                    durable_name=name, ack_policy=AckPolicy.EXPLICIT, ack_wait=3600
                )
                await js.add_consumer(STREAM, config)

        client_work(url, seed)
        yield Server(url, f"http://127.0.0.1:{monitor}")


@pytest.fixture
def target(make_target: MakeTarget, server: Server) -> Target:
    return make_target(
        f"""
        targets:
          local:
            services:
              nats:
                events: {{url: "{server.url}"}}
        """
    )


def test_check_sends_the_two_info_requests_and_nothing_else(
    target: Target, server: Server
) -> None:
    before = server.snapshot()
    with in_probe():
        health = target.nats("events", stream=STREAM, consumer=CONSUMER).check()
        info = target.nats("events").server_info()
    assert health.stream is not None
    assert health.stream.messages == 5
    assert info["jetstream"] is True
    after = server.snapshot()
    assert after["published"] == before["published"] + 2  # STREAM.INFO, CONSUMER.INFO
    assert after["streams"] == before["streams"]


BENT_NAMES = [
    pytest.param({"stream": "orders.placed"}, id="stream-dot"),
    pytest.param({"stream": "ORDERS.>"}, id="stream-wildcard-tail"),
    pytest.param({"stream": "*"}, id="stream-star"),
    pytest.param({"stream": ">"}, id="stream-gt"),
    pytest.param({"stream": "ORDERS orders.placed"}, id="stream-space"),
    pytest.param(
        {"stream": "ORDERS _INBOX.x 1\r\nPUB orders.placed 1\r\nx"}, id="stream-crlf"
    ),
    pytest.param({"stream": "a/b"}, id="stream-slash"),
    pytest.param({"stream": "ORDERS\x00"}, id="stream-nul"),
    pytest.param({"stream": ""}, id="stream-empty"),
    pytest.param({"stream": 7}, id="stream-not-text"),
    pytest.param({"stream": STREAM, "consumer": "billing.x"}, id="consumer-dot"),
    pytest.param({"stream": STREAM, "consumer": "*"}, id="consumer-star"),
    pytest.param(
        {"stream": STREAM, "consumer": "billing\r\nPUB orders.placed 1\r\nx"},
        id="consumer-crlf",
    ),
    pytest.param({"stream": STREAM, "consumer": "bill ing"}, id="consumer-space"),
]


@pytest.mark.parametrize("names", BENT_NAMES)
def test_a_name_that_would_bend_the_subject_is_refused_before_connecting(
    target: Target, server: Server, names: dict[str, Any]
) -> None:
    before = server.snapshot()
    with in_probe() as ctx, pytest.raises(ConfigError) as refused:
        target.nats("events", **names).check()
    assert ctx.exchanges == []
    assert server.snapshot() == before
    what, name = next((k, v) for k, v in reversed(names.items()))
    assert str(refused.value).endswith(
        f": nats {what} {name!r} is not a JetStream name: a name is text without "
        f"spaces, '.', '*', '>', '/', '\\' or control characters, e.g. ORDERS"
    )


async def _pull_one(js: Any) -> None:
    await (await js.pull_subscribe("orders.>", durable="billing")).fetch(1)


async def _add_consumer(js: Any) -> None:
    from nats.js.api import ConsumerConfig

    await js.add_consumer(STREAM, ConsumerConfig(durable_name="intruder"))


# What a colleague might add to the helper; each through nats-py's own API.
CARELESS_CALLS: list[Any] = [
    pytest.param(lambda nc: nc.publish("orders.placed", b"x"), id="publish"),
    pytest.param(
        lambda nc: nc.publish("orders.placed", b"x", reply="_INBOX.me"),
        id="publish-with-reply",
    ),
    pytest.param(lambda nc: nc.request("orders.placed", b"x"), id="request"),
    pytest.param(
        lambda nc: nc.publish(f"$JS.API.STREAM.INFO.{STREAM}", b""),
        id="info-subject-without-reply",
    ),
    pytest.param(
        lambda nc: nc.request(f"$JS.API.STREAM.INFO.{STREAM}.x", b""),
        id="info-subject-with-extra-token",
    ),
    pytest.param(
        lambda nc: nc.request(f"$JS.API.STREAM.PURGE.{STREAM}", b""), id="purge-raw"
    ),
    pytest.param(
        lambda nc: nc.request(f"$JS.API.STREAM.MSG.DELETE.{STREAM}", b'{"seq":1}'),
        id="msg-delete-raw",
    ),
    pytest.param(
        lambda nc: nc.request(f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{CONSUMER}", b"1"),
        id="pull-next-raw",
    ),
    pytest.param(
        lambda nc: nc.jetstream().publish("orders.placed", b"x"), id="js-publish"
    ),
    pytest.param(
        lambda nc: nc.jetstream().add_stream(name="EVIL", subjects=["evil.>"]),
        id="js-add-stream",
    ),
    pytest.param(
        lambda nc: nc.jetstream().delete_stream(STREAM), id="js-delete-stream"
    ),
    pytest.param(lambda nc: nc.jetstream().purge_stream(STREAM), id="js-purge-stream"),
    pytest.param(lambda nc: _add_consumer(nc.jetstream()), id="js-add-consumer"),
    pytest.param(
        lambda nc: nc.jetstream().delete_consumer(STREAM, CONSUMER),
        id="js-delete-consumer",
    ),
    pytest.param(lambda nc: _pull_one(nc.jetstream()), id="js-pull-fetch"),
    pytest.param(
        lambda nc: nc.jetstream().subscribe("orders.>"), id="js-push-subscribe"
    ),
    pytest.param(
        lambda nc: nc.jetstream().create_key_value(bucket="evil"), id="js-kv-create"
    ),
    pytest.param(
        lambda nc: nc.subscribe("orders.>", queue="workers"), id="queue-subscribe"
    ),
    pytest.param(lambda nc: nc.subscribe("orders.>"), id="plain-subscribe"),
]


@pytest.mark.parametrize("call", CARELESS_CALLS)
def test_a_guarded_client_refuses_everything_but_info_requests(
    server: Server, call: Callable[[Any], Awaitable[Any]]
) -> None:
    before = server.snapshot()

    async def attempt(client: Any) -> None:
        guard(client, display=server.url)
        await call(client)

    with pytest.raises(WriteRefused) as refused:
        client_work(server.url, attempt)
    assert server.snapshot() == before
    message = str(refused.value)
    assert message.startswith(f"nats {server.url}: a ")
    assert message.endswith(
        " refused: the nats helper only asks JetStream for stream and consumer info "
        "($JS.API.STREAM.INFO.<stream>, $JS.API.CONSUMER.INFO.<stream>.<consumer>) "
        "and listens only for the answers, with or without --allow-writes. Nothing "
        "was sent."
    )


def test_an_acknowledgement_is_refused_and_the_message_stays_pending(
    server: Server,
) -> None:
    from nats.aio.msg import Msg

    async def take_one(client: Any) -> str:
        sub = await client.jetstream().pull_subscribe("orders.>", durable="acker")
        [message] = await sub.fetch(1)
        return str(message.reply)  # $JS.ACK.ORDERS.acker...: acking publishes here

    reply = client_work(server.url, take_one)
    before = server.snapshot()
    assert before["streams"][STREAM]["consumers"]["acker"]["num_ack_pending"] == 1

    async def ack(client: Any) -> None:
        guard(client, display=server.url)
        await Msg(_client=client, subject="orders.placed", reply=reply).ack()

    with pytest.raises(WriteRefused, match=r"a publish to '\$JS\.ACK\.ORDERS\.acker"):
        client_work(server.url, ack)
    assert server.snapshot() == before
