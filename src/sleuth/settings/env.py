"""Settings from the process environment, optionally under a prefix."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sleuth.settings import Found
from sleuth.suite.sources import SourceSpec


class EnvSource:
    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        self.prefix = str(spec.options.get("prefix", ""))
        self.is_secret = bool(spec.options.get("secret", False))
        self.label = (
            f"environment (prefix {self.prefix})" if self.prefix else "environment"
        )

    def lookup(self, name: str) -> Found:
        return Found.of(os.environ.get(self.prefix + name))

    def names(self) -> Iterable[str]:
        return [
            key[len(self.prefix) :] for key in os.environ if key.startswith(self.prefix)
        ]
