"""``sleuth run`` makes its HTTP requests in a worker process forked at start.

These run the real command, so the worker is the forked one; the in-process
tests of HTTP behaviour run against a worker too (the ``http_transport``
fixture in tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sleuth.http import worker as http_worker

# Each probe writes what it saw of this process to a file the test reads.
PROBES = """
import json
import os
import sys

from sleuth.http import worker as http_worker


def test_answers(target, request):
    assert target.http.get("/status/200").status_code == 200
    handle = http_worker.offered(request.config.pluginmanager.get_plugins())
    with open("seen.json", "w") as f:
        json.dump(
            {
                "aiohttp_here": "aiohttp" in sys.modules,
                "worker_pid": handle.pid if handle else None,
                "run_pid": os.getpid(),
            },
            f,
        )
"""


def sleuth_run(suite: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sleuth", "run", "-p", "no:cacheprovider",
         "--no-history", *args],
        cwd=suite, capture_output=True, text=True, timeout=60,
        env={**os.environ, **env},
    )  # fmt: skip


def write_suite(path: Path, url: str, probes: str) -> Path:
    (path / "sleuth.yaml").write_text(
        f"targets:\n  local:\n    base_url: {url}\n    timeout: 5s\n"
    )
    (path / "test_probes.py").write_text(textwrap.dedent(probes))
    return path


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_requests_are_made_by_the_worker_which_ends_with_the_run(tmp_path, http_target):
    import json

    suite = write_suite(tmp_path, http_target.url, PROBES)
    result = sleuth_run(suite, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads((suite / "seen.json").read_text())
    # The run never loaded the HTTP client: the answer came from the worker.
    assert seen["aiohttp_here"] is False
    assert seen["worker_pid"] not in (None, seen["run_pid"])
    assert gone(seen["worker_pid"])  # reaped before the command returned
    assert http_target.recorder.count("/status/200") == 1


def test_switched_off_the_run_makes_its_requests_itself(tmp_path, http_target):
    import json

    suite = write_suite(tmp_path, http_target.url, PROBES)
    result = sleuth_run(suite, "-q", SLEUTH_HTTP_WORKER="0")
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads((suite / "seen.json").read_text())
    assert seen == {**seen, "aiohttp_here": True, "worker_pid": None}


def test_after_the_worker_died_the_run_makes_its_requests_itself(tmp_path, http_target):
    suite = write_suite(
        tmp_path,
        http_target.url,
        """
        import os
        import signal

        from sleuth.http import worker as http_worker


        def test_after_the_worker_died(target, request):
            assert target.http.get("/status/200").status_code == 200
            handle = http_worker.offered(request.config.pluginmanager.get_plugins())
            os.kill(handle.pid, signal.SIGKILL)
            assert target.http.get("/status/200?n=2").status_code == 200
        """,
    )
    started = time.monotonic()
    result = sleuth_run(suite, "-q")
    assert time.monotonic() - started < 30  # the probe's 5 s deadline at most
    assert result.returncode == 0, result.stdout + result.stderr
    assert http_target.recorder.count("/status/200") == 2
    assert "Traceback" not in result.stderr


def test_an_unused_worker_leaves_when_its_socket_closes():
    from tests.workerproc import started_worker

    with started_worker() as worker:
        assert worker.handle.available
    assert not worker.claimed
    assert worker.handle.reaped


def test_where_no_worker_can_start_the_run_makes_its_requests(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "posix_spawn", refuse)
    assert http_worker.start({}) is None


def test_a_run_without_http_stops_its_worker_before_it_returns(tmp_path):
    # A base_url starts the worker; this run's probe then makes no request.
    (tmp_path / "sleuth.yaml").write_text(
        "targets:\n  t:\n    base_url: http://127.0.0.1:9\n    sources: [env]\n"
    )
    (tmp_path / "test_settings.py").write_text(
        textwrap.dedent("""
        from sleuth.http import worker as http_worker


        def test_path_is_set(target, request):
            assert target.setting("PATH")
            handle = http_worker.offered(request.config.pluginmanager.get_plugins())
            with open("pid", "w") as f:
                f.write(str(handle.pid))
        """)
    )
    result = sleuth_run(tmp_path, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert gone(int((tmp_path / "pid").read_text()))


def test_a_suite_without_base_url_starts_no_worker_and_full_urls_still_work(
    tmp_path, http_target
):
    import json

    (tmp_path / "sleuth.yaml").write_text("targets:\n  t:\n    sources: [env]\n")
    (tmp_path / "test_probes.py").write_text(
        PROBES.replace('"/status/200"', f'"{http_target.url}/status/200"')
    )
    result = sleuth_run(tmp_path, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen == {**seen, "aiohttp_here": True, "worker_pid": None}
    assert http_target.recorder.count("/status/200") == 1


def test_a_worker_that_cannot_start_leaves_the_requests_to_the_run(
    suite, pytester, http_target
):
    from tests.workerproc import spawned_worker

    suite(
        test_w="""
        def test_answers(target):
            assert target.http.get("/status/200").status_code == 200
        """
    )
    # No aiohttp in the worker: it fails before it is ready, says why, and the
    # run makes the request itself; nothing is lost, and the log says so.
    with spawned_worker(prelude="import sys; sys.modules['aiohttp'] = None") as worker:
        result = pytester.runpytest(
            "-rA", "--log-level=WARNING", plugins=[worker.handle]
        )
    result.assert_outcomes(passed=1)
    assert http_target.recorder.count("/status/200") == 1
    result.stdout.fnmatch_lines(
        [
            "*sleuth's HTTP worker did not start (it failed (ModuleNotFoundError: "
            "import of aiohttp halted*): requests are made in the run's own process"
        ]
    )


@pytest.mark.usefixtures("http_transport")
def test_arguments_are_checked_the_same_with_or_without_the_worker(suite, pytester):
    suite(
        test_w="""
        def test_plain_json_is_fine(target):
            assert target.http.get("/status/200", json={"a": [1, "b"]}).status_code == 200

        def test_an_object_is_not(target):
            target.http.get("/status/200", params={"when": object()})
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*test_an_object_is_not*", "*object*"])


def test_the_switch_takes_the_usual_words_for_off():
    for word in ("0", "false", "No", "OFF"):
        assert http_worker.start({"SLEUTH_HTTP_WORKER": word}) is None


def test_on_one_core_there_is_no_worker(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert http_worker.start({}) is None


def test_a_worker_no_probe_used_is_stopped_when_the_probes_are_done(suite, pytester):
    from tests.workerproc import started_worker

    suite(
        test_s="""
        def test_path(target):
            assert target.setting("PATH") is None or True
        """
    )
    with started_worker() as worker:
        pytester.runpytest(plugins=[worker.handle]).assert_outcomes(passed=1)
        # Released at the end of the session: killed, and not to be claimed.
        assert not worker.handle.available
        assert worker.handle.claim((1000, 500)) is None
    assert not worker.claimed
