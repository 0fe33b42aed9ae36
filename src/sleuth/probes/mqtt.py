"""``target.mqtt``: does an MQTT broker accept a session, and what does a topic hold.

aiomqtt (over paho-mqtt) on the engine's loop. A probe connects with a clean
session and a unique client id, so it never takes over another client's
session, and with no Last Will, so even a dropped connection publishes
nothing; with ``topic`` it subscribes, at QoS 0, to that one topic and reads
the retained message there within ``wait``. A wildcard topic is refused (the
first of many messages would be taken for the answer), and so is a shared
subscription (``$share/group/...``), which would take messages from the
group's real consumers. Nothing is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict
from urllib.parse import unquote, urlsplit

from sleuth import _timing as timing
from sleuth._compat import aiomqtt as aiomqtt_compat, paho as paho_compat
from sleuth._evidence import BODY_EXCERPT_BYTES
from sleuth._timing import format_duration
from sleuth.engine.context import ProbeContext
from sleuth.errors import ConfigError, ProbeError, TargetUnreachable, WriteRefused
from sleuth.probes._dependency import (
    DependencyProbe,
    Parser,
    helper_options,
    load,
    ms,
    other_error,
    port_option,
    record,
    step,
    too_slow,
    translate_os_error,
    unhealthy,
)
from sleuth.redact import mask_url
from sleuth.suite.units import parse_duration

if TYPE_CHECKING:
    from sleuth.probes import ProbeEnv

KIND = "mqtt"
DEFAULT_WAIT_S = 1.0  # retained messages come right after the subscription
_THRESHOLDS = {
    "expect": lambda v, where, what: _payload_text(v),
    "wait": lambda v, where, what: parse_duration(v, where=where, what=what),
    "max_connect_time": lambda v, where, what: parse_duration(
        v, where=where, what=what
    ),
}
# Subscriptions to these share a group's messages out: one would take some.
_SHARED_PREFIXES = ("$share/", "$queue/")
# "Bad user name or password" and "not authorised", in MQTT 3.1.1 and 5 codes.
_AUTH_CODES = frozenset({4, 5, 134, 135})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MqttHealth:
    """What one check saw: the session, and the topic's message if one was read."""

    url: str  # password masked
    connect_s: float
    topic: str | None = None
    payload: bytes | None = None
    retained: bool = False

    @property
    def text(self) -> str | None:
        return None if self.payload is None else self.payload.decode(errors="replace")


class MqttProbeOptions(TypedDict, total=False):
    """The options of ``target.mqtt(...)`` and of ``services: mqtt:``."""

    url: str  # mqtt://host:1883 or mqtts://host:8883
    host: str
    port: int | str
    username: str
    password: str
    topic: str  # a topic to subscribe to and hear from


