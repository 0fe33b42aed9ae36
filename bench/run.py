"""The sleuth benchmark: ``make bench`` runs this and writes bench/RESULTS.md.

Scenarios (bench/README.md says what each means):

- endpoints: the seed-style file over K = 10, 100, 500, 2000 paths, run by plain
  serial pytest, pytest-xdist ``-n 8`` (neither at K=2000: minutes a run),
  ``sleuth run``, the floor (bench/floor.py), and pytest-trivial: pytest on K
  parametrized items that do no I/O, sleuth's plugin loaded, no suite (what
  pytest itself costs for K items; issue 22 judges sleuth on the larger of it
  and the floor);
- hung: 100 probes plus one against a port that never answers, 2 s timeout;
- start-up: a 4-setting suite, ``sleuth run`` vs bare pytest, with and without
  a bytecode cache, and ``-X importtime`` of the plugin;
- stacks: 500 requests at once through each HTTP client stack (bench/stacks.py);
- latency: sleuth's reported latency per probe against the server's own
  handling time at K=500 (bench/latency.py); ``--only latency`` runs it alone.

Each command is measured whole, in a subprocess (bench/measure.py). The whole
set runs ``--rounds`` times, interleaved, and every figure is a median; ratios
pair runs made side by side. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import latency
import measure
import own_clients
import report
import stacks
import suites

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SLEUTH = str(BIN / "sleuth")
PYTEST = str(BIN / "pytest")

STACK_N = 500
HUNG_K = 100
HUNG_TIMEOUT = "2s"
XDIST_WORKERS = 8

Record = dict[str, Any]
# What a script that writes its own section of RESULTS.md measured.
S = TypeVar("S")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """How many runs of what; ``--quick`` is for working on the benchmark."""

    rounds: int
    ks: tuple[int, ...]
    reps: int  # sleuth, the floor and pytest-trivial, per K and round
    xdist_reps: Mapping[int, int]
    serial_reps: Mapping[int, int]
    hung_reps: int
    startup_reps: int
    stack_reps: int
    slow_stack_reps: int
    latency_runs: int


FULL = Plan(
    rounds=2,
    ks=(10, 100, 500, 2000),
    reps=5,
    # Neither at K=2000: xdist ~30 s a run, serial 200 s.
    xdist_reps={10: 3, 100: 3, 500: 3},
    # Serial K=500 is ~52 s a run (500 x 0.1 s): 2 a round, 4 in all.
    serial_reps={10: 3, 100: 3, 500: 2},
    hung_reps=5,
    startup_reps=9,
    stack_reps=5,
    slow_stack_reps=3,
    latency_runs=5,
)
QUICK = Plan(
    rounds=1,
    ks=(10, 100, 500, 2000),
    reps=3,
    xdist_reps={10: 1, 100: 1, 500: 1},
    serial_reps={10: 1, 100: 1, 500: 0},
    hung_reps=2,
    startup_reps=3,
    stack_reps=1,
    slow_stack_reps=1,
    latency_runs=3,
)


def log(message: str, *, started: list[float] = []) -> None:  # noqa: B006 (a clock)
    if not started:
        started.append(time.monotonic())
    print(f"[{time.monotonic() - started[0]:6.0f} s] {message}", file=sys.stderr)


# -- the server and the silent port --------------------------------------------


class Server:
    """bench/server.py in its own process, on a free loopback port."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(BENCH / "server.py"), "--max-seconds", "3600"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"the bench server did not start (said {line!r})")
        self.base_url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stats(self, *, reset: bool = False) -> dict[str, Any]:
        url = f"{self.base_url}/stats" + ("?reset" if reset else "")
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (loopback)
            data: dict[str, Any] = json.load(answer)
        return data

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


# -- environments ---------------------------------------------------------------


