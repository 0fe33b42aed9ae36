"""aiohttp's private names (the silent retry of an idempotent request, the
transport under a response), and what only some supported versions have (a
connector's socket factory)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

# ClientSession's switch for its own retry (aiohttp 3.11 and later).
RETRY_SWITCH = "_retry_connection"


def disable_silent_retry(session: aiohttp.ClientSession) -> None:
    """Stop ``session`` sending an idempotent request again after a reset.

    aiohttp quietly repeats a GET or HEAD once, even on a new connection, when
    a kept-alive connection was closed under it: an attempt nobody would see.
    sleuth retries itself (``Retries.reconnect``), so that every attempt is
    evidence. There is no public switch; ``ClientSession._retry_connection``
    is the one aiohttp reads.
    """
    setattr(session, RETRY_SWITCH, False)


def socket_factory(factory: Callable[[Any], Any]) -> dict[str, Any]:
    """``TCPConnector`` keyword arguments that make it create sockets with
    ``factory``; none before aiohttp 3.12, which has no ``socket_factory``.
    There, a connection's time is the one its loop saw (see sleuth._wireclock).
    """
    return {"socket_factory": factory} if _has_socket_factory() else {}


@functools.cache
def _has_socket_factory() -> bool:
    import aiohttp

    return "socket_factory" in inspect.signature(aiohttp.TCPConnector).parameters


def response_transport(response: aiohttp.ClientResponse) -> Any:
    """The transport a response came on, even once its connection is let go.

    An answer read whole with its headers releases its connection (to the
    pool) before the ``on_request_end`` hook runs: ``response.connection`` is
    None by then. Its protocol (``ClientResponse._protocol``, set by
    ``start()``) still holds the transport, and the socket sleuth reads the
    kernel's arrival time from. None when neither is there.
    """
    connection = response.connection
    if connection is not None:
        return connection.transport
    protocol = getattr(response, "_protocol", None)
    return getattr(protocol, "transport", None)
