"""An HTTP worker process for in-process pytester runs.

``sleuth run`` forks its worker before pytest starts; this test process has
threads by then, so the tests start one with ``subprocess`` instead and hand it
to ``http_worker.adopt``: the same ``worker_main``, the same run-side client.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator

from sleuth.probes import http_worker


class SpawnedWorker:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.claimed = False

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def spawned_worker() -> Iterator[SpawnedWorker]:
    """A worker adopted by this process until the block ends; then it is gone."""
    ours, theirs = socket.socketpair()
    code = (
        "import socket, sleuth.probes.http_worker as w; "
        f"w.worker_main(socket.socket(fileno={theirs.fileno()}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], pass_fds=[theirs.fileno()], close_fds=True
    )
    theirs.close()
    http_worker.adopt(ours, process.pid)
    worker = SpawnedWorker(process)
    try:
        yield worker
    finally:
        worker.claimed = http_worker.forget()
        ours.close()
        process.wait(timeout=10)
