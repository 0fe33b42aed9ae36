"""Runs probe bodies concurrently, each under its deadline. Knows nothing of pytest.

One event loop, on its own thread, carries all network I/O: ``async def`` probes
run there as tasks, and ``def`` probes run on a bounded pool of worker threads
and hand their I/O to the loop through ``Engine.call``. Deadlines, the in-flight
caps and timings therefore live in one place.

A probe that overruns its deadline is reported as timed out at the deadline,
whatever it is doing: I/O through the engine is cancelled, and a body stuck in
its own code is abandoned on its (daemon) thread so the run can end.

The package also holds what a running probe carries (``context``: its deadline,
its evidence, whether it may write), the one lock for imports made while probes
run (``imports``) and the read-only rule every client is held to (``readonly``).
"""

from __future__ import annotations

import _thread
import contextlib
import dataclasses
import functools
import inspect
import math
import queue
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sleuth import _timing as timing
from sleuth.engine import context as _context
from sleuth.engine.context import ProbeContext
from sleuth.errors import BudgetSpent, ProbeTimeout, SleuthError

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")

# How long past a deadline the watchdog waits for a probe to report its own
# timeout (with the line it was on) before declaring it timed out itself.
WATCHDOG_GRACE_S = 0.05
_POLL_S = 0.05
# How many async probes the loop starts before it looks at I/O again.
ASYNC_STARTS_PER_TURN = 16
CLOSE_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How a probe's body ended: ``exc`` is None when it returned normally."""

    exc: BaseException | None
    duration_s: float
    started_at: float
    # Ended by the watchdog (a deadline, or the budget before it started):
    # there is no line of the probe to show.
    timed_out: bool = False


