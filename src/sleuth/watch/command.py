"""``sleuth watch``: the command's options into ``run_watch``, errors as one line.

The store and the agent are resolved once, here, as ``sleuth history`` finds
them (``--history``, SLEUTH_HISTORY, the suite's ``history:``, the default
SQLite file; ``--agent``, SLEUTH_AGENT, ``history: agent:``, the host name),
and handed to every cycle explicitly: every cycle of one watch goes to one
store under one agent, and callers (the status page) know which.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sleuth.errors import ConfigError, SleuthError
from sleuth.suite.discovery import option_value
from sleuth.suite.units import parse_duration, parse_positive_int, seconds_in
from sleuth.watch.loop import DEFAULT_CYCLE_TIMEOUT_S

# How the cycles' pytest arguments may name the target (`sleuth run`'s short
# form, or pytest's own option).
TARGET_OPTIONS = ("--target", "--sleuth-target")

if TYPE_CHECKING:
    from sleuth.watch.alerts import Alerter
    from sleuth.watch.cycle import CycleResult
    from sleuth.web.server import RunningServer

EXIT_USAGE = 4  # as pytest's usage errors
# When --jitter is not given: each start up to a tenth of the interval late,
# so that agents started together do not probe in step.
DEFAULT_JITTER_SHARE = 0.1
# A cycle run with --budget B may take B and this much more (start-up,
# collection, the history's write) before it counts as hung.
CYCLE_GRACE_S = 60.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WatchOptions:
    """``sleuth watch``'s own options, checked."""

    every_s: float
    jitter_s: float
    cycles: int | None
    cycle_timeout_s: float
    history_url: str | None  # None: the history is off
    agent: str


def parse_every(value: str | None) -> float:
    """``30s``, ``1m``, ``500ms``; ``0`` for back to back.

    Raises:
        ConfigError: naming --every and an example.
    """
    if value is None:
        raise ConfigError(
            "sleuth watch needs an interval: --every 30s (or 0 for back to back)"
        )
    if value.strip() in ("0", "0s"):
        return 0.0
    return parse_duration(value, where="--every", what="interval")


def parse_jitter(value: str | None, *, every_s: float) -> float:
    """``--jitter 5s`` (``0`` for none); default a tenth of the interval."""
    if value is None:
        return every_s * DEFAULT_JITTER_SHARE
    seconds = seconds_in(value, bare="s")
    if seconds is None or seconds < 0 or seconds != seconds:
        raise ConfigError(
            f"invalid jitter {value!r}: expected seconds, e.g. 0, 2s or 500ms",
            where="--jitter",
        )
    return seconds


def parse_cycle_timeout(
    value: str | None, *, pytest_args: Sequence[str], environ: Mapping[str, str]
) -> float:
    """``--cycle-timeout 5m``; default the cycles' budget and a minute, or
    10 minutes when they have none.

    Raises:
        ConfigError: naming --cycle-timeout and an example.
    """
    if value is not None:
        return parse_duration(value, where="--cycle-timeout", what="cycle time-out")
    budget = option_value(pytest_args, "--budget", "--sleuth-budget") or environ.get(
        "SLEUTH_BUDGET"
    )
    seconds = seconds_in(budget, bare="s") if budget else None
    if seconds is None or not seconds > 0:  # a bad one is the cycle's to say
        return DEFAULT_CYCLE_TIMEOUT_S
    return seconds + CYCLE_GRACE_S


def resolve_options(
    *,
    every: str | None,
    jitter: str | None,
    cycles: str | None,
    cycle_timeout: str | None = None,
    pytest_args: Sequence[str] = (),
    history: str | None,
    agent: str | None,
    cwd: Path,
) -> WatchOptions:
    """The watch's options, the store and the agent resolved once.

    Raises:
        ConfigError: a bad value, naming the option (or file:line) it came from.
    """
    from sleuth.history.options import resolve_history
    from sleuth.suite.config import empty_suite_config, load_suite_config
    from sleuth.suite.discovery import find_suite_config

    every_s = parse_every(every)
    jitter_s = parse_jitter(jitter, every_s=every_s)
    count = (
        parse_positive_int(cycles, where="--cycles", what="number of cycles")
        if cycles is not None
        else None
    )
    timeout_s = parse_cycle_timeout(
        cycle_timeout, pytest_args=pytest_args, environ=os.environ
    )
    config_path = find_suite_config(cwd)
    suite = (
        load_suite_config(config_path, only=("history",))
        if config_path
        else empty_suite_config(cwd)
    )
    options = resolve_history(
        suite, cli={"history": history, "agent": agent}, environ=os.environ, cwd=cwd
    )
    return WatchOptions(
        every_s=every_s,
        jitter_s=jitter_s,
        cycles=count,
        cycle_timeout_s=timeout_s,
        history_url=options.url,
        agent=options.agent,
    )


