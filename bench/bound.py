"""The least any design can cost: issue 22's targets against a bare prototype.

``.venv/bin/python bench/bound.py [--runs 7] [--ks 500,2000] [--out bench/RESULTS.md]``

Issue 22 holds ``sleuth run`` to 1.2x (K=500) and 1.3x (K=2000) of the larger
of pytest-trivial and the floor, and its start-up to 1.1x of bare pytest. This
script measures, beside those, the least that any design keeping pytest's
items can cost (no sleuth in it at all):

- **least, K probes**: a process making the K requests (the floor's aiohttp
  code, printing each answer's status as it comes) is started first, as
  ``sleuth run`` starts its HTTP worker; then pytest runs the seed-style file
  in the launching process, each item waiting for its own answer on an event
  filled by one reader thread. No evidence, no scrubbing, no deadline, no
  thread per probe, no history: what is left is pytest's items, in order,
  each after its answer, and the requests on the other core.
- **least, start-up**: bare pytest on the 4-setting file with a conftest that
  reads the settings from the environment and keeps a history as sleuth does
  (one row into SQLite in WAL mode, the previous one read back).

Every command runs whole, taking turns with the others round after round
(one warm-up round first); figures are medians with min-max, and each ratio
the median of the runs' ratios to the bound measured beside them.

Writes a "## The least any design costs" section into ``--out``: replaced
where it is, appended where it is not (``--print`` only prints it).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

import report
import run
import suites

SECTION = "## The least any design costs"

# The request process: the floor's requests, each answer reported as it comes.
LEAST_REQUESTS = """\
import asyncio
import sys

import aiohttp


async def main(base_url, k):
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def get(i):
            async with session.get(f"{base_url}/p/{i}") as answer:
                await answer.read()
                sys.stdout.write(f"/p/{i} {answer.status}\\n")
                sys.stdout.flush()

        await asyncio.gather(*(get(i) for i in range(k)))


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""

# Starts the request process before pytest is imported, then runs pytest here.
LEAST_LAUNCHER = """\
import os
import subprocess
import sys

requests = subprocess.Popen(
    [sys.executable, "least_requests.py", sys.argv[1], sys.argv[2]],
    stdout=subprocess.PIPE,
)
os.environ["LEAST_ANSWERS_FD"] = str(requests.stdout.fileno())
import pytest

code = pytest.main(["-q", "-p", "sleuth.plugin"])
requests.wait()
sys.exit(code)
"""

LEAST_CONFTEST = """\
import os
import threading

import pytest

_answers = {}
_arrived = {}
_lock = threading.Lock()


def _event(path):
    with _lock:
        return _arrived.setdefault(path, threading.Event())


def _read():
    with open(int(os.environ["LEAST_ANSWERS_FD"]), encoding="utf-8") as lines:
        for line in lines:
            path, status = line.split()
            _answers[path] = int(status)
            _event(path).set()


threading.Thread(target=_read, daemon=True).start()


@pytest.fixture
def answer():
    def wait_for(path):
        if not _event(path).wait(30):
            raise TimeoutError(path)
        return _answers[path]

    return wait_for
"""

# Added to bare pytest's settings conftest: a history kept as sleuth keeps it.
LEAST_HISTORY_HOOK = """

def pytest_sessionfinish(session, exitstatus):
    import sqlite3
    import time

    history = sqlite3.connect(".least-history.db")
    history.execute("PRAGMA journal_mode = WAL")
    history.execute("PRAGMA synchronous = NORMAL")
    history.execute("CREATE TABLE IF NOT EXISTS runs (at REAL, outcome TEXT)")
    history.execute("SELECT outcome FROM runs ORDER BY at DESC LIMIT 1").fetchone()
    with history:
        row = (time.time(), str(exitstatus))
        history.execute("INSERT INTO runs VALUES (?, ?)", row)
    history.close()
"""
LEAST_SETTINGS_CONFTEST = suites.PLAIN_SETTINGS_CONFTEST + LEAST_HISTORY_HOOK

Samples = dict[tuple[str, str], list[dict[str, float]]]


def least_suite(root: Path, k: int) -> Path:
    """The seed-style file, each item asserting its answer from the request process."""
    directory = root / f"least-{k}"
    directory.mkdir(parents=True, exist_ok=True)
    test = suites.endpoints_test(k).replace(
        "def test_endpoint_answers_200(target, path):\n"
        "    assert target.http.get(path).status_code == 200\n",
        "def test_endpoint_answers_200(answer, path):\n"
        "    assert answer(path) == 200\n",
    )
    files = {
        "pytest.ini": "[pytest]\n",
        "least_requests.py": LEAST_REQUESTS,
        "least_launcher.py": LEAST_LAUNCHER,
        "conftest.py": LEAST_CONFTEST,
        "test_endpoints.py": test,
    }
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def least_settings_suite(root: Path) -> Path:
    directory = root / "least-settings"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (directory / "conftest.py").write_text(LEAST_SETTINGS_CONFTEST, encoding="utf-8")
    (directory / "test_settings.py").write_text(suites.SETTINGS_TEST, encoding="utf-8")
    return directory


