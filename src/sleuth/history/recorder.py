"""A run's link to its history: read under each failure, written when it ends.

The history never changes a run's result. The first thing that goes wrong
(no driver, a server that is down, a read-only disk, a store from a newer
sleuth) turns it off for the rest of the run and leaves one sentence for the
summary; nothing is raised.

A thread asks git for the suite's revision and opens an existing SQLite store
as soon as the run is configured: by the time a probe fails or the run ends,
both are usually ready. That thread imports nothing (CPython 3.11 can fail an
import that two threads make for the first time at once: seen in CI as
``KeyError: 'encodings.unicode_escape'`` in pytest's collection). A store that
needs SQLAlchemy (PostgreSQL, a new or older SQLite store: about 200 ms to
import) is opened on the main thread when it is first needed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sleuth import _timing as timing
from sleuth._evidence import RunRecord
from sleuth.history.model import FAILING, PASSING
from sleuth.history.options import HistoryOptions, mask_url
from sleuth.history.timeline import ago, clock_time, failure_line, runs_text

if TYPE_CHECKING:
    from sleuth.history.diff import RunDiff
    from sleuth.history.store import HistoryStore

GIT_TIMEOUT_S = 2.0
# The terminal lists at most this many entries of each kind of change.
CHANGES_SHOWN = 10


class RunHistory:
    """The history of one run's target, as the run sees it."""

    def __init__(
        self,
        options: HistoryOptions,
        *,
        target: str,
        root: Path,
        warm_up: bool = True,
    ) -> None:
        self.options = options
        self.target = target
        self.root = root
        self.run_id: int | None = None
        self.kept_runs = 0  # runs of this target in the store, this one included
        self.changes: RunDiff | None = None  # since the last run where all passed
        self.problem: str | None = None
        self._store: HistoryStore | None = None
        self._lines: dict[str, str | None] = {}
        self._earlier_runs: int | None = None  # of this target, before this run
        self._git: str | None = None
        self._open_error: Exception | None = None
        self._warmed = False
        self._warm = threading.Thread(
            target=self._warm_up, name="sleuth-history-warm-up", daemon=True
        )
        # Decided here, once: the thread must not import what this did not.
        self._open_early = options.url is not None and _is_existing_sqlite(options.url)
        if warm_up:
            if self._open_early:
                _import_what_the_warm_up_needs()
            self._warm.start()

    def _warm_up(self) -> None:
        with contextlib.suppress(Exception):
            self._git = git_revision(self.root)
        if not self._open_early or self.options.url is None:
            return
        from sleuth.history.store import HistoryStore  # imported by __init__

        try:
            self._store = HistoryStore.open_current(self.options.url)
        except Exception as exc:  # reported by the main thread, once
            self._open_error = exc

    def close(self) -> None:
        if self._warm.ident is not None:
            self._warm.join()
        store, self._store = self._store, None
        if store is not None:
            # Closing SQLite checkpoints its WAL into the file (~15 ms of disk
            # writes): on a thread the interpreter waits for before it exits,
            # while pytest finishes its own work.
            threading.Thread(target=store.close, name="sleuth-history-close").start()

    def header_line(self) -> str:
        """``sleuth: history .sleuth/history.db (default); keeping ...; agent vm``."""
        o = self.options
        agent = (
            o.agent
            if o.agent_origin == "host name"
            else f"{o.agent} ({o.agent_origin})"
        )
        return (
            f"sleuth: history {display_store(o.url)} ({o.origin}); keeping "
            f"{o.keep.describe()} per target; agent {agent}"
        )

    # -- during the run ---------------------------------------------------------

    def failure_line(self, probe_id: str) -> str | None:
        """``last passed: run 41, 07:55 (10 min ago); failing since run 42, 08:05``."""
        if probe_id in self._lines:
            return self._lines[probe_id]
        line = None
        store = self._open()
        if store is not None:
            with self._guard("read"):
                target = self.target
                if self._earlier_runs is None:
                    self._earlier_runs = store.count_runs(target=target)
                # Runs of a subset that left this probe out say nothing of it.
                ran_it = store.count_probe_runs(probe_id, target=target)
                last_pass = store.probe_point(probe_id, target=target, outcomes=PASSING)
                first_failure = store.probe_point(
                    probe_id,
                    target=target,
                    outcomes=FAILING,
                    after=last_pass.run_id if last_pass else None,
                    newest=False,
                )
                line = failure_line(
                    last_pass=last_pass,
                    first_failure=first_failure,
                    ran_it=ran_it,
                    kept_runs=self._earlier_runs,
                    now=timing.utcnow(),
                )
        self._lines[probe_id] = line
        return line

    # -- at the end ---------------------------------------------------------------

    def record(self, record: RunRecord) -> None:
        """Store the run, prune past the retention, compare with the last green run."""
        if not record.probes:
            return  # nothing ran: nothing to remember
        store = self._open()
        if store is None:
            return
        with self._guard("written"):
            self.run_id = store.write_run(
                record,
                agent=self.options.agent,
                git_revision=self._git,
                keep=self.options.keep,
            )
        if self.problem is None:
            self._compare(store)

    def _compare(self, store: HistoryStore) -> None:
        if self.run_id is None:
            return
        with self._guard("read"):
            from sleuth.history.diff import diff_runs

            self.kept_runs = store.count_runs(target=self.target)
            green = store.baseline_run_id(self.run_id, target=self.target)
            if green is not None:
                before, now = store.snapshot(green), store.snapshot(self.run_id)
                if before is not None and now is not None:
                    self.changes = diff_runs(before, now)

    def summary_lines(self) -> list[str]:
        """What the terminal says about the history: where, and what changed."""
        if self.problem is not None:
            return [self.problem]
        if self.run_id is None:
            return []
        lines = [
            f"history: run {self.run_id} recorded in {display_store(self.options.url)}"
            f" ({runs_text(self.kept_runs)} of {self.target} kept; keeping "
            f"{self.options.keep.describe()})"
        ]
        if self.changes is None:
            lines.append("no earlier run in which everything passed, to compare with")
            return lines
        a = self.changes.a
        now = timing.utcnow()
        head = (
            f"since the last run in which everything passed (run {a.id}, "
            f"{clock_time(a.started_at, now)}, {ago(a.started_at, now)})"
        )
        body = self.changes.render(indent="  ", most=CHANGES_SHOWN)
        if not body:
            lines.append(f"{head}: no probe or setting changed")
        else:
            lines.append(f"{head}:")
            lines.extend(f"  {line}" for line in body)
        return lines

    # -- plumbing -----------------------------------------------------------------

    def _open(self) -> HistoryStore | None:
        if self.problem is not None or self.options.url is None:
            return None
        self._join_warm_up()
        if self._store is None:
            with self._guard("opened"):
                if self._open_error is not None:
                    raise self._open_error
                from sleuth.history.store import HistoryStore

                self._store = HistoryStore.open(self.options.url)
        return self._store

    def _join_warm_up(self) -> None:
        if self._warm.ident is not None:
            self._warm.join()
        elif not self._warmed:  # no warm-up thread: do its work here
            self._warmed = True
            self._git = git_revision(self.root)

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if self.problem is None:
                recorded = (
                    f"run {self.run_id} is recorded but not compared"
                    if self.run_id is not None
                    else "this run is not recorded"
                )
                self.problem = (
                    f"history: the store {display_store(self.options.url)} could not "
                    f"be {action} ({describe_error(exc, self.options.url)}); "
                    f"{recorded}. Its result is unaffected; --no-history turns the "
                    f"history off."
                )


