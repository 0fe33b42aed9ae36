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
    # http.client, and urllib.request, urllib3 and requests, which send through it
    ("sleuth.clients.stdlib", "http.client"),
)

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


def uninstall() -> None:
    """Put every hooked client back as it was before ``install``."""
    while _undo:
        _undo.pop()()
