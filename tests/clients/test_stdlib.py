"""The probe's own requests, urllib3 and urllib.request, seen through http.client.

Each suite below runs the three clients side by side (their probes at once),
against the tests' real server, with the clients as a suite would use them: no
timeout of their own, their own pools and retries.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3.connection

from tests.clients._servers_httpx import wait_for_file

CLIENTS = ("requests", "urllib3", "urllib.request")

# get(url) -> (status, text) and post(url) -> status, written as a team would.
HELPERS = {
    "requests": """
        import requests

        def get(url):
            response = requests.get(url)
            return response.status_code, response.text

        def post(url):
            return requests.post(url, json={"a": 1}).status_code
    """,
    "urllib3": """
        import urllib3

        pool = urllib3.PoolManager()

        def get(url):
            response = pool.request("GET", url)
            return response.status, response.data.decode()

        def post(url):
            return pool.request("POST", url, json={"a": 1}).status
    """,
    "urllib.request": """
        import urllib.request

        def get(url):
            with urllib.request.urlopen(url) as response:
                return response.status, response.read().decode()

        def post(url):
            request = urllib.request.Request(
                url, data=b'{"a": 1}', method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request) as response:
                return response.status
    """,
}

ORIGINALS = {
    (cls, name): cls.__dict__[name]
    for cls, name in (
        (http.client.HTTPConnection, "putrequest"),
        (http.client.HTTPConnection, "send"),
        (http.client.HTTPConnection, "getresponse"),
        (urllib3.connection.HTTPSConnection, "connect"),
    )
}


def _module(client: str) -> str:
    return "client_" + client.replace(".", "_")


@pytest.fixture
def client_suite(suite, pytester, http_target):
    """A suite aimed at the HTTP target: a helper module per client, and
    ``probes`` (formatted per client: ``{helpers}``, ``{name}``) using it."""

    def make(probes: str, *, timeout: str = "5s") -> None:
        suite(
            f"""
            targets:
              local:
                base_url: {http_target.url}
                timeout: {timeout}
            """
        )
        files = {}
        for client in CLIENTS:
            files[_module(client)] = textwrap.dedent(HELPERS[client])
            name = client.replace(".", "_")
            files[f"test_{name}"] = textwrap.dedent(probes).format(
                helpers=_module(client), name=name
            )
        pytester.makepyfile(**files)

    return make


def _hooks_are_gone() -> None:
    for (cls, name), original in ORIGINALS.items():
        assert cls.__dict__[name] is original, (cls, name)


def _probes(path: Path) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in json.loads(path.read_text())["probes"]}


def test_each_clients_get_is_evidenced(client_suite, pytester, http_target):
    client_suite(
        """
        from {helpers} import get

        def test_get_{name}(target):
            status, text = get(target.base_url + "/users/123?fields=all")
            assert "Ada" in text
            assert status == 201  # fails, to show the evidence
        """,
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    result.assert_outcomes(failed=3)
    url = f"{http_target.url}/users/123?fields=all"
    probes = _probes(out)
    for client in CLIENTS:
        result.stdout.fnmatch_lines([f"*GET {url} via {client} -> 200 OK*"])
        (exchange,) = probes[f"test_get_{client.replace('.', '_')}"]["evidence"][
            "exchanges"
        ]
        assert exchange["request"] == f"GET {url} via {client}"
        assert exchange["status"] == 200
        assert exchange["headers"]["content-type"] == "application/json"
        assert '"name":"Ada"' in exchange["body_excerpt"]
        assert exchange["body_bytes"] == int(exchange["headers"]["content-length"])
        assert exchange["error"] is None
        assert exchange["remote"] == url.split("/")[2]
        assert {"connect", "first_byte", "total"} <= exchange["timings_ms"].keys()
    assert http_target.recorder.count("/users/123", "GET") == 3
    _hooks_are_gone()


LATE_IMPORT = """
import sys

import pytest

# sleuth itself never imports http.client: so that this file tests the hooks
# installed when a probe first imports its client, nothing may have loaded it.
LATE = "http.client" not in sys.modules

def test_post_{name}(target):
    assert LATE
    from {helpers} import post

    assert post(target.base_url + "/echo") == 200

def test_get_{name}(target):
    from {helpers} import get

    assert get(target.base_url + "/users/123")[0] == 201  # fails: evidence
