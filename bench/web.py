"""The status page with a long history: p95 of ``/`` and ``/api/v1/status``.

Fills a SQLite store with 50,000 runs of one target by two agents, 20 probes
each (a million results: the store's own schema, made by HistoryStore.open,
filled by bulk SQL with rows as the store writes them), then asks a real
uvicorn (``start_in_thread``) for each path REQUESTS times, one request at a
time, ROUNDS times; reports the median of the rounds' p95s and appends a
"Status page" section of bench/RESULTS.md (replaced) (``--no-write`` to only print).

The history is made to be read the hard way: one probe has failed from eu-1
in every run (so its "last passed" is looked for through all 25,000 of them),
one fails from eu-1 only since run 49,700, the rest fail now and then.

    PYTHONPATH=src python bench/web.py [--runs 50000] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import measure

PROBES = 20
REQUESTS = 100
ROUNDS = 5
ROOT = Path(__file__).parents[1]
START = _dt.datetime(2026, 1, 1)
AFTER_NEW_RUN = 20
EVIDENCE_OK = json.dumps(
    {
        "exchanges": [
            {
                "kind": "http",
                "request": "GET http://shop:8000/x",
                "status": 200,
                "reason": "OK",
                "timings_ms": {"total": 12.0},
            }
        ],
        "settings": [],
    }
)
EVIDENCE_BAD = json.dumps(
    {
        "exchanges": [
            {
                "kind": "http",
                "request": "GET http://shop:8000/x",
                "status": 503,
                "reason": "Service Unavailable",
                "headers": {"content-type": "text/plain"},
                "body_excerpt": "down",
                "timings_ms": {"total": 30.0},
            }
        ],
        "settings": [],
    }
)


def fill(path: Path, runs: int) -> float:
    from sleuth.history.store import HistoryStore

    url = f"sqlite:///{path}"
    HistoryStore.open(url).close()  # the schema, as a run makes it
    began = time.perf_counter()
    rng = random.Random(20)  # noqa: S311 (made-up data)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    run_rows, result_rows = [], []
    for run_id in range(1, runs + 1):
        run_row, results = one_run(run_id, runs, rng)
        run_rows.append(run_row)
        result_rows.extend(results)
    insert(conn, run_rows, result_rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - began


def one_run(
    run_id: int, runs: int, rng: random.Random
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """Run ``run_id``'s row and its results, as the store writes them."""
    agent = "eu-1" if run_id % 2 else "us-1"
    failed = False
    result_rows = []
    for i in range(PROBES):
        bad = (
            (i == 0 and agent == "eu-1")
            or (i == 1 and agent == "eu-1" and run_id > runs - 300)
            or rng.random() < 0.002
        )
        failed |= bad
        result_rows.append(
            (
                run_id,
                f"test_shop.py::test_endpoint_{i:02d}",
                "error" if bad else "passed",
                "http-5xx" if bad else "",
                rng.uniform(0.005, 0.05),
                "GET http://shop:8000/x -> 503 Service Unavailable" if bad else "",
                EVIDENCE_BAD if bad else EVIDENCE_OK,
            )
        )
    when = START + _dt.timedelta(seconds=30 * run_id)
    run_row = (
        run_id,
        "shop",
        "http://shop:8000",
        agent,
        when.strftime("%Y-%m-%d %H:%M:%S.%f"),
        1.5,
        "bench",
        None,
        1 if failed else 0,
        "[]",
    )
    return run_row, result_rows


def insert(
    conn: sqlite3.Connection,
    run_rows: list[tuple[Any, ...]],
    result_rows: list[tuple[Any, ...]],
) -> None:
    conn.executemany(
        "INSERT INTO sleuth_runs (id, target, base_url, agent, started_at, duration_s,"
        " sleuth_version, git_revision, exit_status, selection)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        run_rows,
    )
    conn.executemany(
        "INSERT INTO sleuth_results (run_id, probe_id, outcome, category, duration_s,"
        " message, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
        result_rows,
    )


