"""aiohttp's private names: the silent retry of an idempotent request."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
