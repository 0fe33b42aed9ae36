from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from sleuth.engine import Engine, context as _context
from sleuth.engine.context import ProbeContext
from sleuth.suite.config import load_suite_config
from sleuth.suite.options import resolve
from sleuth.target import Target
from tests.required import skip_unless_required


def run_example(
    suite: Path, *args: str, env: dict[str, str], drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``sleuth run ARGS`` in an example suite, as its README shows, with ``env``
    added and this machine's SLEUTH_ variables (and ``drop`` prefixes) left out."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLEUTH_", *drop))
    }
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "sleuth", "run", *args, "-p", "no:cacheprovider"],
        cwd=suite,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.services)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine(workers=8)
    yield engine
    engine.close()


MakeTarget = Callable[..., Target]


@pytest.fixture
def make_target(engine: Engine, tmp_path: Path) -> MakeTarget:
    """A real Target built from a sleuth.yaml text, as the plugin builds it."""

    def make(config: str = "", **environ: str) -> Target:
        path = tmp_path / "sleuth.yaml"
        path.write_text(textwrap.dedent(config) or "targets:\n  local: {}\n")
        suite = load_suite_config(path, environ=environ)
        options = resolve(suite, cli={}, environ=environ)
        return Target(options, engine)

    return make


@contextlib.contextmanager
def in_probe(timeout_s: float = 5.0) -> Iterator[ProbeContext]:
    """Run the block as a probe would: its deadline, its evidence."""
    ctx = ProbeContext(probe_id="test", timeout_s=timeout_s, timeout_origin="test")
    ctx.start()
    token = _context.current.set(ctx)
    try:
        yield ctx
    finally:
        _context.current.reset(token)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose connections are never accepted: the SYN gets no answer.

    The listen backlog is zero and one connection already fills it, so the
    kernel drops every later SYN and connecting hangs until a deadline.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port: int = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        yield port
    finally:
        filler.close()
        server.close()


def service_url(name: str, default: str) -> str:
    """A local service's URL, overridable by SLEUTH_TEST_<NAME>_URL."""
    return os.environ.get(f"SLEUTH_TEST_{name.upper()}_URL", default)


def require_program(name: str) -> str:
    """The path of a server program the test starts itself, or skip (CI: fail)."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        skip_unless_required(f"{name} is not installed")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_until(what: str, holds: Callable[[], bool], within_s: float = 30.0) -> None:
    """Poll ``holds`` until it is true; fail the test, saying ``what``, after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not holds():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still not so after {within_s} s")
        time.sleep(0.05)


@contextlib.contextmanager
def running(
    argv: list[str],
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    within_s: float = 5.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server program until the block ends; wait (bounded) for its port.

    It runs in a process group of its own, so that a caller may end it
    together with what it started (``os.killpg(process.pid, ...)``).
    """
    process = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=None if env is None else {**os.environ, **env},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + within_s
        while True:
            if process.poll() is not None:
                pytest.fail(f"{argv[0]} exited with {process.returncode} on start")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{argv[0]} did not listen on {port} in {within_s} s")
                time.sleep(0.025)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def docs_role_example(server: str) -> str:
    """The SQL docs/probes.md gives to make a probe role on ``server``
    ("PostgreSQL" or "MySQL / MariaDB"), comments left out."""
    docs = Path(__file__).parents[2] / "docs" / "probes.md"
    block = docs.read_text().split("-- PostgreSQL\n", 1)[1].split("```", 1)[0]
    postgres, mysql = block.split("-- MySQL / MariaDB\n")
    text = postgres if server == "PostgreSQL" else mysql
    return "\n".join(line.split("--")[0] for line in text.splitlines()).strip()
