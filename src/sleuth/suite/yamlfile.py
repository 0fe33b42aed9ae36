"""YAML loading that remembers where each value was written.

Errors in sleuth.yaml and probe tables name the file and line; PyYAML's node marks
give the line, kept here in a ``Lines`` map keyed by the value's path. Anything
PyYAML refuses (bad syntax, tabs for indentation, control characters) becomes a
``ConfigError`` naming the line and column; turning nodes into values, with
anchors, merge keys and the limits that keep a hostile file harmless, is
``sleuth.suite.yamlvalues``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleuth.errors import ConfigError
from sleuth.suite.textfile import read_config_text

if TYPE_CHECKING:
    import yaml

Path_ = tuple[str | int, ...]
# Leading whitespace with a tab in it: YAML indents with spaces only.
_TAB_INDENT = re.compile(r"^ *\t")
# PyYAML's words for some mistakes, and plainer ones (libyaml names no alias).
_PLAINER = {
    "found undefined alias": "an alias (*name) here names no anchor (&name) "
    "written before it",
    "exceeded maximum nesting depth": "values nested more than 1,000 levels deep; "
    "a config or probe table needs only a few",
}


class Lines:
    """Line numbers (1-based) of the values and keys in one file.

    A value that came through a merge key or an alias carries a note naming
    where it was brought in, since its line is the anchor's, shared by all uses.
    """

    def __init__(
        self,
        file: str,
        lines: Mapping[Path_, int] | None = None,
        notes: Mapping[Path_, str] | None = None,
    ) -> None:
        self.file = file
        self._lines: dict[Path_, int] = dict(lines or {})
        self._notes: dict[Path_, str] = dict(notes or {})

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get(())

    def note(self, path: Path_) -> str | None:
        """How ``path`` (or the nearest parent that has a note) was brought in."""
        while path:
            if path in self._notes:
                return self._notes[path]
            path = path[:-1]
        return None

    def where(self, path: Path_) -> str:
        line = self.line(path)
        if not line:
            return self.file
        note = self.note(path)
        return f"{self.file} line {line}" + (f" ({note})" if note else "")

    def set(self, path: Path_, line: int) -> None:
        self._lines[path] = line

    def set_note(self, path: Path_, note: str) -> None:
        self._notes[path] = note

    def by_path(self) -> Mapping[Path_, int]:
        return self._lines

    def notes_by_path(self) -> Mapping[Path_, str]:
        return self._notes


def load(
    path: Path, *, display: str | None = None, keep: bool = False
) -> tuple[Any, Lines]:
    """Parse a YAML file into plain Python values and their line numbers.

    With ``keep``, the parse is kept in ``.sleuth/`` beside the file and reused
    while the file reads the same (``sleuth.suite.parsecache``): a re-run then does
    not import PyYAML.

    Raises:
        ConfigError: for unreadable files, YAML syntax errors, duplicate keys,
            unknown tags, and files past the limits of ``sleuth.suite.yamlvalues``.
    """
    display = display or path.name
    text = read_config_text(path, display=display)
    if not keep:
        return loads(text, display=display)
    from sleuth.suite import parsecache

    kept = parsecache.recall(path, text)
    if kept is not None:
        return kept.data, Lines(display, kept.lines, kept.notes)
    data, lines = loads(text, display=display)
    parsecache.remember(path, text, data, lines.by_path(), lines.notes_by_path())
    return data, lines


def loads(text: str, *, display: str, loader: Any = None) -> tuple[Any, Lines]:
    """Parse YAML text (``loader``: PyYAML's C loader where built, by default)."""
    import yaml  # here, not at import: the plugin loads in every pytest run

    from sleuth.suite.yamlvalues import build

    if loader is None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parser = loader(text)
    try:
        node = parser.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, display) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, display) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=display) from None
    except RecursionError:
        # PyYAML's pure-Python composer recurses once per level; its C one
        # stops at 1,000 levels by itself, and sleuth.suite.yamlvalues far sooner.
        raise ConfigError(
            "invalid YAML: values nested too deeply to read; a config or probe "
            "table needs only a few levels",
            where=_at(display, getattr(parser, "get_mark", lambda: None)()),
        ) from None
    finally:
        parser.dispose()
    lines = Lines(display)
    if node is None:
        return None, lines
    return build(node, lines), lines


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, display: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    if mark is not None:
        source = text.splitlines()[mark.line : mark.line + 1] or [""]
        if _TAB_INDENT.match(source[0]) or "tab character" in (exc.problem or ""):
            column = source[0].find("\t") + 1 or mark.column + 1
            return ConfigError(
                "tabs are not allowed for indentation: indent with spaces",
                where=f"{display} line {mark.line + 1}, column {column}",
            )
    problem = exc.problem or exc.context or "invalid YAML"
    for words, plainer in _PLAINER.items():
        if words in problem:
            return ConfigError(f"invalid YAML: {plainer}", where=_at(display, mark))
    context = exc.context if exc.problem else None
    if context and exc.context_mark is not None:
        context = f"{context} at line {exc.context_mark.line + 1}"
    message = f"{context}, {problem}" if context else problem
    return ConfigError(f"invalid YAML: {message}", where=_at(display, mark))


def _reader_error(exc: yaml.reader.ReaderError, text: str, display: str) -> ConfigError:
    character = exc.character
    code = ord(character) if isinstance(character, str) else int(character)
    # The reader stops at the first character YAML forbids; its position is
    # in bytes (C loader) or characters (Python loader), so find it instead.
    found = text.find(chr(code))
    position = found if found >= 0 else exc.position
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return ConfigError(
        f"invalid YAML: the character #x{code:04x} is not allowed in YAML text; "
        f"remove it",
        where=f"{display} line {line}, column {column}",
    )


def _at(display: str, mark: Any) -> str:
    if mark is None:
        return display
    return f"{display} line {mark.line + 1}, column {mark.column + 1}"
