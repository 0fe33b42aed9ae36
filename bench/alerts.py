"""Alerts on change: what ``Alerter.after_cycle`` costs the watch per cycle.

A SQLite history of RUNS runs of PROBES probes (one target, one agent), then
cycles measured: a quiet one (nothing changed: the common case), and one where
every probe has just failed ``after`` times in a row (PROBES alerts decided,
recorded and queued to a local receiver that counts them). CPU and wall time
of ``after_cycle`` alone (delivery runs on its own thread, measured apart as
the time until the receiver has them all). Medians of ROUNDS rounds.

    python bench/alerts.py            # prints a Markdown table
"""

from __future__ import annotations

import datetime as _dt
import http.server
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sleuth._evidence import ProbeRecord, RunRecord
from sleuth.history.store import HistoryStore
from sleuth.suite.config import load_suite_config
from sleuth.watch.alerts import Alerter

PROBES = 500
RUNS = 200
AFTER = 2
ROUNDS = 5


class Counting(http.server.BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Counting.lock:
            Counting.count += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def record(outcome: str, started: _dt.datetime) -> RunRecord:
    probes = [
        ProbeRecord(
            probe_id=f"test_api.py::test_endpoint[/t/{i}]",
            outcome=outcome,  # type: ignore[arg-type]
            duration_s=0.01,
            diagnosis="" if outcome == "passed" else f"/t/{i} answered 503",
        )
        for i in range(PROBES)
    ]
    return RunRecord(
        target="local",
        base_url="http://127.0.0.1:1",
        started_at=started,
        duration_s=0.5,
        exit_status=0 if outcome == "passed" else 1,
        selection=[],
        sleuth_version="0.1.0",
        probes=probes,
        settings=[],
        fingerprint=lambda key, name: None,
        source_fingerprints=lambda key, name: (),
    )


def timed(alerter: Alerter, store: HistoryStore) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    alerter.after_cycle(store, target="local", agent="eu-1")
    return time.perf_counter() - wall, time.thread_time() - cpu


def one_round(root: Path, url: str) -> dict[str, float]:
    (root / "sleuth.yaml").write_text(
        "targets:\n  local: {}\nalerts:\n"
        f"  after: {AFTER}\n  to:\n    - webhook: {{url: '{url}/hook'}}\n"
    )
    alerter = Alerter.from_suite(
        load_suite_config(root / "sleuth.yaml"), target="local"
    )
    assert alerter is not None
    store = HistoryStore.open(f"sqlite:///{root}/h.db")
    start = _dt.datetime.now(_dt.UTC)
    for i in range(RUNS):
        store.write_run(
            record("passed", start + _dt.timedelta(seconds=i)), agent="eu-1"
        )
    quiet = timed(alerter, store)
    before = Counting.count
    for i in range(AFTER):
        store.write_run(
            record("failed", start + _dt.timedelta(seconds=RUNS + i)), agent="eu-1"
        )
        sent_at = time.perf_counter()
        changed = timed(alerter, store)  # the last one decides every alert
    alerter.close(timeout_s=120)
    delivered = time.perf_counter() - sent_at
    assert Counting.count - before == PROBES, Counting.count - before
    store.close()
    return {
        "quiet_wall": quiet[0],
        "quiet_cpu": quiet[1],
        "change_wall": changed[0],
        "change_cpu": changed[1],
        "deliver_wall": delivered,
    }


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    rounds = []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as tmp:
            rounds.append(one_round(Path(tmp), url))
    server.shutdown()

    def row(label: str, key: str, unit: float, suffix: str) -> str:
        values = [r[key] * unit for r in rounds]
        runs = ", ".join(f"{v:.1f}" for v in values)
        return f"| {label} | {statistics.median(values):.1f} {suffix} | {runs} |"

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"{PROBES} probes, {RUNS} stored runs, after: {AFTER}; {platform.machine()}, "
        f"Python {platform.python_version()}, {when}\n"
    )
    print("| figure | median | rounds |\n| --- | ---: | --- |")
    print(row("after_cycle, nothing changed: wall", "quiet_wall", 1000, "ms"))
    print(row("after_cycle, nothing changed: CPU", "quiet_cpu", 1000, "ms"))
    print(row(f"after_cycle, {PROBES} alerts decided: wall", "change_wall", 1000, "ms"))
    print(row(f"after_cycle, {PROBES} alerts decided: CPU", "change_cpu", 1000, "ms"))
    print(
        row(
            f"{PROBES} webhook deliveries, cycle start to all arrived",
            "deliver_wall",
            1,
            "s",
        )
    )


if __name__ == "__main__":
    main()
