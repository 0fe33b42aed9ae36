"""The alternative to the watch's fresh process per cycle: one pytest session
per cycle inside one long-lived process, as #20 names it; measured by
bench/watch.py, not used by sleuth.

``python bench/inprocess.py SUITE_DIR CYCLES HISTORY_URL SAMPLES_FILE [-- PYTEST_ARGS]``
runs CYCLES cycles in SUITE_DIR, each what ``sleuth run`` does once its
process has started (its arguments, its HTTP worker when the suite may use
HTTP, ``pytest.main``), and writes one JSON line per cycle to SAMPLES_FILE:
the cycle's exit code and this process's RSS (KB) and thread count after it.

``python bench/inprocess.py --edit-check DIR`` answers whether a cycle sees an
edit made to a probe file since the cycle before, as a fresh process does.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path


def proc_status() -> tuple[int, int]:
    """(VmRSS in KB, Threads) of this process, from /proc/self/status."""
    fields = dict(
        line.split(":", 1)
        for line in Path("/proc/self/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


def one_cycle(pytest_args: Sequence[str], *, history_url: str | None) -> int:
    """One ``sleuth run`` as ``sleuth.cli.main`` makes it, without its process."""
    import pytest

    from sleuth.cli.runargs import run_args
    from sleuth.http import worker as http_worker
    from sleuth.suite.discovery import may_use_http

    history = ["--history", history_url] if history_url else ["--no-history"]
    args = run_args([*pytest_args, *history], os.environ)
    worker = http_worker.start() if may_use_http(args, Path.cwd()) else None
    return int(pytest.main(args, plugins=[worker] if worker else None))


def run_cycles(
    suite: Path, cycles: int, history_url: str, samples: Path, pytest_args: list[str]
) -> None:
    os.chdir(suite)
    with samples.open("w", encoding="utf-8") as out:
        for number in range(1, cycles + 1):
            code = one_cycle(pytest_args, history_url=history_url)
            rss_kb, threads = proc_status()
            line = {
                "cycle": number,
                "exit": code,
                "rss_kb": rss_kb,
                "threads": threads,
                "py_threads": threading.active_count(),
            }
            out.write(json.dumps(line) + "\n")
            out.flush()


PROBE_BEFORE = "def test_edited(target):\n    assert True\n"
PROBE_AFTER = "def test_edited(target):\n    assert False, 'the edit was seen'\n"


def edit_check(root: Path) -> dict[str, int]:
    """Two cycles in this process with the probe file edited between them
    (passing, then failing): the exit codes, and the second cycle's again once
    the suite's own modules are dropped from ``sys.modules``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sleuth.yaml").write_text("targets:\n  local:\n    sources: [env]\n")
    probe = root / "test_edit.py"
    probe.write_text(PROBE_BEFORE)
    os.chdir(root)
    args = ["-q", "-p", "no:cacheprovider"]
    first = one_cycle(args, history_url=None)
    probe.write_text(PROBE_AFTER)  # a different size: no stale .pyc either way
    second = one_cycle(args, history_url=None)
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").is_relative_to(root):
            del sys.modules[name]
    purged = one_cycle(args, history_url=None)
    return {"first": first, "after_edit": second, "after_edit_purged": purged}


def main(argv: Sequence[str]) -> None:
    if argv[:1] == ["--edit-check"]:
        print(json.dumps(edit_check(Path(argv[1]))))
        return
    rest = list(argv)
    pytest_args = rest[rest.index("--") + 1 :] if "--" in rest else []
    suite, cycles, history_url, samples = rest[:4]
    run_cycles(Path(suite), int(cycles), history_url, Path(samples), pytest_args)


if __name__ == "__main__":
    main(sys.argv[1:])
