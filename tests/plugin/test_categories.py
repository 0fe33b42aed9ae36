"""Every kind of fault ends in its category, with evidence, in a finished run."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import UNRESOLVABLE_HOST
from tests.integration.tlsserver import CertFactory, TlsServer

SCHEMA = Path(__file__).parents[2] / "docs" / "schema" / "run-1.json"


@pytest.fixture
def reset_port() -> Iterator[int]:
    """Accepts, then resets the connection (RST) without a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            conn.recv(1024)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


@pytest.fixture
def tls_ports(tmp_path) -> Iterator[dict[str, int]]:
    certs = CertFactory(tmp_path)
    self_signed = certs.issue("self", self_signed=True)
    expired = certs.issue("old", not_before_days=-30, not_after_days=-2)
    with TlsServer(*self_signed) as a, TlsServer(*expired) as b:
        yield {"self_signed": a.port, "expired": b.port}


FAULTS = """
import pytest

def test_wrong_status(target):
    assert target.http.get("/status/404").status_code == 200

def test_wrong_body(target):
    assert "healthy" in target.http.get("/status/200?body=degraded").text

@pytest.mark.probe(timeout=0.5)
def test_slow(target):
    target.http.get("/status/200?delay=3")

def test_too_many_requests(target):
    target.http.get("/status/429?retry_after=1").raise_for_status()

def test_unavailable(target):
    assert target.http.get("/status/503").status_code == 200

def test_unauthorized(target):
    assert target.http.get("/status/401").status_code == 200

def test_redirect_loop(target):
    target.http.get("/redirect-loop", follow_redirects=True)

def test_big_body_is_capped(target):
    response = target.http.get("/big?bytes=10485760")
    assert response.status_code == 200
    assert response.truncated
    assert len(response.content) == 4 * 1024 * 1024

def test_reset(target):
    target.http.get("http://127.0.0.1:{reset}/")

def test_refused(target):
    target.http.get("http://127.0.0.1:{closed}/")

def test_unresolvable(target):
    target.http.get("http://{unresolvable}/")

def test_self_signed(target):
    target.http.get("https://127.0.0.1:{self_signed}/")

def test_expired(target):
    target.http.get("https://127.0.0.1:{expired}/")

@pytest.mark.probe(timeout=0.5)
def test_never_answers(target):
    target.http.get("http://127.0.0.1:{silent}/")
"""

EXPECTED = {
    "test_wrong_status": ("failed", "failed"),
    "test_wrong_body": ("failed", "failed"),
    "test_slow": ("error", "timeout"),
    "test_too_many_requests": ("failed", "failed"),
    "test_unavailable": ("error", "http-5xx"),
    "test_unauthorized": ("error", "auth"),
    "test_redirect_loop": ("error", "other"),
    "test_big_body_is_capped": ("passed", ""),
    "test_reset": ("error", "reset"),
    "test_refused": ("error", "refused"),
    "test_unresolvable": ("error", "dns"),
    "test_self_signed": ("error", "tls"),
    "test_expired": ("error", "tls"),
    "test_never_answers": ("error", "timeout"),
}


@pytest.mark.usefixtures("http_transport")  # in-process and worker
def test_each_fault_ends_in_its_category_with_evidence(
    suite, pytester, reset_port, closed_port, silent_port, tls_ports
):
    suite(
        test_faults=FAULTS.format(
            reset=reset_port, closed=closed_port, silent=silent_port,
            unresolvable=UNRESOLVABLE_HOST, **tls_ports,
        )
    )  # fmt: skip
    out = pytester.path / "run.json"
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("-v", f"--sleuth-json={out}", f"--junitxml={junit}")
    assert junit.exists()
    document = json.loads(out.read_text())
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    seen = {p["name"]: (p["outcome"], p["category"]) for p in document["probes"]}
    assert seen == EXPECTED
    for probe in document["probes"]:
        assert probe["evidence"]["exchanges"], probe["name"]
        for exchange in probe["evidence"]["exchanges"]:
            assert len(exchange["body_excerpt"]) <= 2048
    result.stdout.fnmatch_lines(
        [
            "*test_wrong_status FAILED*",
            "*test_slow ERROR*",
            "*test_big_body_is_capped PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*[[]timeout[]] timed out after 0.5 s waiting for GET*"]
    )
    assert "[tls]" in result.stdout.str()
    assert "[dns] GET http://-nx-.invalid/: the name -nx-.invalid does not resolve" in (
        result.stdout.str()
    )


