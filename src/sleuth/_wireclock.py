"""When bytes moved on a TCP socket, by the kernel's own record of it.

A figure sleuth judges (``max_latency``, ``max_connect_time``) must be the
target's time, never sleuth's. An answer that arrived while the loop reading
it was busy (loading a client library, running another probe's code, waiting
for the interpreter lock or for a core) sits in the socket until the loop
gets to it, and a clock read then counts sleuth's wait as the target's.

Linux keeps, per TCP socket, how long ago the last data segment and the last
acknowledgement came in (``TCP_INFO``'s ``tcpi_last_data_recv`` and
``tcpi_last_ack_recv``, in ms at the kernel's tick: 4 ms at HZ=250). Read when
the loop finally looks, they give the moment the bytes really arrived. Ages
of one tick or less are the tick's own noise and are not applied; elsewhere
(no ``TCP_INFO``, a closed socket) the loop's own clock stands.

And who is at the other end: ``peer_of``, for every probe kind's evidence.
"""

from __future__ import annotations

import socket
import struct
import sys
from typing import Any

from sleuth import _timing as timing

# struct tcp_info: 8 one-byte fields, then 32-bit fields, of which
# last_data_recv is the 12th and last_ack_recv the 13th (Linux's ABI,
# unchanged since 2.6).
_LAST_DATA_RECV_OFFSET = 8 + 4 * 11
_LAST_ACK_RECV_OFFSET = 8 + 4 * 12
_INFO_BYTES = _LAST_ACK_RECV_OFFSET + 4
# Ages at most this are within a kernel tick of "now": not worth correcting.
_TICK_NOISE_S = 0.005
_TCP_INFO: int | None = (
    getattr(socket, "TCP_INFO", None) if sys.platform.startswith("linux") else None
)


def peer_of(transport: Any) -> str | None:
    """``127.0.0.1:5672`` or ``[::1]:443``, from a transport or stream writer."""
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
        return f"{host}:{peer[1]}"
    return None


def socket_of(transport: Any) -> Any:
    """The socket under an asyncio transport or stream writer, if it has one."""
    get = getattr(transport, "get_extra_info", None)
    return get("socket") if get is not None else None


def last_received_at(sock: Any, seen_at: float | None = None) -> float:
    """When the last data arrived on ``sock`` (``timing.perf_counter`` time).

    ``seen_at`` is when the caller's loop noticed (now, by default).
    """
    return _aged(sock, _LAST_DATA_RECV_OFFSET, seen_at)


def last_acked_at(sock: Any, seen_at: float | None = None) -> float:
    """When the last segment from the peer arrived: for a socket just
    connected, the moment the handshake completed (its SYN-ACK)."""
    return _aged(sock, _LAST_ACK_RECV_OFFSET, seen_at)


def _aged(sock: Any, offset: int, seen_at: float | None) -> float:
    now = timing.perf_counter() if seen_at is None else seen_at
    age_s = _age_s(sock, offset)
    return now - age_s if age_s > _TICK_NOISE_S else now


def _age_s(sock: Any, offset: int) -> float:
    if _TCP_INFO is None or sock is None:
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _INFO_BYTES)
    except (OSError, ValueError, AttributeError):  # closed, or not TCP
        return 0.0
    if len(info) < offset + 4:
        return 0.0
    (age_ms,) = struct.unpack_from("I", info, offset)
    return float(age_ms) / 1000.0
