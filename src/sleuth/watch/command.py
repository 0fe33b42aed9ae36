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
from collections.abc import Sequence
from pathlib import Path

from sleuth.errors import ConfigError, SleuthError
from sleuth.suite.units import parse_duration, parse_positive_int, seconds_in

EXIT_USAGE = 4  # as pytest's usage errors
# When --jitter is not given: each start up to a tenth of the interval late,
# so that agents started together do not probe in step.
DEFAULT_JITTER_SHARE = 0.1


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WatchOptions:
    """``sleuth watch``'s own options, checked."""

    every_s: float
    jitter_s: float
    cycles: int | None
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


def resolve_options(
    *,
    every: str | None,
    jitter: str | None,
    cycles: str | None,
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
) -> int:
    """``sleuth watch``; returns its exit code (4 and one line for a bad option)."""
    import sys

    from sleuth.history.recorder import display_store
    from sleuth.watch.loop import run_watch

    cwd = Path.cwd()
    try:
        options = resolve_options(
            every=every,
            jitter=jitter,
            cycles=cycles,
            history=history,
            agent=agent,
            cwd=cwd,
        )
    except SleuthError as exc:
        sys.stderr.write(f"sleuth watch: {exc}\n")
        return EXIT_USAGE
    store = display_store(options.history_url)
    interval = f"every {options.every_s:g}s" if options.every_s else "back to back"
    sys.stdout.write(
        f"sleuth watch: {interval} (jitter up to {options.jitter_s:g}s), "
        f"agent {options.agent}, history {store}; Ctrl-C ends after the cycle\n"
    )
    sys.stdout.flush()
    return run_watch(
        pytest_args,
        every_s=options.every_s,
        jitter_s=options.jitter_s,
        agent=options.agent,
        history_url=options.history_url,
        cycles=options.cycles,
        verbose=verbose,
        cwd=cwd,
        # on_start: where --serve ADDR will start the status page
        # (sleuth.web.server.start_in_thread(address, history_url=...)).
    )
