"""sleuth.yaml kept as parsed, so that a re-run does not import PyYAML.

Importing PyYAML takes about 8 ms, a quarter of what ``sleuth run`` adds to
pytest's start-up, and a suite's config rarely changes between two runs. So the
values and line numbers parsed from it are kept in the suite's ``.sleuth/``
together with the exact text they came from. An entry is used only when the
file still reads the same, character for character, and the same sleuth and
PyYAML files would parse it; anything else is a miss and the file is parsed.

Entries go only into a ``.sleuth/`` that is already there (the run history
makes it): a suite run with ``--no-history`` from the start gets no new
directory. marshal holds the entries: it has every type a YAML file of plain
values gives (a file with dates is simply not kept), loads in microseconds, and
builds no class instances. A directory that cannot be written, or an entry that
cannot be read, means the file is parsed each time: the cache never changes
what a run sees, only how soon it sees it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import marshal
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sleuth._localdir import LOCAL_DIR

# Bumped when an entry's layout changes.
FORMAT = 2
SUFFIX = ".parsed"
# The code that reads a file and turns its YAML into values and lines: a
# change to any of it is a miss.
_BUILDERS = tuple(
    str(Path(__file__).with_name(name))
    for name in ("textfile.py", "yamlfile.py", "yamlvalues.py")
)

# yamlfile.Lines' own maps: a value's path to its line, and to its note
# ("via <<: at line 7") where a merge key or an alias brought it in.
LineMap = Mapping[tuple[str | int, ...], int]
NoteMap = Mapping[tuple[str | int, ...], str]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Kept:
    """What a file parsed to: its values, and the lines and notes of each."""

    data: Any
    lines: LineMap
    notes: NoteMap


def entry_path(file: Path) -> Path:
    """Where the parse of ``file`` is kept: ``.sleuth/`` beside it."""
    return file.parent / LOCAL_DIR / f"{file.name}{SUFFIX}"


def recall(file: Path, text: str) -> Kept | None:
    """The values and lines parsed from ``text`` before, if they were kept."""
    try:
        raw = entry_path(file).read_bytes()
    except OSError:
        return None
    try:
        entry = marshal.loads(raw)  # noqa: S302 (sleuth's own file; see the module doc)
    except (EOFError, ValueError, TypeError):
        return None
    if not (isinstance(entry, tuple) and len(entry) == 5):
        return None
    stamp, kept_text, data, lines, notes = entry
    if (
        stamp != _stamp(file)
        or kept_text != text
        or not isinstance(lines, dict)
        or not isinstance(notes, dict)
    ):
        return None
    return Kept(data=data, lines=lines, notes=notes)


def remember(file: Path, text: str, data: Any, lines: LineMap, notes: NoteMap) -> None:
    """Keep what ``text`` parsed to, for the next run; quietly skip what cannot be."""
    try:
        raw = marshal.dumps((_stamp(file), text, data, dict(lines), dict(notes)))
    except ValueError:  # a value marshal does not hold (a date): parse each time
        return
    path = entry_path(file)
    if not path.parent.is_dir():
        return  # sleuth's directory is made by the history, not for this
    from sleuth._atomicfile import write_atomically

    # Whole or not at all, for a run reading it now; not synced to disk: an
    # entry lost in a crash is only a parse more.
    with contextlib.suppress(OSError):
        write_atomically(path, raw, durable=False)


def _stamp(file: Path) -> tuple[Any, ...]:
    """What the parse depends on besides the text: the code that made it."""
    import importlib.util

    spec = importlib.util.find_spec("yaml")
    parser = spec.origin if spec is not None else None
    builders = tuple(_file_stamp(builder) for builder in _BUILDERS)
    return (FORMAT, str(file), builders, _file_stamp(parser))


def _file_stamp(path: str | None) -> tuple[Any, ...]:
    if path is None:
        return ()
    with contextlib.suppress(OSError):
        stat = os.stat(path)
        return (path, stat.st_size, stat.st_mtime_ns)
    return (path,)
