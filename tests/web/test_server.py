"""A real uvicorn: in a thread (the watch command's API) and ``sleuth serve``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sleuth.cli.commands import group as main
from sleuth.web.auth import check_password, parse_auth
from sleuth.web.server import ServeError, parse_address, start_in_thread
from tests.web.conftest import CANARY_DSN_PASSWORD


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def taken_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_start_in_thread_serves_and_stops_cleanly(incident_store: str):
    before = threading.active_count()
    server = start_in_thread("127.0.0.1:0", history_url=incident_store)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        code, html = get(server.url + "/")
        assert code == 200
        assert "test_shop.py::test_orders" in html
        assert get(server.url + "/api/v1/status")[0] == 200
        assert get(server.url + "/healthz")[0] == 503
    finally:
        server.stop()
    assert not [t for t in threading.enumerate() if t.name == "sleuth-web"]
    # anyio's idle worker threads end with the server's loop, a moment later.
    for _ in range(100):
        if threading.active_count() <= before:
            break
        threading.Event().wait(0.05)
    assert threading.active_count() <= before
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url + "/healthz", timeout=5)  # noqa: S310


def test_start_in_thread_with_a_token(incident_store: str):
    auth = parse_auth("bearer:T", environ={"T": "tok-123"})
    with start_in_thread("127.0.0.1:0", history_url=incident_store, auth=auth) as s:
        assert get(s.url + "/")[0] == 401
        assert get(s.url + "/", {"Authorization": "Bearer nope"})[0] == 401
        assert get(s.url + "/", {"Authorization": "Bearer tok-123"})[0] == 200


def test_a_taken_address_is_one_clear_error(incident_store: str, taken_port: int):
    with pytest.raises(
        ServeError, match=f"cannot serve on 127.0.0.1:{taken_port}: already in use"
    ):
        start_in_thread(f"127.0.0.1:{taken_port}", history_url=incident_store)


def test_beyond_loopback_only_with_auth(incident_store: str):
    with pytest.raises(
        ServeError, match=r"refusing to serve on 0\.0\.0\.0 without --auth"
    ):
        start_in_thread("0.0.0.0:0", history_url=incident_store)


def test_an_unreachable_store_fails_at_start(closed_port: int):
    url = f"postgresql+psycopg://app:{CANARY_DSN_PASSWORD}@127.0.0.1:{closed_port}/h"
    with pytest.raises(ServeError, match="could not be opened") as caught:
        start_in_thread("127.0.0.1:0", history_url=url)
    assert CANARY_DSN_PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("9464", ("127.0.0.1", 9464)),
        (":8080", ("127.0.0.1", 8080)),
        ("[::1]:8080", ("::1", 8080)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_addresses(text: str, expected: tuple[str, int]):
    assert parse_address(text) == expected


def test_a_bad_address_says_what_to_give():
    with pytest.raises(ServeError, match="give HOST:PORT"):
        parse_address("localhost:http")


def serve(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLEUTH_")}
    environ.update(env or {}, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen(
        [sys.executable, "-m", "sleuth", "serve", *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sleuth_serve_runs_until_sigterm(incident_store: str, tmp_path: Path):
    process = serve("127.0.0.1:0", "--history", incident_store, cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("sleuth: serving http://127.0.0.1:"), line
        url = line.split()[2]
        assert get(url + "/api/v1/status")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["0.0.0.0:0"], {}, "refusing to serve on 0.0.0.0 without --auth"),
        (["--auth", "bearer:NOT_SET"], {}, "the environment variable NOT_SET is unset"),
        (["--auth", "secret123"], {}, "--auth 'secret123' is not known"),
        (["nonsense:port"], {}, "is not an address to serve on"),
    ],
)
def test_sleuth_serve_usage_errors_are_one_line(
    incident_store: str, tmp_path: Path, args: list[str], env: dict[str, str], said: str
):
    process = serve(*args, "--history", incident_store, cwd=tmp_path, env=env)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 4, out + err
    assert said in err, err
    assert err.strip().count("\n") == 0, err
    assert err.startswith("sleuth serve: ")


def test_sleuth_serve_on_a_taken_port_or_without_a_store(
    incident_store: str, tmp_path: Path, taken_port: int
):
    process = serve(
        f"127.0.0.1:{taken_port}", "--history", incident_store, cwd=tmp_path
    )
    _, err = process.communicate(timeout=60)
    assert process.returncode == 4
    assert "already in use" in err
    assert err.strip().count("\n") == 0, err
    process = serve(
        "127.0.0.1:0", "--history", f"sqlite:///{tmp_path}/none.db", cwd=tmp_path
    )
    _, err = process.communicate(timeout=60)
    assert process.returncode == 4, err
    assert "no history yet at" in err, err
    assert err.strip().count("\n") == 0, err


def test_hash_password_prints_a_hash_that_checks():
    result = CliRunner().invoke(
        main, ["serve", "--hash-password"], input="pa55word\npa55word\n"
    )
    assert result.exit_code == 0, result.output
    hashed = result.stdout.strip().splitlines()[-1]
    assert hashed.startswith("scrypt$")
    assert "pa55word" not in result.stdout
    assert check_password("pa55word", hashed)


def test_without_the_web_extra_serve_says_how_to_install_it(
    incident_store: str, tmp_path: Path
):
    code = (
        "import runpy, sys\n"
        "sys.modules['uvicorn'] = None  # as if the web extra were not installed\n"
        f"sys.argv = ['sleuth', 'serve', '--history', {incident_store!r}]\n"
        "runpy.run_module('sleuth', run_name='__main__')\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLEUTH_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr == (
        "sleuth serve: the status page needs the 'web' extra (uvicorn is missing). "
        "Install it with: pip install 'sleuth[web]'\n"
    )
