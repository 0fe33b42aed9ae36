"""The incident report: Markdown to paste into the incident channel.

What is wrong comes first: the ranked causes, one line each, then each
failure on one line (the first 50); the evidence is folded under
``<details>``, so a run with 50 failures stays under 80 lines (a heading needs
no blank line after it, so none is spent there). ``full=True``
(``--sleuth-report-full``) keeps everything: every failure's whole diagnosis
and evidence, every change, the settings table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sleuth._timing import format_duration
from sleuth.reports import clients
from sleuth.reports.mdtext import (
    code,
    counted,
    fenced,
    in_outcome_order,
    one_line,
    outcome_counts,
    outcome_words,
    plain,
)

FAILING = ("failed", "error", "blocked")
DEGRADED = ("warned", "flaky")
# The short report's limits; the full one has none.
CAUSES_SHOWN = 5
FAILURES_SHOWN = 50
EVIDENCE_PROBES = 3
EVIDENCE_ITEMS = 2  # exchanges and settings lookups, per probe
FIGURES_SHOWN = 3
CHANGES_SHOWN = 5
DEGRADED_SHOWN = 3
LINE_CHARS = 160
BODY_CHARS = 120
FULL_BODY_CHARS = 300
# Figures a TLS handshake records that say which certificate it was.
_TLS_FIGURES = ("subject", "issuer", "not after", "verified", "names", "protocol")
_MORE = "--sleuth-report-full lists every one"

Lines = list[str]


def render(document: dict[str, Any], *, full: bool = False) -> str:
    """The report of one run (``document`` as ``reports.document.build`` makes it)."""
    run = document["run"]
    probes = document["probes"]
    failing = _telling_first(
        [p for p in probes if p["outcome"] in FAILING], document["root_causes"]
    )
    degraded = [p for p in probes if p["outcome"] in DEGRADED]
    lines = [f"# sleuth: {plain(_headline(run, probes, failing))}", ""]
    lines += [_run_line(run), ""]
    lines += _held(run)
    lines += _causes(document["root_causes"], full=full)
    lines += _failures(failing, full=full)
    lines += _degraded(degraded, full=full)
    # Blocked probes have no evidence of their own: their cause's has it.
    shown = [p for p in failing if p["outcome"] != "blocked"]
    lines += _full_evidence(shown) if full else _folded_evidence(shown, len(failing))
    lines += _changes(document.get("changes"), full=full)
    lines += _settings(document["settings"], full=full)
    lines += _how(run) if full else _how_in_one_line(run)
    return "\n".join(lines)


def _headline(run: dict[str, Any], probes: list[Any], failing: list[Any]) -> str:
    if not probes:
        return f"no probes ran against {run['target']}"
    if failing:
        return f"{len(failing)} of {len(probes)} probes failing on {run['target']}"
    every = "all " if len(probes) > 1 else ""
    return f"{every}{counted(len(probes), 'probe')} healthy on {run['target']}"


def _run_line(run: dict[str, Any]) -> str:
    counts = outcome_counts(in_outcome_order(run["counts"])) or "nothing ran"
    return (
        f"{plain(counts)} in {format_duration(run['duration_s'])}, target "
        f"{code(run['target'])}{_base(run)}."
    )


def _held(run: dict[str, Any]) -> Lines:
    """What the read-only rule held, when the probes used clients it could not."""
    line = clients.held_line(run.get("clients", []), lead="The read-only rule held for")
    return [f"{plain(line)}.", ""] if line else []


def _base(run: dict[str, Any]) -> str:
    return f" ({code(run['base_url'])})" if run.get("base_url") else ""


def _more(lines: Lines, hidden: int, what: str) -> None:
    if hidden > 0:
        lines.append(f"- … and {counted(hidden, 'more ' + what)}: {_MORE}")


# -- what is wrong --------------------------------------------------------------


def _causes(causes: list[dict[str, Any]], *, full: bool) -> Lines:
    if not causes:
        return []
    shown = causes if full else causes[:CAUSES_SHOWN]
    lines = ["## What is wrong"]
    lines += [f"{i}. {plain(c['summary'])}" for i, c in enumerate(shown, 1)]
    lines.append("")
    if len(shown) < len(causes):
        hidden = len(causes) - len(shown)
        lines += [f"… and {counted(hidden, 'more cause')}: {_MORE}.", ""]
    return lines


def _failures(failing: list[dict[str, Any]], *, full: bool) -> Lines:
    if not failing:
        return []
    shown = failing if full else failing[:FAILURES_SHOWN]
    lines = [f"## Failures ({len(failing)})"]
    lines += [f"- {_failure_line(p)}" for p in shown]
    _more(lines, len(failing) - len(shown), "failure")
    lines.append("")
    return lines


def _failure_line(probe: dict[str, Any]) -> str:
    """`` `id`: error (refused): GET http://db/x -> connection refused ``."""
    head = f"{code(probe['id'])}: {outcome_words(probe['outcome'], probe['category'])}"
    if probe["outcome"] == "blocked" and probe["blocked_by"]:
        head = f"{code(probe['id'])}: blocked by {code(probe['blocked_by'])}"
    why = one_line(probe["diagnosis"], most=LINE_CHARS)
    return f"{head}: {plain(why)}" if why else head


