"""A table's rows and what every row shares: the keys common to all kinds.

``Row`` is one probe read from a table, ``Table`` the file it came from (its
lines, for errors that name them, and its environment). The row kinds
(``rows.http``, ``rows.settings``, ``rows.dependency``...) build on these; the
package's ``load_table`` reads a file and hands each section to its kind.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sleuth.errors import ConfigError
from sleuth.http.retry import check_retries
from sleuth.suite.interpolation import OnValue, substitute
from sleuth.suite.units import parse_duration
from sleuth.suite.validate import check_keys, kind_of
from sleuth.suite.yamlfile import Lines

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
