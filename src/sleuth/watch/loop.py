"""The watch: a cycle every interval (with jitter), never two at once, until a
signal or the number of cycles asked for.

Ctrl-C or SIGTERM lets the running cycle finish (its run is stored), then the
watch ends; a second signal kills the cycle's process group at once. A cycle
that takes longer than the interval is marked ``overran`` and the next one
starts as soon as it ends: late, never on top of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from sleuth import _timing as timing
from sleuth.reports.mdtext import counted
from sleuth.watch.cycle import Child, CycleResult, run_cycle

log = logging.getLogger("sleuth.watch")

# How often a wait between cycles looks whether a signal asked it to stop.
POLL_S = 0.1
# A first cycle ending with these stops the watch: the suite cannot run as
# asked (3 internal error, 4 usage error, 5 nothing collected), and would not
# the next time either.
FATAL_FIRST_EXITS = frozenset({3, 4, 5})
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# A cycle still running after this long is killed (``--cycle-timeout``).
DEFAULT_CYCLE_TIMEOUT_S = 600.0


class _Stopper:
    """The signals' state: the first asks the watch to stop after the cycle,
    the second kills the running cycle."""

    def __init__(self) -> None:
        self.signals = 0
        self.last: int | None = None
        self.running: list[Child] = []

    @property
    def asked(self) -> bool:
        return self.signals > 0

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signals += 1
        self.last = signum
        if self.signals == 1:
            _note("sleuth watch: ending after this cycle (again to end now)")
        else:
            _note("sleuth watch: ending now")
            for child in list(self.running):
                child.kill()


def _note(text: str) -> None:
    # From a signal handler: straight to the file descriptor, never through a
    # buffered stream the interrupted code may be in the middle of writing.
    with contextlib.suppress(OSError):
        os.write(2, (text + "\n").encode())


def run_watch(
    pytest_args: Sequence[str],
    *,
    every_s: float,
    jitter_s: float = 0.0,
    agent: str | None = None,
    history_url: str | None = None,
    cycles: int | None = None,
    cycle_timeout_s: float = DEFAULT_CYCLE_TIMEOUT_S,
    verbose: bool = False,
    cwd: Path | None = None,
    out: TextIO | None = None,
    after_cycle: Callable[[CycleResult], None] | None = None,
    on_start: Callable[[], None] | None = None,
    rng: random.Random | None = None,
) -> int:
    """Run the suite every ``every_s`` seconds (each start up to ``jitter_s``
    later, at random) until a signal, or ``cycles`` cycles; returns an exit code.

    Each cycle is ``python -m sleuth run PYTEST_ARGS`` in ``cwd``, recorded in
    ``history_url`` (None: the suite's own, as ``sleuth history`` finds it)
    under ``agent`` (None: as the run resolves it); a cycle running longer
    than ``cycle_timeout_s`` is killed, said, and the next one runs.
    ``after_cycle`` gets each finished cycle; what it raises is logged and the
    watch goes on.
    ``on_start`` runs once before the first cycle (where ``--serve`` starts the
    status page). ``out`` receives one line per cycle (default: stdout), and
    the child's own output too when ``verbose``.

    Exit codes: 0 stopped by a signal or after ``cycles``; the first cycle's
    3, 4 or 5 when the suite cannot run at all; 128 + the signal's number when
    a second signal ended the watch at once.
    """
    out = out or sys.stdout
    cwd = cwd or Path.cwd()
    rng = rng or random.Random()  # noqa: S311 (a spread of start times, no secret)
    stopper = _Stopper()
    restore = _install(stopper)
    try:
        if on_start is not None:
            on_start()
        number = 0
        while cycles is None or number < cycles:
            if stopper.asked:
                break
            number += 1
            cycle_start = timing.monotonic()
            result = run_cycle(
                number,
                pytest_args,
                cwd=cwd,
                history_url=history_url,
                agent=agent,
                every_s=every_s,
                timeout_s=cycle_timeout_s,
                started=stopper.running,
            )
            _say(out, result, verbose=verbose)
            if after_cycle is not None:
                try:
                    after_cycle(result)
                except Exception:  # a hook's trouble never stops the watch
                    log.exception("after_cycle failed on cycle %d", number)
                    _write(out, f"cycle {number}: after-cycle hook failed (logged)")
            if result.killed:
                return 128 + (stopper.last or signal.SIGTERM)
            if number == 1 and result.exit_code in FATAL_FIRST_EXITS:
                if not verbose:
                    _write(out, result.output.rstrip())
                _write(out, f"sleuth watch: the suite cannot run (exit "
                            f"{result.exit_code}); stopping")  # fmt: skip
                return result.exit_code
            if cycles is not None and number >= cycles:
                break
            jitter = rng.uniform(0.0, jitter_s) if jitter_s > 0 else 0.0
            _sleep_until(cycle_start + every_s + jitter, stopper)
        if stopper.asked:
            _write(out, f"sleuth watch: stopped after {counted(number, 'cycle')}")
        return 0
    finally:
        restore()


def _sleep_until(deadline: float, stopper: _Stopper) -> None:
    # Bounded: at most (deadline - now) / POLL_S steps.
    while not stopper.asked:
        left = deadline - timing.monotonic()
        if left <= 0:
            return
        timing.sleep(min(left, POLL_S))


def _install(stopper: _Stopper) -> Callable[[], None]:
    """The stop signals' handlers, and how to put back the ones before.

    Only the main thread may set handlers: run from another thread (a test,
    an embedding app), the watch is stopped by ``cycles`` alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = {s: signal.signal(s, stopper.handle) for s in STOP_SIGNALS}

    def restore() -> None:
        for signum, handler in before.items():
            signal.signal(signum, handler)

    return restore


def _say(out: TextIO, result: CycleResult, *, verbose: bool) -> None:
    if verbose and result.output:
        _write(out, result.output.rstrip())
    _write(out, result.line())


def _write(out: TextIO, text: str) -> None:
    out.write(text + "\n")
    out.flush()
