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


# aiomysql.Connection's own connect, which aiomysql.connect() calls.
CONNECT = "_connect"


async def open_connection(conn: Any) -> None:
    """Connect ``conn``, an ``aiomysql.Connection`` made but not connected.

    ``aiomysql.connect()`` is ``Connection(**options)`` and then
    ``Connection._connect()``, with no public way in between to change what
    the handshake asks for; the SQL guard clears CLIENT.MULTI_STATEMENTS
    there (``probes/mysql.py`` says why), read only while the handshake is
    sent.
    """
    await getattr(conn, CONNECT)()
