"""A long watch stays the same size: its RSS and its threads do not grow.

Cycles run in processes of their own, so whatever a cycle leaks goes with it.
Here 20 cycles; bench/watch.py runs 200 and says how flat (bench/RESULTS.md).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from sleuth.watch import CycleResult, run_watch
from tests.watch.conftest import STATE_PROBE, Target, write_suite

CYCLES = 20
SETTLE = 5  # cycles before the first sample: imports and caches settle
RSS_GROWTH_MAX_KB = 1024


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def test_rss_and_threads_stay_flat_over_many_cycles(
    tmp_path: Path, target_app: Target
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    samples: list[tuple[int, int]] = []

    def sample(result: CycleResult) -> None:
        assert result.exit_code == 0, result.output
        samples.append((rss_kb(), threading.active_count()))

    code = run_watch(
        ["-q", "-p", "no:cacheprovider"],
        every_s=0,
        history_url=f"sqlite:///{tmp_path / 'watch.db'}",
        cycles=CYCLES,
        cwd=suite,
        out=io.StringIO(),
        after_cycle=sample,
    )
    assert code == 0
    assert len(samples) == CYCLES
    settled = samples[SETTLE:]
    assert {threads for _, threads in settled} == {samples[0][1]}
    rss = [kb for kb, _ in settled]
    assert max(rss) - rss[0] < RSS_GROWTH_MAX_KB, rss
