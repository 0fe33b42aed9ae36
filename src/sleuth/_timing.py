"""The one place sleuth reads clocks.

Durations come from the monotonic clock (never from wall time, which jumps);
timestamps for reports come from the wall clock. Tests swap ``Clock`` for a fake.
"""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def now(self) -> _dt.datetime: ...


class SystemClock:
    """The real clocks. asyncio's loop uses the same monotonic clock."""

    def monotonic(self) -> float:
        return _time.monotonic()

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)


SYSTEM_CLOCK = SystemClock()


def monotonic() -> float:
    return _time.monotonic()


def perf_counter() -> float:
    return _time.perf_counter()


def sleep(seconds: float) -> None:
    _time.sleep(seconds)


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def format_duration(seconds: float) -> str:
    """Render a duration for people: ``0.004 s``, ``1.25 s``, ``2 min 5 s``."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s"
