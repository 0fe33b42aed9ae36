"""Run one command as a whole and measure it: wall, CPU (user + sys), peak RSS.

The command runs in a subprocess of its own session. ``os.wait4`` gives the
resource usage of that child and of the descendants it waited for (xdist's
workers, for one), so CPU time is the whole command's. Peak RSS is the largest
single process's high-water mark (Linux reports ``ru_maxrss`` in KiB); for a
command made of several processes, ``tree_rss_mb`` samples the sum over the
process tree instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_TIMEOUT_S = 180.0
# A one-minute load average from here on two cores: other work had one of
# them, on average, and the figures beside it are slower than the host's.
BUSY_LOAD = 1.0


def load_text(load: Sequence[float]) -> str:
    """``1.24, 0.83, 0.69 (other work shared these cores)``: a load average,
    and what it says of the figures measured beside it."""
    numbers = ", ".join(f"{x:.2f}" for x in load)
    if load[0] >= BUSY_LOAD:
        return f"{numbers} (other work shared these cores)"
    return f"{numbers} (the machine otherwise idle)"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One run of one command."""

    wall_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    returncode: int
    output: str
    timed_out: bool = False
    tree_rss_mb: float | None = None

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


class CommandFailed(RuntimeError):
    """A measured command did not do what the scenario expects."""


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    sample_tree: bool = False,
) -> Measurement:
    """Run ``argv`` to its end (or kill it at ``timeout_s``) and measure it."""
    with open(os.devnull, "rb") as stdin, _TempOutput() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=stdin,
            stdout=out.file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        sampler = _TreeSampler(proc.pid) if sample_tree else None
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            if sampler is not None:
                sampler.stop()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        # Leftovers of a killed command (xdist workers) go with it.
        if killed.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        return Measurement(
            wall_s=wall,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024,
            returncode=proc.returncode,
            output=out.read(),
            timed_out=killed.is_set(),
            tree_rss_mb=sampler.peak_mb if sampler is not None else None,
        )


class _TempOutput:
    """The command's output in a temporary file: a pipe could fill and block it."""

    def __enter__(self) -> _TempOutput:
        import tempfile

        self.file = tempfile.TemporaryFile()
        return self

    def read(self) -> str:
        self.file.seek(0)
        return self.file.read().decode("utf-8", errors="replace")

    def __exit__(self, *exc: object) -> None:
        self.file.close()


class _TreeSampler:
    """The peak of the summed RSS of a process and its descendants, every 50 ms."""

    INTERVAL_S = 0.05

    def __init__(self, root: int) -> None:
        self._root = root
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.INTERVAL_S):
            total_kb = sum(_rss_kb(pid) for pid in _tree(self._root))
            self.peak_mb = max(self.peak_mb, total_kb / 1024)


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
