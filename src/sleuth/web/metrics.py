"""``/metrics``: the latest results in Prometheus' text format, read from the
store at each scrape by a custom collector (prometheus_client)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.core import Metric
    from prometheus_client.registry import CollectorRegistry

    from sleuth.web.status import Status


class StatusCollector:
    """``sleuth_probe_success``, ``sleuth_probe_duration_seconds`` (labels
    target, probe, agent, category) and ``sleuth_run_timestamp_seconds``
    (labels target, agent) of each agent's latest run."""

    def __init__(self, read: Callable[[], Status]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        status = self._read()
        labels = ["target", "probe", "agent", "category"]
        success = GaugeMetricFamily(
            "sleuth_probe_success",
            "1 if the probe passed in the agent's latest run, 0 if it failed "
            "(skipped probes are left out)",
            labels=labels,
        )
        duration = GaugeMetricFamily(
            "sleuth_probe_duration_seconds",
            "How long the probe took in the agent's latest run",
            labels=labels,
        )
        stamp = GaugeMetricFamily(
            "sleuth_run_timestamp_seconds",
            "When the agent's latest run of the target started (Unix time)",
            labels=["target", "agent"],
        )
        for target in status.targets:
            runs: dict[str, float] = {}
            for probe in target.probes:
                for state in probe.agents:
                    values = [target.name, probe.probe_id, state.agent, state.category]
                    runs[state.agent] = max(
                        runs.get(state.agent, 0.0), state.started_at.timestamp()
                    )
                    duration.add_metric(values, state.duration_s)
                    if state.state != "skipped":
                        success.add_metric(
                            values, 1.0 if state.state == "passing" else 0.0
                        )
            for agent, when in sorted(runs.items()):
                stamp.add_metric([target.name, agent], when)
        yield success
        yield duration
        yield stamp


def registry_for(read: Callable[[], Status]) -> CollectorRegistry:
    """A registry of its own (not the process-wide one) holding the collector."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(read))
    return registry
