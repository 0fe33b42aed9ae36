"""The suite's own ``.sleuth/`` directory: its run history and parsed config."""

from __future__ import annotations

from pathlib import Path

from sleuth._atomicfile import write_atomically

LOCAL_DIR = ".sleuth"


def make_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents); a new ``.sleuth`` is git-ignored."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    if directory.name == LOCAL_DIR:
        # Like .pytest_cache: what sleuth keeps here is not for committing.
        write_atomically(
            directory / ".gitignore",
            "# Created by sleuth: this suite's run history and parsed config.\n*\n",
            durable=False,
        )
