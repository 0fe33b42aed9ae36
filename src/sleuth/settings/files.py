"""Settings from a config file: YAML, TOML, JSON or INI, read with dotted keys.

``database.url`` finds ``{"database": {"url": ...}}``; INI sections work the same
(``section.key``), and keys of the DEFAULT section stand alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sleuth.errors import ConfigError
from sleuth.settings import Found, SourceUnavailable
from sleuth.suite.sources import SourceSpec

FORMATS = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".json": "json",
    ".ini": "ini",
    ".cfg": "ini",
    ".conf": "ini",
}


class FileSource:
    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        self.path = (root / spec.location).resolve()
        self.is_secret = bool(spec.options.get("secret", False))
        self.label = f"file {spec.location}"
        self.where = spec.where
        self.format = str(
            spec.options.get("format") or FORMATS.get(self.path.suffix.lower(), "")
        )
        if self.format not in set(FORMATS.values()):
            raise ConfigError(
                f"cannot tell the format of {spec.location!r}: name it .yaml, .toml, "
                f".json or .ini, or add format: yaml|toml|json|ini",
                where=spec.where,
            )
        self._flat: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any] | None:
        with self._lock:
            if self._flat is None and self.path.is_file():
                try:
                    data = _parse(self.path, self.format)
                except Exception as exc:  # not valid YAML, TOML, JSON or INI
                    raise SourceUnavailable(
                        f"does not parse as {self.format.upper()} ({_parse_error(exc)})"
                    ) from exc
                self._flat = flatten(data)
            return self._flat

    def lookup(self, name: str) -> Found:
        flat = self._load()
        if flat is None:
            missing = f"no file at {self.path}"
            return Found("absent", detail=missing, broken=missing)
        return Found.of(flat.get(name))

    def names(self) -> Iterable[str]:
        return list(self._load() or ())


def _parse(path: Path, fmt: str) -> Mapping[str, Any]:
    text = path.read_text(encoding="utf-8")
    data: Any
    if fmt == "yaml":
        import yaml

        data = yaml.safe_load(text)
    elif fmt == "toml":
        import tomllib

        data = tomllib.loads(text)
    elif fmt == "json":
        import json

        data = json.loads(text)
    else:
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep case
        parser.read_string(text, source=str(path))
        data = dict(parser.defaults())
        for section in parser.sections():
            data[section] = {
                k: v for k, v in parser.items(section) if k not in parser.defaults()
            }
    return data if isinstance(data, Mapping) else {}


def _parse_error(exc: Exception) -> str:
    """A parser's complaint in one line, with where in the file when it says."""
    mark = getattr(exc, "problem_mark", None)  # PyYAML's
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    lineno, msg = getattr(exc, "lineno", None), getattr(exc, "msg", None)  # json's
    if isinstance(lineno, int) and isinstance(msg, str):
        return f"line {lineno}, column {getattr(exc, 'colno', '?')}: {msg}"
    return " ".join(str(exc).split()) or type(exc).__name__


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every key and nested key of ``data``, nested ones joined with dots."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        flat[dotted] = value
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{dotted}."))
    return flat
