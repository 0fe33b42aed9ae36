"""The HTTP worker killed mid-run is sleuth's fault, never the target's.

A real ``sleuth run`` of 300 probes against a real server; one probe waits
until the server holds every request, kills the worker with SIGKILL, then
lets the server answer.
Counted at the server: every GET still got its answer (sent again from the
run's own process), and no write was sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from sleuth.demo.server import BackgroundServer
from tests.plugin.test_http_worker import sleuth_run, write_suite

READS = 290
WRITES = 10
# The server holds each probe's request until the killing probe releases
# them (or this long at most): every one is in flight when the worker dies,
# however slowly they arrive on a loaded machine.
HOLD_MAX_S = 60.0
WAIT_ALL_S = 30.0  # for the 300 requests to arrive


class Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[tuple[str, str]] = Counter()  # (method, n)
        self.released: asyncio.Event | None = None  # made on the server's loop


@pytest.fixture
def slow_server() -> Iterator[tuple[str, Counts]]:
    """Answers /slow?n=N once /release is asked; /count says how many
    requests it holds."""
    counts = Counts()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = dict(
            part.split("=", 1)
            for part in scope["query_string"].decode().split("&")
            if "=" in part
        )
        if counts.released is None:
            counts.released = asyncio.Event()
        if scope["path"] == "/count":
            with counts.lock:
                body = str(sum(counts.seen.values())).encode()
        elif scope["path"] == "/release":
            counts.released.set()
            body = b"released"
        else:
            with counts.lock:
                counts.seen[(scope["method"], query.get("n", ""))] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(counts.released.wait(), HOLD_MAX_S)
            body = b"ok"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with BackgroundServer(app) as server:
        yield server.url, counts


PROBES = f"""
import os
import signal
import time
import urllib.request

import pytest


@pytest.mark.parametrize("n", range({READS}))
def test_read(target, n):
    assert target.http.get(f"/slow?n={{n}}").text == "ok"


@pytest.mark.writes
@pytest.mark.parametrize("n", range({WRITES}))
def test_write(target, n):
    assert target.http.post(f"/slow?n={{n}}", json={{"n": n}}).text == "ok"


def test_kill_the_worker_when_every_request_is_in_flight(target, worker_pid):
    # Not through target.http: this probe only watches the server.
    held = 0
    try:
        deadline = time.monotonic() + {WAIT_ALL_S}
        while held < {READS + WRITES} and time.monotonic() < deadline:
            time.sleep(0.02)
            with urllib.request.urlopen(target.base_url + "/count") as answer:
                held = int(answer.read())
        assert held == {READS + WRITES}, f"the server held {{held}} requests"
        os.kill(worker_pid, signal.SIGKILL)
    finally:
        urllib.request.urlopen(target.base_url + "/release").close()
"""

# The run's worker, as its session holds it: a session fixture, so that the
# probe using it still runs ahead with the others (``request`` would not).
CONFTEST = """
import pytest

from sleuth.http import worker as http_worker


@pytest.fixture(scope="session")
def worker_pid(pytestconfig):
    return http_worker.offered(pytestconfig.pluginmanager.get_plugins()).pid
"""


def test_reads_in_flight_are_sent_again_and_writes_never_twice(tmp_path, slow_server):
    url, counts = slow_server
    suite = write_suite(tmp_path, url, PROBES)
    # Each request is held until all have arrived: time enough for that.
    config = suite / "sleuth.yaml"
    config.write_text(config.read_text().replace("timeout: 5s", "timeout: 40s"))
    (suite / "conftest.py").write_text(CONFTEST)
    out = tmp_path / "run.json"
    result = sleuth_run(suite, "-q", "--allow-writes", f"--sleuth-json={out}")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(out.read_text())
    outcomes = {p["id"]: (p["outcome"], p["category"]) for p in document["probes"]}
    # Every read got the target's real answer: the run sent it again itself.
    assert Counter(v for k, v in outcomes.items() if "test_read[" in k) == {
        ("passed", ""): READS
    }
    # Every write was held by the server when the worker died: not sent again,
    # failed as sleuth's own fault, saying it may have reached the target.
    assert Counter(v for k, v in outcomes.items() if "test_write[" in k) == {
        ("error", "sleuth"): WRITES
    }
    for probe in document["probes"]:
        if probe["name"].startswith("test_write"):
            assert "may have reached the target" in probe["diagnosis"]
            assert "does not send a write twice" in probe["diagnosis"]
    with counts.lock:
        seen = dict(counts.seen)
    assert {n: seen.get(("POST", str(n))) for n in range(WRITES)} == dict.fromkeys(
        range(WRITES), 1
    )
    # Each read reached the server twice: from the dead worker, then the run.
    assert {seen.get(("GET", str(n))) for n in range(READS)} == {2}
    # The cause is sleuth's own, never the host's.
    [cause] = document["root_causes"]
    assert cause["label"] == "sleuth"
    assert cause["category"] == "sleuth"
    assert "127.0.0.1" not in cause["summary"]
    assert (
        f"sleuth's HTTP worker process stopped mid-run (killed by SIGKILL; "
        f"it closed its end of the connection); {READS} reads in flight sent again"
    ) in result.stdout
    assert "Traceback" not in result.stderr
