"""YAML probe tables as pytest items: one item per row.

Registered by the plugin only when the run belongs to a suite, so a plain
pytest run never collects YAML. Every ``*.yaml``/``*.yml`` under the suite's
root is a table, except the suite's config and the files its settings sources
read. Rows run through ``SleuthSession.run_probe`` like test functions: ahead,
at once, under deadlines, read-only. A bad table stops the run with exit code
4 and one message per table, naming the file and the line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sleuth._compat.pytest import TracebackFromBody
from sleuth.errors import ConfigError, SleuthError
from sleuth.plugin.keys import session_key
from sleuth.suite.discovery import CONFIG_FILE

if TYPE_CHECKING:
    from sleuth._compat.pytest import TerminalRepr
    from sleuth.plugin.session import SleuthSession
    from sleuth.rows.table import Row
    from sleuth.suite.config import SuiteConfig

TABLE_SUFFIXES = (".yaml", ".yml")


class TablesPlugin:
    """Finds the tables of one run and gathers their mistakes."""

    def __init__(self, config: pytest.Config, suite: SuiteConfig) -> None:
        self.config = config
        self.root = suite.root.resolve()
        self.errors: list[str] = []
        self._tags: set[str] = set()
        self._not_tables = _settings_files(suite)
        if suite.file is not None:
            self._not_tables.add(suite.file.resolve())

    def pytest_collect_file(
        self, file_path: Path, parent: pytest.Collector
    ) -> TableFile | None:
        if not self.is_table(file_path):
            return None
        table: TableFile = TableFile.from_parent(parent, path=file_path)
        return table

    def is_table(self, path: Path) -> bool:
        if path.suffix not in TABLE_SUFFIXES or path.name == CONFIG_FILE:
            return False
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            return False
        return not any(
            resolved == other or resolved.is_relative_to(other)
            for other in self._not_tables
        )

    def register_tags(self, tags: tuple[str, ...]) -> None:
        """Declare a row's tags as markers, so ``-m`` and strict markers accept them."""
        for tag in tags:
            if tag not in self._tags:
                self._tags.add(tag)
                self.config.addinivalue_line(
                    "markers", f"{tag}: tag from a sleuth probe table"
                )

    # tryfirst: a bad table ends the run before anything is selected or runs
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self) -> None:
        if self.errors:
            raise pytest.UsageError(*self.errors)


def _settings_files(suite: SuiteConfig) -> set[Path]:
    """Files and folders the settings sources read: config, not probe tables."""
    from sleuth.suite.sources import files_read

    return files_read(
        (s for target in suite.targets.values() for s in target.sources), suite.root
    )


class TableFile(pytest.File):
    """A probe table: its rows become items when it is collected."""

    def collect(self) -> Iterator[TableItem]:
        from sleuth.rows import load_table

        plugin = self.config.pluginmanager.get_plugin("sleuth-tables")
        assert isinstance(plugin, TablesPlugin)  # noqa: S101 (registered with us)
        try:
            rows = load_table(
                self.path, display=self.nodeid or self.path.name, root=plugin.root
            )
        except ConfigError as exc:
            plugin.errors.append(str(exc))
            return
        for row in rows:
            plugin.register_tags(row.tags)
            yield TableItem.from_parent(self, name=row.id, row=row)


class TableItem(TracebackFromBody, pytest.Item):
    """One row of a table; a probe like any test function (``runahead.ProbeItem``)."""

    def __init__(self, *, row: Row, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.row = row
        options = {"timeout": row.timeout_s, "retries": row.retries}
        if any(value is not None for value in options.values()):
            self.add_marker(
                pytest.mark.probe(**{k: v for k, v in options.items() if v is not None})
            )
        if row.writes:
            self.add_marker(pytest.mark.writes)
        if row.needs:
            self.add_marker(pytest.mark.needs(*row.needs))
        for tag in row.tags:
            self.add_marker(getattr(pytest.mark, tag))
        if row.skip is not None:
            self.add_marker(pytest.mark.skip(reason=row.skip))

    @property
    def sleuth_origin(self) -> str:
        """Where this probe's options were written, for messages."""
        return self.row.where

    def sleuth_body(self) -> tuple[Callable[..., Any], dict[str, Any]]:
        return self.row.body, {"target": self._session().target}

    def runtest(self) -> None:
        __tracebackhide__ = True
        func, kwargs = self.sleuth_body()
        self._session().run_probe(self, func, kwargs)

    def _session(self) -> SleuthSession:
        return self.config.stash[session_key]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.row.line - 1, f"{self.row.section}: {self.row.id}"

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | TerminalRepr:
        exc = excinfo.value
        if isinstance(exc, SleuthError):
            # The row is the code: a traceback into sleuth would say nothing more.
            notes = getattr(exc, "__notes__", None) or []
            return "\n".join(
                [f"{type(exc).__name__}: {exc}", *notes, f"row at {self.row.where}"]
            )
        return super().repr_failure(excinfo, style=style)

    def traceback_start(self) -> Callable[..., Any]:
        """A failure's traceback starts at the row's body (TracebackFromBody)."""
        return self.row.body
