"""An answer whose headers came and whose body stalled says so at the deadline.

A real server on a loopback port sends the status line, the headers and half
of the body, then nothing. The probe's timeout is "the body did not finish",
with the status, how long the headers took and how much of the body came, not
"no answer": the target did answer. In the run's process and in its worker.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.plugin.test_causes import causes_of

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
)


@pytest.fixture
def drip_port() -> Iterator[int]:
    """Answers /drip with 3 of its 6 bytes and /chunks with one 4-byte chunk
    of an unannounced length, then stalls until the test ends; /cut with 3 of
    its 6 bytes, then closes."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            request = conn.recv(4096)
            if b" /chunks " in request:
                conn.sendall(CHUNKED + b"4\r\nabcd\r\n")
            elif b" /cut " in request:
                conn.sendall(HEAD + b"abc")
                conn.close()  # half the body, then the connection ends
                continue
            else:
                conn.sendall(HEAD + b"abc")
            held.append(conn)  # and never another byte

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for conn in held:
            conn.close()


PROBES = """
import pytest

# Deadlines of a few seconds: under load a stalled answer must still have come
# (headers and half the body) well before its deadline, or it reads as none.
@pytest.mark.probe(timeout=3)
def test_drip(target):
    target.http.get("http://127.0.0.1:{port}/drip")

@pytest.mark.probe(timeout=5)
def test_drip_own_limit(target):
    target.http.get("http://127.0.0.1:{port}/drip", timeout=1.5)

@pytest.mark.probe(timeout=3)
def test_chunks(target):
    target.http.get("http://127.0.0.1:{port}/chunks")

def test_cut(target):
    target.http.get("http://127.0.0.1:{port}/cut")

@pytest.mark.probe(timeout=1.5)
def test_silent(target):
    target.http.get("http://127.0.0.1:{silent}/")
"""


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_a_stalled_body_says_the_answer_came_and_how_much_of_it(
    suite, pytester, drip_port, silent_port
):
    suite(test_drip=PROBES.format(port=drip_port, silent=silent_port))
    result = pytester.runpytest("--sleuth-json=run.json")
    url = f"http://127.0.0.1:{drip_port}"
    result.stdout.re_match_lines(
        [
            rf".*ProbeTimeout: GET {url}/drip: 200 OK after \d+ ms, body incomplete at "
            rf"the 3\.0 s deadline \(3 of 6 bytes\)$",
        ]
    )
    document = json.loads((pytester.path / "run.json").read_text())
    probes = {p["name"]: p for p in document["probes"]}
    assert {name: (p["outcome"], p["category"]) for name, p in probes.items()} == {
        "test_drip": ("error", "timeout"),
        "test_drip_own_limit": ("error", "timeout"),
        "test_chunks": ("error", "timeout"),
        "test_cut": ("error", "reset"),
        "test_silent": ("error", "timeout"),
    }

    def said(name: str) -> str:
        [exchange] = probes[name]["evidence"]["exchanges"]
        assert exchange["error"] == probes[name]["diagnosis"]
        return str(probes[name]["diagnosis"])

    assert said("test_drip").startswith(f"GET {url}/drip: 200 OK after ")
    assert said("test_drip").endswith(
        " ms, body incomplete at the 3.0 s deadline (3 of 6 bytes)"
    )
    assert said("test_drip_own_limit").endswith(
        " ms, body incomplete at the 1.5 s deadline (3 of 6 bytes)"
    )
    assert said("test_chunks").endswith(
        " ms, body incomplete at the 3.0 s deadline (4 bytes)"
    )
    assert said("test_cut").startswith(f"GET {url}/cut: 200 OK after ")
    assert said("test_cut").endswith(
        " ms, body incomplete: the connection closed after 3 of 6 bytes"
    )
    # Nor does the ranked cause call an answer whose body stalled "no answer".
    ranked = causes_of(result)
    drip_host = f"127.0.0.1:{drip_port}"
    [drip_cause] = [c for c in ranked if c.startswith(drip_host)]
    assert re.match(
        rf"{drip_host}: answering, but body incomplete at the [\d.]+ s deadline",
        drip_cause,
    ), ranked
    assert not any("no answer" in c for c in ranked if c.startswith(drip_host))
    # Nothing came at all: that is still "no answer".
    silent = probes["test_silent"]
    assert "body incomplete" not in json.dumps(silent)
    assert silent["diagnosis"].startswith("timed out after 1.5 s waiting for GET")
    assert silent["evidence"]["exchanges"][0]["error"] == "no answer within 1.5 s"
