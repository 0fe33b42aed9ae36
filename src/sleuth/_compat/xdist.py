"""pytest-xdist's private names: what a worker has been sent to run.

A worker learns its share piece by piece (``--dist load`` sends chunks as it
goes; ``loadscope``, ``loadfile`` and ``loadgroup`` send whole groups) and
keeps it in its ``WorkerInteractor``: the item it is running, the one after,
and a queue of the rest. xdist offers no hook that says which items a worker
will run, so sleuth reads them there to start those probes at once.
"""

from __future__ import annotations

from typing import Any

# xdist.remote.WorkerInteractor: the worker's plugin object, and its fields.
INTERACTOR = "WorkerInteractor"
QUEUE = "torun"  # the indices (into session.items) still to run
RUNNING = "item_index"  # the one running now (set from the first test on)
NEXT = "nextitem_index"  # the one after it, taken off the queue already


def interactor(plugins: Any) -> Any | None:
    """The worker's ``WorkerInteractor`` among pytest's plugins; None elsewhere.

    Found by its class name: xdist runs ``xdist/remote.py`` in the worker as
    execnet's ``__channelexec__`` module, so its class is not
    ``xdist.remote.WorkerInteractor``.
    """
    for plugin in plugins:
        if type(plugin).__name__ == INTERACTOR and hasattr(plugin, QUEUE):
            return plugin
    return None


def sent_indices(worker: Any) -> list[int]:
    """The indices of the items ``worker`` was sent and has not finished, in
    the order it will run them: the current one, the next, then its queue."""
    known = [
        index
        for index in (getattr(worker, RUNNING, None), getattr(worker, NEXT, None))
        if isinstance(index, int)
    ]
    queue = getattr(worker, QUEUE)
    # TestQueue (xdist 3.8): a deque behind a lock, filled by the thread that
    # reads the controller's commands; reading under the lock changes nothing.
    if hasattr(queue, "lock"):
        with queue.lock() as pending:
            known.extend(index for index in pending if isinstance(index, int))
    elif hasattr(queue, "mutex") and hasattr(queue, "queue"):  # a queue.Queue
        with queue.mutex:
            known.extend(index for index in queue.queue if isinstance(index, int))
    # Else only the two above run ahead: the rest runs in order, as before.
    return known
