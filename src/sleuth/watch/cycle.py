"""One cycle of a watch: one ``sleuth run`` in a fresh process, and what it did.

A fresh process per cycle, not one pytest session reused: whatever a cycle's
probes import, start or leak (threads, connections, module state) ends with its
process, so the watch stays the same size however long it runs. The child writes
its run's JSON document; the document's ``history`` says the run's id in the store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from sleuth import _timing as timing
from sleuth.reports.mdtext import in_outcome_order, outcome_counts

# How long a child killed by a second signal may take to go (it cannot refuse
# SIGKILL; this bounds the wait for the kernel to reap it).
KILL_WAIT_S = 10.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CycleResult:
    """One finished cycle, as the watch's output and ``after_cycle`` see it."""

    cycle: int  # 1, 2, 3, ...
    run_id: int | None  # the run's id in the history; None when not recorded
    target: str | None  # the run's target; None when nothing ran
    agent: str | None  # the agent the run was recorded under
    history_url: str | None = dataclasses.field(repr=False)  # may hold a password
    exit_code: int  # the child's: 0 all passed, 1 failures, 4 usage, ...
    duration_s: float  # the cycle's wall time, start of the process to its end
    overran: bool  # took longer than the interval: the next cycle started late
    started_at: dt.datetime  # UTC
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)
    # The run's JSON document (scrubbed, schema sleuth.run/1); None when the
    # child wrote none (a usage error, a crash, killed).
    document: Mapping[str, Any] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )
    output: str = dataclasses.field(default="", repr=False, compare=False)
    killed: bool = False  # ended by the watch's second signal
    # Killed by the watch for running past --cycle-timeout (None: it ended by
    # itself): a suite hung outside its probes' deadlines stores nothing.
    hung_after_s: float | None = None

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def line(self) -> str:
        """``cycle 3 10:01:02: 12 passed, 1 failed in 0.84s (run 41)``."""
        clock = self.started_at.astimezone().strftime("%H:%M:%S")
        if self.killed:
            what = "killed before it ended"
        elif self.hung_after_s is not None:
            return (
                f"cycle {self.cycle} {clock}: hung, killed after "
                f"{self.hung_after_s:g}s (--cycle-timeout); no run stored"
            )
        elif self.document is None:
            what = f"no run (exit {self.exit_code})"
        else:
            what = outcome_counts(in_outcome_order(self.counts)) or "nothing ran"
        text = f"cycle {self.cycle} {clock}: {what} in {self.duration_s:.2f}s"
        if self.run_id is not None:
            text += f" (run {self.run_id})"
        if self.overran:
            text += "; overran its interval"
        return text


def child_command(
    pytest_args: Sequence[str],
    *,
    json_path: Path,
    history_url: str | None,
    agent: str | None,
) -> list[str]:
    """``python -m sleuth run ARGS --history URL --agent NAME --sleuth-json PATH``."""
    command = [sys.executable, "-m", "sleuth", "run", *pytest_args]
    if history_url is not None:
        command += ["--history", history_url]
    if agent is not None:
        command += ["--agent", agent]
    return [*command, "--sleuth-json", str(json_path)]  # last: the watch's own


class Child:
    """The running cycle's process, in a process group of its own.

    Its own group (and session) so that the terminal's Ctrl-C reaches only the
    watch, which lets the cycle finish; ``kill`` ends the whole group at once.
    """

    def __init__(self, command: Sequence[str], *, cwd: Path, output: IO[bytes]):
        # This interpreter, sleuth, and the person's own arguments: no shell.
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.killed = False  # by the watch's second signal
        self.hung = False  # by the cycle's own time-out

    def wait(self, timeout_s: float) -> int:
        """The child's exit code; past ``timeout_s`` its group is killed.

        The probes have their own deadlines and --budget bounds them, but not
        the suite's own code around them (a conftest that connects without a
        time-out, a fixture that never returns): without this, one hung cycle
        would stop the watch, and its page would go on showing the last run.
        A second signal kills the child too, which ends this wait.
        """
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.hung = True
            self._kill_group()
            return self.process.wait(timeout=KILL_WAIT_S)

    def kill(self) -> None:
        """End the cycle now (the watch's second signal)."""
        self.killed = True
        self._kill_group()

    def _kill_group(self) -> None:
        # SIGKILL to the process group: nothing is half written, as the
        # history stores a run in one transaction and the JSON document is
        # written whole or not at all.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def run_cycle(
    number: int,
    pytest_args: Sequence[str],
    *,
    cwd: Path,
    history_url: str | None,
    agent: str | None,
    every_s: float,
    timeout_s: float,
    started: list[Child],
) -> CycleResult:
    """Run one cycle to its end, or kill it after ``timeout_s``; ``started``
    receives the child while it runs (so that a signal handler can kill it)."""
    with tempfile.TemporaryDirectory(prefix="sleuth-watch-") as scratch:
        json_path = Path(scratch, "run.json")
        command = child_command(
            pytest_args, json_path=json_path, history_url=history_url, agent=agent
        )
        started_at = timing.utcnow()
        start = timing.monotonic()
        with open(Path(scratch, "output"), "w+b") as output:
            child = Child(command, cwd=cwd, output=output)
            started.append(child)
            try:
                exit_code = child.wait(timeout_s)
            finally:
                started.remove(child)
            duration_s = timing.monotonic() - start
            output.seek(0)
            text = output.read().decode("utf-8", "replace")
        document = _read_document(json_path)
    history = (document or {}).get("history") or {}
    run = (document or {}).get("run") or {}
    return CycleResult(
        cycle=number,
        run_id=history.get("run_id"),
        target=run.get("target"),
        agent=history.get("agent", agent),
        history_url=history_url,
        exit_code=exit_code,
        duration_s=duration_s,
        overran=every_s > 0 and duration_s > every_s,
        started_at=started_at,
        counts=dict(run.get("counts") or {}),
        document=document,
        output=text,
        killed=child.killed,
        hung_after_s=timeout_s if child.hung and not child.killed else None,
    )


def _read_document(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None
