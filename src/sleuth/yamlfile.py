"""YAML loading that remembers where each value was written.

Errors in sleuth.yaml and probe tables name the file and line; PyYAML's node marks
give the line, kept here in a ``Lines`` map keyed by the value's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleuth.errors import ConfigError

if TYPE_CHECKING:
    import yaml

Path_ = tuple[str | int, ...]


class Lines:
    """Line numbers (1-based) of the values and keys in one file."""

    def __init__(self, file: str, lines: Mapping[Path_, int] | None = None) -> None:
        self.file = file
        self._lines: dict[Path_, int] = dict(lines or {})

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get(())

    def where(self, path: Path_) -> str:
        line = self.line(path)
        return f"{self.file} line {line}" if line else self.file

    def set(self, path: Path_, line: int) -> None:
        self._lines[path] = line

    def by_path(self) -> Mapping[Path_, int]:
        return self._lines


def load(
    path: Path, *, display: str | None = None, keep: bool = False
) -> tuple[Any, Lines]:
    """Parse a YAML file into plain Python values and their line numbers.

    With ``keep``, the parse is kept in ``.sleuth/`` beside the file and reused
    while the file reads the same (``sleuth.parsecache``): a re-run then does
    not import PyYAML.

    Raises:
        ConfigError: for unreadable files, YAML syntax errors and duplicate keys.
    """
    display = display or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file: {exc.strerror}", where=display
        ) from exc
    if not keep:
        return loads(text, display=display)
    from sleuth import parsecache

    kept = parsecache.recall(path, text)
    if kept is not None:
        return kept[0], Lines(display, kept[1])
    data, lines = loads(text, display=display)
    parsecache.remember(path, text, data, lines.by_path())
    return data, lines


def loads(text: str, *, display: str) -> tuple[Any, Lines]:
    import yaml  # here, not at import: the plugin loads in every pytest run

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml if built
    lines = Lines(display)
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display} line {mark.line + 1}" if mark else display
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", where=where) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=display) from None
    if node is None:
        return None, lines
    return _build(node, (), lines, yaml.constructor.SafeConstructor()), lines


def _build(
    node: yaml.Node,
    path: Path_,
    lines: Lines,
    constructor: yaml.constructor.SafeConstructor,
) -> Any:
    import yaml

    lines.set(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise ConfigError(
                    "a key must be a plain value, not a list or mapping",
                    where=f"{lines.file} line {key_node.start_mark.line + 1}",
                )
            if key in result:
                raise ConfigError(
                    f"key {key!r} appears twice; keep one",
                    where=f"{lines.file} line {key_node.start_mark.line + 1}",
                )
            child = (*path, str(key))
            result[key] = _build(value_node, child, lines, constructor)
            lines.set(child, key_node.start_mark.line + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, i), lines, constructor)
            for i, item in enumerate(node.value)
        ]
    return constructor.construct_object(node, deep=True)
