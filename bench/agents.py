"""What an agent's buffer and the per-agent view cost, on the machine's PostgreSQL.

- keeping one run in the local buffer (its rows to SQLite), per run;
- writing buffered runs to the store when it is back, per run;
- ``latest_per_agent`` on a store of many runs from several agents.

Each run has PROBES probes; medians of ROUNDS. Needs PostgreSQL on
127.0.0.1:5432 (trust), where it makes a database and drops it.

    .venv/bin/python bench/agents.py [--runs 5000]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.history.helpers import make_record, postgres_database  # noqa: E402

from sleuth.history.agents import (  # noqa: E402
    DEFAULT_WINDOW_RUNS,
    latest_per_agent,
)
from sleuth.history.buffer import RunBuffer, key_id, run_rows  # noqa: E402
from sleuth.history.store import HistoryStore, new_run_key  # noqa: E402

PROBES = 50
ROUNDS = 5
BUFFERED = 50
AGENTS = ("eu-1", "us-1", "ap-1")


def record(i: int):  # type: ignore[no-untyped-def]
    outcomes = {
        f"t::p{p}": ("failed" if (i + p) % 17 == 0 else "passed") for p in range(PROBES)
    }
    return make_record(
        outcomes,  # type: ignore[arg-type]
        settings={f"S{s}": ("environment", "present", f"v{i % 3}") for s in range(10)},
        started_at=_dt.datetime(2026, 12, 1, tzinfo=_dt.UTC)
        + _dt.timedelta(seconds=30 * i),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()
    keep_ms, flush_ms, view_ms, all_ms = [], [], [], []
    with postgres_database() as admin_url:
        url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
        store = HistoryStore.open(url)
        key = store.key()
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(ROUNDS):
                buffer = RunBuffer(Path(tmp) / f"b{r}.db")
                started = time.perf_counter()
                for i in range(BUFFERED):
                    rows = run_rows(
                        record(i),
                        key=key,
                        agent="eu-1",
                        git_revision=None,
                        store_url=url,
                    )
                    buffer.add(rows, run_key=new_run_key(), key_id=key_id(key))
                keep_ms.append((time.perf_counter() - started) * 1000 / BUFFERED)
                started = time.perf_counter()
                buffer.flush(store)
                flush_ms.append((time.perf_counter() - started) * 1000 / BUFFERED)
        for i in range(args.runs - ROUNDS * BUFFERED):
            store.write_run(record(i), agent=AGENTS[i % len(AGENTS)])
        for _ in range(ROUNDS):
            started = time.perf_counter()
            latest = latest_per_agent(store, target="local")
            view_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            latest_per_agent(store, target="local", window_runs=None)
            all_ms.append((time.perf_counter() - started) * 1000)
        assert len(latest) == PROBES
        store.close()
    revision = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    say(
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"Python {platform.python_version()}, sleuth at `{revision}`"
    )
    say(f"keep one run ({PROBES} probes) in the buffer", keep_ms)
    say("write one buffered run to PostgreSQL", flush_ms)
    say(
        f"latest_per_agent, {args.runs} runs, {len(AGENTS)} agents, "
        f"the latest {DEFAULT_WINDOW_RUNS} runs (default)",
        view_ms,
    )
    say(f"latest_per_agent, every one of {args.runs} runs", all_ms)


def say(label: str, values: list[float] | None = None) -> None:
    if values is None:
        sys.stdout.write(label + "\n")
        return
    rounds = ", ".join(f"{v:.1f}" for v in values)
    median = statistics.median(values)
    sys.stdout.write(f"{label}: {median:.1f} ms (rounds: {rounds})\n")


if __name__ == "__main__":
    main()
