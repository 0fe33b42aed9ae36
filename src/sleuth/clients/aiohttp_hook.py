"""aiohttp's ClientSession, as a probe's own code uses it: guarded, bounded, evidenced.

Hooked at ``ClientSession._request``, which ``get``, ``post``, ``request`` and
``ws_connect`` all go through, redirects included (aiohttp follows them inside
it, under one timeout). The request is held to the read-only rule and the
probe's deadline, and recorded as evidence when its headers come; its body is
the probe's to read (none is read here). ``ClientResponse.read`` (under
``text`` and ``json`` too) is hooked so that waiting for the body of a probe's
response is still waiting on its request, said so at the deadline.

sleuth's own sessions (``target.http``'s, the RabbitMQ management API's) pass
through untouched: they are marked with ``mark_own`` where they are created.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sleuth import _timing as timing
from sleuth._compat import aiohttp as aiohttp_compat
from sleuth.clients import _facts, _guard
from sleuth.engine.context import ProbeContext

if TYPE_CHECKING:
    import aiohttp

CLIENT = "aiohttp"
_METHOD = "_request"

SessionT = TypeVar("SessionT", bound="aiohttp.ClientSession")
# What reading a probe's response waits on: its probe, method and URL.
_Waiting = tuple[ProbeContext, str, str]

# sleuth's own sessions: their requests are sleuth's work, not the probe's code.
_own_sessions: weakref.WeakSet[Any] = weakref.WeakSet()


def mark_own(session: SessionT) -> SessionT:
    """Let ``session``'s requests through every hook: it is sleuth's own."""
    _own_sessions.add(session)
    return session


def install() -> Callable[[], None] | None:
    """Hook aiohttp's ClientSession for the run; None unless the suite imported aiohttp.

    Not imported here: a suite that does not use aiohttp does not pay for it
    (sleuth's own transport loads it later, and its sessions pass through).
    """
    module = sys.modules.get("aiohttp")
    if module is None:
        return None
    originals = {
        (module.ClientSession, _METHOD): module.ClientSession.__dict__.get(_METHOD),
        (module.ClientResponse, "read"): module.ClientResponse.__dict__.get("read"),
    }
    if None in originals.values():
        return None  # an aiohttp without the layers hooked here: leave it alone
    # The probe's responses, and what reading each one waits on.
    reading: weakref.WeakKeyDictionary[Any, _Waiting] = weakref.WeakKeyDictionary()
    request, read = originals.values()
    setattr(module.ClientSession, _METHOD, _hook(request, module, reading))
    module.ClientResponse.read = _read_hook(read, reading)

    def undo() -> None:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)

    return undo


def _hook(
    original: Callable[..., Any],
    module: Any,
    reading: weakref.WeakKeyDictionary[Any, _Waiting],
) -> Callable[..., Any]:
    @functools.wraps(original)
    async def request(self: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        ctx = _guard.probe()
        if ctx is None or self in _own_sessions:
            return await original(self, method, str_or_url, **kwargs)
        method = method.upper()
        url = _url_of(self, str_or_url, kwargs.get("params"))
        # Before a byte is sent: WriteRefused leaves aiohttp as it is raised.
        _guard.allow(ctx, method, url, CLIENT)
        kwargs["timeout"] = _bounded(ctx, module, kwargs.get("timeout", self.timeout))
        started = timing.perf_counter()
        try:
            with _guard.waiting(ctx, method, url, CLIENT):
                response = await original(self, method, str_or_url, **kwargs)
        except BaseException as exc:
            _guard.record(
                ctx,
                client=CLIENT,
                method=method,
                url=url,
                error=_facts.describe_error(ctx, exc),
                timings_ms={"total": _facts.ms(timing.perf_counter() - started)},
            )
            _facts.raise_if_past_deadline(ctx, method, url, CLIENT, exc)
            raise
        _guard.record(
            ctx,
            client=CLIENT,
            method=method,
            url=url,
            status=response.status,
            reason=response.reason or "",
            headers=dict(response.headers.items()),
            remote=_remote(response),
            timings_ms={"total": _facts.ms(timing.perf_counter() - started)},
        )
        reading[response] = (ctx, method, url)
        return response

    return request


def _read_hook(
    original: Callable[..., Any], reading: weakref.WeakKeyDictionary[Any, _Waiting]
) -> Callable[..., Any]:
    @functools.wraps(original)
    async def read(self: Any) -> Any:
        __tracebackhide__ = True
        waiting = reading.get(self)
        if waiting is None:  # not a probe's response
            return await original(self)
        ctx, method, url = waiting
        try:
            with _guard.waiting(ctx, method, url, CLIENT):
                return await original(self)
        except Exception as exc:
            _facts.raise_if_past_deadline(ctx, method, url, CLIENT, exc)
            raise

    return read


def _url_of(session: Any, str_or_url: Any, params: Any) -> str:
    """The URL as aiohttp will send it: joined to the session's ``base_url``,
    with ``params``. As given, when aiohttp would refuse it anyway."""
    try:
        url = session._build_url(str_or_url)  # the base_url join (aiohttp 3.8+)
        if params:
            url = url.extend_query(params)
    except Exception:  # aiohttp raises its own error for it, once allowed
        return str(str_or_url)
    return str(url)


def _bounded(ctx: ProbeContext, module: Any, timeout: Any) -> aiohttp.ClientTimeout:
    """The request's timeout with its ``total`` (which covers connecting, the
    redirects and reading the body) at most the time the probe has left."""
    if not isinstance(timeout, module.ClientTimeout):
        timeout = module.ClientTimeout(total=timeout)  # as aiohttp reads a number
    bounded: aiohttp.ClientTimeout = module.ClientTimeout(
        total=_guard.socket_timeout(ctx, timeout.total),
        connect=timeout.connect,
        sock_read=timeout.sock_read,
        sock_connect=timeout.sock_connect,
        ceil_threshold=timeout.ceil_threshold,
    )
    return bounded


def _remote(response: Any) -> str | None:
    transport = aiohttp_compat.response_transport(response)
    address = transport.get_extra_info("peername") if transport is not None else None
    return _facts.peer(address)
