"""`sleuth watch`: CPU seconds per cycle, and a long watch's size, for the
watch's fresh process per cycle and for one pytest session per cycle in one
long-lived process (bench/inprocess.py), the alternative #20 names.

``python bench/watch.py [--runs 5] [--cycles 3] [--small-cycles 20] [--long 200]
[--out FILE]``

**CPU per cycle**: the seed-style file over K=500 paths against bench/server.py
(every answer after 100 ms), as ``sleuth watch --every 0 --cycles C``: the CPU of
the watch and of every cycle's process (``resource.getrusage(RUSAGE_CHILDREN)``
around the command, which holds the watch and, once it has waited for them,
its cycles), divided by C. Beside it the same suite as one ``sleuth run``, so
the difference is what watching costs. Beside both, the same C cycles as
``pytest.main`` called C times in one process (bench/inprocess.py). The same
three for a one-probe suite over ``--small-cycles`` cycles. Medians of ``--runs``.

**Steady**: ``run_watch`` in this process over ``--long`` cycles of a one-probe
suite (``--every 0``), sampling this process's RSS and thread count after each
cycle: the watch must not grow. The same for the in-process cycles, sampled by
bench/inprocess.py in its own process.

**Edits**: whether an in-process cycle sees a probe file edited since the
cycle before (a fresh process always does).

Appends a "Watch" section to ``--out`` (default: print it).
"""

from __future__ import annotations

import argparse
import io
import json
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

import measure
import report
import run
import suites

K = 500
SETTLE = 5  # cycles before the steady test's first sample
INPROCESS = Path(__file__).with_name("inprocess.py")
ONE_PROBE = (
    "def test_answers(target):\n    assert target.http.get('/p/1').status_code == 200\n"
)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command_cpu_s(
    argv: list[str], *, cwd: Path, env: dict[str, str], passed: int = K
) -> float:
    before = _children_cpu_s()
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{argv} ended with {done.returncode}: {done.stdout[-2000:]}"
        )
    if f"{passed} passed" not in done.stdout:
        raise RuntimeError(f"{argv}: not {passed} passed: {done.stdout[-2000:]}")
    return _children_cpu_s() - before


def _one_probe_suite(root: Path, base_url: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sleuth.yaml").write_text(
        f"targets:\n  bench:\n    base_url: {base_url}\n    timeout: 30s\n"
    )
    (root / "test_one.py").write_text(ONE_PROBE)
    return root


def _three_ways(
    suite: Path, cycles: int, history: list[str], env: dict[str, str], passed: int
) -> tuple[float, float, float]:
    """CPU per cycle: the watch (fresh processes), one `sleuth run`, and the
    same cycles in one process (bench/inprocess.py)."""
    sleuth = [sys.executable, "-m", "sleuth"]
    watch = _command_cpu_s(
        [*sleuth, "watch", "-q", "--every", "0", "--cycles", str(cycles), *history],
        cwd=suite,
        env=env,
        passed=passed,
    )
    single = _command_cpu_s(
        [*sleuth, "run", "-q", *history], cwd=suite, env=env, passed=passed
    )
    inprocess = _command_cpu_s(
        [
            sys.executable,
            str(INPROCESS),
            str(suite),
            str(cycles),
            history[1],
            str(suite / "samples.jsonl"),
            "--",
            "-q",
        ],
        cwd=suite,
        env=env,
        passed=passed,
    )
    return watch / cycles, single, inprocess / cycles


def cpu_per_cycle(
    runs: int, cycles: int, small_cycles: int, scratch: Path
) -> dict[str, list[float]]:
    server = run.Server()
    try:
        suite, _plain = suites.endpoint_suites(scratch, server.base_url, K)
        small = _one_probe_suite(scratch / "small", server.base_url)
        env = run.child_env(scratch, "warm")
        history = ["--history", f"sqlite:///{scratch / 'history.db'}"]
        # Warm the bytecode cache and the store once, unmeasured.
        _command_cpu_s([sys.executable, "-m", "sleuth", "run", "-q", *history],
                       cwd=suite, env=env)  # fmt: skip
        names = ("watch", "run", "inprocess")
        figures: dict[str, list[float]] = {
            name + size: [] for name in names for size in ("", "_small")
        }
        for _ in range(runs):
            watch, single, inprocess = _three_ways(suite, cycles, history, env, K)
            figures["watch"].append(watch)
            figures["run"].append(single)
            figures["inprocess"].append(inprocess)
            watch, single, inprocess = _three_ways(small, small_cycles, history, env, 1)
            figures["watch_small"].append(watch)
            figures["run_small"].append(single)
            figures["inprocess_small"].append(inprocess)
        return figures
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
        suite = _one_probe_suite(scratch / "steady", server.base_url)
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


def steady_inprocess(cycles: int, scratch: Path) -> list[tuple[int, int, int]]:
    """The same as ``steady`` for cycles in one process (bench/inprocess.py)."""
    server = run.Server()
    try:
        suite = _one_probe_suite(scratch / "steady-inprocess", server.base_url)
        samples = scratch / "steady-inprocess.jsonl"
        done = subprocess.run(
            [
                sys.executable,
                str(INPROCESS),
                str(suite),
                str(cycles),
                f"sqlite:///{scratch / 'steady-inprocess.db'}",
                str(samples),
                "--",
                "-q",
            ],
            env=run.child_env(scratch, "warm"),
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"in-process cycles failed: {done.stderr[-2000:]}")
        lines = [json.loads(line) for line in samples.read_text().splitlines()]
        failed = [line["cycle"] for line in lines if line["exit"] != 0]
        if failed:
            raise RuntimeError(f"in-process cycles {failed[:5]} failed")
        return [(x["rss_kb"], x["threads"], x["py_threads"]) for x in lines]
    finally:
        server.stop()


