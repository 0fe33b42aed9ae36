"""The incident report: Markdown to paste into the incident channel."""

from __future__ import annotations

from typing import Any

from sleuth.timing import format_duration

_FAILING = ("failed", "error", "blocked")


def render(document: dict[str, Any]) -> str:
    """Headline, root causes, each failure with its evidence, settings, the run."""
    run = document["run"]
    probes = document["probes"]
    failing = [p for p in probes if p["outcome"] in _FAILING]
    degraded = [p for p in probes if p["outcome"] in ("warned", "flaky")]
    lines = [f"# sleuth: {_headline(run, probes, failing)}", ""]
    counts = ", ".join(f"{n} {o}" for o, n in run["counts"].items())
    lines += [
        f"{counts} in {format_duration(run['duration_s'])}, target "
        f"`{run['target']}`{_base(run)}.",
        "",
    ]
    if document["root_causes"]:
        lines += ["## Likely root causes", ""]
        lines += [
            f"{i}. {c['summary']}" for i, c in enumerate(document["root_causes"], 1)
        ]
        lines.append("")
    if failing:
        lines += ["## What failed", ""]
        for probe in failing:
            lines += _probe_section(probe)
    if degraded:
        lines += ["## Degraded", ""]
        for probe in degraded:
            why = "; ".join(probe["warnings"]) or "; ".join(probe["retry_notes"])
            lines.append(f"- `{probe['id']}`: {probe['outcome']}: {why}")
        lines.append("")
    if document["settings"]:
        lines += [
            "## Settings",
            "",
            "| setting | found in | state |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| `{s['name']}` | {s['source'] or '-'} | {s['state']} |"
            for s in document["settings"]
        ]
        lines.append("")
    if document.get("changes"):
        lines += ["## What changed since the last passing run", ""]
        lines += [f"- {line}" for line in document["changes"].get("lines", [])]
        lines.append("")
    lines += [
        "## How this run was made",
        "",
        f"- target: `{run['target']}`{_base(run)}",
        f"- started: {run['started_at']}, took {format_duration(run['duration_s'])}",
        f"- selection: `{' '.join(run['selection']) or '(all)'}`",
        f"- sleuth {run['sleuth_version']}, exit status {run['exit_status']}",
        "",
    ]
    return "\n".join(lines)


def _headline(run: dict[str, Any], probes: list[Any], failing: list[Any]) -> str:
    if not probes:
        return f"no probes ran against {run['target']}"
    if failing:
        return f"{len(failing)} of {len(probes)} probes failing on {run['target']}"
    return f"all {len(probes)} probes healthy on {run['target']}"


def _base(run: dict[str, Any]) -> str:
    return f" ({run['base_url']})" if run.get("base_url") else ""


def _probe_section(probe: dict[str, Any]) -> list[str]:
    kind = probe["outcome"] + (f" ({probe['category']})" if probe["category"] else "")
    lines = [
        f"### `{probe['id']}`",
        "",
        f"{kind}, {format_duration(probe['duration_s'])}: {probe['diagnosis']}",
        "",
    ]
    if probe["blocked_by"]:
        lines += [f"Blocked by `{probe['blocked_by']}`.", ""]
    evidence = []
    for lookup in probe["evidence"]["settings"]:
        looked = "; ".join(f"{a['source']}: {a['state']}" for a in lookup["answers"])
        evidence.append(f"setting {lookup['name']}: {lookup['state']} ({looked})")
    for e in probe["evidence"]["exchanges"]:
        answer = e["error"] or f"{e['status']} {e['reason']}".strip()
        evidence.append(
            f"{e['request']} -> {answer} ({e['timings_ms'].get('total', 0):.0f} ms)"
        )
        if e["body_excerpt"]:
            evidence.append("  " + e["body_excerpt"][:300].replace("\n", "\n  "))
    if evidence:
        lines += ["```", *evidence, "```", ""]
    return lines
