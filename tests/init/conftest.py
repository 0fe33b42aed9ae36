"""Real servers for ``sleuth init``'s specs: a FastAPI app and httpbin.

Each counts the requests it is sent by method, in middleware of its own, so a
test can show that a generated suite sent nothing but GET and HEAD.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sleuth.cli.commands import group
from sleuth.demo.server import BackgroundServer
from tests.init.shopapi import create_app
from tests.targetapp import Recorder, counting

SRC = Path(__file__).parents[2] / "src"


class Served:
    def __init__(self, url: str, methods: Callable[[], collections.Counter[str]]):
        self.url = url
        self.methods = methods  # requests by method, as the server saw them


@pytest.fixture
def shop_api() -> Iterator[Served]:
    """The FastAPI app of tests/init/shopapi.py, with uvicorn on a free port."""
    recorder = Recorder()

    def methods() -> collections.Counter[str]:
        counts: collections.Counter[str] = collections.Counter()
        for (method, _), n in recorder.requests.items():
            counts[method] += n
        return counts

    with BackgroundServer(counting(create_app(), recorder)) as server:
        yield Served(server.url, methods)


class _CountingWsgi:
    """WSGI middleware: counts each request's method before the app sees it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.methods: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            self.methods[environ["REQUEST_METHOD"]] += 1
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def _httpbin() -> Iterator[tuple[str, _CountingWsgi]]:
    import httpbin
    from werkzeug.serving import make_server

    app = _CountingWsgi(httpbin.app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def httpbin_server(_httpbin: tuple[str, _CountingWsgi]) -> Served:
    """httpbin (with flasgger: it serves /spec.json) on a free loopback port."""
    url, app = _httpbin
    app.methods.clear()
    return Served(url, lambda: app.methods)


def sleuth_init(cwd: Path, *args: str) -> Result:
    """``sleuth init ARGS`` in ``cwd``, in this process."""
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(group, ["init", *args], catch_exceptions=False)
    finally:
        os.chdir(old)


def sleuth_run(
    suite: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``sleuth run ARGS`` in ``suite``, as a person would run it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLEUTH_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(SRC), str(Path(__file__).parents[2])])
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sleuth", "run", *args, "-p", "no:cacheprovider"],
        cwd=suite,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
