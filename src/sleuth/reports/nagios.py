"""Nagios plugin semantics: an exit code and one status line.

0 OK, 1 WARNING (degraded: warned or flaky probes), 2 CRITICAL (a probe
failed), 3 UNKNOWN (the configuration is wrong, or nothing ran).
"""

from __future__ import annotations

from typing import Any

from sleuth.reports.mdtext import counted

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


def status(document: dict[str, Any]) -> tuple[int, str]:
    """The exit code and the status line, with performance data after ``|``."""
    run = document["run"]
    counts: dict[str, int] = run["counts"]
    ran = sum(n for o, n in counts.items() if o not in ("skipped", "xfailed"))
    failing = sum(counts.get(o, 0) for o in ("failed", "error", "blocked"))
    degraded = sum(counts.get(o, 0) for o in ("warned", "flaky"))
    if not ran:
        code, text = UNKNOWN, f"no probes ran against {run['target']}"
    elif failing:
        code = CRITICAL
        causes = document["root_causes"]
        text = f"{failing} of {ran} probes failing on {run['target']}"
        first = causes[0]["summary"] if causes else _first_failure(document)
        if first:
            text += f": {first}"
    elif degraded:
        code, text = WARNING, f"{degraded} of {ran} probes degraded on {run['target']}"
    else:
        code, text = OK, f"{counted(ran, 'probe')} healthy on {run['target']}"
    perf = (
        f"probes={ran} failing={failing} degraded={degraded} "
        f"duration={run['duration_s']:.3f}s"
    )
    return code, f"SLEUTH {_NAMES[code]} - {text} | {perf}"


def unknown(reason: str) -> tuple[int, str]:
    return (
        UNKNOWN,
        f"SLEUTH UNKNOWN - {reason.splitlines()[0] if reason else 'no reason'}",
    )


def _first_failure(document: dict[str, Any]) -> str:
    for probe in document["probes"]:
        if probe["outcome"] in ("failed", "error", "blocked"):
            return f"{probe['id']}: {probe['diagnosis']}"
    return ""
