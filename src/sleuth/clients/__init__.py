"""The HTTP and database clients of a probe's own code, seen and guarded for a run.

A suite written with the application's own modules (``api.call(...)`` with
requests inside, as in the article sleuth grew from) reaches the target without
``target.http``. For the run, sleuth hooks the lowest layer of each common client
that every request passes through, and there applies what ``target.http``
applies: the read-only rule before a byte is sent, the probe's deadline on the
socket, and evidence of each request. Outside a probe (fixtures, sleuth's own
work) the hooks pass every call through untouched, and ``uninstall`` puts every
client back as it was.

Each hook module offers ``install() -> undo | None``: None when its library is
not installed. A library is imported here only when it is installed and cheap
to reach or already imported by the suite (see ``_HOOKS``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# module with an ``install()``, and the library it hooks. Order: lowest first.
_HOOKS: tuple[tuple[str, str], ...] = (
    ("sleuth.clients.httpx_hook", "httpx"),
    ("sleuth.clients.aiohttp_hook", "aiohttp"),
    ("sleuth.clients.psycopg_hook", "psycopg"),
    ("sleuth.clients.redis_hook", "redis"),
)
# Libraries hooked for evidence and the deadline only: what they send once
# connected is not held to the read-only rule, and the run says so.
UNGUARDED: frozenset[str] = frozenset({"psycopg", "redis"})

_undo: list[Callable[[], None]] = []


def install() -> None:
    """Hook every client the suite can reach (idempotent)."""
    if _undo:
        return
    for module, _library in _HOOKS:
        hook = importlib.import_module(module)
        undo = hook.install()
        if undo is not None:
            _undo.append(undo)


def guarded_libraries() -> list[str]:
    """The installed clients whose requests are held to the read-only rule."""
    from importlib.util import find_spec

    names = dict.fromkeys(lib for _, lib in _HOOKS if lib not in UNGUARDED)
    return [name for name in names if _installed(name, find_spec)]


def _installed(library: str, find_spec: Callable[[str], object]) -> bool:
    try:
        return find_spec(library.partition(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def uninstall() -> None:
    """Put every hooked client back as it was before ``install``."""
    while _undo:
        _undo.pop()()
