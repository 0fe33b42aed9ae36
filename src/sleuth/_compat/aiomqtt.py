"""aiomqtt's private names: the paho client under an ``aiomqtt.Client``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiomqtt

# The attribute of aiomqtt.Client holding its paho.mqtt.client.Client.
PAHO_CLIENT = "_client"


def paho_client(client: aiomqtt.Client) -> Any:
    """The ``paho.mqtt.client.Client`` that ``client`` drives.

    aiomqtt has no public way to it, and two things only paho can do are
    needed: a connect timeout for paho's own connect (``set_connect_timeout``)
    and closing the socket after a failed connect (``sleuth._compat.paho``).
    """
    return getattr(client, PAHO_CLIENT)


def set_connect_timeout(client: aiomqtt.Client, timeout_s: float) -> None:
    """Bound paho's connect, which runs in a worker thread of its own.

    aiomqtt's ``timeout`` covers its wait, not paho's socket connect: without
    this, a connect to a silent broker outlives the probe in that thread.
    ``connect_timeout`` itself is public paho (2.0 and later).
    """
    paho_client(client).connect_timeout = timeout_s
