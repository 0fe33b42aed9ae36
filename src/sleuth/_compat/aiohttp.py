"""aiohttp's private names (the silent retry of an idempotent request), and
what only some supported versions have (a connector's socket factory)."""

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
    There, a connection's time is the one its loop saw (see sleuth.wireclock).
    """
    return {"socket_factory": factory} if _has_socket_factory() else {}


@functools.cache
def _has_socket_factory() -> bool:
    import aiohttp

    return "socket_factory" in inspect.signature(aiohttp.TCPConnector).parameters
