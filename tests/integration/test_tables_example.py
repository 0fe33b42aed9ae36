"""examples/tables runs under `sleuth run` against the demo app, as its README says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sleuth.demo.app import create_app
from sleuth.demo.server import BackgroundServer
from tests.integration.conftest import run_example
from tests.targetapp import Recorder, counting

EXAMPLE = Path(__file__).parents[2] / "examples" / "tables"


@pytest.fixture
def shop(tmp_path):
    recorder = Recorder()
    with BackgroundServer(counting(create_app({}), recorder)) as server:
        suite = tmp_path / "tables"
        shutil.copytree(EXAMPLE, suite)
        yield server, recorder, suite


def sleuth_run(suite: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_example(suite, *args, env={"SHOP_URL": url})


def test_the_tables_example_passes_against_the_shop(shop):
    server, recorder, suite = shop
    result = sleuth_run(suite, server.url, "--allow-writes", "-v")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "13 passed" in out
    assert "(13 ran at once)" in out
    assert "probes/api.yaml::user 123 looks right PASSED" in out
    assert "probes/settings.yaml::setting API_KEY PASSED" in out
    assert recorder.count("/users", "POST") == 1
    assert "not-a-real-password" not in out


def test_without_allow_writes_only_the_writing_row_is_refused(shop):
    server, recorder, suite = shop
    result = sleuth_run(suite, server.url)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 12 passed" in out
    assert "WriteRefused: POST" in out
    assert recorder.count("/users", "POST") == 0


def test_the_smoke_tag_selects_two_rows(shop):
    server, recorder, suite = shop
    result = sleuth_run(suite, server.url, "-m", "smoke", "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 11 deselected" in result.stdout
    assert recorder.total() == 2
