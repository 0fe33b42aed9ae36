"""The rules for probe tables, read as YAML with line numbers (nothing runs).

Rows are read as written, before ``${env:...}`` is filled in: two rows that
read the same are one probe written twice, whatever the environment holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from sleuth.lint.findings import Finding
from sleuth.lint.hosts import host_of
from sleuth.lint.pyrules import WRITE_METHODS, unknown_host_message
from sleuth.lint.timeouts import TimeoutLimits
from sleuth.suite.yamlfile import Lines

PathT = tuple[str | int, ...]
_REQUEST = re.compile(r"^\s*([A-Za-z]+)\s+(\S+)\s*$")
# The keys of a settings rule that check its value (required: false alone checks
# nothing).
_SETTING_CHECKS = frozenset(
    {"type", "matches", "non_empty", "one_of", "url", "not_placeholder", "secret"}
)


def check_table(
    data: Any,
    lines: Lines,
    *,
    hosts: frozenset[str],
    limits: TimeoutLimits,
) -> list[Finding]:
    """Every finding in one table's parsed YAML."""
    if not isinstance(data, dict):
        return []
    reader = _Table(lines, hosts, limits)
    found: list[Finding] = []
    for section, body in data.items():
        if not isinstance(section, str) or section.startswith("x-"):
            continue
        if section == "settings":
            found.extend(reader.settings(body))
        elif isinstance(body, list):
            found.extend(reader.rows(section, body))
    return found


def _request(row: Any) -> tuple[str, str] | None:
    """``(METHOD, url)`` of an http row in any of its forms."""
    text: Any = None
    if isinstance(row, str):
        text = row
    elif isinstance(row, dict) and "request" in row:
        text = row["request"]
    elif isinstance(row, dict) and len(row) == 1:
        text = next(iter(row))
    match = _REQUEST.match(text) if isinstance(text, str) else None
    return (match.group(1).upper(), match.group(2)) if match else None


class _Table:
    def __init__(self, lines: Lines, hosts: frozenset[str], limits: TimeoutLimits):
        self.lines = lines
        self.hosts = hosts
        self.limits = limits

    def _finding(self, path: PathT, rule: str, message: str) -> Finding:
        return Finding(
            file=self.lines.file,
            line=self.lines.line(path) or 1,
            rule=rule,
            message=message,
        )

    def rows(self, section: str, rows: list[Any]) -> Iterator[Finding]:
        seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            path: PathT = (section, index)
            line = self.lines.line(path) or 1
            for key in _row_keys(section, row):
                if key in seen:
                    yield self._finding(
                        path,
                        "duplicate-row",
                        f"this {section} row repeats the row at line {seen[key]}: "
                        f"one probe written twice. Remove one, or tell them apart "
                        f"with name:",
                    )
                    break
            for key in _row_keys(section, row):
                seen.setdefault(key, line)
            if isinstance(row, dict) and row.get("timeout") is not None:
                message = self.limits.over_budget(row["timeout"])
                if message:
                    yield self._finding(
                        (*path, "timeout"), "timeout-over-budget", message
                    )
            if section == "http":
                yield from self._http_row(row, path)

    def _http_row(self, row: Any, path: PathT) -> Iterator[Finding]:
        request = _request(row)
        if request is None:
            return
        method, url = request
        writes = isinstance(row, dict) and row.get("writes") is True
        if method in WRITE_METHODS and not writes:
            yield self._finding(
                path,
                "write-without-mark",
                f"{method} {url} without writes: true: add it (the row then runs "
                f"only with --allow-writes), or send a GET",
            )
        host = host_of(url)
        if host is not None and host not in self.hosts:
            yield self._finding(path, "unknown-host", unknown_host_message(host))

    def settings(self, body: Any) -> Iterator[Finding]:
        if isinstance(body, list):
            body = {"required": body}
        if not isinstance(body, dict):
            return
        seen: dict[str, int] = {}
        required = body.get("required")
        for index, name in enumerate(required if isinstance(required, list) else []):
            path: PathT = ("settings", "required", index)
            if isinstance(name, str) and name in seen:
                yield self._finding(
                    path,
                    "duplicate-row",
                    f"setting {name} is required twice (also line {seen[name]})",
                )
            if isinstance(name, str):
                seen.setdefault(name, self.lines.line(path) or 1)
        for name, rules in body.items():
            if name == "required":
                continue
            path = ("settings", str(name))
            if name in seen:
                yield self._finding(
                    path,
                    "duplicate-row",
                    f"setting {name} has rules here and is listed under required: "
                    f"at line {seen[name]}: one probe written twice. Keep the rules",
                )
            rules = rules if isinstance(rules, dict) else {}
            if rules.get("required") is False and not _SETTING_CHECKS & set(rules):
                yield self._finding(
                    path,
                    "asserts-nothing",
                    f"setting {name} is not required and has no check: the row "
                    f"passes whatever the value. Add a check (type:, matches:, ...) "
                    f"or remove the row",
                )


def _row_keys(section: str, row: Any) -> list[str]:
    """What makes a row the same probe as another: all it says, and its id."""
    keys = ["content " + json.dumps(row, sort_keys=True, default=str)]
    if isinstance(row, dict) and isinstance(row.get("name"), str):
        keys.append("id " + row["name"].strip())
    elif (
        section == "http"
        and (request := _request(row)) is not None
        and not (isinstance(row, dict) and "name" in row)
    ):
        keys.append("id {} {}".format(*request))
    return keys
