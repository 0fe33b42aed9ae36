"""Time is the target's, never sleuth's (issue 16).

A mixed suite, as a user would run it with ``sleuth run``: one row of every
dependency kind on this machine's real servers, 40 HTTP rows each judged by
``max_latency: 250ms`` against a local uvicorn server that answers in about
1 ms, and a TCP row judged by ``max_connect_time: 200ms``. On main before
this issue, loading the dependency kinds' client libraries on the event loop
that carries every probe's I/O made 32 to 40 of the 40 HTTP rows fail with
``answered in 272 ms`` (and, in the issue's run, the TCP row with 0.36 s),
the requests' own evidence saying ``connect 13 ms, first_byte 26 ms``. Here
the same suite passes 20 runs in a row (at most two rows of a run over their
bound, for a machine so loaded that it stalls the target itself), and every
figure in its evidence is the target's.

Then sleuth's own busy moments, made on purpose (a probe that blocks the loop
that carries the I/O), are not counted as the target's and are said apart,
and ``sleuth diff`` does not report them as a change of the target.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sleuth.demo.server import BackgroundServer
from tests.conftest import require_service
from tests.integration.conftest import run_example

RUNS = 20
HTTP_ROWS = 40
STALLS_TOLERATED = 2  # rows per run over their bound (see below)
SERVICES = {
    "PostgreSQL": 5432,
    "MariaDB": 3306,
    "Redis": 6379,
    "RabbitMQ": 5672,
    "NATS": 4222,
    "Mosquitto": 1883,
}
DEPENDENCY_ROWS = """\
postgres:
  - {name: pg, dsn: "postgresql://postgres@127.0.0.1:5432/test"}
mysql:
  - {name: maria, dsn: "mysql://root@127.0.0.1:3306/test"}
redis:
  - {name: cache, url: "redis://127.0.0.1:6379/0"}
amqp:
  - {name: rabbit, url: "amqp://guest:guest@127.0.0.1:5672/"}
nats:
  - {name: nats, url: "nats://127.0.0.1:4222"}
mqtt:
  - {name: mqtt, url: "mqtt://127.0.0.1:1883"}
tcp:
  - {name: pg port, host: 127.0.0.1, port: 5432, max_connect_time: 200ms}
"""


async def quick_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An endpoint that answers at once: about 1 ms on this machine."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module")
def server() -> Any:
    with BackgroundServer(quick_app) as running:
        yield running


def write_mixed_suite(path: Path, url: str) -> Path:
    (path / "sleuth.yaml").write_text(
        f"targets:\n  local:\n    base_url: {url}\n    timeout: 5s\n"
    )
    http = "".join(
        f"  - GET /quick?n={n}: {{status: 200, max_latency: 250ms}}\n"
        for n in range(HTTP_ROWS)
    )
    (path / "probes.yaml").write_text(f"{DEPENDENCY_ROWS}http:\n{http}")
    return path


def probes_of(report: Path) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in json.loads(report.read_text())["probes"]}


def test_a_mixed_suite_passes_20_runs_in_a_row(tmp_path, server):
    for name, port in SERVICES.items():
        require_service(name, "127.0.0.1", port)
    suite = write_mixed_suite(tmp_path, server.url)
    for run in range(1, RUNS + 1):
        result = run_example(
            suite, "-q", "--no-history", "--sleuth-json=run.json", env={}
        )
        out = result.stdout + result.stderr
        probes = probes_of(suite / "run.json")
        failed = {
            name: p["diagnosis"]
            for name, p in probes.items()
            if p["outcome"] != "passed"
        }
        # A loaded machine may stall the target itself past a bound now and
        # then (it shares the two cores): that is the target's time, rightly
        # judged. sleuth's own time counted failed 32 to 40 of the 40 rows.
        slow = {
            name: diagnosis
            for name, diagnosis in failed.items()
            if "answered in" in diagnosis or "over max_connect_time" in diagnosis
        }
        assert failed == slow, f"run {run} of {RUNS}:\n{out}"
        assert len(slow) <= STALLS_TOLERATED, f"run {run} of {RUNS}:\n{out}"
        assert result.returncode == (1 if slow else 0), out
        assert len(probes) == HTTP_ROWS + 7
        for name, probe in probes.items():
            (exchange,) = probe["evidence"]["exchanges"]
            # A probe's duration is its time on the wire, as its evidence says.
            total_s = exchange["timings_ms"]["total"] / 1000
            assert probe["duration_s"] == pytest.approx(total_s, abs=1e-4), name


# A probe that keeps the loop carrying every probe's I/O busy for 1.5 s while
# its own request is out: sleuth's work, as an import or a busy loop would be.
# Each bound (1 s) is under that, and far over the target's ~1 ms, so that a
# loaded machine's stalls do not blur the two.
BUSY_PROBES = """
import asyncio
import threading
import time

