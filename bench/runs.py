"""Several full ``make bench`` runs of the same code, their key figures side by side.

``python bench/runs.py COMMIT...`` reads bench/results.json as each commit holds it
(each commit being one full run, committed as it ended), plus the working copy's
(the run bench/RESULTS.md shows), and prints a Markdown section to append to
RESULTS.md: one column per run. One run on a shared 2-core machine says little;
several say how far the figures move with other people's load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import report

BENCH = Path(__file__).resolve().parent
HEADING = "## Issue 22: the full runs of this code, side by side"


def load(commit: str | None) -> dict[str, Any]:
    """results.json at ``commit``, or the working copy's for None."""
    if commit is None:
        text = (BENCH / "results.json").read_text(encoding="utf-8")
    else:
        text = subprocess.run(
            ["git", "-C", str(BENCH), "show", f"{commit}:bench/results.json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    data: dict[str, Any] = json.loads(text)
    return data


def _cpu_ratio(results: dict[str, Any], k: int) -> str:
    at = report.pick(results["records"], scenario="endpoints", k=k)
    ratios = report.paired(at, {"tool": "sleuth"}, {"tool": "trivial"}, "cpu_s")
    return f"{report.med(ratios):.2f}" if ratios else "-"


def _tree_rss(results: dict[str, Any], k: int) -> str:
    at = report.pick(results["records"], scenario="endpoints", k=k, tool="sleuth")
    sizes = [r.get("tree_rss_mb") or r["maxrss_mb"] for r in at]
    return f"{max(sizes):.0f}" if sizes else "-"


def render(runs: list[dict[str, Any]]) -> str:
    figures = [report.key_figures(r) for r in runs]
    names = [n for n in figures[-1] if all(n in f for f in figures)]
    rows = [
        HEADING + "\n",
        "Each column is one full `make bench` of the same code (the last is the "
        "run above); ratios are medians of runs made side by side. The load "
        "average says how much of the 2 cores other people's suites took.\n",
        "| figure | "
        + " | ".join(
            f"run {i + 1} ({r['machine']['date']})" for i, r in enumerate(runs)
        )
        + " |",
        "| --- |" + " --- |" * len(runs),
        "| load average (1 min) at start / end | "
        + " | ".join(
            f"{r['machine']['loadavg_start'][0]:.1f} / "
            f"{r['machine']['loadavg_end'][0]:.1f}"
            for r in runs
        )
        + " |",
    ]
    rows += [
        f"| {n} | " + " | ".join(f"{f[n]:.2f}" for f in figures) + " |" for n in names
    ]
    for k in report.BOUND_LIMITS:
        rows.append(
            f"| K={k} CPU, sleuth / trivial (whole commands) | "
            + " | ".join(_cpu_ratio(r, k) for r in runs)
            + " |"
        )
    rows.append(
        f"| K={report.BOUND_RSS_K} peak RSS, run + worker summed, max MB | "
        + " | ".join(_tree_rss(r, report.BOUND_RSS_K) for r in runs)
        + " |"
    )
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commits", nargs="*", help="commits holding earlier runs")
    args = parser.parse_args()
    runs = [load(c) for c in args.commits] + [load(None)]
    sys.stdout.write(render(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
