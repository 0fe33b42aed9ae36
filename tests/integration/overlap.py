"""What a server sees of probes that run at once beside one that hangs.

``Gate`` is an HTTP app whose ``/together`` holds every request until the
expected number are in flight at once *and* the hung probe is still waiting
on its connection, then lets them all go and remembers what it saw at that
moment. ``/hung`` says whether the hung probe is still waiting, for a probe
that runs later to ask. The hung probe's waiting is read from this machine's
socket table (/proc/net): a connection attempt to a port that never answers
stays in SYN-SENT until the client gives up, and a DNS query's socket exists
until the client closes it.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from tests.targetapp import Recorder, counting

# /proc/net/tcp's state column: the client sent its SYN and heard nothing.
SYN_SENT = "02"
# A held request waits for the others this long at most (bounded, never forever).
GATE_POLL_S = 0.01
GATE_POLLS = 400
LET_GO_POLLS = 300  # /hung: 3 s (under the 5 s timeout) for the socket to close


def _sockets(table: str) -> list[tuple[int, int, str]]:
    """(local port, remote port, state) of this machine's IPv4 sockets."""
    rows = []
    with Path(f"/proc/net/{table}").open() as lines:
        next(lines)  # the header
        for line in lines:
            local, remote, state = line.split()[1:4]
            rows.append(
                (
                    int(local.rpartition(":")[2], 16),
                    int(remote.rpartition(":")[2], 16),
                    state,
                )
            )
    return rows


class HungTcp:
    """A port that never answers (its SYNs are dropped): is anyone connecting?"""

    def __init__(self, port: int) -> None:
        self.port = port

    def waiting(self) -> bool:
        return any(
            remote == self.port and state == SYN_SENT
            for _, remote, state in _sockets("tcp")
        )


class HungUdp:
    """A UDP port that reads queries and never answers: is an asker still there?

    A DNS client sends from a socket of its own; it is waiting while that
    socket (its source port) still exists.
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self.askers: set[int] = set()  # source ports of the queries seen

    def waiting(self) -> bool:
        while True:
            try:
                _, (_, source_port) = self._sock.recvfrom(4096)
            except BlockingIOError:
                break
            self.askers.add(source_port)
        return any(local in self.askers for local, _, _ in _sockets("udp"))

    def close(self) -> None:
        self._sock.close()


Hung = HungTcp | HungUdp


class Gate:
    """``/together`` holds requests until ``size`` overlap beside the hung probe."""

    def __init__(self, size: int, hung: Hung) -> None:
        self.size = size
        self.hung = hung
        self.recorder = Recorder()
        # How many requests were in flight when the gate opened, if it did.
        self.opened_with: int | None = None
        self.later: list[bool] = []  # /hung's answers: was it still waiting?

    def is_complete(self) -> bool:
        return self.recorder.in_flight >= self.size and self.hung.waiting()

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse, Response
        from starlette.routing import Route

        async def together(request: Request) -> Response:
            # One event loop serves every request: checking and opening the
            # gate cannot interleave with another request's.
            for _ in range(GATE_POLLS):
                if self.opened_with is None and self.is_complete():
                    self.opened_with = self.recorder.in_flight
                if self.opened_with is not None:
                    return PlainTextResponse("together")
                await asyncio.sleep(GATE_POLL_S)
            return PlainTextResponse(
                f"only {self.recorder.in_flight} of {self.size} requests in flight, "
                f"hung probe waiting: {self.hung.waiting()}",
                status_code=503,
            )

        async def hung(request: Request) -> Response:
            # Asked just past the hung probe's deadline: its client may take a
            # moment to close the socket. One it never lets go of waits on
            # for 30 s or more (SYN retries), far past this.
            for _ in range(LET_GO_POLLS):
                if not self.hung.waiting():
                    break
                await asyncio.sleep(GATE_POLL_S)
            waiting = self.hung.waiting()
            self.later.append(waiting)
            return PlainTextResponse("waiting" if waiting else "gone")

        routes = [Route("/together", together), Route("/hung", hung)]
        return counting(Starlette(routes=routes), self.recorder)
