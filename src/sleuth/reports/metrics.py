"""Prometheus text format, for node_exporter's textfile collector."""

from __future__ import annotations

from typing import Any

_HEALTHY = ("passed", "warned", "flaky")


def render(document: dict[str, Any]) -> str:
    """Per-probe success and duration, and the run's counts, as exposition text."""
    run = document["run"]
    target = run["target"]
    out = [
        "# HELP sleuth_probe_success 1 if the probe passed (or warned, or was "
        "flaky), else 0.",
        "# TYPE sleuth_probe_success gauge",
    ]
    probes = [
        p for p in document["probes"] if p["outcome"] not in ("skipped", "xfailed")
    ]
    for p in probes:
        labels = _labels(probe=p["id"], target=target, category=p["category"])
        out.append(f"sleuth_probe_success{{{labels}}} {int(p['outcome'] in _HEALTHY)}")
    out += [
        "# HELP sleuth_probe_duration_seconds How long the probe took.",
        "# TYPE sleuth_probe_duration_seconds gauge",
    ]
    for p in probes:
        labels = _labels(probe=p["id"], target=target, category=p["category"])
        out.append(f"sleuth_probe_duration_seconds{{{labels}}} {p['duration_s']:g}")
    out += [
        "# HELP sleuth_probes How many probes ended with each outcome.",
        "# TYPE sleuth_probes gauge",
    ]
    for outcome, count in run["counts"].items():
        out.append(
            f"sleuth_probes{{{_labels(target=target, outcome=outcome)}}} {count}"
        )
    out += [
        "# HELP sleuth_run_duration_seconds How long the run took.",
        "# TYPE sleuth_run_duration_seconds gauge",
        f"sleuth_run_duration_seconds{{{_labels(target=target)}}} "
        f"{run['duration_s']:g}",
        "# HELP sleuth_run_exit_status The run's exit status (pytest's codes).",
        "# TYPE sleuth_run_exit_status gauge",
        f"sleuth_run_exit_status{{{_labels(target=target)}}} {run['exit_status']}",
    ]
    return "\n".join(out) + "\n"


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
