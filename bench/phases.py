"""Where a ``sleuth run`` spends its wall time, phase by phase, and what-ifs.

``python bench/phases.py [--k 500] [--runs 7] [--experiments none gc-freeze ...]``
starts the bench server, writes the seed-style suite for K paths and runs
``sleuth run`` with bench/timeline.py (phase marks) and bench/experiments.py
(patches that stand in for a change to sleuth), each experiment in turn
(a suite instead of the seed-style one: ``async``, the same probes written
``async def``; ``empty`` and ``empty-async``, K probes that do nothing; or both,
as ``async:gc-freeze``),
interleaved; plus plain pytest on K empty tests (no I/O) as pytest's own floor.
It prints a Markdown table of median milliseconds per phase. bench/run.py uses
the same code for the phase table in RESULTS.md; bench/PROFILE.md reads it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import run
import suites

BENCH = Path(__file__).resolve().parent

PHASES = (
    ("interpreter, imports, plugin loading", "launch", "plugin_import"),
    ("configure (conftest, sleuth session)", "plugin_import", "configured"),
    ("collection", "configured", "collected"),
    ("starting every probe (first setup to last start)", "first_setup", "last_start"),
    ("last probe start to last probe end", "last_start", "last_end"),
    ("pytest reporting after the last probe ended", "last_end", "last_report"),
    ("running the tests (first setup to last report)", "first_setup", "last_report"),
    ("summary and sessionfinish", "last_report", "unconfigure"),
    ("unconfigure (pytest's gc_collect_harder, cleanups)", "unconfigure", "atexit"),
    ("interpreter shutdown", "atexit", "exit"),
    ("whole command", "launch", "exit"),
)


def empty_suite(
    root: Path, k: int, *, sleuth_yaml: bool = False, is_async: bool = False
) -> Path:
    """K parametrized tests that do nothing: what pytest (and sleuth) cost alone."""
    name = f"empty-{k}{'-sleuth' if sleuth_yaml else ''}{'-async' if is_async else ''}"
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    if sleuth_yaml:
        (directory / "sleuth.yaml").write_text(
            "targets:\n  bench:\n    sources: [env]\n", encoding="utf-8"
        )
    test = suites.endpoints_test(k).replace(
        "def test_endpoint_answers_200(target, path):\n"
        "    assert target.http.get(path).status_code == 200\n",
        f"{'async ' if is_async else ''}def test_nothing(path):\n    assert path\n",
    )
    (directory / "test_empty.py").write_text(test, encoding="utf-8")
    return directory


def timeline_runs(
    scratch: Path,
    server: run.Server,
    *,
    k: int,
    runs: int,
    experiments: list[str],
    log: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Per variant ("pytest, K empty tests" and each experiment), each run's marks."""
    sleuth_dir, _plain = suites.endpoint_suites(scratch, server.base_url, k)
    empty_dir = empty_suite(scratch, k)
    out_file = scratch / "timeline.jsonl"
    variants: dict[str, tuple[list[str], Path, str, tuple[str, ...]]] = {
        f"pytest, {k} empty tests": (
            [run.PYTEST, "-p", "no:sleuth", "-q", "-p", "timeline"],
            empty_dir,
            "",
            (f"{k} passed",),
        ),
    }
    sleuth_argv = [run.SLEUTH, "run", "-q", "-p", "timeline", "-p", "experiments"]
    suite_dirs = {
        "seed": ("", sleuth_dir),
        "async": ("async def probes", suites.async_suite(scratch, server.base_url, k)),
        "empty": (f"{k} empty probes", empty_suite(scratch, k, sleuth_yaml=True)),
        "empty-async": (
            f"{k} empty async def probes",
            empty_suite(scratch, k, sleuth_yaml=True, is_async=True),
        ),
    }
    for name in experiments:
        # "none", an experiment ("gc-freeze"), a suite ("async"), or "suite:experiment"
        suite, _, experiment = name.rpartition(":")
        if not suite and experiment in suite_dirs:
            suite, experiment = experiment, "none"
        what, directory = suite_dirs[suite or "seed"]
        parts = [p for p in (what, experiment if experiment != "none" else "") if p]
        label = f"sleuth run ({', '.join(parts)})" if parts else "sleuth run"
        variants[label] = (
            sleuth_argv,
            directory,
            "" if experiment == "none" else experiment,
            (f"{k} passed",),
        )
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for rep in range(runs + 1):  # the first round warms the caches, unrecorded
        for label, (argv, cwd, experiment, expect) in variants.items():
            env = run.child_env(scratch, "warm")
            env["PYTHONPATH"] = str(BENCH)
            env["SLEUTH_BENCH_TIMELINE"] = str(out_file)
            env["SLEUTH_BENCH_EXPERIMENTS"] = experiment
            out_file.unlink(missing_ok=True)
            launch = time.time()
            record = run.measured(argv, cwd=cwd, env=env, expect=expect, server=server)
            marks = json.loads(out_file.read_text(encoding="utf-8").splitlines()[-1])
            marks.update(
                launch=launch,
                exit=launch + record["wall_s"],
                cpu_s=record["cpu_s"],
                maxrss_mb=record["maxrss_mb"],
                in_flight=record["server_max_in_flight"],
            )
            if rep:
                results[label].append(marks)
            if log and rep:
                run.log(f"profile {label:34} {record['wall_s']:.2f} s wall")
    return results


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    """Median milliseconds per phase, one column per variant."""
    labels = list(results)
    rows = [
        "| phase (median ms) | " + " | ".join(labels) + " |",
        "| --- |" + " --- |" * len(labels),
    ]
    for name, begin, end in PHASES:
        cells = []
        for label in labels:
            spans = [
                (m[end] - m[begin]) * 1000
                for m in results[label]
                if begin in m and end in m
            ]
            cells.append(f"{statistics.median(spans):.0f}" if spans else "-")
        if any(c != "-" for c in cells):
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    for field, label, scale, fmt in (
        ("gc_s", "time in the garbage collector", 1000, ".0f"),
        ("cpu_s", "CPU, user + sys (ms)", 1000, ".0f"),
        ("maxrss_mb", "peak RSS (MB)", 1, ".0f"),
        ("in_flight", "requests in flight at once (server)", 1, ".0f"),
    ):
        cells = [
            format(statistics.median(m[field] for m in results[v]) * scale, fmt)
            for v in labels
        ]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--experiments",
        nargs="+",
        default=["none", "gc-freeze"],
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sleuth-profile-") as tmp:
        server = run.Server()
        try:
            results = timeline_runs(
                Path(tmp),
                server,
                k=args.k,
                runs=args.runs,
                experiments=args.experiments,
            )
        finally:
            server.stop()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
