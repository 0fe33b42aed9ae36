"""A socket a probe's code is blocked on, released at the probe's deadline.

A socket's timeout bounds each wait for a packet, not a read: a body that drips
a byte every 0.1 s keeps one ``read(1000)`` going for 100 s, whatever the
timeout. So while a hook's client is blocked reading, its socket is held here,
and once the probe's deadline (plus the grace that lets the watchdog speak
first) has passed, it is shut down: the read returns, and the thread is free.

One thread waits for the next deadline of all held sockets; it starts with the
first socket held.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
from collections.abc import Iterator

from sleuth import _timing as timing
from sleuth.clients._guard import SOCKET_GRACE_S
from sleuth.engine.context import ProbeContext


class _Hold:
    __slots__ = ("held", "released", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.held = True
        self.released = False  # shut down here at the deadline


class _Releaser:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, _Hold]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def hold(self, sock: socket.socket, until: float) -> _Hold:
        hold = _Hold(sock)
        with self._cond:
            heapq.heappush(self._due, (until, next(self._order), hold))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sleuth-socket-release", daemon=True
                )
                self._thread.start()
            elif self._due[0][2] is hold:  # sooner than it was waiting for
                self._cond.notify()
        return hold

    def _run(self) -> None:
        with self._cond:
            while True:
                # Let go of (not held any more) entries lazily, from the front.
                while self._due and not self._due[0][2].held:
                    heapq.heappop(self._due)
                if not self._due:
                    self._cond.wait()
                    continue
                until = self._due[0][0]
                now = timing.monotonic()
                if until > now:
                    self._cond.wait(until - now)
                    continue
                hold = heapq.heappop(self._due)[2]
                if hold.held:
                    hold.released = True
                    with contextlib.suppress(OSError):  # closed meanwhile
                        hold.sock.shutdown(socket.SHUT_RDWR)


_releaser = _Releaser()


@contextlib.contextmanager
def held(ctx: ProbeContext, sock: socket.socket | None) -> Iterator[None]:
    """While inside, ``sock`` is shut down if the probe's deadline passes."""
    if sock is None:
        yield
        return
    hold = _releaser.hold(sock, ctx.deadline + SOCKET_GRACE_S)
    try:
        yield
    finally:
        hold.held = False