BLOCKING = """
import pytest

@pytest.mark.db
def test_database(target):
    target.http.get("http://127.0.0.1:{closed}/")

@pytest.mark.needs("db")
@pytest.mark.parametrize("n", range(3))
def test_orders(target, n):
    target.http.get("http://127.0.0.1:{closed}/orders/%d" % n)

@pytest.mark.needs("db")
def test_cache_still_fine(target):
    assert target.http.get("/status/200").status_code == 200

def test_health(target):
    assert target.http.get("/status/200").status_code == 200
"""


def test_a_probe_whose_need_failed_is_blocked_and_the_cause_is_ranked(
    suite, pytester, closed_port
):
    suite(test_blocking=BLOCKING.format(closed=closed_port))
    pytester.makeini("[pytest]\nmarkers = db: the database probes")
    out = pytester.path / "run.json"
    result = pytester.runpytest("-v", f"--sleuth-json={out}")
    result.stdout.fnmatch_lines(
        [
            "*test_orders?0? BLOCKED*",
            "*likely root causes:*",
            "*1. db: connection refused by 127.0.0.1:*(blocks 3 probes)*",
        ]
    )
    result.stdout.fnmatch_lines(["*1 error, 3 blocked*"])
    document = json.loads(out.read_text())
    outcomes = {
        p["id"].split("::")[1]: (p["outcome"], p["blocked_by"])
        for p in document["probes"]
    }
    assert outcomes == {
        "test_database": ("error", ""),
        "test_orders[0]": ("blocked", "db"),
        "test_orders[1]": ("blocked", "db"),
        "test_orders[2]": ("blocked", "db"),
        "test_cache_still_fine": ("passed", ""),
        "test_health": ("passed", ""),
    }
    [cause] = document["root_causes"]
    assert cause["label"] == "db"
    assert cause["blocks"] == [f"test_blocking.py::test_orders[{n}]" for n in range(3)]


def test_failures_at_one_host_are_grouped_as_one_cause(suite, pytester, closed_port):
    suite(
        test_group=f"""
        import pytest

        @pytest.mark.parametrize("path", ["/a", "/b", "/c"])
        def test_refused(target, path):
            target.http.get("http://127.0.0.1:{closed_port}" + path)
        """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*likely root causes:*",
            f"*1. 127.0.0.1:{closed_port}: connection refused (3 probes failed the same way)*",
        ]
    )


AUTH_TABLE = """
http:
  - GET /status/401: 200
  - GET /status/403: 200
  - GET /status/407: 2xx
  - GET /status/503: 200
  - GET /status/404: 200
  - GET /status/200: 401
"""

AUTH_PYTHON = """
import pytest

@pytest.mark.parametrize("code", [401, 403, 407, 503, 404])
def test_status(target, code):
    assert target.http.get(f"/status/{code}").status_code == 200
"""


def test_a_table_row_has_the_category_a_python_probe_has(suite, pytester):
    """401/403/407 are ``auth`` and 5xx ``http-5xx``, in a row as in Python."""
    suite(test_same=AUTH_PYTHON)
    (pytester.path / "api.yaml").write_text(AUTH_TABLE.lstrip())
    out = pytester.path / "run.json"
    pytester.runpytest(f"--sleuth-json={out}")
    document = json.loads(out.read_text())
    seen = {
        p["id"].split("::")[1]: (p["outcome"], p["category"])
        for p in document["probes"]
    }
    for code, category in (("401", "auth"), ("403", "auth"), ("407", "auth")):
        assert seen[f"test_status[{code}]"] == ("error", category)
    assert seen["GET /status/401"] == ("error", "auth")
    assert seen["GET /status/403"] == ("error", "auth")
    assert seen["GET /status/407"] == ("error", "auth")
    assert seen["GET /status/503"] == seen["test_status[503]"] == ("error", "http-5xx")
    assert seen["GET /status/404"] == seen["test_status[404]"] == ("failed", "failed")
    # A row that wanted the 401 it did not get is a wrong answer, not a login refused.
    assert seen["GET /status/200"] == ("failed", "failed")
