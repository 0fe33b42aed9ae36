"""The engine runs bodies concurrently under deadlines; no pytest involved."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import weakref

import pytest

from sleuth._evidence import classify
from sleuth.engine import Engine, Job, bounded
from sleuth.engine.context import ProbeContext, current
from sleuth.errors import BudgetSpent, ProbeTimeout, SleuthError, TargetUnreachable


@pytest.fixture
def engine():
    engine = Engine(workers=8)
    yield engine
    engine.close()


def job(func, timeout_s=5.0, **kwargs) -> Job:
    return Job(
        ctx=ProbeContext(probe_id=func.__name__, timeout_s=timeout_s),
        func=func,
        kwargs=kwargs,
    )


def test_sync_jobs_run_concurrently_on_workers(engine):
    barrier = threading.Barrier(4, timeout=5)

    def meet(n):
        barrier.wait()  # only returns when all four run at the same time
        return n

    jobs = [job(meet, n=n) for n in range(4)]
    engine.start(jobs)
    outcomes = [engine.wait(j) for j in jobs]
    assert [o.exc for o in outcomes] == [None] * 4


def test_pool_size_bounds_concurrency(engine):
    small = Engine(workers=2)
    running = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def work():
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(0.2)
        with lock:
            running -= 1

    jobs = [job(work) for _ in range(6)]
    small.start(jobs)
    for j in jobs:
        small.wait(j)
    small.close()
    assert peak == 2


def _os_threads() -> set[str]:
    return set(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_workers_end_when_no_job_is_left_and_later_jobs_still_run():
    # Idle workers end as the run goes rather than all waking at close.
    pool = Engine(workers=3)
    before = _os_threads()

    def work(n):
        return n

    try:
        for _batch in range(2):
            jobs = [job(work, n=n) for n in range(5)]  # more jobs than workers
            pool.start(jobs)
            assert [pool.wait(j).exc for j in jobs] == [None] * 5
            deadline = time.monotonic() + 5
            # No thread the pool started is left (another test's may have ended).
            while _os_threads() - before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not _os_threads() - before
    finally:
        pool.close()


def test_exceptions_are_kept_with_their_traceback(engine):
    def fails():
        raise ValueError("bad answer")

    j = job(fails)
    engine.start([j])
    outcome = engine.wait(j)
    assert isinstance(outcome.exc, ValueError)
    assert outcome.exc.__traceback__ is not None


def test_async_jobs_run_on_the_loop_with_their_context(engine):
    seen = []

    async def probe(n):
        await asyncio.sleep(0.01)
        ctx = current.get()
        assert ctx is not None
        seen.append((n, ctx.probe_id))

    jobs = [job(probe, n=n) for n in range(3)]
    engine.start(jobs)
    for j in jobs:
        assert engine.wait(j).exc is None
    assert sorted(seen) == [(0, "probe"), (1, "probe"), (2, "probe")]


def test_async_jobs_start_a_few_per_loop_turn_so_early_ones_move_on(engine):
    # Started all in one turn, the first probe could not go on until every
    # other had started: the loop reads no answer before its turn ends.
    events = []

    async def first():
        events.append("first started")
        await asyncio.sleep(0)  # goes on at the loop's next turn
        events.append("first went on")

    async def other(n):
        events.append(f"other {n} started")

    jobs = [job(first)] + [job(other, n=n) for n in range(100)]
    gate = threading.Event()
    engine.loop.call_soon_threadsafe(gate.wait, 5)  # as when the loop is busy
    engine.start(jobs)
    gate.set()
    assert [engine.wait(j).exc for j in jobs] == [None] * 101
    assert events.index("first went on") < events.index("other 99 started")


def test_stuck_sync_job_is_declared_timed_out_at_its_deadline(engine):
    stop = threading.Event()

    def stuck():
        stop.wait(30)

    j = job(stuck, timeout_s=0.2)
    engine.start([j])
    outcome = engine.wait(j)
    stop.set()
    assert outcome.timed_out
    assert isinstance(outcome.exc, ProbeTimeout)
    assert "its own code was still running" in str(outcome.exc)


def test_async_job_past_its_deadline_is_cancelled(engine):
    cancelled = threading.Event()

    async def sleeper():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    j = job(sleeper, timeout_s=0.2)
    engine.start([j])
    outcome = engine.wait(j)
    assert outcome.timed_out
    assert str(outcome.exc).startswith("timed out after 0.2 s")
    assert cancelled.wait(2)


def test_call_runs_a_coroutine_for_a_sync_probe_and_bounds_it(engine):
    ctx = ProbeContext(probe_id="p", timeout_s=0.3)
    ctx.start()

    async def slow():
        await bounded(asyncio.sleep(30), ctx=ctx, what="the slow thing")

    with pytest.raises(
        ProbeTimeout, match=r"^timed out after 0.3 s waiting for the slow thing"
    ):
        engine.call(slow(), ctx=ctx)

    async def quick():
        return 42

    assert engine.call(quick(), ctx=ProbeContext(probe_id="q", timeout_s=1)) == 42


def test_bounded_names_its_own_shorter_limit(engine):
    ctx = ProbeContext(probe_id="p", timeout_s=10)
    ctx.start()

    async def slow():
        await bounded(
            asyncio.sleep(30),
            ctx=ctx,
            what="GET /x",
            timeout_s=0.2,
            timeout_origin="request timeout",
        )

    with pytest.raises(
        ProbeTimeout,
        match=r"^timed out after 0.2 s waiting for GET /x \(request timeout\)$",
    ):
        engine.call(slow(), ctx=ctx)


def test_a_timeout_keeps_nothing_of_the_call_it_cut_short(engine):
    # The outcome keeps the error for the whole run: were the cut-short call's
    # frames kept with it, so would be what they hold open (a driver's socket
    # still connecting to the hung server).
    class Connection:
        pass

    opened = []

    async def connect():
        connection = Connection()
        opened.append(weakref.ref(connection))
        await asyncio.Event().wait()  # the server never answers

    ctx = ProbeContext(probe_id="p", timeout_s=0.1)
    ctx.start()
    with pytest.raises(ProbeTimeout) as caught:
        engine.call(bounded(connect(), ctx=ctx, what="connect"), ctx=ctx)
    gc.collect()
    assert caught.value.waiting_on == "connect"
    [connection] = opened
    assert connection() is None


def test_call_from_the_loop_thread_is_refused(engine):
    async def probe():
        async def inner():
            return 1

        engine.call(inner(), ctx=ProbeContext(probe_id="p", timeout_s=1))

    j = job(probe)
    engine.start([j])
    outcome = engine.wait(j)
    assert isinstance(outcome.exc, SleuthError)
    assert "would stall every other probe" in str(outcome.exc)


def test_budget_caps_every_deadline():
    engine = Engine(workers=4, budget_s=0.3)
    stop = threading.Event()
    jobs = [job(lambda: stop.wait(30), timeout_s=30) for _ in range(2)]
    engine.start(jobs)
    outcomes = [engine.wait(j) for j in jobs]
    stop.set()
    engine.close()
    assert all(o.timed_out for o in outcomes)
    assert all("(the run budget ran out)" in str(o.exc) for o in outcomes)


def test_a_job_the_budget_ran_out_before_is_not_started_and_not_unreachable():
    engine = Engine(workers=1, budget_s=0.3)
    stop = threading.Event()
    first = job(lambda: stop.wait(30), timeout_s=30)
    second = job(lambda: None, timeout_s=30)
    engine.start([first, second])
    outcomes = [engine.wait(j) for j in (first, second)]
    stop.set()
    engine.close()
    assert isinstance(outcomes[0].exc, ProbeTimeout)
    exc = outcomes[1].exc
    assert isinstance(exc, BudgetSpent)
    assert TargetUnreachable not in type(exc).__mro__
    assert str(exc) == (
        "not started: the run budget of 0.3 s ran out before a worker was free for it"
    )
    assert classify(exc, exchanges=[]) == ("error", "budget")


def test_a_job_reported_as_not_started_never_runs_once_a_worker_is_free():
    engine = Engine(workers=1, budget_s=0.1)
    stop = threading.Event()
    ran = []
    first = job(lambda: stop.wait(30), timeout_s=30)
    second = job(lambda: ran.append(True), timeout_s=30)
    engine.start([first, second])
    assert isinstance(engine.wait(second).exc, BudgetSpent)
    stop.set()
    engine._run_sync(second)  # what the freed worker does with it next
    engine.close()
    assert ran == []


def test_returning_a_coroutine_from_a_def_probe_is_an_error(engine):
    async def coro():
        return None

    j = job(lambda: coro())
    engine.start([j])
    outcome = engine.wait(j)
    assert "write it as 'async def'" in str(outcome.exc)


def test_resources_close_with_the_engine():
    engine = Engine(workers=1)
    closed = []

    async def open_resource():
        def factory():
            async def closer():
                closed.append(True)

            engine.on_close(closer)
            return object()

        return engine.resource("r", factory) is engine.resource("r", factory)

    same = engine.call(open_resource(), ctx=ProbeContext(probe_id="p", timeout_s=1))
    engine.close()
    assert same
    assert closed == [True]


@pytest.mark.parametrize(
    ("install", "current"),
    [
        pytest.param(threading.settrace, threading.gettrace, id="trace"),
        pytest.param(threading.setprofile, threading.getprofile, id="profile"),
    ],
)
def test_hooks_set_for_new_threads_see_bodies_on_the_worker_threads(
    engine, install, current
):
    # What coverage (threading.settrace) and profilers rely on: the pool's
    # threads are started with _thread, which installs no hook by itself.
    calls = []

    def body():
        return threading.get_ident()

    def hook(frame, event, arg):
        if event == "call" and frame.f_code is body.__code__:
            calls.append(threading.get_ident())

    before = current()  # under coverage, its own hook: put back after
    install(hook)
    try:
        ran = job(body)
        engine.run_one(ran)
    finally:
        install(before)
    assert ran.outcome is not None
    assert ran.outcome.exc is None
    assert len(calls) == 1
    assert calls[0] != threading.get_ident()  # seen on a worker thread


def test_a_wait_that_ended_at_the_deadline_is_what_the_probe_waited_for():
    # A client bounded by the probe's time left gives up at the deadline
    # itself; a watchdog that looks a moment later must still say the probe
    # was waiting on the target, not running its own code.
    ctx = ProbeContext(probe_id="t::a", timeout_s=0.05, timeout_origin="a marker")
    ctx.start()
    with ctx.waiting_on("connect redis://db:6379/0 via redis"):
        while ctx.remaining() > -0.01:  # bounded: the deadline is 50 ms away
            time.sleep(0.005)
    assert ctx.waiting_at_deadline() == "connect redis://db:6379/0 via redis"
    assert ctx.timeout_message() == (
        "timed out after 0.1 s waiting for connect redis://db:6379/0 via redis "
        "(timeout from a marker)"
    )


def test_a_wait_that_ended_before_the_deadline_is_not_blamed():
    ctx = ProbeContext(probe_id="t::a", timeout_s=5.0, timeout_origin="a marker")
    ctx.start()
    with ctx.waiting_on("GET http://h/x"):
        pass
    assert ctx.waiting_at_deadline() is None
    assert ctx.timeout_message().endswith(
        "it was not waiting on the target: its own code was still running"
    )
