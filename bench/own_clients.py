"""What hooking the probe's own HTTP client costs: requests against target.http.

A suite written with the application's own modules sends its requests through
requests (or httpx, urllib...), which sleuth hooks for the run to apply the
read-only rule, the deadline and evidence (src/sleuth/clients). Two figures:

- **a whole run at K=500**: ``sleuth run`` of the seed-style file twice, once with
  ``target.http.get(path)`` and once with ``requests.get(url)`` in each ``def``
  probe (a thread each, as sleuth runs them), against bench/server.py answering
  after 100 ms. Medians of wall and CPU over the runs, and their ratio.
- **the hooks alone**: in a child process, K requests.get calls at once from K
  threads, each inside a probe's context, with the hooks installed and without,
  alternated; CPU per request, medians over the runs. No pytest, no sleuth run:
  this prices the hook on each request and nothing else.

``python bench/run.py --only clients`` runs it alone and rewrites only its
section of RESULTS.md (and its key in results.json).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import latency

CLIENTS_K = 500
HEADING = "## The probe's own client: requests, hooked, against target.http"


def requests_test(k: int, base_url: str) -> str:
    """The seed-style file with the app's own client: requests, no target."""
    paths = "".join(f'    "/p/{i}",\n' for i in range(k))
    return (
        "import pytest\nimport requests\n\n"
        f"BASE = {base_url!r}\n"
        f"PATHS = [\n{paths}]\n\n\n"
        '@pytest.mark.parametrize("path", PATHS)\n'
        "def test_endpoint_answers_200(path):\n"
        "    assert requests.get(BASE + path, timeout=30).status_code == 200\n"
    )


def run_clients(
    runs: int,
    scratch: Path,
    base_url: str,
    env: dict[str, str],
    *,
    sleuth: str,
    measured: Any,
    log: Any,
) -> dict[str, Any]:
    import suites

    target_suite, _plain = suites.endpoint_suites(scratch, base_url, CLIENTS_K)
    requests_suite = scratch / f"sleuth-requests-{CLIENTS_K}"
    requests_suite.mkdir(parents=True, exist_ok=True)
    for name in ("pytest.ini", "sleuth.yaml"):
        (requests_suite / name).write_text(
            (target_suite / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    (requests_suite / "test_endpoints.py").write_text(
        requests_test(CLIENTS_K, base_url), encoding="utf-8"
    )
    whole: dict[str, list[dict[str, float]]] = {"target.http": [], "requests": []}
    for run in range(runs + 1):  # the first one warms up, unrecorded
        for tool, suite in (
            ("target.http", target_suite),
            ("requests", requests_suite),
        ):
            record = measured(
                [sleuth, "run", "-q", "--no-history"],
                cwd=suite,
                env=env,
                expect=(f"{CLIENTS_K} passed",),
                timeout_s=60.0 + 0.3 * CLIENTS_K,
            )
            if run:
                whole[tool].append(
                    {"wall_s": record["wall_s"], "cpu_s": record["cpu_s"]}
                )
                log(
                    f"clients run {run} {tool:11} {record['wall_s']:6.2f} s wall "
                    f"{record['cpu_s']:5.2f} s CPU"
                )
    alone = _hooks_alone(base_url, env, runs=runs)
    log(
        f"clients: hook CPU per request {alone['hooked_cpu_us']:.0f} us hooked, "
        f"{alone['bare_cpu_us']:.0f} us bare"
    )
    return {
        "k": CLIENTS_K,
        "whole": whole,
        "median": {
            f"{tool}_{key}": statistics.median(r[key] for r in rows)
            for tool, rows in whole.items()
            for key in ("wall_s", "cpu_s")
        },
        "alone": alone,
    }


def _hooks_alone(base_url: str, env: dict[str, str], *, runs: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, base_url, str(CLIENTS_K), str(runs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# -- the child: the hooks alone ------------------------------------------------


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _batch(base_url: str, k: int) -> tuple[float, float]:
    """K requests.get at once, each from a thread inside a probe's context."""
    import requests

    from sleuth.engine import context
    from sleuth.engine.context import ProbeContext

    failures: list[BaseException] = []

    def one(i: int) -> None:
        ctx = ProbeContext(probe_id=f"p{i}", timeout_s=30.0)
        ctx.start()
        context.current.set(ctx)
        try:
            if requests.get(f"{base_url}/p/{i}", timeout=30).status_code != 200:
                raise RuntimeError("not 200")
        except BaseException as exc:  # counted, re-raised below
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(k)]
    wall, cpu = time.perf_counter(), _cpu_s()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    if failures:
        raise RuntimeError(f"{len(failures)} of {k} requests failed: {failures[0]!r}")
    return wall, cpu


def _child(base_url: str, k: int, runs: int) -> dict[str, Any]:
    from sleuth import clients

    _batch(base_url, k)  # warm up: imports, the server's first connections
    per_run: list[dict[str, float]] = []
    for _ in range(runs):
        _bare_wall, bare_cpu = _batch(base_url, k)
        clients.install()
        try:
            _hooked_wall, hooked_cpu = _batch(base_url, k)
        finally:
            clients.uninstall()
        per_run.append(
            {"bare_cpu_us": bare_cpu / k * 1e6, "hooked_cpu_us": hooked_cpu / k * 1e6}
        )
    return {
        "runs": per_run,
        **{
            key: statistics.median(r[key] for r in per_run)
            for key in ("bare_cpu_us", "hooked_cpu_us")
        },
    }


# -- RESULTS.md ---------------------------------------------------------------


def render(figures: dict[str, Any] | None) -> str:
    """The RESULTS.md section (empty without figures)."""
    if not figures or not figures.get("whole"):
        return ""
    m = figures["median"]
    alone = figures["alone"]
    runs = len(figures["whole"]["requests"])
    extra = alone["hooked_cpu_us"] - alone["bare_cpu_us"]
    wall_ratio = m["requests_wall_s"] / m["target.http_wall_s"]
    cpu_ratio = m["requests_cpu_s"] / m["target.http_cpu_s"]
    lines = [
        f"{HEADING}\n",
        f"K={figures['k']} `def` probes at once against the server answering after "
        "100 ms: the seed-style file with `target.http.get(path)`, and the same with "
        "the app's own client, `requests.get(url)`, which sleuth hooks for the run "
        "(read-only rule, deadline, evidence). Whole `sleuth run` commands, medians "
        f"of {runs} runs.\n",
        *latency._machine_line(figures.get("machine")),
        "| suite | wall | CPU (all processes) |",
        "| --- | ---: | ---: |",
        *(
            f"| {label} | {m[tool + '_wall_s']:.2f} s | {m[tool + '_cpu_s']:.2f} s |"
            for tool, label in (
                ("target.http", "`target.http`"),
                ("requests", "`requests`, hooked"),
            )
        ),
        f"| ratio requests / target.http | {wall_ratio:.2f}x | {cpu_ratio:.2f}x |",
        "",
        f"The hooks alone (a child process, {figures['k']} `requests.get` at once from "
        "as many threads, each in a probe's context, hooks installed or not, "
        f"alternated; medians of {len(alone['runs'])} runs): "
        f"**{alone['hooked_cpu_us']:.0f} us CPU per request hooked, "
        f"{alone['bare_cpu_us']:.0f} us bare: {extra:+.0f} us "
        f"({extra / alone['bare_cpu_us']:+.0%})**. Runs (bare / hooked, us): "
        + ", ".join(
            f"{r['bare_cpu_us']:.0f} / {r['hooked_cpu_us']:.0f}" for r in alone["runs"]
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
