"""Settings from a directory of files, one per setting (Kubernetes, Docker secrets).

Kubernetes mounts add ``..data`` links and ``..2024_...`` directories beside the
files; names starting with a dot are not settings and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sleuth.settings import Found
from sleuth.suite.sources import SourceSpec

MAX_FILE_BYTES = 1024 * 1024


class DirectorySource:
    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        self.path = (root / spec.location).resolve()
        self.is_secret = spec.is_secret
        self.label = f"dir {spec.location}"
        self.where = spec.where

    def lookup(self, name: str) -> Found:
        if not self.path.is_dir():
            missing = f"no directory at {self.path}"
            return Found("absent", detail=missing, broken=missing)
        if name.startswith(".") or "/" in name or "\\" in name:
            return Found("absent", detail="not a file name")
        file = self.path / name
        if not file.is_file():
            return Found("absent")
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES)
        text = data.decode("utf-8", errors="replace")
        return Found.of(text[:-1] if text.endswith("\n") else text)

    def names(self) -> Iterable[str]:
        if not self.path.is_dir():
            return []
        return [
            p.name
            for p in self.path.iterdir()
            if not p.name.startswith(".") and p.is_file()
        ]