class MqttProbe(DependencyProbe[MqttHealth]):
    """``target.mqtt("plant").check(expect="up")``: a session, a retained topic.

    ``check()`` connects, reads the retained message of ``topic`` (if any), and
    fails when none comes within ``wait``, on a payload other than ``expect``,
    on a slow connect (category "unhealthy"), or when the broker cannot be
    reached or refuses the login.
    """

    kind: ClassVar[str] = KIND
    drivers: ClassVar[tuple[str, ...]] = ("aiomqtt",)
    address_keys: ClassVar[frozenset[str]] = frozenset(MqttProbeOptions.__annotations__)
    check_keys: ClassVar[frozenset[str]] = frozenset(_THRESHOLDS)
    thresholds: ClassVar[Mapping[str, Parser]] = _THRESHOLDS

    def __init__(self, env: ProbeEnv, name: str | None = None, /, **options: Any):
        opts, where = helper_options(env, KIND, name, options, self.address_keys)
        self._env = env
        url = opts.get("url")
        if url is None and opts.get("host") is None:
            raise ConfigError(
                "the mqtt probe needs url= (mqtt://user:password@host:1883) or host=",
                where=where,
            )
        parts = urlsplit(str(url) if url else "mqtt://")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ConfigError(
                f"mqtt url {mask_url(str(url))!r} has scheme {parts.scheme!r}: "
                f"expected mqtt:// or mqtts://",
                where=where,
            )
        self.tls = parts.scheme in ("mqtts", "ssl")
        self.host = str(opts.get("host") or parts.hostname)
        self.port = port_option(
            opts.get("port") or parts.port or (8883 if self.tls else 1883),
            kind=KIND,
            where=where,
        )
        self._username = opts.get("username") or unquote(parts.username or "") or None
        self._password = opts.get("password") or unquote(parts.password or "") or None
        self.topic: str | None = opts.get("topic")
        user = f"{self._username}:***@" if self._password else ""
        scheme = "mqtts" if self.tls else "mqtt"
        self.display = f"{scheme}://{user}{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<MqttProbe {self.display}>"

    def retained(
        self, topic: str | None = None, *, wait: object = None
    ) -> bytes | None:
        """The retained payload of ``topic``, or None when none came within ``wait``."""
        __tracebackhide__ = True
        topic, wait_s = self._topic_or_fail(topic), self._wait(wait)
        return self._run(lambda ctx: self._payload(ctx, topic, wait_s))

    async def aretained(
        self, topic: str | None = None, *, wait: object = None
    ) -> bytes | None:
        """``retained()`` for ``async def`` probes."""
        __tracebackhide__ = True
        topic, wait_s = self._topic_or_fail(topic), self._wait(wait)
        return await self._arun(lambda ctx: self._payload(ctx, topic, wait_s))

    async def _payload(
        self, ctx: ProbeContext, topic: str, wait_s: float
    ) -> bytes | None:
        return (await self._read(ctx, topic, wait_s)).payload

    def _topic_or_fail(self, topic: str | None) -> str:
        if not (topic or self.topic):
            raise ConfigError(
                f"mqtt {self.display}: which topic? Give retained('a/b'), or topic: "
                f"in the service's options."
            )
        return self._readable(str(topic or self.topic))

    def _readable(self, topic: str) -> str:
        """``topic``, if subscribing to it only reads that one topic."""
        __tracebackhide__ = True
        if topic.startswith(_SHARED_PREFIXES):
            # $share/<group>/<topic>, $queue/<topic>
            plain = topic.split("/", 2 if topic.startswith("$share/") else 1)[-1]
            raise WriteRefused(
                f"mqtt {self.display}: subscribing to {topic!r} refused: a shared "
                f"subscription joins the group's consumers and takes its share of "
                f"their messages, with or without --allow-writes. Read the topic "
                f"itself: {plain!r}. Nothing was sent.",
                method="SUBSCRIBE",
                url=self.display,
            )
        if "#" in topic or "+" in topic:
            raise ConfigError(
                f"mqtt {self.display}: topic {topic!r} has a wildcard: a probe "
                f"reads one topic's retained message, and with a wildcard whichever "
                f"came first would be taken for the answer. Name one topic."
            )
        return topic

    @staticmethod
    def _wait(value: object) -> float:
        if value is None:
            return DEFAULT_WAIT_S
        return parse_duration(value, where="mqtt retained()", what="wait")

    async def _check(self, ctx: ProbeContext, limits: Mapping[str, Any]) -> MqttHealth:
        __tracebackhide__ = True
        if "expect" in limits and not self.topic:
            raise ConfigError(
                f"mqtt {self.display}: expect needs a topic: add topic: to the "
                f"service's options or topic= to mqtt()."
            )
        wait = limits.get("wait", DEFAULT_WAIT_S)
        topic = self._readable(self.topic) if self.topic else None
        health = await self._read(ctx, topic, wait)
        problems = too_slow(
            "connect time", health.connect_s, "max_connect_time", limits
        )
        if self.topic and health.payload is None:
            problems.append(
                f"no retained message on topic {self.topic!r} within "
                f"{format_duration(wait)} (wait)"
            )
        expected = limits.get("expect")
        if expected is not None and health.text is not None and health.text != expected:
            problems.append(
                f"topic {self.topic!r} holds {_excerpt(health.text)!r}, expected "
                f"{expected!r}"
            )
        if problems:
            raise unhealthy(
                KIND,
                self.display,
                problems,
                "Check that the publisher is up and publishes with retain.",
            )
        return health

    async def _read(
        self, ctx: ProbeContext, topic: str | None, wait_s: float
    ) -> MqttHealth:
        __tracebackhide__ = True
        request = f"mqtt connect {self.display}" + (
            f", read retained {topic!r}" if topic else ""
        )
        started = timing.perf_counter()
        health = await step(
            ctx,
            self._talk(ctx, topic, wait_s),
            kind=KIND,
            request=request,
            translate=self.translate_error,
        )
        figures: dict[str, object] = {}
        if topic:
            figures["payload"] = (
                "(none)" if health.text is None else repr(_excerpt(health.text))
            )
            figures["retained"] = "yes" if health.retained else "no"
        record(
            ctx,
            kind=KIND,
            request=request,
            started=started,
            answer="connected",
            figures=figures,
            remote=f"{self.host}:{self.port}",
            phases_ms={"connect": ms(health.connect_s)},
        )
        return health

    async def _talk(
        self, ctx: ProbeContext, topic: str | None, wait_s: float
    ) -> MqttHealth:
        aiomqtt = load("aiomqtt", kind=KIND, package="aiomqtt", extra="mqtt")
        client = aiomqtt.Client(
            self.host,
            self.port,
            username=self._username,
            password=self._password,
            # Unique, with a clean session: never take over a real client's session.
            identifier=f"sleuth-probe-{uuid.uuid4().hex[:12]}",
            clean_session=True,
            will=None,  # a Last Will would be published when the connection drops
            timeout=max(ctx.remaining(), 0.1),
            tls_context=ssl.create_default_context() if self.tls else None,
        )
        # paho connects in a worker thread; do not let it outlive the probe.
        aiomqtt_compat.set_connect_timeout(client, max(ctx.remaining(), 0.1))
        started = timing.perf_counter()
        try:
            await client.__aenter__()
        except BaseException:
            _drop_socket(client)
            raise
        connect_s = timing.perf_counter() - started
        try:
            payload, retained = None, False
            if topic:
                await client.subscribe(topic, qos=0)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait_s):
                        async for message in client.messages:
                            payload, retained = (
                                _as_bytes(message.payload),
                                message.retain,
                            )
                            break
            return MqttHealth(
                url=self.display,
                connect_s=connect_s,
                topic=topic,
                payload=payload,
                retained=retained,
            )
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await client.__aexit__(None, None, None)
            _drop_socket(client)

    def translate_error(self, exc: BaseException) -> ProbeError:
        """The one place aiomqtt's errors become sleuth's, with a category."""
        what = f"mqtt {self.display}"
        rc = getattr(exc, "rc", None)
        code = getattr(rc, "value", rc)
        if type(exc).__name__ == "MqttConnectError" and code in _AUTH_CODES:
            return TargetUnreachable(
                f"{what}: the broker refused the login ({rc}). Check the username "
                f"and password.",
                target=self.display,
                category="auth",
            )
        if type(exc).__name__ == "MqttConnectError":
            return TargetUnreachable(
                f"{what}: the broker refused the connection ({rc})",
                target=self.display,
                category="other",
            )
        # aiomqtt raises MqttError(str(os_error)) "from None": the socket error
        # that says what happened is still its __context__.
        cause = exc if isinstance(exc, OSError) else exc.__context__
        if isinstance(cause, OSError):
            translated = translate_os_error(
                cause, what=what, host=self.host, port=self.port
            )
            if translated is not None:
                translated.target = self.display
                return translated
        return other_error(exc, what=what)


def _drop_socket(client: Any) -> None:
    # After a failed or cancelled connect, paho keeps its socket open and the
    # loop keeps watching it; closing it through paho undoes both.
    with contextlib.suppress(Exception):
        paho_compat.close_socket(aiomqtt_compat.paho_client(client))


def _as_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return str(payload).encode() if payload is not None else b""


def _payload_text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _excerpt(text: str) -> str:
    return text if len(text) <= BODY_EXCERPT_BYTES // 8 else text[:256] + "..."
