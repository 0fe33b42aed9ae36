"""nats-py's private names: the INFO the server sent on connect."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# nats.aio.client.Client's copy of the server's INFO message.
SERVER_INFO = "_server_info"


def server_info(client: Any) -> Mapping[str, Any]:
    """The server's INFO (``server_name``, ``version``, ``jetstream``, ...).

    nats-py parses it on connect and keeps it as ``Client._server_info``; its
    public properties give only a few fields of it (``connected_server_version``,
    ``max_payload``), not the server's name or whether JetStream is on.
    """
    return dict(getattr(client, SERVER_INFO, None) or {})
