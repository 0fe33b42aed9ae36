"""psycopg 3 connections the probe's own code opens: evidence and the deadline.

Hooked where every connection starts: ``Connection.connect`` and
``AsyncConnection.connect`` (classmethods, so subclasses and pools that call
``connection_class.connect`` pass through too), and the ``psycopg.connect``
alias, which is bound to the original at import. A ``from psycopg import
connect`` done before the run keeps the original: such connects are not seen.

What the connection sends afterwards is not guarded (see ``_connects``).
The connect waits at most the probe's time left: ``connect_timeout`` is set to
that (whole seconds; libpq's own floor is 2 s), the app's own if shorter. A
``def`` probe's deadline is reported by the engine on time in any case.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from sleuth.clients import _guard
from sleuth.clients._connects import connecting, register_password
from sleuth.engine.context import ProbeContext

CLIENT = "psycopg"
KIND = "postgres"
# Arguments of ``connect`` that are psycopg's, not libpq connection parameters.
_NOT_CONNINFO = frozenset(
    {"autocommit", "prepare_threshold", "context", "row_factory", "cursor_factory"}
)
# libpq reads a parameter missing from the conninfo from these variables.
_ENVIRON = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "dbname": "PGDATABASE",
    "password": "PGPASSWORD",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


def install() -> Callable[[], None] | None:
    """Hook psycopg if the suite has imported it; None if not (never imported here)."""
    psycopg: Any = sys.modules.get("psycopg")
    if psycopg is None:
        return None
    sync_cls, async_cls = psycopg.Connection, psycopg.AsyncConnection
    originals = (
        sync_cls.__dict__["connect"],
        async_cls.__dict__["connect"],
        psycopg.connect,
    )
    sync_connect = originals[0].__func__
    async_connect = originals[1].__func__

    def hooked_connect(cls: Any, *args: Any, **kwargs: Any) -> Any:
        ctx = _guard.probe()
        if ctx is None:
            return sync_connect(cls, *args, **kwargs)
        address, kwargs = _prepare(psycopg, ctx, args, kwargs)
        if address is None:
            return sync_connect(cls, *args, **kwargs)
        with connecting(ctx, kind=KIND, client=CLIENT, address=address) as connect:
            conn = sync_connect(cls, *args, **kwargs)
            connect.remote = _remote(conn)
        return conn

    async def hooked_aconnect(cls: Any, *args: Any, **kwargs: Any) -> Any:
        ctx = _guard.probe()
        if ctx is None:
            return await async_connect(cls, *args, **kwargs)
        address, kwargs = _prepare(psycopg, ctx, args, kwargs)
        if address is None:
            return await async_connect(cls, *args, **kwargs)
        with connecting(ctx, kind=KIND, client=CLIENT, address=address) as connect:
            conn = await async_connect(cls, *args, **kwargs)
            connect.remote = _remote(conn)
        return conn

    sync_cls.connect = classmethod(hooked_connect)
    async_cls.connect = classmethod(hooked_aconnect)
    if psycopg.connect == originals[0].__get__(None, sync_cls):
        psycopg.connect = sync_cls.connect

    def undo() -> None:
        sync_cls.connect, async_cls.connect, psycopg.connect = originals

    return undo


def _prepare(
    psycopg: Any, ctx: ProbeContext, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """The masked address, and the arguments with ``connect_timeout`` bounded
    by the probe's time left. ``(None, kwargs)`` when psycopg cannot read the
    conninfo: psycopg then raises its own error, saying so."""
    conninfo = args[0] if args else kwargs.get("conninfo", "")
    given = {k: v for k, v in kwargs.items() if k not in _NOT_CONNINFO | {"conninfo"}}
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo, **given)
    except psycopg.Error:
        ctx.note_client(CLIENT, guarded=False)
        return None, kwargs
    register_password(_param(params, "password"))
    address = _address(params)
    try:
        own_s = _seconds(_param(params, "connect_timeout"))
    except ValueError:
        return address, kwargs  # psycopg says what is wrong with it
    bounded = _guard.socket_timeout(ctx, own_s)
    return address, {**kwargs, "connect_timeout": max(1, math.ceil(bounded))}


def _address(params: Mapping[str, Any]) -> str:
    """``postgresql://app:***@db-1:5432/orders``: the password never shown."""
    user = _param(params, "user") or ""
    if _param(params, "password"):
        user += ":***"
    host = _param(params, "host") or ""
    port = _param(params, "port") or "5432"
    where = f"{host}:{port}" if host else ""  # none: libpq's default socket
    at = "@" if user else ""
    return f"postgresql://{user}{at}{where}/{_param(params, 'dbname') or ''}"


def _param(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return os.environ.get(_ENVIRON[key]) or None
    return str(value)


def _seconds(value: str | None) -> float | None:
    """libpq's ``connect_timeout``: 0 or less is no limit. Raises ValueError."""
    seconds = float(value) if value is not None else 0.0
    return seconds if seconds > 0 else None


def _remote(conn: Any) -> str | None:
    try:
        return f"{conn.info.host}:{conn.info.port}"
    except Exception:  # an unusual libpq build: the address says enough
        return None
