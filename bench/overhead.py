"""CPU per request through each layer of sleuth's HTTP path, in one process.

``python bench/overhead.py [--n 500] [--runs 5]`` starts the bench server and,
in this process, sends N requests at once through:

- ``aiohttp``: a bare ClientSession (limit=0) on one event loop, as the floor;
- ``sleuth async``: ``await target.ahttp.get(path)`` as N tasks on sleuth's
  engine loop (deadlines, evidence, per-phase timings, httpx-style response);
- ``sleuth async, no trace``: the same without the aiohttp trace hooks that give
  per-phase timings;
- ``sleuth def``: ``target.http.get(path)`` from N probe bodies on the engine's
  worker threads (the sync facade: a thread per probe, ``engine.call``);

each batch on a fresh engine (its loop thread, connection pool and worker
threads new, as in a run; closing it is counted too),

and prints wall and CPU (user + sys of the process) per batch, medians of the
runs, and CPU per request. No pytest: this prices the HTTP path alone.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import run


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sleuth_target(root: Path, base_url: str, *, workers: int) -> Any:
    from sleuth.engine import Engine
    from sleuth.suite.config import load_suite_config
    from sleuth.suite.options import resolve
    from sleuth.target import Target

    (root / "sleuth.yaml").write_text(
        f"targets:\n  bench:\n    base_url: {base_url}\n    timeout: 30s\n",
        encoding="utf-8",
    )
    options = resolve(load_suite_config(root / "sleuth.yaml"), cli={}, environ={})
    engine = Engine(workers=workers)
    return Target(options, engine), engine


def batch_aiohttp(base_url: str, n: int) -> Callable[[], None]:
    import aiohttp

    async def go() -> None:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def get(i: int) -> None:
                async with session.get(f"{base_url}/p/{i}") as answer:
                    await answer.read()
                    assert answer.status == 200

            await asyncio.gather(*(get(i) for i in range(n)))

    return lambda: asyncio.run(go())


def batch_sleuth(root: Path, base_url: str, n: int, kind: str) -> Callable[[], None]:
    """A fresh engine and target per batch: a new loop, pool, threads, as a run has."""
    from sleuth.engine import Job
    from sleuth.engine.context import ProbeContext

    def go() -> None:
        target, engine = _sleuth_target(root, base_url, workers=max(n, 1))

        async def async_probe(path: str) -> None:
            assert (await target.ahttp.get(path)).status_code == 200

        def def_probe(path: str) -> None:
            assert target.http.get(path).status_code == 200

        probe = async_probe if kind == "async" else def_probe
        jobs = [
            Job(
                ctx=ProbeContext(probe_id=str(i), timeout_s=30),
                func=probe,
                kwargs={"path": f"/p/{i}"},
            )
            for i in range(n)
        ]
        try:
            engine.start(jobs)
            for job in jobs:
                outcome = engine.wait(job)
                assert outcome.exc is None, outcome.exc
        finally:
            engine.close()

    return go


def measure_batches(go: Callable[[], None], runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        cpu0, wall0 = _cpu_s(), time.perf_counter()
        go()
        walls.append(time.perf_counter() - wall0)
        cpus.append(_cpu_s() - cpu0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    n = args.n
    rows = []
    with tempfile.TemporaryDirectory(prefix="sleuth-overhead-") as tmp:
        server = run.Server()
        try:
            base = server.base_url
            variants: list[tuple[str, Callable[[], Callable[[], None]]]] = [
                ("aiohttp (the floor's client)", lambda: batch_aiohttp(base, n)),
            ]

            def sleuth_variant(kind: str, trace: bool) -> Callable[[], None]:
                from sleuth.http import wire as http_wire

                if not trace:
                    http_wire.Timings.install = staticmethod(lambda _c: None)  # type: ignore[method-assign,assignment]
                return batch_sleuth(Path(tmp), base, n, kind)

            variants += [
                (
                    "sleuth async def (target.ahttp)",
                    lambda: sleuth_variant("async", True),
                ),
                (
                    "sleuth def (target.http, a thread each)",
                    lambda: sleuth_variant("def", True),
                ),
                (
                    "sleuth async def, no trace hooks",
                    lambda: sleuth_variant("async", False),
                ),
                ("sleuth def, no trace hooks", lambda: sleuth_variant("def", False)),
            ]
            for label, build in variants:
                go = build()
                go()  # warm: imports, the session, the threads
                wall, cpu = measure_batches(go, args.runs)
                rows.append((label, wall, cpu))
                run.log(f"{label}: {wall:.3f} s wall, {cpu:.3f} s CPU")
        finally:
            server.stop()
    print(f"| {n} requests at once | wall s | CPU s | CPU per request ms |")
    print("| --- | --- | --- | --- |")
    for label, wall, cpu in rows:
        print(f"| {label} | {wall:.3f} | {cpu:.3f} | {cpu / n * 1000:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
