"""paho-mqtt's private names: closing a client's socket."""

from __future__ import annotations

from typing import Any

# paho.mqtt.client.Client's own "close the socket and stop watching it".
SOCKET_CLOSE = "_sock_close"


def close_socket(paho_client: Any) -> None:
    """Close the socket of ``paho_client`` and take it off the event loop.

    After a failed or cancelled connect, paho keeps its socket open and the
    loop keeps watching it. ``Client._sock_close`` undoes both, calling the
    socket-unregister callbacks aiomqtt set; ``disconnect()`` would first try
    to send DISCONNECT on a connection that never was.
    """
    getattr(paho_client, SOCKET_CLOSE)()
