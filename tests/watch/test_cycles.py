"""Cycles: each one a run in the history, in order, never two at once."""

from __future__ import annotations

import io
import itertools
import logging
from pathlib import Path

import pytest

from sleuth.history.store import HistoryStore
from sleuth.watch import CycleResult, run_watch
from tests.watch.conftest import STATE_PROBE, Target, write_suite


def store_url(root: Path) -> str:
    return f"sqlite:///{root / 'watch.db'}"


def test_each_cycle_is_a_run_in_the_history_with_the_target_s_answer(
    tmp_path: Path, target_app: Target
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    url = store_url(tmp_path)
    answers = iter([500, 200])  # after cycles 1 and 2
    seen: list[CycleResult] = []

    def after(result: CycleResult) -> None:
        seen.append(result)
        target_app.switch.status = next(answers, 200)

    out = io.StringIO()
    code = run_watch(
        ["-q", "-p", "no:cacheprovider"],
        every_s=0,
        agent="eu-1",
        history_url=url,
        cycles=3,
        cwd=suite,
        out=out,
        after_cycle=after,
    )
    assert code == 0
    assert [r.exit_code for r in seen] == [0, 1, 0]
    assert [r.cycle for r in seen] == [1, 2, 3]
    assert [dict(r.counts) for r in seen] == [
        {"passed": 1},
        {"error": 1},
        {"passed": 1},
    ]
    assert all(r.agent == "eu-1" and r.target == "local" for r in seen)
    assert all(r.history_url == url and not r.overran for r in seen)
    run_ids = [r.run_id for r in seen]
    assert run_ids == [1, 2, 3]
    store = HistoryStore.open_current(url)
    assert store is not None
    try:
        runs = sorted(store.runs(limit=10), key=lambda row: row.id)
        assert [row.id for row in runs] == run_ids
        assert [dict(row.counts) for row in runs] == [
            {"passed": 1},
            {"error": 1},
            {"passed": 1},
        ]
        assert {row.agent for row in runs} == {"eu-1"}
    finally:
        store.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # one line a cycle, no pytest output
    assert lines[1].startswith("cycle 2 ")
    assert ": 1 error in " in lines[1]
    assert lines[1].endswith("(run 2)")


def test_cycles_never_overlap_and_an_overrun_is_recorded(
    tmp_path: Path, target_app: Target
) -> None:
    # Each cycle's request takes 0.3 s and the interval is 0.1 s: every cycle
    # overruns, and the next one waits for it.
    probe = """
        def test_slow_state(target):
            assert target.http.get("/state?delay=0.3").status_code == 200
    """
    suite = write_suite(tmp_path / "suite", target_app.url, probe)
    seen: list[CycleResult] = []
    out = io.StringIO()
    code = run_watch(
        ["-q", "-p", "no:cacheprovider"],
        every_s=0.1,
        history_url=store_url(tmp_path),
        cycles=3,
        cwd=suite,
        out=out,
        after_cycle=seen.append,
    )
    assert code == 0
    assert [r.overran for r in seen] == [True, True, True]
    assert all("; overran its interval" in line for line in out.getvalue().splitlines())
    spans = sorted(target_app.switch.spans)
    assert len(spans) == 3
    for (_, ended), (started, _) in itertools.pairwise(spans):
        assert ended <= started  # the server never held two cycles' requests
    for a, b in itertools.pairwise(seen):
        assert a.started_at.timestamp() + a.duration_s <= b.started_at.timestamp()


def test_a_cycle_within_its_interval_is_not_an_overrun(
    tmp_path: Path, target_app: Target
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    seen: list[CycleResult] = []
    run_watch(
        ["-q", "-p", "no:cacheprovider"],
        every_s=3600,
        history_url=store_url(tmp_path),
        cycles=1,
        cwd=suite,
        out=io.StringIO(),
        after_cycle=seen.append,
    )
    assert [r.overran for r in seen] == [False]


def test_a_failing_after_cycle_hook_is_logged_and_the_watch_goes_on(
    tmp_path: Path, target_app: Target, caplog: pytest.LogCaptureFixture
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    calls: list[int] = []
    started: list[bool] = []

    def broken(result: CycleResult) -> None:
        calls.append(result.cycle)
        raise RuntimeError("the hook broke")

    out = io.StringIO()
    with caplog.at_level(logging.ERROR, logger="sleuth.watch"):
        code = run_watch(
            ["-q", "-p", "no:cacheprovider"],
            every_s=0,
            history_url=store_url(tmp_path),
            cycles=2,
            cwd=suite,
            out=out,
            after_cycle=broken,
            on_start=lambda: started.append(True),
        )
    assert code == 0
    assert calls == [1, 2]
    assert started == [True]
    assert "the hook broke" in caplog.text
    assert "cycle 2: after-cycle hook failed (logged)" in out.getvalue()


def test_show_output_prints_the_cycle_s_own_output(
    tmp_path: Path, target_app: Target
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    out = io.StringIO()
    run_watch(
        ["-p", "no:cacheprovider"],
        every_s=0,
        history_url=store_url(tmp_path),
        cycles=1,
        verbose=True,
        cwd=suite,
        out=out,
    )
    text = out.getvalue()
    assert "test_probes.py ." in text
    assert text.splitlines()[-1].startswith("cycle 1 ")


def test_the_history_off_still_watches_without_run_ids(
    tmp_path: Path, target_app: Target
) -> None:
    suite = write_suite(tmp_path / "suite", target_app.url, STATE_PROBE)
    seen: list[CycleResult] = []
    run_watch(
        ["-q", "-p", "no:cacheprovider", "--no-history"],
        every_s=0,
        cycles=1,
        cwd=suite,
        out=io.StringIO(),
        after_cycle=seen.append,
    )
    assert [(r.exit_code, r.run_id) for r in seen] == [(0, None)]