def child_env(scratch: Path, mode: str) -> dict[str, str]:
    """The measured commands' environment.

    ``warm``: a bytecode cache in a private prefix (warmed before measuring), as an
    installed package has. ``machine``: PYTHONDONTWRITEBYTECODE=1 as this machine
    sets it: packages pip compiled keep their .pyc; sleuth's editable source and
    the suite's files are compiled afresh by every run.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "SLEUTH_"))
        and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    env.update({name: f"bench-{name.lower()}" for name in suites.SETTINGS})
    # As a production install: pytest loads only the plugins a command names
    # (-p), not the dev-only ones this venv has (pytest-html, json-report,
    # metadata, anyio: ~0.3 s at K=500). `sleuth run` then adds its own.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if mode == "warm":
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    elif mode == "machine":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        raise ValueError(mode)
    return env


# -- running and checking one command ---------------------------------------


def measured(
    argv: list[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str],
    expect_rc: int = 0,
    expect: tuple[str, ...] = (),
    server: Server | None = None,
    timeout_s: float = 120.0,
    sample_tree: bool = False,
) -> Record:
    before = server.stats(reset=True) if server else None
    m = measure.run(
        argv, cwd=cwd, env=env, timeout_s=timeout_s, sample_tree=sample_tree
    )
    after = server.stats() if server else None
    if (
        m.timed_out
        or m.returncode != expect_rc
        or not all(e in m.output for e in expect)
    ):
        raise measure.CommandFailed(
            f"{' '.join(argv)} (in {cwd}): exit {m.returncode}"
            f"{' (killed at timeout)' if m.timed_out else ''}, expected {expect_rc} "
            f"and {expect!r} in its output:\n{m.output[-3000:]}"
        )
    record: Record = {
        "wall_s": m.wall_s,
        "cpu_s": m.cpu_s,
        "user_s": m.user_s,
        "sys_s": m.sys_s,
        "maxrss_mb": m.maxrss_mb,
    }
    if m.tree_rss_mb is not None:
        record["tree_rss_mb"] = m.tree_rss_mb
    if before is not None and after is not None:
        record["server_cpu_s"] = after["cpu_s"] - before["cpu_s"]
        record["server_max_in_flight"] = after["max_in_flight"]
    last = (m.output.strip().splitlines() or [""])[-1]
    if seconds := re.search(r" in ([0-9.]+)s", last):
        record["pytest_s"] = float(seconds.group(1))
    record["_output"] = m.output
    return record


def trivial_suite(root: Path, k: int) -> Path:
    """K parametrized items that do no I/O, and no sleuth.yaml: pytest's own cost.

    The same file as the seed-style one, with a body that only asserts its
    parameter; pytest runs it with sleuth's plugin loaded (``-p``), as an
    install that has sleuth but no suite here would.
    """
    directory = root / f"trivial-{k}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    test = suites.endpoints_test(k).replace(
        "def test_endpoint_answers_200(target, path):\n"
        "    assert target.http.get(path).status_code == 200\n",
        "def test_endpoint_answers_200(path):\n    assert path\n",
    )
    (directory / "test_endpoints.py").write_text(test, encoding="utf-8")
    return directory


def endpoint_commands(
    k: int, sleuth_dir: Path, plain_dir: Path, base_url: str, trivial_dir: Path
) -> dict[str, tuple[list[str], Path | None]]:
    return {
        "floor": ([PYTHON, str(BENCH / "floor.py"), base_url, str(k)], None),
        "trivial": ([PYTEST, "-q", "-p", "sleuth.plugin"], trivial_dir),
        "sleuth": ([SLEUTH, "run", "-q"], sleuth_dir),
        "xdist": (
            [PYTEST, "-p", "xdist.plugin", "-q", "-n", str(XDIST_WORKERS)],
            plain_dir,
        ),
        "serial": ([PYTEST, "-q"], plain_dir),
    }


# -- the scenarios ----------------------------------------------------------------


def run_endpoints(
    plan: Plan, rnd: int, scratch: Path, server: Server, records: list[Record]
) -> None:
    env = child_env(scratch, "warm")
    for k in plan.ks:
        sleuth_dir, plain_dir = suites.endpoint_suites(scratch, server.base_url, k)
        commands = endpoint_commands(
            k, sleuth_dir, plain_dir, server.base_url, trivial_suite(scratch, k)
        )
        wanted = {
            "floor": plan.reps,
            "trivial": plan.reps,
            "sleuth": plan.reps,
            "xdist": plan.xdist_reps.get(k, 0),
            "serial": plan.serial_reps.get(k, 0),
        }
        for rep in range(max(wanted.values())):
            for tool, (argv, cwd) in commands.items():
                if rep >= wanted[tool]:
                    continue
                expect = () if tool == "floor" else (f"{k} passed",)
                record = measured(
                    argv,
                    cwd=cwd,
                    env=env,
                    expect=expect,
                    server=server,
                    timeout_s=60.0 + 0.3 * k,
                    # several processes: xdist's, sleuth and its HTTP worker
                    sample_tree=tool in ("xdist", "sleuth"),
                )
                record.update(scenario="endpoints", k=k, tool=tool, round=rnd, rep=rep)
                records.append(record)
                log(
                    f"round {rnd} K={k} {tool:6} {record['wall_s']:6.2f} s wall "
                    f"{record['cpu_s']:5.2f} s CPU {record['maxrss_mb']:5.0f} MB"
                )


def run_hung(
    plan: Plan, rnd: int, scratch: Path, server: Server, records: list[Record]
) -> None:
    env = child_env(scratch, "warm")
    with silent_port() as port:
        suite = suites.hung_suite(
            scratch / f"hung-{rnd}", server.base_url, HUNG_K, port
        )
        for rep in range(plan.hung_reps):
            record = measured(
                [SLEUTH, "run", "-q", "--sleuth-timeout", HUNG_TIMEOUT],
                cwd=suite,
                env=env,
                expect_rc=1,
                expect=(
                    f"{HUNG_K} passed, 1 error",
                    "timed out after 2.0 s",
                    f"GET http://127.0.0.1:{port}/health",
                ),
                server=server,
                timeout_s=60.0,
            )
            record.update(scenario="hung", k=HUNG_K, tool="sleuth", round=rnd, rep=rep)
            records.append(record)
            log(f"round {rnd} hung   {record['wall_s']:6.2f} s wall")


def run_startup(plan: Plan, rnd: int, scratch: Path, records: list[Record]) -> None:
    sleuth_dir, plain_dir = suites.settings_suites(scratch)
    commands = {
        "bare": ([PYTEST, "-q"], plain_dir),
        "sleuth": ([SLEUTH, "run", "-q"], sleuth_dir),
    }
    for mode in ("warm", "machine"):
        env = child_env(scratch, mode)
        for argv, cwd in commands.values():  # warm-up, not recorded
            measured(argv, cwd=cwd, env=env, expect=("4 passed",))
        for rep in range(plan.startup_reps):
            for tool, (argv, cwd) in commands.items():
                record = measured(argv, cwd=cwd, env=env, expect=("4 passed",))
                record.update(
                    scenario="startup", mode=mode, tool=tool, round=rnd, rep=rep
                )
                records.append(record)
        pair = [r for r in records if r["scenario"] == "startup" and r["round"] == rnd]
        log(f"round {rnd} start-up ({mode}) done, {len(pair)} runs so far")


def run_stacks(
    plan: Plan, rnd: int, scratch: Path, server: Server, records: list[Record]
) -> None:
    env = child_env(scratch, "warm")
    slow: set[str] = set()
    for rep in range(plan.stack_reps):
        for name in stacks.STACKS:
            if name in slow and rep >= plan.slow_stack_reps:
                continue
            record = measured(
                [PYTHON, str(BENCH / "stacks.py"), name, server.base_url, str(STACK_N)],
                cwd=None,
                env=env,
                server=server,
                timeout_s=120.0,
            )
            inner = json.loads(record["_output"].strip().splitlines()[-1])
            record.update(
                scenario="stacks",
                tool=name,
                round=rnd,
                rep=rep,
                phase_wall_s=inner["wall_s"],
                phase_cpu_s=inner["cpu_s"],
            )
            records.append(record)
            if inner["wall_s"] > 2.0:
                slow.add(name)
            log(
                f"round {rnd} stack {name:22} {inner['wall_s']:6.2f} s wall "
                f"{inner['cpu_s']:5.2f} s CPU"
            )


def import_times(scratch: Path) -> dict[str, Any]:
    """``-X importtime`` of the plugin (and the CLI), in both bytecode modes."""
    out: dict[str, Any] = {}
    for mode in ("warm", "machine"):
        env = child_env(scratch, mode)
        for module in ("sleuth.plugin", "sleuth.cli"):
            runs = []
            for _ in range(3):
                done = subprocess.run(
                    [PYTHON, "-X", "importtime", "-c", f"import {module}"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=True,
                )
                runs.append(parse_importtime(done.stderr))
            runs.sort(key=lambda r: r["total_us"])
            out[f"{mode}:{module}"] = runs[len(runs) // 2]  # the median run
    return out


def parse_importtime(text: str) -> dict[str, Any]:
    """Top-level imports by cumulative time, and the modules slowest on their own."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match:
            self_us, cum_us, indent, name = match.groups()
            rows.append((name, int(self_us), int(cum_us), len(indent) // 2))
    if not rows:
        return {"total_us": 0, "top": [], "self": []}
    total = rows[-1][2]
    own = [r for r in rows if r[0].startswith("sleuth")]
    top = sorted((r for r in rows if r[3] <= 1), key=lambda r: -r[2])[:12]
    slow = sorted(rows, key=lambda r: -r[1])[:12]
    return {
        "total_us": total,
        "top": [{"module": n, "cum_us": c} for n, _s, c, _d in top],
        "self": [{"module": n, "self_us": s} for n, s, _c, _d in slow],
        "sleuth_self_us": sum(s for _n, s, _c, _d in own),
        "modules": len(rows),
    }


def phase_runs(scratch: Path, server: Server, k: int, runs: int) -> dict[str, Any]:
    """Where sleuth's wall time at K goes, phase by phase (bench/phases.py)."""
    import phases as _phases  # bench/phases.py, which imports this module

    return _phases.timeline_runs(
        scratch,
        server,
        k=k,
        runs=runs,
        experiments=["none", "async", "empty", "gc-freeze"],
    )


# -- the machine ----------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    from importlib.metadata import version

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = re.search(r"MemTotal:\s+(\d+)", meminfo)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    packages = ("pytest", "pytest-xdist", "aiohttp", "httpx", "httpx-aiohttp")
    return {
        "cpu": model.group(1).strip() if model else "unknown",
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem_kb.group(1)) / 1024 / 1024, 1) if mem_kb else None,
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "versions": {p: version(p) for p in ("sleuth", *packages, "urllib3")},
        "sleuth_commit": commit + (" (src modified)" if dirty else ""),
        "loadavg_start": os.getloadavg(),
        "pyc_in_src": sum(1 for _ in (ROOT / "src").rglob("*.pyc")),
        "somaxconn": Path("/proc/sys/net/core/somaxconn").read_text().strip(),
    }


