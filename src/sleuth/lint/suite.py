"""Linting a suite: find its files, read its config, run every rule, silence.

The suite's config is read by sleuth's own reader, so a config that does not
read is refused with the very message ``sleuth run`` gives. ``${env:NAME}``
references are read as their default (``${env:NAME:-default}``) or as unknown,
never from the shell lint runs in: a suite lints the same everywhere.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path

from sleuth.errors import ConfigError
from sleuth.lint.findings import Finding, is_silenced, unknown_rules
from sleuth.lint.hosts import known_hosts
from sleuth.lint.pyrules import ModuleContext, check_module, python_secrets
from sleuth.lint.secrets import scan_lines
from sleuth.lint.tablerules import check_table
from sleuth.lint.timeouts import TimeoutLimits
from sleuth.suite import yamlfile
from sleuth.suite.config import SuiteConfig, empty_suite_config, load_suite_config
from sleuth.suite.discovery import CONFIG_FILE, find_suite_config
from sleuth.suite.sources import files_read
from sleuth.suite.textfile import read_config_text

# Folders that are not the suite's own: tools' caches, environments, builds.
SKIPPED_DIRS = frozenset(
    {"__pycache__", "node_modules", "venv", "site-packages", "build", "dist"}
)
_ENV_WITHOUT_DEFAULT = re.compile(r"\$\{env:([^}:]+)\}")
# What an unset ${env:NAME} reads as: a URL, as base_url must be one.
UNSET_ENV = "http://unset-env.invalid"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LintReport:
    """What ``sleuth lint`` found: the findings not silenced, and counts."""

    findings: tuple[Finding, ...]
    files: int
    silenced: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Suite:
    """One suite's config, and what the rules need of it."""

    config: SuiteConfig
    hosts: frozenset[str]
    limits: TimeoutLimits
    not_tables: set[Path]


def lint_suite(path: Path, *, budget_s: float | None = None) -> LintReport:
    """Lint the suite at ``path`` (a folder, or one file of a suite).

    ``budget_s``: the run's budget, as ``--budget`` gives it; None: each
    suite's ``budget:``.

    A folder holding several suites (each with its sleuth.yaml) is linted
    suite by suite, each file under the config nearest above it.

    Raises:
        ConfigError: a suite's config, a table or a probe module does not
            read; the message names the file and line, as ``sleuth run`` does.
    """
    start = path.resolve()
    if not start.exists():
        raise ConfigError(f"no such file or folder: {path}")
    suites: dict[Path | None, _Suite] = {}
    found: list[Finding] = []
    texts: dict[str, list[str]] = {}
    files = 0
    for file in _files(start):
        config_file = find_suite_config(file.parent)
        if config_file not in suites:
            suites[config_file] = _suite(config_file, file.parent, budget_s)
        suite = suites[config_file]
        kind = _kind(file, suite)
        if kind is None:
            continue
        display = _display(file)
        text = read_config_text(file, display=display)
        files += 1
        texts[display] = text.splitlines()
        found.extend(_file_findings(file, kind, text, display, suite))
    every = set(found)
    kept = [f for f in every if not is_silenced(texts.get(f.file, []), f.line, f.rule)]
    silenced = len(every) - len(kept)
    for display, lines in texts.items():
        for line, rule in unknown_rules(lines):
            kept.append(
                Finding(
                    file=display,
                    line=line,
                    rule="unknown-rule",
                    message=f"'# sleuth: allow {rule}' names no rule, so it silences "
                    f"nothing. Rules: see 'sleuth lint --help'",
                )
            )
    return LintReport(
        findings=tuple(sorted(kept, key=Finding.sort_key)),
        files=files,
        silenced=silenced,
    )


def _suite(config_file: Path | None, folder: Path, budget_s: float | None) -> _Suite:
    if config_file is None:
        config = empty_suite_config(folder)
    else:
        unset: dict[str, str] = {}
        if config_file.name == CONFIG_FILE:
            text = read_config_text(config_file, display=_display(config_file))
            unset = dict.fromkeys(_ENV_WITHOUT_DEFAULT.findall(text), UNSET_ENV)
        config = load_suite_config(config_file, environ=unset)
    return _Suite(
        config=config,
        hosts=known_hosts(
            [t.base_url for t in config.targets.values()]
            + [t.services for t in config.targets.values()]
        ),
        limits=(
            TimeoutLimits(budget_s=budget_s, budget_where="--budget")
            if budget_s is not None
            else TimeoutLimits(
                budget_s=config.budget_s,
                budget_where=f"the budget at {config.lines.where(('budget',))}",
            )
        ),
        not_tables=_settings_files(config),
    )


def _file_findings(
    file: Path, kind: str, text: str, display: str, suite: _Suite
) -> Iterator[Finding]:
    if kind == "python":
        yield from _python(file, text, display, suite)
        return
    yield from _text_secrets(text, display, kind)
    if kind == "table":
        data, lines = yamlfile.load(file, display=display)
        yield from check_table(data, lines, hosts=suite.hosts, limits=suite.limits)
    elif kind == "config":
        yield from _config_timeouts(suite.config, display, suite.limits)


def _settings_files(config: SuiteConfig) -> set[Path]:
    """Files and folders the settings sources read (``plugin.tables`` skips them)."""
    return files_read(
        (s for target in config.targets.values() for s in target.sources), config.root
    )


def _files(start: Path) -> Iterator[Path]:
    if start.is_file():
        yield start
        return
    for folder, dirs, names in os.walk(start):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
        )
        for name in sorted(names):
            yield Path(folder) / name


def _kind(file: Path, suite: _Suite) -> str | None:
    name = file.name
    config, not_tables = suite.config, suite.not_tables
    if name.endswith(".py"):
        return "python"
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return "dotenv"
    if config.file is not None and file == config.file.resolve():
        return "config"
    if file.suffix in (".yaml", ".yml"):
        if name == CONFIG_FILE or any(
            file == other or file.is_relative_to(other) for other in not_tables
        ):
            return "settings"
        return "table"
    return None


def _is_probe_module(file: Path) -> bool:
    name = file.name
    return name == "conftest.py" or (
        name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))
    )


def _python(file: Path, text: str, display: str, suite: _Suite) -> Iterator[Finding]:
    config = suite.config
    try:
        tree = ast.parse(text, filename=display)
    except SyntaxError as exc:
        raise ConfigError(
            f"invalid Python: {exc.msg}", where=f"{display} line {exc.lineno or 1}"
        ) from None
    yield from python_secrets(tree, text, display)
    if not _is_probe_module(file):
        return
    try:
        prefix = file.relative_to(config.root.resolve()).as_posix()
    except ValueError:
        prefix = file.name
    context = ModuleContext(
        display=display,
        nodeid_prefix=prefix,
        writes_patterns=config.writes,
        hosts=suite.hosts,
        limits=suite.limits,
    )
    yield from check_module(tree, context)


def _text_secrets(text: str, display: str, kind: str) -> Iterator[Finding]:
    for line, rule, message in scan_lines(
        text, settings_file=kind in ("dotenv", "settings")
    ):
        yield Finding(file=display, line=line, rule=rule, message=message)


def _config_timeouts(
    config: SuiteConfig, display: str, limits: TimeoutLimits
) -> Iterator[Finding]:
    paths = [("timeout",)] + [("targets", name, "timeout") for name in config.targets]
    for path in paths:
        value: object = config.raw
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        message = limits.over_budget(value)
        if message:
            yield Finding(
                file=display,
                line=config.lines.line(path) or 1,
                rule="timeout-over-budget",
                message=message,
            )


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
