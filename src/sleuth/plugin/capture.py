"""Keeps what a probe running ahead prints or logs with that probe.

Probes run on worker threads while pytest is busy reporting other items, so
``print`` and ``logging`` from them would land in whichever item pytest is at.
A stream proxy on ``sys.stdout``/``sys.stderr`` and a root-logger handler send
output made inside a running-ahead probe to the probe's own buffer instead;
the plugin replays it when pytest reaches the probe. Everything else passes
through, scrubbed of secrets: the terminal pytest writes to is this proxy too.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from sleuth import redact
from sleuth.engine import context as _context


class RoutingStream:
    """Stands in for ``sys.stdout`` or ``sys.stderr``; routes probe output."""

    def __init__(self, name: str, wrapped: TextIO) -> None:
        self._name = name
        self._wrapped = wrapped

    @property
    def wrapped(self) -> TextIO:
        return self._wrapped

    def write(self, text: str) -> int:
        ctx = _context.current.get()
        if ctx is not None and ctx.capture_output:
            ctx.output.append((self._name, text))
            return len(text)
        self._wrapped.write(redact.scrub(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        ctx = _context.current.get()
        if ctx is None or not ctx.capture_output:
            self._wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


def wrap_std_streams() -> None:
    """Put a routing proxy around the current ``sys.stdout`` and ``sys.stderr``.

    Called whenever pytest may have swapped them (it does, per test phase).
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, RoutingStream):
            setattr(sys, name, RoutingStream(name, stream))


def unwrap_std_streams() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        while isinstance(stream, RoutingStream):
            stream = stream.wrapped
        setattr(sys, name, stream)


class _NotFromProbes(logging.Filter):
    """Keeps records made inside a running-ahead probe out of other handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.current.get()
        return ctx is None or not ctx.capture_output


class ProbeLogRouter(logging.Handler):
    """Collects records made inside a running-ahead probe, for replay."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.exclude = _NotFromProbes()

    def handle(self, record: logging.LogRecord) -> bool:
        ctx = _context.current.get()
        if ctx is not None and ctx.capture_output:
            ctx.log_records.append(record)
            return True
        return False

    def emit(self, record: logging.LogRecord) -> None:
        pass  # handle() keeps the record; there is nothing to write

    def guard_other_handlers(self) -> None:
        """Add the exclusion filter to every handler on the root logger but this one."""
        for handler in logging.getLogger().handlers:
            if handler is not self and self.exclude not in handler.filters:
                handler.addFilter(self.exclude)

    def install(self) -> None:
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)
        self.guard_other_handlers()

    def uninstall(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        for handler in root.handlers:
            handler.removeFilter(self.exclude)


def replay(ctx: _context.ProbeContext) -> None:
    """Write a probe's kept output where pytest now captures, then log its records."""
    for name, text in ctx.output:
        getattr(sys, name).write(text)
    ctx.output.clear()
    for record in ctx.log_records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
    ctx.log_records.clear()
