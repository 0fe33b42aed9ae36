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

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def line(self) -> str:
        """``cycle 3 10:01:02: 12 passed, 1 failed in 0.84s (run 41)``."""
        clock = self.started_at.astimezone().strftime("%H:%M:%S")
        order = ("passed", "warned", "flaky", "failed", "error", "blocked", "skipped")
        counts = [f"{self.counts[k]} {k}" for k in order if self.counts.get(k)]
        if self.killed:
            what = "killed before it ended"
        elif self.document is None:
            what = f"no run (exit {self.exit_code})"
        else:
            what = ", ".join(counts) or "nothing ran"
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
        self.killed = False

    def wait(self) -> int:
        # No timeout: the run's probes have theirs (and --budget bounds the
        # run); a second signal kills it, which ends this wait.
        return self.process.wait()

    def kill(self) -> None:
        """End the cycle now: SIGKILL to its process group. Nothing is half
        written: the history stores a run in one transaction, and the JSON
        document is written whole or not at all."""
        self.killed = True
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
    started: list[Child],
) -> CycleResult:
    """Run one cycle to its end; ``started`` receives the child while it runs
    (so that a signal handler can kill it)."""
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
                exit_code = child.wait()
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
    )


def _read_document(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None