def edit_check(scratch: Path) -> dict[str, int]:
    """bench/inprocess.py --edit-check: the exit codes of a passing cycle, and
    of the next one after its probe was edited to fail."""
    done = subprocess.run(
        [sys.executable, str(INPROCESS), "--edit-check", str(scratch / "edit")],
        env=run.child_env(scratch, "warm"),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    codes: dict[str, int] = json.loads(done.stdout.splitlines()[-1])
    return codes


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _runs(values: list[float]) -> str:
    return ", ".join(f"{x:.3f}" for x in values)


def _cpu_rows(cpu: dict[str, list[float]], size: str, key: str) -> str:
    fresh, single, inprocess = (
        cpu[name + key] for name in ("watch", "run", "inprocess")
    )
    ratio = _median(inprocess) / _median(fresh)
    return (
        f"| **fresh process (the watch), {size}** | {_median(fresh):.3f} s "
        f"| {_runs(fresh)} |\n"
        f"| one `sleuth run`, {size} | {_median(single):.3f} s | {_runs(single)} |\n"
        f"| **in one process, {size}** | {_median(inprocess):.3f} s "
        f"| {_runs(inprocess)} |\n"
        f"| in one process / fresh, {size} | {ratio:.2f}x | |\n"
    )


def _steady_rows(name: str, samples: list[tuple[int, int, int]]) -> str:
    settled = samples[SETTLE:]
    rss = [s[0] / 1024 for s in settled]
    threads = sorted({s[1] for s in settled})
    py_threads = sorted({s[2] for s in settled})
    every = max(1, len(samples) // 8)
    trail = ", ".join(f"{s[0] / 1024:.1f}" for s in samples[::every])
    growth_kb = settled[-1][0] - settled[0][0]
    return (
        f"| {name}: RSS first / last / largest | "
        f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MB "
        f"(last - first: {growth_kb:+d} KB) |\n"
        f"| {name}: OS threads (distinct counts seen) | {threads} |\n"
        f"| {name}: Python threads (distinct counts seen) | {py_threads} |\n"
        f"| {name}: RSS every {every} cycles (MB) | {trail} |\n"
    )


def render(
    cpu: dict[str, list[float]],
    fresh: list[tuple[int, int, int]],
    inprocess: list[tuple[int, int, int]],
    edits: dict[str, int],
    *,
    cycles: int,
    small_cycles: int,
) -> str:
    from sleuth._version import __version__

    git = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    ).stdout.strip()
    load = measure.load_text(os.getloadavg())
    seen = "yes" if edits["after_edit"] == 1 else "no"
    purged = "yes" if edits["after_edit_purged"] == 1 else "no"
    return f"""
## Watch

`sleuth watch` runs each cycle as a fresh `python -m sleuth run` (docs/watch.md,
"How cycles run"); the alternative #20 names, one pytest session per cycle in
one long-lived process, is `bench/inprocess.py`: `pytest.main` called once a
cycle with what `sleuth run` gives it (its arguments, its HTTP worker).

CPU per cycle: the seed-style file over K={K} paths against the server answering
after 100 ms, `sleuth watch -q --every 0 --cycles {cycles}` whole (the watch and
its cycles' processes, `getrusage(RUSAGE_CHILDREN)` around it) divided by
{cycles}; beside it one `sleuth run -q` of the same suite, and the {cycles}
cycles in one process the same way. Then the same for a one-probe suite over
{small_cycles} cycles. Medians of {len(cpu["watch"])} runs, the three side by
side in each run. Steady: {len(fresh)} cycles of the one-probe suite, `--every
0`, RSS and threads after each cycle (the first {SETTLE} left out: imports
settle): `run_watch` in the bench's process (the cycles are its children), and
the in-process cycles in theirs.

Run (`bench/watch.py`) on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}:
{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Linux
{platform.release()}, Python {platform.python_version()}, sleuth {__version__} at
`{git}`; load average at end {load}.

| CPU per cycle | median | runs |
| --- | ---: | --- |
{_cpu_rows(cpu, f"K={K}", "")}\
{_cpu_rows(cpu, "1 probe", "_small")}
| over the settled cycles | figure |
| --- | --- |
{_steady_rows(f"fresh process, {len(fresh)} cycles", fresh)}\
{_steady_rows(f"in one process, {len(inprocess)} cycles", inprocess)}\
| in one process: a probe file edited to fail between two cycles, seen | {seen} |
| in one process: the same once the suite's modules leave `sys.modules` | {purged} |
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--small-cycles", type=int, default=20)
    parser.add_argument("--long", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sleuth-bench-watch-") as tmp:
        scratch = Path(tmp)
        cpu = cpu_per_cycle(args.runs, args.cycles, args.small_cycles, scratch)
        print(f"cpu per cycle: {cpu}", file=sys.stderr)
        edits = edit_check(scratch)
        print(f"edits: {edits}", file=sys.stderr)
        inprocess = steady_inprocess(args.long, scratch)
        fresh = steady(args.long, scratch)
    section = render(
        cpu,
        fresh,
        inprocess,
        edits,
        cycles=args.cycles,
        small_cycles=args.small_cycles,
    )
    if args.out:
        report.replace_section(args.out, "## Watch", section.lstrip("\n"))
    print(section)


if __name__ == "__main__":
    main()