"""


@pytest.mark.parametrize("client", CLIENTS)
def test_a_client_first_imported_inside_a_probe_is_guarded_and_evidenced(
    client, suite, pytester, http_target, monkeypatch
):
    # In a process of its own, with no other plugin loaded, as `sleuth run`
    # runs a production suite: nothing imports the client before the probe.
    suite()
    name = client.replace(".", "_")
    pytester.makepyfile(
        **{
            _module(client): textwrap.dedent(HELPERS[client]),
            f"test_{name}": LATE_IMPORT.format(helpers=_module(client), name=name),
        }
    )
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    out = pytester.path / "run.json"
    result = pytester.runpytest_subprocess(
        "-p", "sleuth.plugin", "-p", "no:cacheprovider", "--no-history",
        f"--sleuth-json={out}",
    )  # fmt: skip
    result.assert_outcomes(failed=2)
    probes = _probes(out)
    assert probes[f"test_post_{name}"]["error_type"] == "WriteRefused"
    (exchange,) = probes[f"test_get_{name}"]["evidence"]["exchanges"]
    assert exchange["request"] == f"GET {http_target.url}/users/123 via {client}"
    assert exchange["status"] == 200
    assert http_target.recorder.count("/echo") == 0
    assert http_target.recorder.count("/users/123", "GET") == 1


WRITES = """
import pytest
from {helpers} import post

@pytest.fixture(autouse=True)
def seeded(target):
    # A fixture is not the probe: its write passes through, untouched.
    assert post(target.base_url + "/status/200") == 200

def test_post_{name}(target):
    assert post(target.base_url + "/echo") == 200

@pytest.mark.writes
def test_marked_post_{name}(target):
    assert post(target.base_url + "/echo") == 200
"""


def test_each_clients_post_is_refused_before_a_byte_is_sent(
    client_suite, pytester, http_target
):
    client_suite(WRITES)
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    result.assert_outcomes(failed=6)
    probes = _probes(out)
    url = f"{http_target.url}/echo"
    for client in CLIENTS:
        name = client.replace(".", "_")
        assert probes[f"test_post_{name}"]["category"] == "write-refused"
        assert probes[f"test_marked_post_{name}"]["category"] == "write-refused"
        # The refusal itself, not the client's wrapping of it.
        assert probes[f"test_post_{name}"]["error_type"] == "WriteRefused"
        result.stdout.fnmatch_lines(
            [
                f"*WriteRefused: POST {url} via {client} refused: sleuth is read-only"
                " unless a probe is marked @pytest.mark.writes and the run has"
                " --allow-writes; this probe is not marked @pytest.mark.writes (nor"
                " named under writes: in the suite's config) and this run does not"
                " have --allow-writes. Nothing was sent.*"
            ]
        )
    assert http_target.recorder.count("/echo") == 0
    # Each client's fixture, before each of its two probes.
    assert http_target.recorder.count("/status/200", "POST") == 6
    _hooks_are_gone()


def test_each_clients_marked_post_is_sent_with_allow_writes(
    client_suite, pytester, http_target
):
    client_suite(WRITES)
    result = pytester.runpytest("--allow-writes", "-k", "marked")
    result.assert_outcomes(passed=3)
    assert http_target.recorder.count("/echo", "POST") == 3
    assert http_target.recorder.count("/status/200", "POST") == 3
    _hooks_are_gone()


def test_each_clients_hang_ends_at_the_deadline_naming_the_request(
    client_suite, pytester, silent_port
):
    """Plain HTTP hangs waiting for the answer; HTTPS hangs in the handshake
    (the port never answers it), which urllib3 does before the request."""
    ends = pytester.path / "ends"
    ends.mkdir()
    client_suite(
        f"""
        import time
        from {{helpers}} import get

        def hang(scheme, name):
            started = time.monotonic()
            try:
                get(scheme + "://127.0.0.1:{silent_port}/users/123")
            finally:
                # When the client let go of the probe's thread.
                with open({str(ends)!r} + "/" + name, "w") as f:
                    f.write(str(time.monotonic() - started))

        def test_hang_{{name}}(target):
            hang("http", "http-{{name}}")

        def test_tls_hang_{{name}}(target):
            hang("https", "https-{{name}}")
        """,
        timeout="1s",
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    result.assert_outcomes(errors=6)
    origin = f"127.0.0.1:{silent_port}"
    probes = _probes(out)
    said = "*timed out after 1.0 s waiting for {} (timeout from target 'local' in sleuth.yaml)"
    for client in CLIENTS:
        # Said by the watchdog at the deadline, or by the hook when the
        # socket's bound ends the wait: the same words.
        url = f"http://{origin}/users/123"
        tls_wait = (
            f"GET https://{origin}/users/123 via {client}"
            if client == "urllib.request"  # http.client connects when sending
            else f"a connection to https://{origin} via {client}"
        )
        result.stdout.fnmatch_lines(
            [said.format(f"GET {url} via {client}"), said.format(tls_wait)],
            consecutive=False,
        )
        name = client.replace(".", "_")
        for probe in (f"test_hang_{name}", f"test_tls_hang_{name}"):
            assert probes[probe]["category"] == "timeout", probes[probe]
        (exchange,) = probes[f"test_hang_{name}"]["evidence"]["exchanges"]
        assert exchange["request"] == f"GET {url} via {client}"
        assert exchange["status"] is None
        assert exchange["error"] in ("timed out", "no answer before the probe ended")
        assert "connect" in exchange["timings_ms"]  # it connected; no answer came
    # Each thread let go soon after the deadline (it may end after the run),
    # where urllib alone would wait forever: 2.5 s of slack for a loaded machine.
    for client in CLIENTS:
        for scheme in ("http", "https"):
            end = ends / f"{scheme}-{client.replace('.', '_')}"
            assert float(wait_for_file(end)) <= 1.0 + 2.5, (scheme, client)
    _hooks_are_gone()


CHUNKS = (b"hello " * 200, b"world " * 300)


@contextlib.contextmanager
def raw_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A server that reads each request and lets ``answer`` write the reply
    on the socket, one thread per connection; its URL."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            answer(conn)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


@pytest.fixture
def chunked_url() -> Iterator[str]:
    """Answers chunked (Transfer-Encoding), as streamed answers are."""

    def answer(conn: socket.socket) -> None:
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in CHUNKS)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + body
            + b"0\r\n\r\n"
        )

    with raw_server(answer) as url:
        yield url + "/chunked"


@pytest.fixture
def drip_url() -> Iterator[str]:
    """Answers at once, then sends its body a byte every 0.1 s, for 100 s: no
    single read waits long, so only the probe's deadline can end it."""
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 1000\r\nConnection: close\r\n\r\n"
        )
        for _ in range(1000):
            if stop.wait(0.1):
                return
            conn.sendall(b"x")

    with raw_server(answer) as url:
        yield url + "/drip"
    stop.set()