def section_info() -> dict[str, Any]:
    """What a script's own section of RESULTS.md says it ran on, and when."""
    info = machine_info()
    commit = info["sleuth_commit"]
    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": info["cpu"],
        "cores": info["cores"],
        "python": info["python"],
        "versions": info["versions"],
        "commit": commit.split(" ", 1)[0]
        + (" (src modified)" if "(src modified)" in commit else ""),
        "load_start": measure.load_text(os.getloadavg()),
    }


def section_script(
    doc: str | None,
    heading: str,
    name: str,
    runs: int,
    measure_all: Callable[[list[int], int, Path], S],
    render: Callable[[S, int, dict[str, Any], str], str],
) -> int:
    """The ``main`` of a script that writes its own section of RESULTS.md.

    ``measure_all(ks, runs, scratch)`` takes the figures, ``render(samples,
    runs, info, load_end)`` makes the section (starting with ``heading``).
    """
    parser = argparse.ArgumentParser(description=(doc or name).splitlines()[0])
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--ks", default="500,2000")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--print", action="store_true", help="only print it")
    args = parser.parse_args()
    info = section_info()
    with tempfile.TemporaryDirectory(prefix=f"sleuth-bench-{name}-") as scratch:
        ks = [int(k) for k in args.ks.split(",")]
        samples = measure_all(ks, args.runs, Path(scratch))
    section = render(samples, args.runs, info, measure.load_text(os.getloadavg()))
    if not args.print:
        report.replace_section(args.out, heading, section)
    print(section)
    return 0


