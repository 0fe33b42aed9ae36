"""Probe tables read into rows: one probe per row, each with its body to run.

A table is a YAML file of sections: ``http:`` rows, ``settings:`` rules, and one
section per dependency kind (``postgres:``, ``redis:``...). Reading a table
checks every row and fails on the first mistake with the file, the line, the
valid keys and a guess; running a row is calling its body with ``target``.
Knows nothing of pytest: ``sleuth.plugin.tables`` makes the rows pytest items.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sleuth.errors import ConfigError
from sleuth.rows.table import PathT, Row, Table
from sleuth.suite import yamlfile
from sleuth.suite.interpolation import FilledIn, interpolate_env
from sleuth.suite.validate import did_you_mean, kind_of, without_extensions


def load_table(
    path: Path,
    *,
    display: str,
    environ: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> list[Row]:
    """Read and check one table file.

    Raises:
        ConfigError: for the first mistake, naming the file and line.
    """
    environ = os.environ if environ is None else environ
    with FilledIn(display) as filled_in:
        data, lines = yamlfile.load(path, display=display)
        table = Table(
            lines=lines,
            directory=path.parent,
            environ=environ,
            on_value=filled_in,
            root=root,
        )
        if data is None:
            return []
        if not isinstance(data, dict):
            raise table.fail(
                (),
                f"a probe table is a mapping of sections such as http:, settings: "
                f"or postgres:, found {kind_of(data)}",
            )
        return _rows(data, table)


def _rows(data: dict[Any, Any], table: Table) -> list[Row]:
    sections = interpolate_env(
        without_extensions(data),
        (),
        table.lines,
        table.environ,
        on_value=table.on_value,
    )
    rows: list[Row] = []
    for section, body in sections.items():
        rows.extend(_section_rows(str(section), body, table))
    _check_unique(rows, table)
    return rows


def _section_rows(section: str, body: Any, table: Table) -> list[Row]:
    from sleuth.probes import KINDS
    from sleuth.rows import dependency, http, settings  # each imports rows.table

    path: PathT = (section,)
    if section == "http":
        return http.parse_rows(body, path, table)
    if section == "settings":
        return settings.parse_rows(body, path, table)
    if section in KINDS:
        return dependency.parse_rows(section, body, path, table)
    known = sorted({"http", "settings", *KINDS})
    raise table.fail(
        path,
        f"unknown section {section!r}. Sections: {', '.join(known)}."
        f"{did_you_mean(section, known)}",
    )


def _check_unique(rows: list[Row], table: Table) -> None:
    seen: dict[str, Row] = {}
    for row in rows:
        first = seen.setdefault(row.id, row)
        if first is not row:
            raise ConfigError(
                f"two rows have the id {row.id!r} (lines {first.line} and {row.line}): "
                f"give one a name: so each can be selected and reported on its own",
                where=row.where,
            )
