"""``sleuth watch``: the suite run every interval, each cycle a sleuth run kept in
the history, alerts sent when a probe changes state, and an agent that keeps
its results when the shared store is away.

``run_watch`` is the loop (``loop.py``); ``CycleResult`` what each cycle did
(``cycle.py``); ``command.py`` the command's options.
"""

from __future__ import annotations

from sleuth.watch.cycle import CycleResult
from sleuth.watch.loop import run_watch

__all__ = ["CycleResult", "run_watch"]
