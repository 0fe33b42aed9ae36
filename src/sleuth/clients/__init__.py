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
import importlib.abc
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NamedTuple


class _Hook(NamedTuple):
    module: str  # the module of sleuth.clients with the hook
    function: str  # its install() -> undo | None
    waits_for: str  # the module it hooks, which the suite may import late
    library: str  # the name the run's header gives it


_HOOKS: tuple[_Hook, ...] = (
    # http.client, and urllib.request, urllib3 and requests, which send through it
    _Hook("stdlib", "install", "http.client", "http.client"),
    _Hook("stdlib", "install_urllib3_tls", "urllib3.connection", "urllib3"),
    _Hook("httpx_hook", "install", "httpx", "httpx"),
    _Hook("aiohttp_hook", "install", "aiohttp", "aiohttp"),
    _Hook("psycopg_hook", "install", "psycopg", "psycopg"),
    _Hook("redis_hook", "install", "redis.connection", "redis"),
    _Hook(
        "redis_hook",
        "install_async",
        "redis.asyncio.connection",
        "redis",
    ),
)
# What the header names for the hooks on http.client: the clients above it.
_SENDS_THROUGH_HTTP_CLIENT = ("requests", "urllib3", "urllib.request")
# Libraries hooked for evidence and the deadline only: what they send once
# connected is not held to the read-only rule, and the run says so.
UNGUARDED: frozenset[str] = frozenset({"psycopg", "redis"})

_undo: list[Callable[[], None]] = []
# Hooks whose module the suite had not imported when the run started, by that
# module's name: installed the moment a probe (or anything) imports it.
_pending: dict[str, list[_Hook]] = {}
_lock = threading.RLock()


def install() -> None:
    """Hook every client the suite has imported, and the rest as it imports them
    (idempotent). Libraries are never imported here: a suite pays only for what
    it uses."""
    with _lock:
        if _undo or _pending:
            return
        for hook in _HOOKS:
            if not _install(hook):
                _pending.setdefault(hook.waits_for, []).append(hook)
        if _pending:
            sys.meta_path.insert(0, _WATCHER)


def uninstall() -> None:
    """Put every hooked client back as it was before ``install``."""
    with _lock:
        _pending.clear()
        if _WATCHER in sys.meta_path:
            sys.meta_path.remove(_WATCHER)
        while _undo:
            _undo.pop()()


def _install(hook: _Hook) -> bool:
    if hook.waits_for not in sys.modules:
        # Not even the hook's own module yet: the one for http.client imports
        # it, and with it ssl and the email parser (~10 ms of every start).
        return False
    module = importlib.import_module(f"sleuth.clients.{hook.module}")
    undo = getattr(module, hook.function)()
    if undo is None:
        return False
    _undo.append(undo)
    return True


def _imported(name: str) -> None:
    """``name`` has just been imported: install the hooks that waited for it."""
    with _lock:
        for hook in _pending.pop(name, ()):
            _install(hook)


class _ImportWatcher(importlib.abc.MetaPathFinder):
    """Hooks a client imported after the run started (``import httpx`` inside a
    probe) as soon as its module has run, before any code can use it: so that
    the read-only rule the header states holds for it too."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> Any:
        if fullname not in _pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is not None and hasattr(loader, "exec_module"):
            run_module = loader.exec_module

            def exec_module(module: ModuleType) -> None:
                run_module(module)
                _imported(fullname)

            # This spec's own loader (a fresh one per import), not the class.
            loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_WATCHER = _ImportWatcher()


def guarded_libraries() -> list[str]:
    """The installed clients whose requests are held to the read-only rule."""
    from importlib.util import find_spec

    names: dict[str, None] = {}
    for hook in _HOOKS:
        if hook.library == "http.client":
            names.update(dict.fromkeys(_SENDS_THROUGH_HTTP_CLIENT))
        elif hook.library not in UNGUARDED:
            names[hook.library] = None
    return [name for name in names if _installed(name, find_spec)]


def _installed(library: str, find_spec: Callable[[str], object]) -> bool:
    try:
        return find_spec(library.partition(".")[0]) is not None
    except (ImportError, ValueError):
        return False