def watch_command(
    pytest_args: Sequence[str],
    *,
    every: str | None,
    jitter: str | None,
    cycles: str | None,
    history: str | None,
    agent: str | None,
    verbose: bool,
    serve: str | None = None,
    auth: str | None = None,
    cycle_timeout: str | None = None,
) -> int:
    """``sleuth watch``; returns its exit code (4 and one line for a bad option)."""
    import sys

    from sleuth.history.recorder import display_store
    from sleuth.watch.loop import run_watch

    cwd = Path.cwd()
    alerter: Alerter | None = None
    server: RunningServer | None = None
    try:
        options = resolve_options(
            every=every,
            jitter=jitter,
            cycles=cycles,
            cycle_timeout=cycle_timeout,
            pytest_args=pytest_args,
            history=history,
            agent=agent,
            cwd=cwd,
        )
        alerter = make_alerter(cwd, target=option_value(pytest_args, *TARGET_OPTIONS))
        if alerter is not None and options.history_url is None:
            raise ConfigError("alerts: need the history (not --no-history)")
        if serve is not None:
            server = start_page(serve, auth=auth, history_url=options.history_url)
    except SleuthError as exc:
        if alerter is not None:
            alerter.close(timeout_s=0)
        sys.stderr.write(f"sleuth watch: {exc}\n")
        return EXIT_USAGE
    store = display_store(options.history_url)
    interval = f"every {options.every_s:g}s" if options.every_s else "back to back"
    sys.stdout.write(
        f"sleuth watch: {interval} (jitter up to {options.jitter_s:g}s), "
        f"agent {options.agent}, history {store}; Ctrl-C ends after the cycle\n"
    )
    if server is not None:
        sys.stdout.write(f"sleuth watch: status page at {server.url}\n")
    sys.stdout.flush()
    try:
        return run_watch(
            pytest_args,
            every_s=options.every_s,
            jitter_s=options.jitter_s,
            agent=options.agent,
            history_url=options.history_url,
            cycles=options.cycles,
            cycle_timeout_s=options.cycle_timeout_s,
            verbose=verbose,
            cwd=cwd,
            after_cycle=(
                alert_after(alerter, options.history_url)
                if alerter is not None and options.history_url is not None
                else None
            ),
        )
    finally:
        if server is not None:
            server.stop()
        if alerter is not None:
            alerter.close()


def make_alerter(cwd: Path, *, target: str | None) -> Alerter | None:
    """The suite's ``alerts:``, or None when it has none.

    Built before the first cycle, so a mistake in ``alerts:`` stops the watch
    at once (exit 4) rather than after a cycle.
    """
    from sleuth.suite.config import load_suite_config
    from sleuth.suite.discovery import find_suite_config
    from sleuth.watch.alerts import Alerter

    path = find_suite_config(cwd)
    if path is None:
        return None
    return Alerter.from_suite(load_suite_config(path), target=target)


def alert_after(alerter: Alerter, history_url: str) -> Callable[[CycleResult], None]:
    """The watch's ``after_cycle``: the alerts the cycle's stored run calls for."""

    def after_cycle(result: CycleResult) -> None:
        from sleuth.history.store import HistoryStore

        if result.run_id is None or result.target is None:
            return  # nothing stored: nothing to judge
        store = HistoryStore.open_current(history_url)
        if store is None:
            return
        try:
            alerter.after_cycle(store, target=result.target, agent=result.agent or "")
        finally:
            store.close()

    return after_cycle


def start_page(
    address: str, *, auth: str | None, history_url: str | None
) -> RunningServer:
    """``--serve ADDR``: the status page on the watch's own store, from a thread.

    The store is made now if it is new, so the page answers (with no runs
    yet) from the start rather than after the first cycle.
    """
    from sleuth.history.store import HistoryStore
    from sleuth.web.auth import parse_auth
    from sleuth.web.server import start_in_thread

    if history_url is None:
        raise ConfigError("--serve needs the history (not --no-history)")
    parsed = parse_auth(auth) if auth is not None else None
    HistoryStore.open(history_url).close()
    return start_in_thread(address, history_url=history_url, auth=parsed)
