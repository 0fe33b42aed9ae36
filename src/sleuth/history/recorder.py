"""A run's link to its history: read under each failure, written when it ends.

The history never changes a run's result. The first thing that goes wrong
(no driver, a server that is down, a read-only disk, a store from a newer
sleuth) turns it off for the rest of the run and leaves one sentence for the
summary; nothing is raised. A shared store that cannot be reached is the one
exception: the run is kept in the agent's local buffer (``buffer.py``) and
written, after every run buffered before it, by the next run that reaches it.

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
from sleuth._localdir import LOCAL_DIR
from sleuth.history.model import FAILING, PASSING
from sleuth.history.options import HistoryOptions, mask_url
from sleuth.history.timeline import ago, clock_time, failure_line, runs_text

if TYPE_CHECKING:
    from sleuth.history.buffer import Flushed, RunBuffer
    from sleuth.history.diff import RunDiff
    from sleuth.history.rows import RunRows
    from sleuth.history.store import HistoryStore

GIT_TIMEOUT_S = 2.0
# The terminal lists at most this many entries of each kind of change.
CHANGES_SHOWN = 10
# The thread that closes the store after the run (see close()).
CLOSING_THREAD = "sleuth-history-close"


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
        self._others_green = False  # no baseline of this agent, but of others
        # No baseline, but this agent's latest green run, which left out some
        # of this run's probes (a subset such as ``-k settings``).
        self._green_subset: int | None = None
        self.problem: str | None = None
        self._store: HistoryStore | None = None
        self._lines: dict[str, str | None] = {}
        self._earlier_runs: int | None = None  # of this target, before this run
        self._git: str | None = None
        self._open_error: Exception | None = None
        self._warmed = False
        # A shared store (not SQLite) that could not be reached: why, in a few
        # words; the run then goes to the agent's buffer.
        self._shared = options.url is not None and not options.url.startswith("sqlite")
        self._unreachable: str | None = None
        self._buffer: RunBuffer | None = None
        self._buffered: tuple[int, bool] | None = None  # (runs waiting, keyed)
        self._flushed: Flushed | None = None
        self._flush_problem: str | None = None
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
            threading.Thread(target=store.close, name=CLOSING_THREAD).start()

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
                # This agent's runs only: another place's pass is not this one's.
                target, agent = self.target, self.options.agent
                if self._earlier_runs is None:
                    self._earlier_runs = store.count_runs(target=target, agent=agent)
                # Runs of a subset that left this probe out say nothing of it.
                ran_it = store.count_probe_runs(probe_id, target=target, agent=agent)
                last_pass = store.probe_point(
                    probe_id, target=target, agent=agent, outcomes=PASSING
                )
                first_failure = store.probe_point(
                    probe_id,
                    target=target,
                    agent=agent,
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
            if self._unreachable is not None:
                self._keep_in_buffer(record, run_key=None, rows=None)
            return
        if not self._shared:
            with self._guard("written"):
                self.run_id = store.write_run(
                    record,
                    agent=self.options.agent,
                    git_revision=self._git,
                    keep=self.options.keep,
                )
        else:
            self._write_shared(store, record)
            if self._unreachable is not None:
                return
        if self.problem is None:
            self._compare(store)

    def _write_shared(self, store: HistoryStore, record: RunRecord) -> None:
        from sleuth.history.buffer import run_rows
        from sleuth.history.store import new_run_key

        if self._flush_problem is not None:
            # Runs before this one are still in the buffer: this one waits
            # behind them, so the agent's runs reach the store (and take their
            # ids, which timelines order by) in the order they ran.
            self._keep_in_buffer(record, run_key=None, rows=None)
            return
        run_key = new_run_key()
        rows: RunRows | None = None
        with self._guard("written"):
            rows = run_rows(
                record,
                key=store.key(),
                agent=self.options.agent,
                git_revision=self._git,
                store_url=self._url,
            )
            found = store.write_rows(rows, run_key=run_key, keep=self.options.keep)
            self.run_id = found if found is not None else store.run_id_of(run_key)
        if self._unreachable is not None:
            # The commit may have landed unacknowledged: the same key makes
            # the later flush of this run a no-op if it did.
            self._keep_in_buffer(record, run_key=run_key, rows=rows)

    def _keep_in_buffer(
        self, record: RunRecord, *, run_key: str | None, rows: RunRows | None
    ) -> None:
        """Keep the run in the agent's buffer for the next run to write."""
        from sleuth.history.buffer import key_id, run_rows
        from sleuth.history.store import new_run_key

        buffer = self._run_buffer()
        try:
            if rows is not None and self._store is not None:
                keyed_with: str | None = key_id(self._store.key())
            else:
                key = buffer.known_key()
                rows = run_rows(
                    record,
                    key=key,
                    agent=self.options.agent,
                    git_revision=self._git,
                    store_url=self._url,
                )
                keyed_with = key_id(key) if key is not None else None
            waiting = buffer.add(
                rows, run_key=run_key or new_run_key(), key_id=keyed_with
            )
        except Exception as exc:
            why = (
                f"is unreachable ({self._unreachable})"
                if self._unreachable is not None
                else "could not take the runs kept before this one"
            )
            self.problem = (
                f"history: the store {display_store(self.options.url)} {why} "
                f"and the run could not be kept in {display_path(buffer.path)} either "
                f"({describe_error(exc, self.options.url)}); this run is not "
                f"recorded. Its result is unaffected; --no-history turns the "
                f"history off."
            )
            return
        self._buffered = (waiting, keyed_with is not None or not rows.settings)

    def _compare(self, store: HistoryStore) -> None:
        if self.run_id is None:
            return
        with self._guard("read"):
            from sleuth.history.diff import diff_runs

            self.kept_runs = store.count_runs(target=self.target)
            green = store.baseline_run_id(
                self.run_id, target=self.target, agent=self.options.agent
            )
            if green is None:  # another agent's green run is not compared with
                self._green_subset = store.last_green_run_id(
                    target=self.target, before=self.run_id, agent=self.options.agent
                )
                self._others_green = store.other_agents_passed(
                    target=self.target, agent=self.options.agent
                )
            if green is not None:
                before, now = store.snapshot(green), store.snapshot(self.run_id)
                if before is not None and now is not None:
                    self.changes = diff_runs(before, now)

    def summary_lines(self) -> list[str]:
        """What the terminal says about the history: where, and what changed."""
        lines = self._buffer_lines()
        if self.problem is not None:
            return [*lines, self.problem]
        if self.run_id is None:
            return lines
        lines += [
            f"history: run {self.run_id} recorded in {display_store(self.options.url)}"
            f" ({runs_text(self.kept_runs)} of {self.target} kept; keeping "
            f"{self.options.keep.describe()})"
        ]
        if self.changes is None and self._green_subset is not None:
            # Not "no earlier run in which everything passed": that run is
            # right there, and the engineer may have just watched it pass.
            lines.append(
                "no earlier run in which everything passed ran all of this run's "
                f"probes, to compare with (run {self._green_subset} passed, but ran "
                "only some of them: a subset is never the baseline)"
            )
            return lines
        if self.changes is None:
            lines.append(
                f"no earlier run from agent {self.options.agent} in which everything "
                "passed, to compare with (other agents' runs are not: each place "
                "has its own network and settings)"
                if self._others_green
                else "no earlier run in which everything passed, to compare with"
            )
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
        url = self.options.url
        if self.problem is not None or url is None or self._unreachable is not None:
            return None
        self._join_warm_up()
        if self._store is None:
            with self._guard("opened"):
                if self._open_error is not None:
                    raise self._open_error
                from sleuth.history.store import HistoryStore

                store = HistoryStore.open(url)
                try:
                    if self._shared:
                        self._catch_up(store)
                except BaseException:
                    store.close()
                    raise
                self._store = store
        return self._store

    # -- the agent's buffer -------------------------------------------------------

    @property
    def _url(self) -> str:
        return self.options.url or ""

    def _run_buffer(self) -> RunBuffer:
        if self._buffer is None:
            from sleuth.history.buffer import RunBuffer, buffer_path

            path = buffer_path(self._url, local_dir=self.root / LOCAL_DIR)
            self._buffer = RunBuffer(path)
        return self._buffer

    def _catch_up(self, store: HistoryStore) -> None:
        """Keep the store's key for later buffered runs; write the runs the
        buffer holds, oldest first, before anything of this run.

        Raises:
            Exception: the store's, when it became unreachable meanwhile.
        """
        from sleuth.history.buffer import unreachable_reason

        buffer = self._run_buffer()
        with contextlib.suppress(Exception):  # a read-only disk: no buffer
            buffer.remember_key(store.key())
        try:
            if buffer.count():
                self._flushed = buffer.flush(store)
        except Exception as exc:
            if unreachable_reason(exc) is not None:
                raise
            self._flush_problem = (
                f"history: the runs kept in {display_path(buffer.path)} could not "
                f"be written to {display_store(self.options.url)} "
                f"({describe_error(exc, self.options.url)}); they stay there for "
                f"the next run"
            )

    def _buffer_lines(self) -> list[str]:
        """What the summary says of the buffer: a run kept, runs written."""
        lines: list[str] = []
        store = display_store(self.options.url)
        path = display_path(self._buffer.path) if self._buffer is not None else ""
        if self._flush_problem is not None:
            lines.append(self._flush_problem)
        done = self._flushed
        if done is not None and done.total:
            line = (
                f"history: {runs_text(done.total)} kept in {path} while the store "
                f"was unreachable written to it first"
            )
            if done.already_stored:
                line += f" ({done.already_stored} of them were there already)"
            if done.without_fingerprints:
                line += (
                    f"; {done.without_fingerprints} without setting fingerprints "
                    f"(buffered under another key than the store's)"
                )
            lines.append(line)
        if self._buffered is not None:
            waiting, keyed = self._buffered
            if self._unreachable is not None:
                line = (
                    f"history: {store} unreachable ({self._unreachable}); run kept "
                    f"in {path}, written when the store is back"
                )
            else:
                line = (
                    f"history: run kept in {path} behind the runs that could not "
                    f"be written, so that this agent's runs reach {store} in the "
                    f"order they ran; `sleuth history --flush` tries them again"
                )
            if waiting > 1:
                line += f" ({waiting} runs wait there)"
            lines.append(line)
            if not keyed:
                lines.append(
                    "history: this agent has not reached the store yet, so it "
                    "does not have the store's key for setting fingerprints: the "
                    "kept run is written without them (its settings' values "
                    "cannot be compared)"
                )
        return lines

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
            if self._shared and self.run_id is None and self._unreachable is None:
                from sleuth.history.buffer import unreachable_reason

                self._unreachable = unreachable_reason(exc)
                if self._unreachable is not None:
                    return  # the run goes to the buffer
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


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is under it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


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
