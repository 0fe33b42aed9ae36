"""The files ``sleuth init`` writes, as a person would write them.

A comment header (the command, the date, the source), rows one per line with
their values and comments aligned, and the longer rows in block form. Each
value goes through PyYAML's own dumper, so whatever a spec holds is quoted
the way YAML needs; the tests load every file back with sleuth's readers.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from sleuth.init.openapi import Entry, NotProbed, Probe

MAX_ALIGN = 48  # past this width, a row's value is not aligned with the others


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """How a file was made: written at its top as comments."""

    command: str
    date: str  # "2026-12-05 12:50 UTC"
    source: str  # "http://.../openapi.json (Shop 1.0, OpenAPI 3.1.0)"

    def lines(self, what: str, notes: Sequence[str] = ()) -> list[str]:
        return [
            f"# {what}, written by sleuth init on {self.date}",
            f"# from {self.source}:",
            f"#   {self.command}",
            *(
                f"# {line}"
                for note in notes
                for line in textwrap.wrap(note, 86, break_on_hyphens=False)
            ),
            "# Edit freely: sleuth init does not overwrite it without --force.",
            "",
        ]


def scalar(value: Any) -> str:
    """``value`` as YAML in one line (flow style), quoted where YAML needs it."""
    text = yaml.safe_dump(
        value, default_flow_style=True, width=1_000_000, allow_unicode=True
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _aligned(
    rows: Iterable[tuple[str, str, str]],
    indent: str,
    widths: tuple[int, int] | None = None,
) -> list[str]:
    """``key: value  # comment`` lines with values and comments in columns."""
    rows = list(rows)
    key_width, value_width = widths or _widths(rows)
    lines = []
    for key, value, comment in rows:
        line = f"{indent}{(key + ':').ljust(key_width + 1)} {value}"
        if comment:
            column = len(indent) + key_width + value_width + 2
            line = f"{line.ljust(column)}  # {comment}"
        lines.append(line.rstrip())
    return lines


def _widths(rows: Iterable[tuple[str, str, str]]) -> tuple[int, int]:
    rows = list(rows)
    return (
        min(max((len(k) for k, _, _ in rows), default=0), MAX_ALIGN),
        min(max((len(v) for _, v, _ in rows), default=0), MAX_ALIGN),
    )


def _status(status: tuple[int, ...] | str | None) -> str:
    if status is None:
        return "2xx"
    if isinstance(status, str):
        return status
    return str(status[0]) if len(status) == 1 else scalar(list(status))


def api_table(entries: Sequence[Entry], header: Header) -> str:
    """The ``http:`` table of a spec's operations."""
    probed = [e for e in entries if isinstance(e, Probe) and e.skip is None]
    skipped = [e for e in entries if isinstance(e, Probe) and e.skip is not None]
    others = [e for e in entries if isinstance(e, NotProbed)]
    notes = [
        f"{len(probed)} operations probed, {len(skipped)} skipped (each says why), "
        f"{len(others)} not probed (comments say why). To probe a write on "
        f"purpose, write its row with writes: true (it runs only with --allow-writes)."
    ]
    lines = header.lines("Probes of the API's safe operations", notes)
    lines.append("http:")
    # One-line rows are aligned all down the table, across the rows between.
    short = {
        id(e): (scalar(f"{e.method} {e.url}"), _status(e.status), e.summary)
        for e in entries
        if isinstance(e, Probe) and _is_short(e)
    }
    widths = _widths(short.values())
    for entry in entries:
        if isinstance(entry, NotProbed):
            what = f"{entry.method} {entry.path}"
            summary = f" ({entry.summary})" if entry.summary else ""
            lines.append(f"  # {what}{summary}: not probed, {entry.reason}")
        elif id(entry) in short:
            lines.extend(_aligned([short[id(entry)]], "  - ", widths))
        else:
            lines.extend(_block(entry))
    if not entries:
        lines.append("  []  # the spec has no operations")
    return "\n".join(lines) + "\n"


def _is_short(probe: Probe) -> bool:
    return not (probe.headers or probe.params or probe.skip or probe.name)


def _block(probe: Probe) -> list[str]:
    fields: list[tuple[str, str]] = []
    if probe.name:
        fields.append(("name", scalar(probe.name)))
    fields.append(("request", scalar(f"{probe.method} {probe.url}")))
    if probe.headers:
        fields.append(("headers", scalar(dict(probe.headers))))
    if probe.params:
        fields.append(("params", scalar(dict(probe.params))))
    if probe.skip:
        fields.append(("skip", scalar(probe.skip)))
    else:
        fields.append(("expect", _status(probe.status)))
    lines = []
    if probe.summary:
        lines.append(f"  # {probe.summary}")
    for i, (key, value) in enumerate(fields):
        lines.append(f"  {'- ' if i == 0 else '  '}{key}: {value}")
    return lines


def settings_table(
    rules: Mapping[str, Mapping[str, Any]],
    comments: Mapping[str, str],
    header: Header,
    notes: Sequence[str] = (),
) -> str:
    """The ``settings:`` table: names that must be there, and their checks."""
    lines = header.lines("Critical settings", notes)
    plain = [
        name for name, rule in rules.items() if not rule and not comments.get(name)
    ]
    lines.append("settings:")
    if plain:
        lines.append(f"  required: {scalar(plain)}")
    rows = [
        (scalar(name), scalar(dict(rule) or {"required": True}), comments.get(name, ""))
        for name, rule in rules.items()
        if name not in plain
    ]
    lines.extend(_aligned(rows, "  "))
    if not rules:
        lines.append("  required: []  # nothing found to check")
    return "\n".join(lines) + "\n"


def config_file(
    *,
    header: Header,
    target: str,
    base_url: str | None,
    sources: Sequence[str | Mapping[str, str]],
    notes: Sequence[str] = (),
) -> str:
    """``sleuth.yaml``: one target, its base URL and settings sources."""
    lines = header.lines("The suite's config (docs/config.md)", notes)
    lines += [
        f"default_target: {scalar(target)}",
        "timeout: 5s                  # each probe's deadline",
        "",
        "targets:",
        f"  {scalar(target)}:",
    ]
    if base_url:
        lines.append(f"    base_url: {scalar(base_url)}")
    lines.append("    sources:                 # where ${setting:NAME} is looked up")
    for source in sources:
        lines.append(
            f"      - {scalar(source if isinstance(source, str) else dict(source))}"
        )
    return "\n".join(lines) + "\n"


def conftest(ignored: Sequence[str], header: Header) -> str:
    """A ``conftest.py`` keeping the spec's YAML files from being read as tables."""
    lines = header.lines(
        "pytest's settings for this suite",
        [
            "Every YAML file in a suite is a probe table (docs/tables.md); the "
            "OpenAPI document is not one, so pytest does not collect it."
        ],
    )
    return "\n".join([*lines, f"collect_ignore = {ignored!r}"]) + "\n"
