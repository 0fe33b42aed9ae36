"""HTTP worker processes for in-process pytester runs.

``started_worker`` starts one as ``sleuth run`` does (``http_worker.start``);
``spawned_worker`` starts one with code of the test's own run first (to break
it on purpose). Either is handed to an in-process run as ``sleuth run`` hands
it to pytest, as a plugin object: ``pytester.runpytest(plugins=[worker.handle])``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import subprocess
import sys
from collections.abc import Iterator

from sleuth.http import worker as http_worker
from tests.required import skip_unless_required

READY_WAIT_S = 30.0


class Worker:
    def __init__(self, handle: http_worker.WorkerHandle) -> None:
        self.handle = handle
        self.pid = handle.pid

    @property
    def claimed(self) -> bool:
        return self.handle.claimed


@contextlib.contextmanager
def started_worker() -> Iterator[Worker]:
    """The worker ``sleuth run`` would start, this process's until the block ends."""
    if http_worker._cores() < 2:
        # CI has two cores: there a skip would quietly drop the worker
        # variant of every HTTP test.
        skip_unless_required("one core: sleuth runs without an HTTP worker here")
    handle = http_worker.start({})
    assert handle is not None, "no worker could be started here"
    # Until its first message (``ready``) can be read, not read here: `sleuth
    # run` starts its worker before pytest starts, which gives it that long to
    # come up, while an in-process run reaches its first request at once, and
    # on a loaded machine the probes' deadlines would count the worker's
    # imports.
    select.select([handle.sock], [], [], READY_WAIT_S)
    try:
        yield Worker(handle)
    finally:
        handle.stop(grace_s=10.0)  # reaped: a run closed it, or it read the end


@contextlib.contextmanager
def spawned_worker(prelude: str) -> Iterator[Worker]:
    """A worker that runs ``prelude`` first, adopted until the block ends."""
    ours, theirs = socket.socketpair()
    code = (
        f"{prelude}\nimport socket, sleuth.http.worker as w\n"
        f"w.worker_main(socket.socket(fileno={theirs.fileno()}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], pass_fds=[theirs.fileno()], close_fds=True
    )
    theirs.close()
    try:
        yield Worker(http_worker.WorkerHandle(ours, process.pid))
    finally:
        ours.close()
        process.wait(timeout=10)
