"""Where a run's history goes, how much of it is kept, and under which agent name.

Resolved once per run from the command line, the environment and the suite's
``history:`` key (that order), like every other option. Nothing here imports
SQLAlchemy: a run that never touches its history pays nothing for it.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sleuth._localdir import LOCAL_DIR
from sleuth.errors import ConfigError
from sleuth.suite.config import SuiteConfig
from sleuth.suite.units import seconds_in
from sleuth.suite.validate import check_keys

HISTORY_ENV = "SLEUTH_HISTORY"
HISTORY_KEEP_ENV = "SLEUTH_HISTORY_KEEP"
AGENT_ENV = "SLEUTH_AGENT"

STORE_FILE = "history.db"
# A store of a `sleuth watch` every 30 s keeps about 8 hours at this count;
# ask for more with --history-keep (a count, or an age such as 30d).
DEFAULT_KEEP_RUNS = 1000

_CONFIG_KEYS = ("agent", "keep", "url")
_OFF_WORDS = frozenset({"off", "false", "no", "none", "0"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """How much history a store keeps per target: the last N runs, or an age."""

    runs: int | None = None
    max_age_s: float | None = None
    origin: str = "default"

    def describe(self) -> str:
        if self.max_age_s is not None:
            days = self.max_age_s / 86400
            return f"{days:g} days" if days >= 1 else f"{self.max_age_s / 3600:g} h"
        return "the last run" if self.runs == 1 else f"the last {self.runs} runs"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HistoryOptions:
    """The history settings of one run (or of one ``sleuth history`` command)."""

    url: str | None  # a SQLAlchemy URL, None when the history is off
    origin: str
    keep: Retention
    agent: str
    agent_origin: str = "default"

    @property
    def enabled(self) -> bool:
        return self.url is not None

    @property
    def display_url(self) -> str:
        return mask_url(self.url) if self.url else "(off)"


def resolve_history(
    suite: SuiteConfig,
    *,
    cli: Mapping[str, object],
    environ: Mapping[str, str],
    cwd: Path | None = None,
) -> HistoryOptions:
    """The history options from the command line, the environment and the config.

    ``cli`` holds ``history``, ``no_history``, ``keep`` and ``agent`` (None where
    not given). Relative paths from the command line or the environment are
    read from ``cwd``; those in the config file from the suite's directory.

    Raises:
        ConfigError: a bad URL or retention, naming where it was written.
    """
    cwd = cwd or Path.cwd()
    section = _config_section(suite)
    lines = suite.lines
    keep = _resolve_keep(
        ("--history-keep", cli.get("keep")),
        (HISTORY_KEEP_ENV + " environment variable", environ.get(HISTORY_KEEP_ENV)),
        (lines.where(("history", "keep")), section.get("keep")),
    )
    agent, agent_origin = _first_text(
        ("--agent", cli.get("agent")),
        (AGENT_ENV + " environment variable", environ.get(AGENT_ENV)),
        (lines.where(("history", "agent")), section.get("agent")),
    ) or (socket.gethostname() or "unknown", "host name")
    if cli.get("no_history"):
        return HistoryOptions(url=None, origin="--no-history", keep=keep, agent=agent)
    chosen = _first_text(
        ("--history", cli.get("history"), cwd),
        (HISTORY_ENV + " environment variable", environ.get(HISTORY_ENV), cwd),
        (lines.where(("history",)), section.get("url"), suite.root),
    )
    if section.get("url") is False and chosen is None:
        return HistoryOptions(
            url=None, origin=lines.where(("history",)), keep=keep, agent=agent
        )
    if chosen is not None and chosen[0].strip().lower() in _OFF_WORDS:
        return HistoryOptions(url=None, origin=chosen[1], keep=keep, agent=agent)
    if chosen is None:
        url = sqlite_url(suite.root / LOCAL_DIR / STORE_FILE)
        origin = "default"
    else:
        raw, origin, base = chosen
        url = store_url(raw, base=base, where=origin)
    return HistoryOptions(
        url=url, origin=origin, keep=keep, agent=agent, agent_origin=agent_origin
    )


def _config_section(suite: SuiteConfig) -> dict[str, Any]:
    raw = suite.raw.get("history")
    where = suite.lines.where(("history",))
    if raw is None:
        return {}
    if raw is False or (isinstance(raw, str) and raw.lower() in _OFF_WORDS):
        return {"url": False}
    if isinstance(raw, str):
        return {"url": raw}
    if not isinstance(raw, dict):
        raise ConfigError(
            "history must be a URL, false, or a mapping with url:, keep:, agent:, "
            f"e.g. history: {{keep: 30d}}; found {raw!r}",
            where=where,
        )
    check_keys(raw, _CONFIG_KEYS, path=("history",), lines=suite.lines, what="history")
    section = dict(raw)
    url = section.get("url")
    if url is False or (isinstance(url, str) and url.lower() in _OFF_WORDS):
        section["url"] = False
    return section


def _first_text(*candidates: tuple[Any, ...]) -> tuple[Any, ...] | None:
    for candidate in candidates:
        value = candidate[1]
        if value is None or value is False or value == "":
            continue
        return (str(value), candidate[0], *candidate[2:])
    return None


def _resolve_keep(*candidates: tuple[str, object]) -> Retention:
    for origin, value in candidates:
        if value is not None and value != "":
            return parse_keep(value, where=origin)
    return Retention(runs=DEFAULT_KEEP_RUNS)


def parse_keep(value: object, *, where: str) -> Retention:
    """``200`` (runs) or ``30d``/``12h``/``2w`` (an age) into a ``Retention``.

    Raises:
        ConfigError: naming ``where`` and both forms.
    """
    text = str(value).strip()
    if not isinstance(value, bool):
        if text.isdigit() and int(text) > 0:
            return Retention(runs=int(text), origin=where)
        # An age needs its unit: a bare number is a count of runs.
        seconds = seconds_in(text, bare=None)
        if seconds is not None and seconds > 0:
            return Retention(max_age_s=seconds, origin=where)
    raise ConfigError(
        f"invalid history retention {value!r}: expected a number of runs, e.g. 200, "
        f"or an age, e.g. 30d, 12h or 2w",
        where=where,
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def store_url(raw: str, *, base: Path, where: str) -> str:
    """The SQLAlchemy URL of a store given as a URL or a file path.

    ``postgresql://`` (and ``postgres://``) use psycopg 3; a relative SQLite
    path is read from ``base``.
    """
    text = raw.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if not scheme:
        path = Path(text).expanduser()
        return sqlite_url(path if path.is_absolute() else base / path)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if scheme == "sqlite":
        rest = text[len("sqlite://") :]
        if rest in ("", "/", "/:memory:"):
            raise ConfigError(
                f"history store {mask_url(text)!r} is in memory: it would be lost "
                f"when the run ends. Give a file, e.g. sqlite:///.sleuth/history.db",
                where=where,
            )
        path_part, _, query = rest[1:].partition("?")
        path = Path(path_part)
        if not path.is_absolute() and not path_part.startswith("file:"):
            path = base / path
            return f"sqlite:///{path}" + (f"?{query}" if query else "")
        return text
    raise ConfigError(
        f"history store {mask_url(text)!r}: unknown kind {scheme!r}. Expected a "
        f"PostgreSQL URL (postgresql://user@host/db), a SQLite URL "
        f"(sqlite:///path/history.db) or a file path",
        where=where,
    )


def mask_url(url: str) -> str:
    """``postgresql://app:s3cret@db/x`` -> ``postgresql://app:***@db/x``.

    A ``password=`` in the query string is masked too.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)
    if parts.password is not None:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:***@{host}" + (f":{port}" if port else "")
        parts = parts._replace(netloc=netloc)
    if "password=" in parts.query:
        query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
        parts = parts._replace(query=query)
    return urlunsplit(parts)
