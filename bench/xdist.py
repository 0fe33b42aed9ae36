"""`sleuth run` beside `sleuth run -n 2` (pytest-xdist): does spreading help?

``.venv/bin/python bench/xdist.py [--runs 3] [--ks 500,2000] [--out bench/RESULTS.md]``

The seed-style file over K paths of bench/server.py (every answer after
100 ms), run whole as ``sleuth run -q``, ``sleuth run -q -n 2`` (xdist's
default ``--dist load``: each worker is sent its share in chunks) and
``sleuth run -q -n 2 --dist worksteal`` (each worker is sent half at once).
The three commands take turns, run after run, so a busy minute slows all of
them; each figure is the median of ``--runs``, with min-max, and each ratio
the median of the runs' ratios to the ``sleuth run`` beside them.

Writes a "## Beside pytest-xdist" section into ``--out``: replaced where it
is, appended where it is not (default: bench/RESULTS.md; ``--print`` only
prints it).
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path
from typing import Any

import run
import suites

SECTION = "## Beside pytest-xdist"
COMMANDS: dict[str, list[str]] = {
    "sleuth run": [],
    "sleuth run -n 2": ["-p", "xdist.plugin", "-n", "2"],
    "sleuth run -n 2 --dist worksteal": [
        "-p", "xdist.plugin", "-n", "2", "--dist", "worksteal",
    ],
}  # fmt: skip

Samples = dict[tuple[int, str], list[dict[str, float]]]


def measure(ks: list[int], runs: int, scratch: Path) -> Samples:
    """Every command at every K, ``runs`` times each, taking turns."""
    env = run.child_env(scratch, "warm")
    server = run.Server()
    samples: Samples = {}
    try:
        for k in ks:
            suite, _plain = suites.endpoint_suites(scratch, server.base_url, k)
            for rep in range(runs + 1):  # the first round warms the caches
                for name, extra in COMMANDS.items():
                    record = run.measured(
                        [run.SLEUTH, "run", "-q", *extra],
                        cwd=suite,
                        env=env,
                        expect=(f"{k} passed",),
                        server=server,
                        timeout_s=60.0 + 0.3 * k,
                        sample_tree=True,
                    )
                    shown = re.search(r"probes in ([0-9.]+) s", record["_output"])
                    figures = {
                        "wall_s": float(record["wall_s"]),
                        "cpu_s": float(record["cpu_s"]),
                        "probes_s": float(shown.group(1)) if shown else float("nan"),
                        "max_in_flight": float(record["server_max_in_flight"]),
                    }
                    run.log(
                        f"K={k} {name:34} {figures['wall_s']:6.2f} s wall "
                        f"{figures['cpu_s']:6.2f} s CPU"
                        + ("  (warm-up)" if rep == 0 else "")
                    )
                    if rep:
                        samples.setdefault((k, name), []).append(figures)
    finally:
        server.stop()
    return samples


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}"


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def render(samples: Samples, runs: int, info: dict[str, Any], load_end: str) -> str:
    """The section, as markdown."""
    rows = []
    for (k, name), figures in samples.items():
        base = samples[(k, "sleuth run")]
        wall = [f["wall_s"] for f in figures]
        ratios = [f["wall_s"] / b["wall_s"] for f, b in zip(figures, base, strict=True)]
        rows.append(
            f"| {k} | `{name}` | {_median(wall)} ({_spread(wall)}) "
            f"| {_median([f['probes_s'] for f in figures])} "
            f"| {_median([f['cpu_s'] for f in figures])} "
            f"| {statistics.median(f['max_in_flight'] for f in figures):.0f} "
            f"| {statistics.median(ratios):.2f}x |"
        )
    return f"""{SECTION}

`bench/xdist.py`: the seed-style file over K paths against the server answering
after 100 ms, as `sleuth run -q` and under pytest-xdist with two workers
(`-n 2`, xdist's `--dist load`, and `--dist worksteal`, which sends each
worker its half at once). Wall and CPU of the whole command (workers
included); "probes" is the run's time in sleuth's summary (from the first
test's setup; for `-n 2`, from the controller's first report); "in flight" the
most requests the server held at one moment. Medians of {runs} runs taking
turns (min-max beside), after one warm-up round; "vs run" is the median of
each run's ratio to the `sleuth run` beside it.

Run on {info["when"]}: {info["cpu"]}, {info["cores"]} cores, Python
{info["python"]}, pytest-xdist {info["versions"]["pytest-xdist"]}, sleuth at
`{info["commit"]}`; load average at start {info["load_start"]}, at end {load_end}.

| K | command | wall s | probes s | CPU s | in flight | vs run |
| ---: | --- | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

{verdict(samples, info["cores"])}
"""


def verdict(samples: Samples, cores: int) -> str:
    """What the table says about `-n 2`, in a sentence per K, from the medians."""
    said = []
    for (k, name), figures in samples.items():
        if name == "sleuth run":
            continue
        base = samples[(k, "sleuth run")]
        ratio = statistics.median(
            f["wall_s"] / b["wall_s"] for f, b in zip(figures, base, strict=True)
        )
        word = "faster" if ratio < 0.95 else "slower" if ratio > 1.05 else "as fast"
        said.append(f"`{name}` at K={k}: {ratio:.2f}x the wall time ({word})")
    return (
        f"On this {cores}-core machine: " + "; ".join(said) + ". A worker is one "
        "more Python process (its start-up and its own collection of the whole "
        "suite) and every report travels to the controller, while one `sleuth "
        "run` already has every probe in flight at once; what `-n` buys is the "
        "processes and machines xdist reaches (`--tx ssh=...`), see docs/xdist.md."
    )


def main() -> int:
    return run.section_script(__doc__, SECTION, "xdist", 3, measure, render)


if __name__ == "__main__":
    sys.exit(main())
