"""A hung dependency never holds back the rest: the server sees the healthy probes overlap.

The README promises that every selected probe starts at once and that a hung
dependency never stalls the run. Here ``sleuth run`` runs a table whose first
row waits on a port that never answers (HTTP, or each dependency kind), then
healthy HTTP rows whose endpoint holds each request until all of them are in
flight at once while the hung row is still waiting on its connection (see
overlap.py). A probe that runs in order after the hung row then asks the
server whether the hung row is still waiting: by then its deadline has passed
and it must have let go. Everything asserted is what the server saw, in the
order it saw it; nothing is timed.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sleuth.demo.server import BackgroundServer
from tests.integration.conftest import run_example
from tests.integration.overlap import Gate, Hung, HungTcp, HungUdp
from tests.required import skip_unless_required

HEALTHY = 8
# Time for the healthy requests to arrive together on a loaded machine.
HUNG_TIMEOUT = "4s"

# Each kind's row at a port that never answers, first in the table (dns rows
# resolve a `name:`, so theirs is `id:`), and what its timeout says it was
# waiting for.
HUNG_ROWS = {
    "http": (
        'name: hung, request: "GET http://127.0.0.1:{port}/"',
        "GET http://127.0.0.1:{port}/",
    ),
    "postgres": (
        'name: hung, dsn: "postgresql://postgres@127.0.0.1:{port}/test"',
        "postgres connect postgresql://postgres@127.0.0.1:{port}/test",
    ),
    "mysql": (
        'name: hung, dsn: "mysql://root@127.0.0.1:{port}/test"',
        "mysql connect mysql://root@127.0.0.1:{port}/test",
    ),
    "redis": (
        'name: hung, url: "redis://127.0.0.1:{port}/0"',
        "redis connect redis://127.0.0.1:{port}/0",
    ),
    "amqp": (
        'name: hung, url: "amqp://guest:guest@127.0.0.1:{port}/"',
        "amqp connect amqp://guest:***@127.0.0.1:{port}/",
    ),
    "nats": (
        'name: hung, url: "nats://127.0.0.1:{port}"',
        "nats connect nats://127.0.0.1:{port}",
    ),
    "mqtt": (
        'name: hung, url: "mqtt://127.0.0.1:{port}"',
        "mqtt connect mqtt://127.0.0.1:{port}",
    ),
    "tcp": (
        "name: hung, host: 127.0.0.1, port: {port}",
        "tcp connect 127.0.0.1:{port}",
    ),
    "tls": (
        "name: hung, host: 127.0.0.1, port: {port}",
        "tls handshake 127.0.0.1:{port}",
    ),
    "dns": (
        "id: hung, name: api.test, server: 127.0.0.1, port: {port}",
        "dns A api.test @127.0.0.1:{port}",
    ),
}

# Runs in order (tmp_path is not one of the fixtures a probe may run ahead
# with), so only once pytest is past the hung row, that is past its deadline.
WITNESS = """
def test_after_the_hung_row(target, tmp_path):
    assert target.http.get("/hung").text == "gone"
"""


@pytest.fixture
def hung(kind: str, unanswered_port: int) -> Iterator[Hung]:
    if not Path("/proc/net/tcp").exists():
        skip_unless_required("no /proc/net here to see the hung probe's sockets in")
    if kind == "dns":
        udp = HungUdp()
        yield udp
        udp.close()
    else:
        yield HungTcp(unanswered_port)


def write_suite(path: Path, url: str, kind: str, port: int) -> Path:
    row = HUNG_ROWS[kind][0].format(port=port)
    healthy = "".join(f"  - GET /together?probe={n}: 200\n" for n in range(HEALTHY))
    table = f"{kind}:\n  - {{{row}, timeout: {HUNG_TIMEOUT}}}\n"
    table += healthy if kind == "http" else f"http:\n{healthy}"
    (path / "sleuth.yaml").write_text(
        f"targets:\n  local:\n    base_url: {url}\n    timeout: 5s\n"
    )
    (path / "probes.yaml").write_text(table)
    (path / "test_witness.py").write_text(textwrap.dedent(WITNESS))
    return path


@pytest.mark.parametrize("kind", list(HUNG_ROWS))
def test_healthy_probes_are_all_in_flight_while_a_hung_one_waits(tmp_path, kind, hung):
    gate = Gate(HEALTHY, hung)
    with BackgroundServer(gate.app()) as server:
        suite = write_suite(tmp_path, server.url, kind, hung.port)
        result = run_example(
            suite, "-v", "--no-history", "--sleuth-json=run.json", env={}
        )
    out = result.stdout + result.stderr
    # The server let the healthy requests go together, the hung row waiting.
    assert gate.opened_with == HEALTHY, out
    assert gate.recorder.max_in_flight == HEALTHY
    assert gate.recorder.count("/together") == HEALTHY
    # Asked later, past the hung row's deadline: it had let go.
    assert gate.later == [False], out

    probes = {
        p["name"]: p for p in json.loads((suite / "run.json").read_text())["probes"]
    }
    stuck = probes.pop("hung")
    assert (stuck["outcome"], stuck["category"]) == ("error", "timeout"), stuck
    waiting_for = HUNG_ROWS[kind][1].format(port=hung.port)
    assert stuck["diagnosis"] == (
        f"timed out after 4.0 s waiting for {waiting_for} "
        f"(timeout from probes.yaml line 2)"
    )
    assert {p["outcome"] for p in probes.values()} == {"passed"}, out
    assert len(probes) == HEALTHY + 1  # and the witness
    assert result.returncode == 1, out
