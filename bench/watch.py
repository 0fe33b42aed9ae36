"""`sleuth watch`: CPU seconds per cycle, and a long watch's size.

``python bench/watch.py [--runs 5] [--cycles 3] [--long 200] [--out FILE]``

**CPU per cycle**: the seed-style file over K=500 paths against bench/server.py
(every answer after 100 ms), as ``sleuth watch --every 0 --cycles C``: the CPU of
the watch and of every cycle's process (``resource.getrusage(RUSAGE_CHILDREN)``
around the command, which holds the watch and, once it has waited for them,
its cycles), divided by C. Beside it the same suite as one ``sleuth run``, so
the difference is what watching costs. Medians of ``--runs``.

**Steady**: ``run_watch`` in this process over ``--long`` cycles of a one-probe
suite (``--every 0``), sampling this process's RSS and thread count after each
cycle: the watch must not grow.

Appends a "Watch" section to ``--out`` (default: print it).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import run
import suites

K = 500
SETTLE = 5  # cycles before the steady test's first sample


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command_cpu_s(argv: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    before = _children_cpu_s()
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{argv} ended with {done.returncode}: {done.stdout[-2000:]}"
        )
    if "500 passed" not in done.stdout:
        raise RuntimeError(f"{argv}: not 500 passed: {done.stdout[-2000:]}")
    return _children_cpu_s() - before


def cpu_per_cycle(runs: int, cycles: int, scratch: Path) -> dict[str, list[float]]:
    server = run.Server()
    try:
        suite, _plain = suites.endpoint_suites(scratch, server.base_url, K)
        env = run.child_env(scratch, "warm")
        sleuth = [sys.executable, "-m", "sleuth"]
        history = ["--history", f"sqlite:///{scratch / 'history.db'}"]
        # Warm the bytecode cache and the store once, unmeasured.
        _command_cpu_s([*sleuth, "run", "-q", *history], cwd=suite, env=env)
        watch: list[float] = []
        single: list[float] = []
        for _ in range(runs):
            cpu = _command_cpu_s(
                [
                    *sleuth,
                    "watch",
                    "-q",
                    "--every",
                    "0",
                    "--cycles",
                    str(cycles),
                    *history,
                ],
                cwd=suite,
                env=env,
            )
            watch.append(cpu / cycles)
            single.append(
                _command_cpu_s([*sleuth, "run", "-q", *history], cwd=suite, env=env)
            )
        return {"watch": watch, "run": single}
    finally:
        server.stop()


def _status() -> tuple[int, int]:
    rss = threads = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, threads


def steady(cycles: int, scratch: Path) -> list[tuple[int, int, int]]:
    """(RSS KB, OS threads, Python threads) after each cycle."""
    from sleuth.watch import CycleResult, run_watch

    server = run.Server()
    try:
        suite = scratch / "steady"
        suite.mkdir()
        (suite / "sleuth.yaml").write_text(
            f"targets:\n  bench:\n    base_url: {server.base_url}\n    timeout: 30s\n"
        )
        (suite / "test_one.py").write_text(
            "def test_answers(target):\n"
            "    assert target.http.get('/p/1').status_code == 200\n"
        )
        samples: list[tuple[int, int, int]] = []

        def sample(result: CycleResult) -> None:
            if result.exit_code != 0:
                raise SystemExit(f"cycle {result.cycle} failed:\n{result.output}")
            samples.append((*_status(), threading.active_count()))

        os.environ.update(run.child_env(scratch, "warm"))
        run_watch(
            ["-q"],
            every_s=0,
            history_url=f"sqlite:///{scratch / 'steady.db'}",
            cycles=cycles,
            cwd=suite,
            out=io.StringIO(),
            after_cycle=sample,
        )
        return samples
    finally:
        server.stop()


def render(
    cpu: dict[str, list[float]], samples: list[tuple[int, int, int]], cycles: int
) -> str:
    from sleuth._version import __version__

    git = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    watch_med = statistics.median(cpu["watch"])
    run_med = statistics.median(cpu["run"])
    settled = samples[SETTLE:]
    rss = [s[0] / 1024 for s in settled]
    threads = sorted({s[1] for s in settled})
    py_threads = sorted({s[2] for s in settled})
    every = max(1, len(samples) // 8)
    trail = ", ".join(f"{s[0] / 1024:.1f}" for s in samples[::every])
    watch_runs = ", ".join(f"{x:.2f}" for x in cpu["watch"])
    run_runs = ", ".join(f"{x:.2f}" for x in cpu["run"])
    rss_line = f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MB"
    return f"""
## Watch

`sleuth watch` runs each cycle as a fresh `python -m sleuth run` (docs/watch.md).
CPU per cycle: the seed-style file over K={K} paths against the server answering
after 100 ms, `sleuth watch -q --every 0 --cycles {cycles}` whole (the watch and
its cycles' processes, `getrusage(RUSAGE_CHILDREN)` around it) divided by
{cycles}, beside one `sleuth run -q` of the same suite; medians of
{len(cpu["watch"])} runs. Steady: `run_watch` in one process over {len(samples)}
cycles of a one-probe suite, `--every 0`, its RSS and threads after each cycle
(the first {SETTLE} left out: imports settle).

Run (`bench/watch.py`) on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}:
{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Linux
{platform.release()}, Python {platform.python_version()}, sleuth {__version__} at
`{git}`; load average at end {load} (other people's tests shared these cores).

| figure | median | runs |
| --- | ---: | --- |
| **CPU per watch cycle, K={K}** | {watch_med:.2f} s | {watch_runs} |
| CPU of one `sleuth run`, K={K} | {run_med:.2f} s | {run_runs} |
| watch / run | {watch_med / run_med:.2f}x | |

| over {len(settled)} settled cycles | figure |
| --- | --- |
| RSS of the watch, first / last / largest | {rss_line} |
| OS threads of the watch (distinct counts seen) | {threads} |
| Python threads of the watch (distinct counts seen) | {py_threads} |
| RSS every {every} cycles (MB) | {trail} |
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--long", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sleuth-bench-watch-") as tmp:
        scratch = Path(tmp)
        cpu = cpu_per_cycle(args.runs, args.cycles, scratch)
        print(f"cpu per cycle: {cpu}", file=sys.stderr)
        samples = steady(args.long, scratch)
    section = render(cpu, samples, args.cycles)
    if args.out:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(section)
    print(section)


if __name__ == "__main__":
    main()