# -- main ---------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="The sleuth benchmark.")
    parser.add_argument("--quick", action="store_true", help="fewer runs (dev only)")
    parser.add_argument("--rounds", type=int, help="times the whole set runs")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--json", type=Path, default=BENCH / "results.json")
    parser.add_argument(
        "--only",
        choices=["latency", "clients"],
        help="run one scenario; rewrite only its section of --out and key of --json",
    )
    parser.add_argument(
        "--src", type=Path, help="with --only latency: the sleuth of this src/ instead"
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = dataclasses.replace(plan, rounds=args.rounds)
    if args.only:
        return only_section(plan, args)

    started = time.monotonic()
    info = machine_info()
    info["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    info["plan"] = dataclasses.asdict(plan)
    records: list[Record] = []
    with tempfile.TemporaryDirectory(prefix="sleuth-bench-") as tmp:
        scratch = Path(tmp)
        server = Server()
        try:
            log(f"server at {server.base_url}; scratch {scratch}")
            warm_up(scratch, server)
            for rnd in range(plan.rounds):
                run_endpoints(plan, rnd, scratch, server, records)
                run_hung(plan, rnd, scratch, server, records)
                run_startup(plan, rnd, scratch, records)
                run_stacks(plan, rnd, scratch, server, records)
            extras = {
                "latency": run_latency(plan, scratch, server),
                "clients": run_clients(plan, scratch, server),
                "importtime": import_times(scratch),
                # K=500: issue 2's figure; K=2000 would take minutes here
                "phases": phase_runs(scratch, server, report.ISSUE2_K, plan.reps),
            }
        finally:
            server.stop()
    info["loadavg_end"] = os.getloadavg()
    info["duration_s"] = time.monotonic() - started
    for record in records:
        record.pop("_output", None)
    results = {"machine": info, "records": records, **extras}
    previous = None
    if args.json.exists() and not args.quick:
        previous = json.loads(args.json.read_text(encoding="utf-8"))
        if previous.get("machine", {}).get("plan", {}).get("rounds", 0) < 2:
            previous = None  # a --quick run is no yardstick
    args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    kept = ""
    if args.out.exists():
        kept = report.other_scripts_sections(args.out.read_text(encoding="utf-8"))
    text = report.render(results, previous)
    if kept:
        text = text.rstrip("\n") + "\n\n" + kept
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out} and {args.json}")
    return 0


def run_latency(
    plan: Plan, scratch: Path, server: Server, src: Path | None = None
) -> dict[str, Any]:
    return latency.run_latency(
        plan.latency_runs,
        scratch,
        server.base_url,
        child_env(scratch, "warm"),
        sleuth=SLEUTH,
        measured=measured,
        log=log,
        src=src,
    )


def run_clients(plan: Plan, scratch: Path, server: Server) -> dict[str, Any]:
    return own_clients.run_clients(
        plan.latency_runs,
        scratch,
        server.base_url,
        child_env(scratch, "warm"),
        sleuth=SLEUTH,
        measured=measured,
        log=log,
    )


def only_section(plan: Plan, args: argparse.Namespace) -> int:
    """One scenario alone (latency, clients): its figures replace their part of
    the results, and its section of RESULTS.md."""
    module = {"latency": latency, "clients": own_clients}[args.only]
    info = machine_info()
    info["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    with tempfile.TemporaryDirectory(prefix="sleuth-bench-") as tmp:
        server = Server()
        try:
            if args.only == "latency":
                figures = run_latency(plan, Path(tmp), server, args.src)
            else:
                figures = run_clients(plan, Path(tmp), server)
        finally:
            server.stop()
    info["loadavg_end"] = os.getloadavg()
    info["only"] = args.only
    figures["machine"] = info
    results = (
        json.loads(args.json.read_text(encoding="utf-8")) if args.json.exists() else {}
    )
    results[args.only] = figures
    args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    args.out.write_text(
        latency.replace_section(text, module.render(figures), heading=module.HEADING),
        encoding="utf-8",
    )
    log(f"wrote the {args.only} section of {args.out} and its key in {args.json}")
    return 0


def warm_up(scratch: Path, server: Server) -> None:
    """One unrecorded run of each command: fills the bytecode cache, page cache."""
    env = child_env(scratch, "warm")
    sleuth_dir, plain_dir = suites.endpoint_suites(scratch, server.base_url, 10)
    for tool, (argv, cwd) in endpoint_commands(
        10, sleuth_dir, plain_dir, server.base_url, trivial_suite(scratch, 10)
    ).items():
        measured(
            argv, cwd=cwd, env=env, expect=() if tool == "floor" else ("10 passed",)
        )
    for name in stacks.STACKS:
        measured(
            [PYTHON, str(BENCH / "stacks.py"), name, server.base_url, "10"],
            cwd=None,
            env=env,
        )


if __name__ == "__main__":
    sys.exit(main())
