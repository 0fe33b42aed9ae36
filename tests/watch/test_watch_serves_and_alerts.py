"""``sleuth watch --serve`` answers from the watch's store while it runs, and the
suite's ``alerts:`` are sent by the watch when a probe changes state."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sleuth.demo.server import BackgroundServer
from tests.watch.alerting import Receiver
from tests.watch.conftest import STATE_PROBE, Target, write_suite

WAIT_S = 60.0
SLEUTH_WATCH = (sys.executable, "-m", "sleuth", "watch")


def status_of(url: str) -> dict[str, object]:
    # A loopback http:// URL the watch printed.
    with urllib.request.urlopen(url + "/api/v1/status", timeout=10) as answer:  # noqa: S310
        body: dict[str, object] = json.loads(answer.read())
        return body


def test_a_watch_serves_its_store_alerts_once_and_sends_one_recovery(
    tmp_path: Path, target_app: Target
) -> None:
    receiver = Receiver()
    with BackgroundServer(receiver.app()) as hook:
        suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
        config = suite / "sleuth.yaml"
        config.write_text(
            config.read_text()
            + f"alerts:\n  after: 2\n  to:\n    - webhook: {{url: {hook.url}/hook}}\n"
        )
        # One answer per cycle: a single failure (no alert: after 2), two
        # (the alert), a single pass (nothing), two (the recovery), a third.
        target_app.switch.script = [200, 500, 200, 500, 500, 200, 200]
        target_app.switch.status = 200
        store = tmp_path / "watch.db"
        process = subprocess.Popen(
            [
                *SLEUTH_WATCH,
                *("--every", "1s", "--jitter", "0", "--cycles", "8"),
                *("--history", f"sqlite:///{store}", "--serve", "127.0.0.1:0"),
                *("-q", "-p", "no:cacheprovider"),
            ],
            cwd=suite,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(2)]
            assert lines[1].startswith("sleuth watch: status page at http://127.0.0.1:")
            page = lines[1].split()[-1]
            # The page answers before and during the cycles, from the same store.
            deadline = time.monotonic() + WAIT_S
            status = status_of(page)
            while not status.get("targets") and time.monotonic() < deadline:
                time.sleep(0.2)
                status = status_of(page)
            assert status["version"] == 1
            assert "local" in json.dumps(status["targets"])
            out, err = process.communicate(timeout=WAIT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_S)
        assert process.returncode == 0, err
        lines = [line for line in out.splitlines() if line.startswith("cycle ")]
        assert len(lines) == 8, out
        assert [": 1 passed in " in line for line in lines] == [
            *(True, False, True, False, False, True, True, True)
        ], out
        bodies = receiver.wait_for(2)
        assert [(b["event"], b["state"]) for b in bodies] == [
            ("alert", "failing"),
            ("recovery", "passing"),
        ], bodies
        assert bodies[0]["after"] == 2
        assert bodies[0]["link"] == bodies[1]["link"]
        time.sleep(0.5)
        assert len(receiver.bodies()) == 2
    # The page stopped with the watch.
    try:
        status_of(page)
    except OSError:
        pass
    else:
        raise AssertionError("the page still answers after the watch ended")


def test_serve_beyond_loopback_without_auth_stops_the_watch_at_once(
    tmp_path: Path, target_app: Target
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    done = subprocess.run(
        [
            *SLEUTH_WATCH,
            *("--every", "1s", "--cycles", "1", "--serve", "0.0.0.0:0"),
            *("--history", f"sqlite:///{tmp_path / 'w.db'}"),
        ],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.startswith("sleuth watch: refusing to serve on 0.0.0.0")
    assert done.stderr.count("\n") == 1
    assert "cycle 1" not in done.stdout
