"""Probe tables read into rows: one probe per row, each with its body to run.

A table is a YAML file of sections: ``http:`` rows, ``settings:`` rules, and one
section per dependency kind (``postgres:``, ``redis:``...). Reading a table
checks every row and fails on the first mistake with the file, the line, the
valid keys and a guess; running a row is calling its body with ``target``.
Knows nothing of pytest: ``sleuth.tables`` makes the rows pytest items.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sleuth import yamlfile
from sleuth.errors import ConfigError
from sleuth.interpolation import FilledIn, OnValue, interpolate_env, substitute
from sleuth.retry import check_retries
from sleuth.units import parse_duration
from sleuth.validate import check_keys, did_you_mean, kind_of, without_extensions
from sleuth.yamlfile import Lines

PathT = tuple[str | int, ...]
# A marker name: what `-m` can select on.
_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names pytest or sleuth give a meaning to; a tag must not borrow one.
_RESERVED_TAGS = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}
    | {"probe", "writes", "needs"}
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One probe of a table: its id, where it is written, and what it runs.

    ``body(target=...)`` is the probe: a coroutine function for HTTP rows (they
    run on the engine's loop), a plain function for the others.
    """

    id: str
    section: str
    line: int
    where: str
    body: Callable[..., Any]
    timeout_s: float | None = None
    retries: int | None = None
    writes: bool = False
    needs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    skip: str | None = None  # why this row is not run (pytest's skip, with the reason)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """The file being read: its line numbers, and its folder for relative paths."""

    lines: Lines
    directory: Path
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict)
    on_value: OnValue | None = None
    root: Path | None = None  # the suite's: where the app's own modules import from

    @property
    def display(self) -> str:
        return self.lines.file

    def where(self, path: PathT) -> str:
        return self.lines.where(path)

    def line(self, path: PathT) -> int:
        return self.lines.line(path) or 1

    def check_keys(
        self,
        mapping: Mapping[str, Any],
        allowed: frozenset[str],
        path: PathT,
        what: str,
    ) -> None:
        """Fail on the first key of ``mapping`` not in ``allowed``."""
        check_keys(mapping, allowed, path=path, lines=self.lines, what=what)

    def with_env(self, text: str, path: PathT) -> str:
        """``text`` with ``${env:NAME}`` replaced: for keys, which the loader
        leaves as written (``- GET ${env:HEALTH_PATH}: 200``)."""
        if "${" not in text:
            return text
        return substitute(
            text,
            {"env": self.environ.get},
            where=self.where(path),
            keep={"setting"},
            on_value=self.on_value,
        )

    def fail(self, path: PathT, message: str) -> ConfigError:
        return ConfigError(message, where=self.where(path))


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
    from sleuth.rows import dependency, http, settings

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


def row_list(body: Any, path: PathT, table: Table, example: str) -> list[Any]:
    """A section's rows, which must be a list."""
    if not isinstance(body, list):
        raise table.fail(
            path, f"{path[0]}: must be a list of rows, e.g. {example}; found "
            f"{kind_of(body)}",
        )  # fmt: skip
    return body


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Common:
    """The keys every row may have, read and checked."""

    name: str | None = None
    timeout_s: float | None = None
    retries: int | None = None
    needs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    skip: str | None = None


def read_common(
    row: Mapping[str, Any],
    path: PathT,
    table: Table,
    *,
    name_key: str | None = "name",
) -> Common:
    """``name``, ``timeout``, ``retries``, ``needs``, ``tags`` and ``skip`` of a row.

    ``name_key`` is the key that names the row (None: rows of this kind are
    named by what they check).
    """
    name = row.get(name_key) if name_key is not None else None
    if (
        name_key is not None
        and name is not None
        and (not isinstance(name, str) or not name.strip())
    ):
        raise table.fail(
            (*path, name_key), f"{name_key} must be a non-empty string, found "
            f"{kind_of(name)}",
        )  # fmt: skip
    timeout = row.get("timeout")
    retries = row.get("retries")
    skip = row.get("skip")
    if skip is not None and (not isinstance(skip, str) or not skip.strip()):
        raise table.fail(
            (*path, "skip"), f"skip is the reason the row is not run, e.g. "
            f"'skip: no example for user_id'; found {kind_of(skip)}",
        )  # fmt: skip
    return Common(
        name=name.strip() if isinstance(name, str) else None,
        timeout_s=(
            parse_duration(
                timeout, where=table.where((*path, "timeout")), what="timeout"
            )
            if timeout is not None
            else None
        ),
        retries=(
            check_retries(retries, where=table.where((*path, "retries")))
            if retries is not None
            else None
        ),
        needs=_names(row.get("needs"), (*path, "needs"), table, what="needs"),
        tags=_tags(row.get("tags"), (*path, "tags"), table),
        skip=skip.strip() if isinstance(skip, str) else None,
    )


def _names(value: Any, path: PathT, table: Table, *, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(
        isinstance(v, str) and v.strip() for v in items
    ):
        raise table.fail(
            path, f"{what} must be a name or a list of names, e.g. [postgres, redis], "
            f"found {kind_of(value)}",
        )  # fmt: skip
    return tuple(v.strip() for v in items)


def _tags(value: Any, path: PathT, table: Table) -> tuple[str, ...]:
    tags = _names(value, path, table, what="tags")
    for tag in tags:
        if not _TAG.match(tag):
            raise table.fail(
                path,
                f"tag {tag!r} cannot be a pytest marker: use letters, digits and _, "
                f"e.g. smoke or payments_api",
            )
        if tag in _RESERVED_TAGS:
            raise table.fail(
                path,
                f"tag {tag!r} is a marker pytest or sleuth already gives a meaning "
                f"to; pick another name",
            )
    return tags
