"""Is the latency sleuth reports the target's? Its figures against the server's own.

``sleuth run`` runs K=500 probes at once (the seed-style file, ``def`` probes,
``target.http.get("/t/<i>")``) against bench/server.py, whose ``/t/`` endpoint
answers after 100 ms and keeps its own handling time per request: from the
request's last byte reaching its kernel to the answer handed to its socket.
Per probe, the difference is sleuth's figure (``timings_ms.total`` in
``--sleuth-json``, what ``max_latency`` judges and ``response.elapsed`` says)
minus the server's. It includes what the server cannot see: the connection
being made, and the loopback in both directions; all the rest would be
sleuth's own time counted as the target's. Each run gives the median and the
p99 of those differences and of the waits sleuth said apart as ``busy``; the
figures in RESULTS.md are medians over runs.

``make bench`` runs it with the rest; ``python bench/run.py --only latency``
runs it alone and rewrites only its section of RESULTS.md (and its key in
results.json). ``--src DIR`` runs the sleuth of another checkout's ``src``
(its main, say) for a before/after.
"""

from __future__ import annotations

import json
import statistics
import urllib.request
from pathlib import Path
from typing import Any

import measure

LATENCY_K = 500
HEADING = "## Latency: sleuth's figure against the server's own"


def run_latency(
    runs: int,
    scratch: Path,
    base_url: str,
    env: dict[str, str],
    *,
    sleuth: str,
    measured: Any,
    log: Any,
    src: Path | None = None,
) -> dict[str, Any]:
    """``runs`` runs at K=500; per run the differences' median and p99 (ms)."""
    import suites

    suite = suites.latency_suite(scratch, base_url, LATENCY_K)
    if src is not None:
        env = {**env, "PYTHONPATH": str(src)}
    per_run: list[dict[str, float]] = []
    for run in range(runs + 1):  # the first one warms up, unrecorded
        _handled(base_url)  # forget what came before
        measured(
            [sleuth, "run", "-q", "--no-history", "--sleuth-json=run.json"],
            cwd=suite,
            env=env,
            expect=(f"{LATENCY_K} passed",),
            timeout_s=60.0 + 0.3 * LATENCY_K,
        )
        figures = compare(suite / "run.json", _handled(base_url))
        if run == 0:
            continue
        per_run.append(figures)
        log(
            f"latency run {run}: sleuth - server median "
            f"{figures['diff_p50_ms']:.1f} ms, p99 {figures['diff_p99_ms']:.1f} ms; "
            f"busy said apart p99 {figures['busy_p99_ms']:.0f} ms"
        )
    keys = per_run[0].keys() if per_run else ()
    return {
        "k": LATENCY_K,
        "runs": per_run,
        "median": {key: statistics.median(r[key] for r in per_run) for key in keys},
        "src": str(src) if src is not None else None,
    }


def _handled(base_url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{base_url}/handled", timeout=10) as answer:  # noqa: S310 (loopback)
        data: dict[str, float] = json.load(answer)
    return data


def compare(report: Path, handled: dict[str, float]) -> dict[str, float]:
    """Per probe: sleuth's figure minus the server's; their spread over the run."""
    diffs: list[float] = []
    busy: list[float] = []
    connect: list[float] = []
    for probe in json.loads(report.read_text(encoding="utf-8"))["probes"]:
        for exchange in probe["evidence"]["exchanges"]:
            name = exchange["request"].rpartition("/t/")[2]
            if name not in handled:
                raise RuntimeError(f"the server has no time for {exchange['request']}")
            sleuth_ms = exchange["timings_ms"]["total"]
            diffs.append(sleuth_ms - handled[name] * 1000)
            busy.append(sum(exchange.get("busy_ms", {}).values()))
            connect.append(exchange["timings_ms"].get("connect", 0.0))
    if len(diffs) != LATENCY_K:
        raise RuntimeError(f"{len(diffs)} exchanges compared, expected {LATENCY_K}")
    server_ms = [t * 1000 for t in handled.values()]
    return {
        "diff_p50_ms": statistics.median(diffs),
        "diff_p99_ms": _p99(diffs),
        "diff_max_ms": max(diffs),
        "diff_min_ms": min(diffs),
        "server_p50_ms": statistics.median(server_ms),
        "connect_p50_ms": statistics.median(connect),
        "connect_p99_ms": _p99(connect),
        "busy_p50_ms": statistics.median(busy),
        "busy_p99_ms": _p99(busy),
    }


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def render(latency: dict[str, Any] | None) -> str:
    """The RESULTS.md section (empty without figures)."""
    if not latency or not latency.get("runs"):
        return ""
    m = latency["median"]
    runs = latency["runs"]
    lines = [
        f"{HEADING}\n",
        f'K={latency["k"]} `def` probes at once, `target.http.get("/t/<i>")`, the '
        "server answering after 100 ms and timing itself per request (from the "
        "request's last byte in its kernel to the answer handed to its socket). "
        "Per probe: sleuth's figure (`timings_ms.total`: what `max_latency` judges "
        "and `response.elapsed` says) minus the server's. It includes what the "
        "server cannot see (making the connection, loopback both ways); the rest "
        "would be sleuth's own time counted as the target's. Medians over "
        f"{len(runs)} runs"
        + (f", sleuth from `{latency['src']}`" if latency.get("src") else "")
        + ".\n",
        *_machine_line(latency.get("machine")),
        "| figure | median of runs | runs |",
        "| --- | ---: | --- |",
    ]
    for key, label in (
        ("diff_p99_ms", "**sleuth - server, p99**"),
        ("diff_p50_ms", "sleuth - server, median"),
        ("diff_max_ms", "sleuth - server, largest"),
        ("diff_min_ms", "sleuth - server, smallest"),
        ("server_p50_ms", "the server's own handling time, median"),
        ("connect_p50_ms", "sleuth's `connect` phase, median"),
        ("connect_p99_ms", "sleuth's `connect` phase, p99"),
        ("busy_p50_ms", "sleuth's own waits said apart (`busy`), median"),
        ("busy_p99_ms", "sleuth's own waits said apart (`busy`), p99"),
    ):
        each = ", ".join(f"{r[key]:.1f}" for r in runs)
        lines.append(f"| {label} | {m[key]:.1f} ms | {each} |")
    return "\n".join(lines) + "\n"


def _machine_line(machine: dict[str, Any] | None) -> list[str]:
    """Where and when, for a section written by ``--only latency`` (or clients)."""
    if not machine:
        return []
    load = measure.load_text(machine["loadavg_start"])
    return [
        f"Run alone (`bench/run.py --only {machine.get('only', 'latency')}`) on "
        f"{machine['date']}: "
        f"{machine['cpu']}, {machine['cores']} cores, Linux {machine['kernel']}, "
        f"Python {machine['python']}, aiohttp {machine['versions']['aiohttp']}, "
        f"sleuth at `{machine['sleuth_commit']}`; load average at start {load}.\n"
    ]


def replace_section(results_md: str, section: str, *, heading: str = HEADING) -> str:
    """RESULTS.md with the section under ``heading`` replaced (or added at the end)."""
    start = results_md.find(heading)
    if start < 0:
        return results_md.rstrip("\n") + "\n\n" + section
    end = results_md.find("\n## ", start + len(heading))
    rest = results_md[end + 1 :] if end >= 0 else ""
    return results_md[:start] + section + ("\n" + rest if rest else "")
