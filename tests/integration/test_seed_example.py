"""The seed article's suite runs under `sleuth run` unchanged, its probes at once;
and again rewritten to use `target`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sleuth.demo.app import create_app
from sleuth.demo.server import BackgroundServer
from tests.integration.conftest import run_example
from tests.targetapp import Recorder, counting

EXAMPLE = Path(__file__).parents[2] / "examples" / "seed"
APP_SETTINGS = {"DATABASE_URL": "postgresql://shop@db/shop", "CACHE_HOST": "cache"}


@pytest.fixture
def shop(tmp_path):
    recorder = Recorder()
    app = counting(create_app(APP_SETTINGS), recorder, delay_s=0.3)
    with BackgroundServer(app) as server:
        suite = tmp_path / "seed"
        shutil.copytree(EXAMPLE, suite)
        yield server, recorder, suite


def sleuth_run(suite: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The settings the probes check come from the example, not this machine.
    return run_example(
        suite, *args, env={"MY_APP_URL": url}, drop=("FEATURE", "API_KEY")
    )


def test_seed_suite_runs_unchanged_with_its_probes_at_once(shop, tmp_path):
    """The article's file as it stands: its app's own HTTP calls are guarded
    (the POSTs refused until sleuth.yaml's writes: and --allow-writes let them),
    evidenced, and its own get_setting calls diagnosed."""
    server, recorder, suite = shop
    original = (EXAMPLE / "test_api.py").read_text()
    assert "from my_app import api" in original
    assert "target" not in original
    report = tmp_path / "run.json"
    result = sleuth_run(
        suite, server.url, "test_api.py", "-v", f"--sleuth-json={report}"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "read-only: target.http and the probes' own HTTP clients (" in out
    assert "3 failed, 4 passed" in out, out
    assert "(7 ran at once)" in out
    for path in ("/users", "/items"):
        assert (
            f"WriteRefused: POST {server.url}{path} via urllib.request refused: "
            "sleuth is read-only unless a probe is marked @pytest.mark.writes and "
            "the run has --allow-writes; this run does not have --allow-writes. "
            "Nothing was sent."
        ) in out
    # The refusal ends at the app's own line, not in urllib's frames under it.
    assert "my_app/api.py:33: WriteRefused" in out
    assert "http/client.py" not in out
    assert (
        "AssertionError: Critical setting 'FEATURE_FLAG_X' is missing or None." in out
    )
    # The article's own get_setting call, seen by sleuth: where it was looked.
    assert (
        "setting FEATURE_FLAG_X: missing. Looked in app my_app.config:get_setting: "
        "absent (returned None)."
    ) in out
    assert recorder.count("/users", "POST") == 0
    assert recorder.count("/items", "POST") == 0
    # The GET the app made is evidence, as target.http's would be.
    probes = {p["id"]: p for p in json.loads(report.read_text())["probes"]}
    (get,) = probes["test_api.py::test_api_endpoints[/users/123-GET-None-200]"][
        "evidence"
    ]["exchanges"]
    assert get["request"] == f"GET {server.url}/users/123 via urllib.request"
    assert get["status"] == 200
    assert get["timings_ms"]["total"] >= 300  # the app's 0.3 s, on the wire

    # sleuth.yaml names the two POST checks under writes:, so --allow-writes
    # lets them out, the three endpoint probes in flight together.
    recorder.reset()
    result = sleuth_run(suite, server.url, "test_api.py", "--allow-writes")
    assert "1 failed, 6 passed" in result.stdout, result.stdout
    assert recorder.count("/users", "POST") == 1
    assert recorder.count("/items", "POST") == 1
    assert recorder.max_in_flight == 3


def test_rewritten_seed_is_read_only_until_writes_are_allowed(shop):
    server, recorder, suite = shop
    result = sleuth_run(suite, server.url, "target")
    out = result.stdout
    assert "3 failed, 4 passed" in out, out
    assert (
        "refused: sleuth is read-only unless a probe is marked @pytest.mark.writes and the run has --allow-writes; this run does not have --allow-writes."
        in out
    )
    assert (
        "FEATURE_FLAG_X: missing. Looked in environment: absent; "
        "app my_app.config:get_setting: absent (returned None)."
    ) in out
    assert recorder.count("/users", "POST") == 0
    assert recorder.count("/items", "POST") == 0

    recorder.reset()
    result = sleuth_run(suite, server.url, "target", "--allow-writes")
    assert "1 failed, 6 passed" in result.stdout, result.stdout
    assert recorder.count("/users", "POST") == 1
    assert recorder.max_in_flight == 3
