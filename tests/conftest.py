from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.preload  # noqa: F401 (before any in-process pytester run)
from sleuth.demo.server import BackgroundServer
from tests.required import REQUIRE_SERVICES_ENV, skip_unless_required
from tests.targetapp import Recorder, create_app
from tests.workerproc import started_worker

# A name that does not resolve, refused by the C library itself (a label may not
# start with a hyphen), so no query leaves this machine. "x.invalid" would be
# sent to the system's resolver.
UNRESOLVABLE_HOST = "-nx-.invalid"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the developer's shell: SLEUTH_* variables are cleared."""
    for name in list(os.environ):
        if name.startswith("SLEUTH_") and name != REQUIRE_SERVICES_ENV:
            monkeypatch.delenv(name)


class HttpTarget:
    def __init__(self, server: BackgroundServer, recorder: Recorder) -> None:
        self.server = server
        self.recorder = recorder
        self.url = server.url


@pytest.fixture(scope="session")
def _http_server() -> Iterator[HttpTarget]:
    recorder = Recorder()
    with BackgroundServer(create_app(recorder)) as server:
        yield HttpTarget(server, recorder)


@pytest.fixture
def http_target(_http_server: HttpTarget) -> HttpTarget:
    """A real HTTP server on a free loopback port; its counts start at zero."""
    _http_server.recorder.reset()
    return _http_server


@pytest.fixture(params=["in-process", "worker"])
def http_transport(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each HTTP test twice: requests made by the run itself, and by its worker.

    With "worker", the in-process run must have handed its requests to the
    worker: a test that made none would not be testing it.
    """
    if request.param == "in-process":
        yield request.param
        return
    with started_worker() as worker:
        # Handed to each in-process run as `sleuth run` hands it to pytest: a
        # plugin object (pytester's inline runs take plugins only as an argument).
        pytester = request.getfixturevalue("pytester")
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setattr(
            pytester,
            "runpytest",
            functools.partial(pytester.runpytest, plugins=[worker.handle]),
        )
        yield request.param
    if not worker.claimed:
        pytest.fail("the run never used the HTTP worker it was given")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's real AWS server on a free loopback port (tests/awsserver.py)."""
    from tests.awsserver import moto_server

    with moto_server() as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it."""
    from tests.history.helpers import postgres_database  # sleuth's history

    require_service("PostgreSQL", "127.0.0.1", 5432)
    with postgres_database() as url:
        yield url


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def outcomes(result: pytest.RunResult) -> dict[str, int]:
    """The counts of a run's last line, sleuth's words too (flaky, blocked, warned)."""
    counts = result.parseoutcomes()
    counts.pop("warnings", None)
    return counts


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, in CI, fail) when a local service is not reachable."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        skip_unless_required(f"{name} is not reachable at {host}:{port} ({exc})")


def packages_loaded_by(imports: str, packages: set[str]) -> list[str]:
    """Which of ``packages`` a fresh interpreter has loaded after ``imports``."""
    code = (
        f"import json, sys\n{imports}\n"
        "top = {name.partition('.')[0] for name in sys.modules}\n"
        f"print(json.dumps(sorted(top & set({sorted(packages)!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded: list[str] = json.loads(out)
    return loaded


@pytest.fixture
def suite(pytester: pytest.Pytester, http_target: HttpTarget):
    """A sleuth suite in pytester's directory, aimed at the HTTP target."""

    def make(config: str = "", **files: str) -> Path:
        text = (
            config
            or f"""
            targets:
              local:
                base_url: {http_target.url}
                timeout: 5s
        """
        )
        pytester.makefile(".yaml", sleuth=textwrap.dedent(text))
        if files:
            pytester.makepyfile(**{k: textwrap.dedent(v) for k, v in files.items()})
        return pytester.path

    return make
