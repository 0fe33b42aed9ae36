"""Settings from a dotenv file, parsed by python-dotenv as the app would parse it."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sleuth.settings import Found
from sleuth.suite.sources import SourceSpec


class DotenvSource:
    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        self.path = (root / spec.location).resolve()
        self.is_secret = bool(spec.options.get("secret", False))
        self.label = f"dotenv {spec.location}"
        self.where = spec.where
        self._values: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any] | None:
        with self._lock:
            if self._values is None and self.path.is_file():
                from dotenv import dotenv_values

                self._values = dict(dotenv_values(self.path))
            return self._values

    def lookup(self, name: str) -> Found:
        values = self._load()
        if values is None:
            missing = f"no file at {self.path}"
            return Found("absent", detail=missing, broken=missing)
        if name in values and values[name] is None:
            return Found("empty", "", detail="declared without a value")
        return Found.of(values.get(name))

    def names(self) -> Iterable[str]:
        return list(self._load() or ())