@dataclasses.dataclass(slots=True, kw_only=True, eq=False)
class Job:
    """A probe body to run: ``func(**kwargs)``, sync or async."""

    ctx: ProbeContext
    func: Callable[..., Any]
    kwargs: dict[str, Any]
    outcome: Outcome | None = None
    _done: threading.Event = dataclasses.field(default_factory=threading.Event)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    def finish(self, outcome: Outcome) -> bool:
        """Store the outcome unless one is stored already (the first one wins)."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.outcome = outcome
        self._done.set()
        return True

    def is_done(self) -> bool:
        return self._done.is_set()

    def wait_done(self, timeout_s: float) -> bool:
        return self._done.wait(timeout_s)


class Engine:
    """The loop thread and the worker pool of one run.

    Args:
        workers: the most ``def`` probes that run at the same moment.
        budget_s: the whole run's budget; no probe's deadline passes it.
    """

    def __init__(self, *, workers: int, budget_s: float | None = None) -> None:
        self._workers = _WorkerPool(workers)
        self._budget_s = budget_s
        self.budget_deadline = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._loop_lock = threading.Lock()
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._resources: dict[object, object] = {}

    # -- the run ------------------------------------------------------------

    def start_budget(self) -> None:
        """Start the run's budget clock (once; later calls change nothing)."""
        if self._budget_s is not None and self.budget_deadline == math.inf:
            self.budget_deadline = timing.monotonic() + self._budget_s

    def start(self, jobs: list[Job]) -> None:
        """Start every job now: sync ones on the pool, async ones on the loop."""
        self.start_budget()
        sync = []
        async_jobs = []
        for job in jobs:
            if job.is_async:
                async_jobs.append(job)
            else:
                sync.append(functools.partial(self._run_sync, job))
        if async_jobs:
            self.loop.call_soon_threadsafe(self._create_tasks, async_jobs, 0)
        self._workers.submit(sync)

    def wait(self, job: Job) -> Outcome:
        """Block until ``job`` ends or overruns its deadline; never longer."""
        while not job.is_done():
            ctx = job.ctx
            now = timing.monotonic()
            if ctx.started_at is None:
                if now > self.budget_deadline + WATCHDOG_GRACE_S:
                    job.finish(self._not_started(job))
                    break
                job.wait_done(_POLL_S)
                continue
            left = ctx.deadline + WATCHDOG_GRACE_S - now
            if left <= 0:
                exc = ProbeTimeout(
                    ctx.timeout_message(), waiting_on=ctx.waiting_at_deadline()
                )
                job.finish(
                    Outcome(
                        exc=exc,
                        duration_s=now - ctx.started_at,
                        started_at=ctx.started_at,
                        timed_out=True,
                    )
                )
                break
            job.wait_done(left)
        assert job.outcome is not None  # noqa: S101 (set before _done)
        return job.outcome

    def run_one(self, job: Job) -> Outcome:
        """Run one job now and wait for it: in-order probes use this."""
        self.start([job])
        return self.wait(job)

    def _not_started(self, job: Job) -> Outcome:
        # Not a timeout of the target's: the probe never reached it.
        exc = BudgetSpent(
            f"not started: the run budget of {self._budget_s:g} s ran out before "
            f"a worker was free for it"
        )
        return Outcome(
            exc=exc, duration_s=0.0, started_at=timing.monotonic(), timed_out=True
        )

    def _run_sync(self, job: Job) -> None:
        if job.is_done():
            # Reported as not started (the budget ran out while it waited for
            # a worker): it must not run now, after the run has moved on.
            return
        ctx = job.ctx
        ctx.start(budget_deadline=self.budget_deadline)
        start = timing.perf_counter()
        token = _context.current.set(ctx)
        try:
            result = job.func(**job.kwargs)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise SleuthError(
                    "the probe returned an awaitable: write it as 'async def' so "
                    "sleuth awaits it on its event loop"
                )
            exc: BaseException | None = None
        except BaseException as caught:  # the outcome is replayed in pytest
            exc = caught
        finally:
            _context.current.reset(token)
        job.finish(
            Outcome(
                exc=exc,
                duration_s=timing.perf_counter() - start,
                started_at=ctx.started_at or 0.0,
            )
        )

    def _create_tasks(self, jobs: list[Job], first: int) -> None:
        """Start ``ASYNC_STARTS_PER_TURN`` of ``jobs``, and the rest on later turns.

        Started all in one turn, 500 probes' first steps (each opening its
        request) would run before the loop reads any answer, while pytest
        waits for the first probe's outcome: 8% slower at K=500 (bench/PROFILE.md).
        """
        loop = self.loop
        end = first + ASYNC_STARTS_PER_TURN
        for job in jobs[first:end]:
            loop.create_task(self._run_async(job))
        if end < len(jobs):
            loop.call_soon(self._create_tasks, jobs, end)

    async def _run_async(self, job: Job) -> None:
        import asyncio

        ctx = job.ctx
        ctx.start(budget_deadline=self.budget_deadline)
        _context.current.set(ctx)  # this task runs in its own copy of the context
        start = timing.perf_counter()
        exc: BaseException | None = None
        timed_out = False
        try:
            async with asyncio.timeout_at(ctx.deadline + WATCHDOG_GRACE_S / 2) as scope:
                await job.func(**job.kwargs)
        except TimeoutError as caught:
            if scope.expired():
                timed_out = True
                exc = ProbeTimeout(ctx.timeout_message(waiting_on=ctx.last_waiting_on))
            else:
                exc = caught
        except BaseException as caught:  # the outcome is replayed in pytest
            exc = caught
        job.finish(
            Outcome(
                exc=exc,
                duration_s=timing.perf_counter() - start,
                started_at=ctx.started_at or 0.0,
                timed_out=timed_out,
            )
        )

    # -- I/O for probes -----------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The run's event loop, started on its own thread when first needed."""
        import asyncio

        if self._loop is None:
            with self._loop_lock:
                if self._loop is None:
                    ready = threading.Event()
                    loop = asyncio.new_event_loop()
                    thread = threading.Thread(
                        target=self._loop_main,
                        args=(loop, ready),
                        name="sleuth-loop",
                        daemon=True,
                    )
                    thread.start()
                    ready.wait()
                    self._loop_thread = thread
                    self._loop = loop
        return self._loop

    @staticmethod
    def _loop_main(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        import asyncio

        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    def in_loop_thread(self) -> bool:
        # By ident: current_thread() would give each _thread-started worker a
        # _DummyThread that threading keeps for good.
        thread = self._loop_thread
        return thread is not None and thread.ident == threading.get_ident()

    def call(self, coro: Coroutine[Any, Any, T], *, ctx: ProbeContext) -> T:
        """Run ``coro`` on the loop from a ``def`` probe and wait for its result.

        ``coro`` bounds itself (see ``bounded``); waiting here stops at the
        probe's deadline in any case.
        """
        import asyncio
        import concurrent.futures

        __tracebackhide__ = True
        if self.in_loop_thread():
            coro.close()
            raise SleuthError(
                "a blocking call inside an 'async def' probe would stall every "
                "other probe: use the async helpers, e.g. 'await target.ahttp.get(...)'"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=max(ctx.remaining(), 0) + 2 * WATCHDOG_GRACE_S)
        except concurrent.futures.TimeoutError:
            raise ProbeTimeout(
                ctx.timeout_message(), waiting_on=ctx.waiting_at_deadline()
            ) from None
        except SleuthError as exc:
            # Drop the loop thread's frames: the probe's own line is what matters.
            raise exc.with_traceback(None) from exc.__cause__
        finally:
            if not future.done():
                future.cancel()

    def resource(self, key: object, factory: Callable[[], T]) -> T:
        """One shared object per key for the run (a connection pool, a session).

        Call from the loop thread; ``factory`` runs once. Its time (a client
        library loading) counts against the probes waiting for it: a deadline
        is wall-clock time, whatever the probe is waiting on.
        """
        if key not in self._resources:
            self._resources[key] = factory()
        return self._resources[key]  # type: ignore[return-value]

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` on the loop when the engine closes (call from the loop)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Close what probes opened and stop the loop; abandoned bodies stay so."""
        self._workers.shutdown()
        loop = self._loop
        if loop is None:
            return  # no probe needed the loop (nor asyncio)
        import asyncio

        future = asyncio.run_coroutine_threadsafe(self._shut_down(), loop)
        # Closing is best effort: the run's results are already in.
        with contextlib.suppress(Exception):
            future.result(timeout=CLOSE_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
        self._loop = None

    async def _shut_down(self) -> None:
        """Cancel what abandoned probes left running, then close shared resources."""
        import asyncio

        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT_S / 2)
        closers, self._closers = self._closers, []
        await asyncio.gather(*(closer() for closer in closers), return_exceptions=True)


async def bounded(
    awaitable: Awaitable[T],
    *,
    ctx: ProbeContext,
    what: str,
    timeout_s: float | None = None,
    timeout_origin: str = "",
) -> T:
    """Await ``awaitable`` until the probe's deadline (or ``timeout_s``, if sooner).

    Raises:
        ProbeTimeout: saying what was being waited for.
    """
    import asyncio

    __tracebackhide__ = True
    deadline = (
        ctx.deadline
        if ctx.started_at is not None
        else timing.monotonic() + ctx.remaining()
    )
    own_limit = timeout_s is not None and timing.monotonic() + timeout_s < deadline
    if own_limit:
        assert timeout_s is not None  # noqa: S101 (narrowing)
        deadline = timing.monotonic() + timeout_s
    with ctx.waiting_on(what):
        try:
            async with asyncio.timeout_at(deadline) as scope:
                return await awaitable
        except TimeoutError:
            if not scope.expired():
                raise
        if own_limit:
            origin = f" ({timeout_origin})" if timeout_origin else ""
            message = f"timed out after {timeout_s:.1f} s waiting for {what}{origin}"
        else:
            message = ctx.timeout_message(waiting_on=what)
        # Raised outside the except block, so without a __context__: the
        # TimeoutError's traceback holds the frames of the call it cut short,
        # and what they had open. The outcome keeps this error for the whole
        # run, so a hung postgres connect (libpq's socket, in psycopg's frames)
        # went on sending SYNs to the hung server long past the deadline.
        raise ProbeTimeout(message, waiting_on=what)


class _WorkerPool:
    """Daemon worker threads, created as needed up to ``max_workers``.

    Daemon, unlike concurrent.futures' pool, so that a probe body stuck in its
    own code can be abandoned at its deadline without holding the process open.
    Started with ``_thread`` rather than ``threading.Thread``, whose ``start()``
    waits until the new thread runs: with 500 probes starting while the first
    ones already hold the GIL, that hand-over cost 0.4 s (bench/PROFILE.md).
    Each worker installs the trace and profile hooks itself, as ``Thread`` does.
    """

    def __init__(self, max_workers: int) -> None:
        self._max = max_workers
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._outstanding = 0  # submitted and not yet finished

    def submit(self, fns: Sequence[Callable[[], None]]) -> None:
        """Queue ``fns``, with enough threads (up to the cap) to run them all.

        Workers touch the lock only when a job ends, so a burst of submits
        never waits on workers that are starting (bench/PROFILE.md).
        """
        if not fns:
            return
        with self._lock:
            self._outstanding += len(fns)
            wanted = min(self._outstanding, self._max)
            spawn = max(0, wanted - self._threads)
            self._threads += spawn
        for _ in range(spawn):
            _thread.start_new_thread(self._work, ())
        for fn in fns:
            self._queue.put(fn)

    def _work(self) -> None:
        # threading.Thread installs the hooks set by threading.settrace and
        # setprofile in each thread it starts; _thread does not, so coverage
        # and profilers would never see a probe body run here. Two None checks
        # when no hook is set.
        trace = threading.gettrace()
        if trace is not None:
            sys.settrace(trace)
        profile = threading.getprofile()
        if profile is not None:
            sys.setprofile(profile)
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            try:
                fn()
            finally:
                with self._lock:
                    self._outstanding -= 1
                    # A thread no job is left for ends now, while the run is
                    # still busy, rather than all of them waking at shutdown.
                    idle = self._threads > self._outstanding
                    if idle:
                        self._threads -= 1
            if idle:
                return

    def shutdown(self) -> None:
        with self._lock:
            count = self._threads
            self._threads = 0
        for _ in range(count):
            self._queue.put(None)