def after_new_runs(path: Path, url: str, runs: int, n: int) -> list[float]:
    """The first ``/`` after each of ``n`` new runs (as a watch cycle lands
    one): what a person opening the page after a cycle waits for."""
    rng = random.Random(21)  # noqa: S311 (made-up data)
    conn = sqlite3.connect(path, isolation_level=None)
    took = []
    try:
        for run_id in range(runs + 1, runs + n + 1):
            run_row, results = one_run(run_id, runs, rng)
            conn.execute("BEGIN")
            insert(conn, [run_row], results)
            conn.execute("COMMIT")
            began = time.perf_counter()
            with urllib.request.urlopen(url + "/", timeout=30) as answer:  # noqa: S310
                answer.read()
            took.append(time.perf_counter() - began)
    finally:
        conn.close()
    return took


def p95(url: str, n: int) -> float:
    took = []
    for _ in range(n):
        began = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310
            answer.read()
        took.append(time.perf_counter() - began)
    return statistics.quantiles(took, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from sleuth.web.server import start_in_thread

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        fill_s = fill(path, args.runs)
        size_mb = path.stat().st_size / 1e6
        results: dict[str, list[float]] = {"/": [], "/api/v1/status": []}
        load = os.getloadavg()
        server = start_in_thread("127.0.0.1:0", history_url=f"sqlite:///{path}")
        try:
            for route in results:
                p95(server.url + route, 5)  # warm up
            for _ in range(ROUNDS):
                for route, found in results.items():
                    found.append(p95(server.url + route, REQUESTS))
            fresh = after_new_runs(path, server.url, args.runs, AFTER_NEW_RUN)
        finally:
            server.stop()
    lines = report(args.runs, fill_s, size_mb, results, fresh, load)
    print("\n".join(lines))
    if not args.no_write:
        from report import replace_section  # bench/, beside this file

        replace_section(
            ROOT / "bench" / "RESULTS.md", lines[0], "\n".join(lines) + "\n"
        )


def report(
    runs: int,
    fill_s: float,
    size_mb: float,
    results: dict[str, list[float]],
    fresh: list[float],
    load: tuple[float, float, float],
) -> list[str]:
    revision = subprocess.run(
        ["git", "log", "-1", "--format=%h"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    now = _dt.datetime.now(_dt.UTC)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    lines = [
        "## Status page",
        "",
        f"`bench/web.py`: a SQLite store of {runs:,} runs (one target, two agents "
        f"alternating, {PROBES} probes a run: {runs * PROBES:,} results, "
        f"{size_mb:.0f} MB; filled in {fill_s:.1f} s by bulk SQL), served by a real "
        f"uvicorn in a thread (`start_in_thread`). One probe has failed from eu-1 in "
        f"every run (its last pass is searched through all of them), one since 300 "
        f"runs, the rest now and then. Each path asked {REQUESTS} times, one at a "
        f"time, over loopback, {ROUNDS} rounds; p95 per round, median of rounds.",
        "",
        f"Run on {now:%Y-%m-%d %H:%M} UTC: {cpu}, {os.cpu_count()} cores, Linux "
        f"{platform.release()}, Python {platform.python_version()}, sleuth at "
        f"`{revision}`; load average at start {measure.load_text(load)}.",
        "",
        "| path | p95, median of rounds | rounds |",
        "| --- | ---: | --- |",
    ]
    for route, found in results.items():
        rounds = ", ".join(f"{v * 1000:.1f}" for v in found)
        lines.append(
            f"| `{route}` | {statistics.median(found) * 1000:.1f} ms | {rounds} |"
        )
    lines += [
        "",
        f"The first `/` after each of {len(fresh)} new runs stored meanwhile (as "
        f"after a watch cycle): median {statistics.median(fresh) * 1000:.1f} ms, "
        f"max {max(fresh) * 1000:.1f} ms.",
    ]
    return lines


if __name__ == "__main__":
    main()
