"""What the nats helper may send: JetStream info requests, and nothing else.

The helper reads a stream and a consumer by request, and a request is a
publish: to ``$JS.API.STREAM.INFO.<stream>`` and
``$JS.API.CONSUMER.INFO.<stream>.<consumer>``. ``guard()`` puts that allowlist
in front of the helper's own nats-py client. Every message nats-py sends (a
publish, a request, a JetStream call that creates or deletes, an
acknowledgement) goes through ``Client.publish``, so anything else, added
later or reached by a name that bends the subject, is refused before it
leaves. Subscriptions are held to the client's reply inbox: a subscription in
a queue group would take its share of the group's messages.
"""

from __future__ import annotations

from typing import Any

from sleuth.errors import ConfigError, WriteRefused

STREAM_INFO = "$JS.API.STREAM.INFO."
CONSUMER_INFO = "$JS.API.CONSUMER.INFO."
_INBOX = "_INBOX."
# What NATS forbids in a stream or consumer name: each would change the
# subject the name is put in.
_NOT_IN_NAMES = frozenset(".*>/\\")


def check_name(name: object, *, what: str, where: str | None = None) -> str:
    """``name`` if it is a JetStream name; ConfigError naming the rule if not."""
    if isinstance(name, str) and _is_name(name):
        return name
    raise ConfigError(
        f"nats {what} {name!r} is not a JetStream name: a name is text without "
        f"spaces, '.', '*', '>', '/', '\\' or control characters, e.g. ORDERS",
        where=where,
    )


def is_info_request(subject: str) -> bool:
    """Is ``subject`` a stream or consumer info request, for valid names only?"""
    if subject.startswith(STREAM_INFO):
        return _is_name(subject.removeprefix(STREAM_INFO))
    if subject.startswith(CONSUMER_INFO):
        names = subject.removeprefix(CONSUMER_INFO).split(".")
        return len(names) == 2 and all(_is_name(n) for n in names)
    return False


def guard(client: Any, *, display: str) -> None:
    """Hold nats-py's ``client`` to info requests and its own reply inbox.

    Anything else raises WriteRefused before nats-py sends a byte of it.
    """
    publish, subscribe = client.publish, client.subscribe

    async def publish_info_requests_only(
        subject: str, payload: bytes = b"", reply: str = "", headers: Any = None
    ) -> None:
        if not (reply and is_info_request(subject)):
            raise _refused(f"a publish to {subject!r}", display)
        await publish(subject, payload, reply=reply, headers=headers)

    async def subscribe_to_inbox_only(
        subject: str, queue: str = "", *args: Any, **kwargs: Any
    ) -> Any:
        if queue or not subject.startswith(_INBOX):
            group = f" in queue group {queue!r}" if queue else ""
            raise _refused(f"a subscription to {subject!r}{group}", display)
        return await subscribe(subject, queue, *args, **kwargs)

    client.publish = publish_info_requests_only
    client.subscribe = subscribe_to_inbox_only


def _is_name(name: str) -> bool:
    return bool(name) and not any(
        c in _NOT_IN_NAMES or c.isspace() or not c.isprintable() for c in name
    )


def _refused(what: str, display: str) -> WriteRefused:
    return WriteRefused(
        f"nats {display}: {what} refused: the nats helper only asks JetStream "
        f"for stream and consumer info ({STREAM_INFO}<stream>, "
        f"{CONSUMER_INFO}<stream>.<consumer>) and listens only for the answers, "
        f"with or without --allow-writes. Nothing was sent.",
        method=what,
        url=display,
    )
