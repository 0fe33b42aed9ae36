"""The target's time and sleuth's, as the evidence keeps them apart (issue 16)."""

from __future__ import annotations

import socket
import sys
import time

import pytest

from sleuth import _timing as timing, _wireclock as wireclock
from sleuth._evidence import Exchange, time_on_wire
from sleuth.http.wire import Timings
from sleuth.reports.terminal import render_evidence


def marked(**offsets_ms: float) -> Timings:
    trace = Timings()
    for name, ms in offsets_ms.items():
        trace.mark(name, 100.0 + ms / 1000)
    return trace


def test_the_wire_figure_is_name_connection_and_request_to_last_byte():
    trace = marked(
        request_start=0,
        queued_start=1,
        queued_end=31,  # sleuth's own caps: not the target's
        connect_start=40,  # 9 ms of sleuth's work before it
        connect_end=42,
        headers_sent=60,  # 18 ms of sleuth's work before it
        headers_received=70,
        body_end=75,
    )
    assert trace.wire_s() == pytest.approx(0.002 + 0.015)
    # Handed over at 0, taken back at 400: 400 - 17 - 30 queued.
    started, ended = 100.0, 100.4
    assert trace.busy_ms(started, ended) == {
        "before_sending": pytest.approx(28.0),
        "after_the_answer": pytest.approx(325.0),
    }
    phases = trace.as_ms(started, ended)
    assert phases == {
        "queued": 30.0,
        "connect": 2.0,
        "first_byte": 10.0,
        "total": 17.0,
    }


def test_waits_of_50_ms_or_less_are_not_said():
    trace = marked(request_start=0, headers_sent=20, body_end=30)
    assert trace.busy_ms(100.0, 100.0 + 0.060) == {}
    assert trace.busy_ms(100.0, 100.0 + 0.090) == {
        "before_sending": 20.0,
        "after_the_answer": 60.0,
    }


def test_an_attempt_whose_marks_never_came_back_counts_its_own_wait():
    assert Timings().as_ms(100.0, 102.0) == {"total": 2000.0}


def test_the_busy_line_under_a_failure():
    exchange = Exchange(
        kind="http",
        request="GET http://127.0.0.1:8000/x",
        status=200,
        reason="OK",
        timings_ms={"first_byte": 0.6, "total": 1.0},
        busy_ms={"before_sending": 380.0},
    )
    assert render_evidence([exchange], []).splitlines() == [
        "GET http://127.0.0.1:8000/x -> 200 OK (1 ms)",
        "  timings: first_byte 0.6 ms",
        "  sleuth was busy for 380 ms before sending; not counted",
    ]
    both = Exchange(
        kind="http",
        request="GET /x",
        busy_ms={"before_sending": 300.0, "after_the_answer": 80.0},
    )
    assert both.busy_note() == (
        "sleuth was busy for 300 ms before sending and 80 ms after the answer "
        "came; not counted"
    )


def test_a_probe_lasts_its_time_on_the_wire():
    one = Exchange(kind="http", request="GET /a", timings_ms={"total": 20.0})
    two = Exchange(kind="http", request="GET /b", timings_ms={"total": 30.0})
    assert time_on_wire([one, two], body_s=0.5) == pytest.approx(0.05)
    assert time_on_wire([one, two], body_s=0.03) == 0.03  # made at once
    assert time_on_wire([], body_s=0.5) == 0.5  # settings, its own code


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO is Linux's")
def test_the_kernel_says_when_bytes_came_not_when_they_were_read():
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        with client, peer:
            peer.sendall(b"answer")
            time.sleep(1.0)  # the reader is busy; the bytes wait in the socket
            now = timing.perf_counter()
            arrived = wireclock.last_received_at(client, now)
            assert client.recv(16) == b"answer"
            assert now - arrived >= 0.9
            # Read at once: the age is the kernel's tick, or what this
            # process was kept from running meanwhile (a loaded machine's
            # stall), never the 1 s before.
            peer.sendall(b"more")
            client.recv(16)
            now = timing.perf_counter()
            assert now - wireclock.last_received_at(client, now) < 0.5


def test_without_a_socket_the_loops_clock_stands():
    assert wireclock.last_received_at(None, 5.0) == 5.0
    assert wireclock.last_acked_at(object(), 5.0) == 5.0


def test_the_peer_of_a_real_connection_is_its_address_and_port():
    import asyncio

    async def connect() -> tuple[str | None, int]:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return wireclock.peer_of(writer), port
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    peer, port = asyncio.run(connect())
    assert peer == f"127.0.0.1:{port}"


class _Transport:
    def __init__(self, peer: object) -> None:
        self.peer = peer

    def get_extra_info(self, name: str) -> object:
        return self.peer if name == "peername" else None


@pytest.mark.parametrize(
    ("transport", "peer"),
    [
        pytest.param(_Transport(("::1", 443, 0, 0)), "[::1]:443", id="ipv6-bracketed"),
        pytest.param(_Transport(None), None, id="unknown"),
        pytest.param(None, None, id="no-transport"),
    ],
)
def test_the_peer_of_other_transports(transport, peer):
    assert wireclock.peer_of(transport) == peer
