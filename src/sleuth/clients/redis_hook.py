"""redis-py connections the probe's own code opens: evidence and the deadline.

Hooked where every connection of a client or pool is opened: the connection
class's ``connect_check_health`` (redis-py 5.3 and later; ``connect`` calls
it, and so does a command on a dropped connection) or, before it existed,
``connect``; both the sync and the asyncio connection. A connection already
open passes through: only opening one is a connect.

What the connection sends afterwards is not guarded (see ``_connects``).
While it connects, ``socket_connect_timeout`` and ``socket_timeout`` are at
most the probe's time left, the app's own if shorter; they are the app's
again afterwards. A sync socket opened by the probe keeps the bounded read
timeout it was given: it was opened for that probe.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sleuth.clients import _guard
from sleuth.clients._connects import connecting, register_password
from sleuth.engine.context import ProbeContext

CLIENT = "redis"
KIND = "redis"


def install() -> Callable[[], None] | None:
    """Hook redis-py's connections if the suite has imported them; None if not
    (never imported here)."""
    return _hook_sync(sys.modules.get("redis.connection"))


def install_async() -> Callable[[], None] | None:
    """The same for redis.asyncio's connections."""
    return _hook_async(sys.modules.get("redis.asyncio.connection"))


def _hook_sync(module: Any) -> Callable[[], None] | None:
    if module is None or not hasattr(module, "AbstractConnection"):
        return None
    cls = module.AbstractConnection
    name = _method_name(cls)
    original = cls.__dict__[name]

    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        ctx = _guard.probe()
        if ctx is None or getattr(self, "_sock", None) is not None:
            return original(self, *args, **kwargs)
        with bounded(self, ctx), _connecting(self, ctx) as connect:
            result = original(self, *args, **kwargs)
            connect.remote = _peer(getattr(self, "_sock", None))
        return result

    return _replace(cls, name, original, hooked)


def _hook_async(module: Any) -> Callable[[], None] | None:
    if module is None or not hasattr(module, "AbstractConnection"):
        return None
    cls = module.AbstractConnection
    name = _method_name(cls)
    original = cls.__dict__[name]

    async def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        ctx = _guard.probe()
        if ctx is None or getattr(self, "is_connected", False):
            return await original(self, *args, **kwargs)
        with bounded(self, ctx), _connecting(self, ctx) as connect:
            result = await original(self, *args, **kwargs)
            writer = getattr(self, "_writer", None)
            connect.remote = _peer(writer.get_extra_info("socket") if writer else None)
        return result

    return _replace(cls, name, original, hooked)


def _method_name(cls: type) -> str:
    newer = "connect_check_health"  # redis-py 5.3 and later
    return newer if newer in cls.__dict__ else "connect"


def _replace(
    cls: type, name: str, original: Any, hooked: Callable[..., Any]
) -> Callable[[], None]:
    hooked.__name__ = hooked.__qualname__ = name
    hooked.__doc__ = original.__doc__
    setattr(cls, name, hooked)

    def undo() -> None:
        setattr(cls, name, original)

    return undo


@contextmanager
def bounded(conn: Any, ctx: ProbeContext) -> Iterator[None]:
    """The connection's timeouts at most the probe's time left, while it connects."""
    saved = (conn.socket_connect_timeout, conn.socket_timeout)
    conn.socket_connect_timeout = _guard.socket_timeout(ctx, saved[0])
    conn.socket_timeout = _guard.socket_timeout(ctx, saved[1])
    try:
        yield
    finally:
        conn.socket_connect_timeout, conn.socket_timeout = saved


def _connecting(conn: Any, ctx: ProbeContext) -> Any:
    register_password(getattr(conn, "password", None))
    return connecting(ctx, kind=KIND, client=CLIENT, address=address(conn))


def address(conn: Any) -> str:
    """``redis://app:***@cache-1:6379/0``: the password never shown."""
    user = getattr(conn, "username", None) or ""
    if getattr(conn, "password", None):
        user += ":***"
    at = "@" if user else ""
    db = getattr(conn, "db", 0)
    path = getattr(conn, "path", None)
    if path:  # a Unix socket
        return f"unix://{user}{at}{path}?db={db}"
    scheme = "rediss" if "SSL" in type(conn).__name__ else "redis"
    host = getattr(conn, "host", "localhost")
    return f"{scheme}://{user}{at}{host}:{getattr(conn, 'port', 6379)}/{db}"


def _peer(sock: Any) -> str | None:
    try:
        host, port = sock.getpeername()[:2]
    except Exception:  # no socket, or not TCP: the address says enough
        return None
    return f"{host}:{port}"