LOOP_HELD = threading.Event()  # set as the loop is about to be held


async def test_answer_while_the_loop_is_busy(target):
    await target.ahttp.get("/quick?warm")  # a kept-alive connection
    pending = asyncio.ensure_future(target.ahttp.get("/quick?judged"))
    for _ in range(5):
        await asyncio.sleep(0)  # on its way: the loop blocks before, or after, it is sent
    time.sleep(1.5)
    response = await pending
    assert response.status_code == 200
    assert response.elapsed.total_seconds() < 1.0, response.elapsed


async def test_connect_while_the_loop_is_busy(target):
    check = asyncio.ensure_future(
        target.tcp(host="127.0.0.1", port={port}).acheck(max_connect_time="1s")
    )
    for _ in range(3):
        await asyncio.sleep(0)  # the SYN goes out
    LOOP_HELD.set()
    time.sleep(1.5)
    await check


def test_a_def_probe_handed_to_a_busy_loop(target):
    assert LOOP_HELD.wait(5)  # handed over while the probe above holds the loop
    target.tcp(host="127.0.0.1", port={port}).check(max_connect_time="1s")
"""


@pytest.mark.parametrize("worker", ["1", "0"], ids=["http-worker", "in-the-run"])
def test_time_sleuth_was_busy_is_not_the_targets_and_is_said_apart(
    tmp_path, server, worker
):
    (tmp_path / "sleuth.yaml").write_text(
        f"targets:\n  local:\n    base_url: {server.url}\n    timeout: 5s\n"
    )
    (tmp_path / "test_busy.py").write_text(
        textwrap.dedent(BUSY_PROBES).replace("{port}", str(server.port))
    )
    result = run_example(
        tmp_path,
        "-v",
        "--no-history",
        "--sleuth-json=run.json",
        env={"SLEUTH_HTTP_WORKER": worker},
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    probes = probes_of(tmp_path / "run.json")
    _warm, judged = probes["test_answer_while_the_loop_is_busy"]["evidence"][
        "exchanges"
    ]
    assert judged["request"].endswith("/quick?judged")
    # The 1.5 s are sleuth's, said apart, before sending or after the answer.
    assert sum(judged["busy_ms"].values()) >= 1300, judged
    assert judged["timings_ms"]["total"] < 1000, judged
    (connect,) = probes["test_connect_while_the_loop_is_busy"]["evidence"]["exchanges"]
    assert connect["timings_ms"]["connect"] < 1000, connect
    (handed,) = probes["test_a_def_probe_handed_to_a_busy_loop"]["evidence"][
        "exchanges"
    ]
    assert handed["busy_ms"]["before_sending"] > 50, handed
    assert handed["timings_ms"]["connect"] < 1000, handed


# The same probe twice: the second time, sleuth's loop is held 400 ms while its
# request is out (BLOCK_S), the target as quick as ever.
DIFFED_PROBE = """
import asyncio
import os
import time


async def test_quick(target):
    pending = asyncio.ensure_future(target.ahttp.get("/quick"))
    for _ in range(5):
        await asyncio.sleep(0)
    time.sleep(float(os.environ["BLOCK_S"]))
    assert (await pending).status_code == 200
"""


def test_sleuth_diff_does_not_report_sleuths_own_slowness(tmp_path, server):
    (tmp_path / "sleuth.yaml").write_text(
        f"targets:\n  local:\n    base_url: {server.url}\n    timeout: 5s\n"
    )
    (tmp_path / "test_diffed.py").write_text(textwrap.dedent(DIFFED_PROBE))
    for block_s in ("0", "0.4"):
        result = run_example(tmp_path, "-q", env={"BLOCK_S": block_s})
        assert result.returncode == 0, result.stdout + result.stderr
    diff = subprocess.run(
        [sys.executable, "-m", "sleuth", "diff", "1", "2", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert diff.returncode == 0, diff.stderr
    assert json.loads(diff.stdout)["latency"] == [], diff.stdout