def _import_what_the_warm_up_needs() -> None:
    """Import on the main thread everything the warm-up thread will use."""
    import sqlite3  # noqa: F401

    from sleuth.history import store  # noqa: F401


def _is_existing_sqlite(url: str) -> bool:
    return (
        url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///")).exists()
    )


def describe_error(exc: BaseException, url: str | None) -> str:
    """The driver's own words, on one line, without the store's password."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    text = f"{type(cause).__name__}: {text}" if text else type(cause).__name__
    if url:
        from urllib.parse import urlsplit

        with contextlib.suppress(ValueError):
            password = urlsplit(url).password
            if password:
                text = text.replace(password, "***")
    return text


def display_store(url: str | None) -> str:
    """A SQLite store as a path (relative when under the working directory)."""
    if url is None:
        return "(off)"
    if url.startswith("sqlite:///") and "?" not in url:
        path = Path(url[len("sqlite:///") :])
        with contextlib.suppress(ValueError):
            return str(path.relative_to(Path.cwd()))
        return str(path)
    return mask_url(url.replace("postgresql+psycopg://", "postgresql://", 1))


def git_revision(root: Path) -> str | None:
    """The commit the suite is at, when it is in a git work tree."""
    if not any((d / ".git").exists() for d in (root, *root.parents)):
        return None  # not in a work tree: no need to start git to hear so
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],  # noqa: S607 (git from PATH, as a user runs it)
            cwd=root,
            capture_output=True,  # bytes: decoding by the locale may load a codec
            timeout=GIT_TIMEOUT_S,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = done.stdout.decode("utf-8", "replace").strip()
    return revision if done.returncode == 0 and revision else None
