"""aiomysql's private names: the stream a connection talks over."""

from __future__ import annotations

from typing import Any

# aiomysql.Connection's asyncio.StreamWriter (None when not connected).
WRITER = "_writer"


def stream_writer(conn: Any) -> Any:
    """The ``asyncio.StreamWriter`` of an aiomysql connection, or None.

    Evidence names the address a probe actually reached (the server behind a
    name or a proxy); aiomysql keeps the stream as ``Connection._writer`` and
    has no public accessor for the transport's peer.
    """
    return getattr(conn, WRITER, None)
