"""What an item's marks ask of its probe run, read into a ProbeContext.

``@pytest.mark.probe(timeout=..., retries=...)`` overrides the run's settings for
one probe, and ``@pytest.mark.writes`` (or a pattern under ``writes:`` in the
config, see sleuth.suite.writes) lets it write when the run allows writes.
A bad value on a marker is a usage error that names the item. The markers are
registered in plugin.py, which must stay cheap to import; this reads them.
"""

from __future__ import annotations

import pytest

from sleuth.engine.context import ProbeContext
from sleuth.errors import ConfigError
from sleuth.http.retry import check_retries
from sleuth.suite.options import RunOptions
from sleuth.suite.units import parse_duration
from sleuth.suite.writes import is_intended_write


def make_context(item: pytest.Item, options: RunOptions) -> ProbeContext:
    timeout_s, origin = probe_timeout(item, options)
    return ProbeContext(
        probe_id=item.nodeid,
        timeout_s=timeout_s,
        timeout_origin=origin,
        writes_marked=writes_marked(item, options),
        allow_writes=options.allow_writes,
        retries=probe_retries(item),
    )


def writes_marked(item: pytest.Item, options: RunOptions) -> bool:
    """Marked ``@pytest.mark.writes``, or named by ``writes:`` in the config."""
    if item.get_closest_marker("writes") is not None:
        return True
    suite = options.suite
    return is_intended_write(
        item.nodeid, getattr(item, "path", None), suite.writes, suite.root
    )


def probe_retries(item: pytest.Item) -> int:
    marker = item.get_closest_marker("probe")
    if marker is None or marker.kwargs.get("retries") is None:
        return 0
    where = f"@pytest.mark.probe on {item.nodeid}"
    try:
        return check_retries(marker.kwargs["retries"], where=where)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def probe_timeout(item: pytest.Item, options: RunOptions) -> tuple[float, str]:
    """The item's timeout and where it was set: its marker, else the run's."""
    marker = item.get_closest_marker("probe")
    if marker is not None and marker.kwargs.get("timeout") is not None:
        where = f"@pytest.mark.probe on {item.nodeid}"
        try:
            return parse_duration(
                marker.kwargs["timeout"], where=where, what="timeout"
            ), getattr(item, "sleuth_origin", "@pytest.mark.probe")  # table rows
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    return options.timeout_s, options.timeout_origin