def _degraded(degraded: list[dict[str, Any]], *, full: bool) -> Lines:
    if not degraded:
        return []
    shown = degraded if full else degraded[:DEGRADED_SHOWN]
    lines = [f"## Degraded ({len(degraded)})"]
    for probe in shown:
        why = "; ".join(probe["warnings"]) or "; ".join(probe["retry_notes"])
        why = one_line(why, most=None if full else LINE_CHARS)
        lines.append(f"- {code(probe['id'])}: {probe['outcome']}: {plain(why)}")
    _more(lines, len(degraded) - len(shown), "degraded probe")
    lines.append("")
    return lines


# -- evidence -------------------------------------------------------------------


def _telling_first(
    failing: list[dict[str, Any]], causes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The first failure of each cause, then those of no cause, then the rest.

    The rest repeat what their cause's line says; when the short report cuts
    its list, they are what is cut.
    """
    in_cause = [i for c in causes for i in (*c["probes"], *c["blocks"])]
    firsts = {c["probes"][0] for c in causes if c["probes"]}
    rank = {
        p["id"]: 0 if p["id"] in firsts else 2 if p["id"] in in_cause else 1
        for p in failing
    }
    return sorted(failing, key=lambda p: rank[p["id"]])  # stable: run order kept


def _folded_evidence(probes: list[dict[str, Any]], failures: int) -> Lines:
    shown = [p for p in probes if _evidence_items(p, full=False)][:EVIDENCE_PROBES]
    if not shown:
        return []
    lines = [
        f"<details><summary>Evidence of {len(shown)} of "
        f"{counted(failures, 'failure')}</summary>",
        "",
    ]
    for probe in shown:
        lines.append(f"- {code(probe['id'])}")
        items = _evidence_items(probe, full=False)
        lines += [f"  {line}" for item in items[:EVIDENCE_ITEMS] for line in item]
        if len(items) > EVIDENCE_ITEMS:
            hidden = len(items) - EVIDENCE_ITEMS
            lines.append(f"  - … and {hidden} more: {_MORE}")
    lines += ["", "</details>", ""]
    return lines


def _full_evidence(probes: list[dict[str, Any]]) -> Lines:
    if not probes:
        return []
    lines = ["## Evidence", ""]
    for probe in probes:
        took = format_duration(probe["duration_s"])
        kind = outcome_words(probe["outcome"], probe["category"])
        lines += [f"### {code(probe['id'])}", "", f"{kind}, {took}", ""]
        if probe["diagnosis"].strip():
            lines += [*fenced(probe["diagnosis"]), ""]
        items = _evidence_items(probe, full=True)
        if items:
            lines += [line for item in items for line in item] + [""]
    return lines


def _evidence_items(probe: dict[str, Any], *, full: bool) -> list[Lines]:
    """Items of a nested Markdown list, each with its own nested details:
    the settings looked up, then each exchange."""
    items: list[Lines] = []
    for lookup in probe["evidence"]["settings"]:
        looked = "; ".join(f"{a['source']}: {a['state']}" for a in lookup["answers"])
        name, state = plain(lookup["name"]), lookup["state"]
        item = [f"- setting {name}: {state} ({plain(looked)})"]
        if lookup.get("conflict"):  # documents from before it was kept have none
            item.append(f"  - {plain(lookup['conflict'])}")
        item += [  # a secrets manager's clue: which version, changed when
            f"  - {plain(a['source'])}: version {plain(a.get('version', '?'))}, "
            f"changed {plain(a.get('changed_at', '?'))}"
            for a in lookup["answers"]
            if a.get("version") or a.get("changed_at")
        ]
        items.append(item)
    for exchange in probe["evidence"]["exchanges"]:
        details = _exchange_details(exchange, full)
        items.append(
            [f"- {plain(_exchange_line(exchange))}", *(f"  - {d}" for d in details)]
        )
    return items


def _exchange_line(e: dict[str, Any]) -> str:
    """``GET http://x/y -> 500 Internal Server Error (42 ms)``; never ``None``."""
    total = e["timings_ms"].get("total")
    took = f" ({total:.0f} ms)" if total is not None else ""
    if e["error"]:
        return f"{e['request']} -> {one_line(e['error'])}{took}"
    status = " ".join(str(x) for x in (e["status"], e["reason"]) if x not in (None, ""))
    return f"{e['request']} -> {status or 'answered'}{took}"


def _exchange_details(e: dict[str, Any], full: bool) -> Lines:
    details: Lines = []
    headers = e.get("headers") or {}
    if e["kind"] != "http":
        # A dependency's figures (a certificate's subject, a server's role).
        names: Sequence[str] = list(headers)
        if e["kind"] == "tls":  # which certificate, first
            names = [n for n in _TLS_FIGURES if n in headers]
            names += [n for n in headers if n not in names]
        if not full:
            names = names[:FIGURES_SHOWN]
        details += [f"{plain(n)}: {plain(str(headers[n]))}" for n in names]
    body = e.get("body_excerpt") or ""
    if body:
        most = FULL_BODY_CHARS if full else BODY_CHARS
        cut = body if len(body) <= most else body[: most - 1] + "…"
        size = f" ({counted(e['body_bytes'], 'byte')})" if e.get("body_bytes") else ""
        details.append(f"body{size}: {code(cut)}")
    return details


# -- what changed, settings, the run ---------------------------------------------


def _changes(changes: dict[str, Any] | None, *, full: bool) -> Lines:
    sections = (changes or {}).get("sections") or []
    if not sections:
        return []
    lines = ["## What changed since the last passing run", ""]
    for section in sections:
        entries = section["entries"]
        if not full:  # one line a kind of change
            listed = one_line("; ".join(entries[:CHANGES_SHOWN]), most=LINE_CHARS)
            more = len(entries) - CHANGES_SHOWN
            tail = f"; … and {more} more" if more > 0 else ""
            lines.append(f"- {plain(section['heading'])}: {plain(listed)}{tail}")
            continue
        lines.append(f"- {plain(section['heading'])}")
        lines += [f"  - {plain(entry)}" for entry in entries]
    lines.append("")
    return lines


def _settings(settings: list[dict[str, Any]], *, full: bool) -> Lines:
    if not settings:
        return []
    if not full:
        missing = [s for s in settings if s["state"] != "present"]
        if not missing:
            return [f"Settings: {counted(len(settings), 'setting')} read, all set.", ""]
        listed = ", ".join(f"{code(s['name'])} {s['state']}" for s in missing)
        return [
            f"Settings: {counted(len(settings), 'setting')} read; not set: {listed}.",
            "",
        ]
    lines = ["## Settings", "", "| setting | found in | state |", "| --- | --- | --- |"]
    lines += [
        f"| {code(s['name'])} | {_cell(s['source'] or '-')} | {s['state']} |"
        for s in settings
    ]
    lines.append("")
    return lines


def _cell(text: str) -> str:
    return plain(text).replace("|", "\\|")


def _how_in_one_line(run: dict[str, Any]) -> Lines:
    selection = " ".join(run["selection"]) or "(all)"
    return [
        f"Run: started {run['started_at']}, took "
        f"{format_duration(run['duration_s'])}, selection {code(selection)}, "
        f"sleuth {run['sleuth_version']}, exit status {run['exit_status']}.",
        "",
    ]


def _how(run: dict[str, Any]) -> Lines:
    selection = " ".join(run["selection"]) or "(all)"
    return [
        "## How this run was made",
        "",
        f"- target: {code(run['target'])}{_base(run)}",
        f"- started: {run['started_at']}, took {format_duration(run['duration_s'])}",
        f"- selection: {code(selection)}",
        f"- sleuth {run['sleuth_version']}, exit status {run['exit_status']}",
        "",
    ]