def commands(
    scratch: Path, base_url: str, k: int
) -> dict[str, tuple[list[str], Path | None]]:
    sleuth_dir, _plain = suites.endpoint_suites(scratch, base_url, k)
    return {
        "floor": ([run.PYTHON, str(run.BENCH / "floor.py"), base_url, str(k)], None),
        "pytest-trivial": (
            [run.PYTEST, "-q", "-p", "sleuth.plugin"],
            run.trivial_suite(scratch, k),
        ),
        "least": (
            [run.PYTHON, "least_launcher.py", base_url, str(k)],
            least_suite(scratch, k),
        ),
        "sleuth run": ([run.SLEUTH, "run", "-q"], sleuth_dir),
        "sleuth run, async def": (
            [run.SLEUTH, "run", "-q"],
            suites.async_suite(scratch, base_url, k),
        ),
    }


def startup_commands(scratch: Path) -> dict[str, tuple[list[str], Path | None]]:
    sleuth_dir, plain_dir = suites.settings_suites(scratch)
    return {
        "bare pytest": ([run.PYTEST, "-q"], plain_dir),
        "least": ([run.PYTEST, "-q"], least_settings_suite(scratch)),
        "sleuth run": ([run.SLEUTH, "run", "-q"], sleuth_dir),
    }


def take_turns(
    group: str,
    cmds: dict[str, tuple[list[str], Path | None]],
    expect: str,
    runs: int,
    env: dict[str, str],
    server: run.Server | None,
    samples: Samples,
) -> None:
    """Each command once per round, ``runs`` rounds after a warm-up round."""
    for rep in range(runs + 1):
        for name, (argv, cwd) in cmds.items():
            record = run.measured(
                argv,
                cwd=cwd,
                env=env,
                expect=() if name == "floor" else (expect,),
                server=server,
                timeout_s=120.0,
            )
            run.log(
                f"{group:8} {name:24} {record['wall_s']:6.2f} s wall "
                f"{record['cpu_s']:6.2f} s CPU" + ("  (warm-up)" if rep == 0 else "")
            )
            if rep:
                samples.setdefault((group, name), []).append(
                    {"wall_s": record["wall_s"], "cpu_s": record["cpu_s"]}
                )


def measure(ks: list[int], runs: int, scratch: Path) -> Samples:
    env = run.child_env(scratch, "warm")
    samples: Samples = {}
    take_turns(
        "start-up", startup_commands(scratch), "4 passed", runs * 2, env, None, samples
    )
    server = run.Server()
    try:
        for k in ks:
            cmds = commands(scratch, server.base_url, k)
            take_turns(f"K={k}", cmds, f"{k} passed", runs, env, server, samples)
    finally:
        server.stop()
    return samples


def bounds(samples: Samples, group: str) -> list[float]:
    """Per round, what the group's target is measured against."""
    if group == "start-up":
        return [s["wall_s"] for s in samples[(group, "bare pytest")]]
    floor = samples[(group, "floor")]
    trivial = samples[(group, "pytest-trivial")]
    return [max(f["wall_s"], t["wall_s"]) for f, t in zip(floor, trivial, strict=True)]


def ratio(samples: Samples, group: str, name: str) -> float:
    paired = zip(samples[(group, name)], bounds(samples, group), strict=True)
    return statistics.median(s["wall_s"] / b for s, b in paired)


def limit(group: str) -> float | None:
    """Issue 22's target for the group, if it sets one."""
    if group == "start-up":
        return report.STARTUP_LIMIT_22
    return report.BOUND_LIMITS.get(int(group.removeprefix("K=")))


def render(samples: Samples, runs: int, info: dict[str, Any], load_end: str) -> str:
    rows = []
    for (group, name), figures in samples.items():
        wall = [f["wall_s"] for f in figures]
        rows.append(
            f"| {group} | {name} | {statistics.median(wall):.3f} "
            f"({min(wall):.3f}-{max(wall):.3f}) "
            f"| {statistics.median(f['cpu_s'] for f in figures):.3f} "
            f"| {ratio(samples, group, name):.2f}x |"
        )
    said = []
    for group in dict.fromkeys(g for g, _ in samples):
        target = limit(group)
        if target is None:
            continue
        least = ratio(samples, group, "least")
        sleuth = ratio(samples, group, "sleuth run")
        reach = "out of" if least > target else "within"
        said.append(
            f"{group}: the least design {least:.2f}x against the target's "
            f"{target:g}x ({reach} reach of any design that keeps "
            f"pytest's items, on this machine), `sleuth run` {sleuth:.2f}x"
        )
    return f"""{SECTION}

`bench/bound.py`: issue 22's targets beside the least a design that keeps
pytest's items can cost. "least" at K probes: a process making the K requests
(the floor's code) started first, as `sleuth run` starts its HTTP worker, then
pytest on the seed-style file with each item waiting for its own answer (no
evidence, scrubbing, deadlines, threads or history). "least" at start-up: bare
pytest on the 4-setting file keeping a one-row SQLite history as sleuth does.
Whole commands taking turns, {runs} rounds after a warm-up ({runs * 2} at
start-up); medians with min-max; "vs bound" is the median of each run's ratio
to max(pytest-trivial, floor) of its round, or to bare pytest at start-up.

Run on {info["when"]}: {info["cpu"]}, {info["cores"]} cores, Python
{info["python"]}, sleuth at `{info["commit"]}`; load average at start
{info["load_start"]}, at end {load_end}.

| measured | command | wall s | CPU s | vs bound |
| --- | --- | ---: | ---: | ---: |
{chr(10).join(rows)}

{"; ".join(said)}.
"""


def main() -> int:
    return run.section_script(__doc__, SECTION, "bound", 7, measure, render)


if __name__ == "__main__":
    sys.exit(main())
