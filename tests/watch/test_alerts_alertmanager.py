"""A real Alertmanager (Debian's prometheus-alertmanager) receives the alert and
its resolution through its v2 API, and shows them back on /api/v2/alerts."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sleuth.history.store import HistoryStore
from tests.required import skip_unless_required
from tests.watch.alerting import closed_port
from tests.watch.stored import PROBE, alerter, cycles

BINARY = "prometheus-alertmanager"
START_S = 30.0
CONFIG = """\
route:
  receiver: nobody
  group_wait: 1h
receivers:
  - name: nobody
"""


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (loopback)
        return json.loads(answer.read())


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which(BINARY) or (
        f"/usr/bin/{BINARY}" if Path(f"/usr/bin/{BINARY}").exists() else None
    )
    if binary is None:
        skip_unless_required(
            f"{BINARY} is not installed (make alertmanager installs Debian's)"
        )
    (tmp_path / "am.yml").write_text(CONFIG)
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # one instance, no gossip port
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                get_json(f"{url}/api/v2/status")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    _, err = process.communicate(timeout=5)
                    pytest.fail(f"alertmanager did not start: {err.decode()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def wait_for(url: str, check: Any) -> Any:
    deadline = time.monotonic() + START_S
    while True:
        found = get_json(url)
        if check(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_alertmanager_shows_the_alert_then_resolves_it(tmp_path, alertmanager):
    made = alerter(tmp_path, f"- alertmanager: {{url: '{alertmanager}'}}\n", after=2)
    store = HistoryStore.open(f"sqlite:///{tmp_path}/h.db")
    try:
        cycles(store, made, ["failed", "failed"], message="items answered 503")
        alerts = wait_for(f"{alertmanager}/api/v2/alerts", bool)
        assert len(alerts) == 1
        [alert] = alerts
        assert alert["labels"] == {
            "alertname": "SleuthProbeFailing",
            "target": "local",
            "probe": PROBE,
            "agent": "eu-1",
            "category": alert["labels"]["category"],
        }
        assert alert["annotations"]["diagnosis"] == "items answered 503"
        assert alert["annotations"]["summary"] == (
            f"{PROBE} fails on local from eu-1 (2 results in a row)"
        )
        assert alert["generatorURL"].startswith("http://status.example.test/probes/")
        assert alert["status"]["state"] == "active"

        cycles(store, made, ["passed", "passed"])
        gone = wait_for(
            f"{alertmanager}/api/v2/alerts?active=true",
            lambda found: not found or found[0]["endsAt"] <= found[0]["updatedAt"],
        )
        assert not gone or gone[0]["endsAt"] <= gone[0]["updatedAt"]
    finally:
        store.close()
        assert made.close(timeout_s=30)
    assert (made.sent, made.failed) == (2, 0)