def test_each_clients_chunked_body_is_evidenced_as_read(
    client_suite, pytester, chunked_url
):
    """urllib3 (and so requests) reads a chunked body below http.client's read
    methods: its chunks are in the excerpt, the CRLFs between them are not."""
    client_suite(
        f"""
        from {{helpers}} import get

        def test_chunked_{{name}}(target):
            status, text = get({chunked_url!r})
            assert len(text) == 0  # fails, to show the evidence
        """,
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    result.assert_outcomes(failed=3)
    probes = _probes(out)
    body = b"".join(CHUNKS).decode()
    for client in CLIENTS:
        name = client.replace(".", "_")
        (exchange,) = probes[f"test_chunked_{name}"]["evidence"]["exchanges"]
        assert exchange["request"] == f"GET {chunked_url} via {client}"
        assert exchange["body_bytes"] == len(body)
        assert exchange["body_excerpt"] == body[:2048]
    _hooks_are_gone()


def test_each_clients_dripping_body_ends_at_the_deadline(
    client_suite, pytester, drip_url
):
    ends = pytester.path / "ends"
    ends.mkdir()
    client_suite(
        f"""
        import time
        from {{helpers}} import get

        def test_drip_{{name}}(target):
            started = time.monotonic()
            try:
                get({drip_url!r})
            finally:
                with open({str(ends)!r} + "/{{name}}", "w") as f:
                    f.write(str(time.monotonic() - started))
        """,
        timeout="1s",
    )
    out = pytester.path / "run.json"
    result = pytester.runpytest(f"--sleuth-json={out}")
    result.assert_outcomes(errors=3)
    probes = _probes(out)
    for client in CLIENTS:
        name = client.replace(".", "_")
        result.stdout.fnmatch_lines(
            [
                f"*timed out after 1.0 s waiting for GET {drip_url} via {client} "
                "(timeout from target 'local' in sleuth.yaml)"
            ]
        )
        assert probes[f"test_drip_{name}"]["category"] == "timeout"
        (exchange,) = probes[f"test_drip_{name}"]["evidence"]["exchanges"]
        assert exchange["status"] == 200  # the answer came; its body did not
        # Cut at the deadline: said once the read lets go (after the report,
        # when the watchdog spoke first).
        assert exchange["error"] in (
            None,
            "200 OK, then its body was cut short: timed out",
        )
        assert float(wait_for_file(ends / name)) <= 1.0 + 2.5, client
    _hooks_are_gone()
