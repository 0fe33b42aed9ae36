"""Running a helper's async twin the way an ``async def`` probe runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sleuth.engine import Engine, Job
from sleuth.engine.context import ProbeContext


def run_async(
    engine: Engine, func: Callable[[], Awaitable[Any]], timeout_s: float = 5.0
) -> Any:
    """``await func()`` as an ``async def`` probe on the engine's loop."""
    box: list[Any] = []

    async def body() -> None:
        box.append(await func())

    ctx = ProbeContext(probe_id="async", timeout_s=timeout_s, timeout_origin="test")
    outcome = engine.run_one(Job(ctx=ctx, func=body, kwargs={}))
    if outcome.exc is not None:
        raise outcome.exc
    return box[0]
