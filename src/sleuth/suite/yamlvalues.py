"""PyYAML nodes into plain values, with their lines, anchors and merge keys.

Anchors, aliases and YAML 1.1 merge keys work as in PyYAML (``<<: *common``,
``<<: [*a, *b]``: keys written in the mapping win over merged ones, and an
earlier merged mapping wins over a later one), with two differences that make
errors useful: a merged or aliased value keeps the line where it is written,
with a note naming where it was brought in; and what a file can make sleuth do
is bounded, so a hostile or mistaken file ends in one line, not a hang:

- values nested at most ``MAX_DEPTH`` levels deep;
- at most ``MAX_ALIAS_VALUES`` values built again through aliases and merges
  (a "billion laughs" file expands to billions);
- no alias inside the value it names (it would never end);
- plain values only: text, numbers, true/false, null, dates, lists and
  mappings. An unknown tag (``!Ref``, ``!!python/object``) is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from sleuth.errors import ConfigError

if TYPE_CHECKING:  # yamlfile calls ``build``: only its types are needed here
    from sleuth.suite.yamlfile import Lines, Path_

# A suite's config is a few levels deep, a table row or an inline JSON schema
# a dozen; checking what lies below (JSON schemas, JMESPath) recurses too.
MAX_DEPTH = 50
# Far more than anchors reused by hand (a row template merged into 500 rows
# of 20 keys is 10,000), far less than an expansion that eats memory.
MAX_ALIAS_VALUES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
# `=` alone resolves to this tag; PyYAML's safe loader has no constructor for it.
_VALUE_TAG = "tag:yaml.org,2002:value"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_WORDS = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:binary": "base64 data",
}
_SHOWN_CHARS = 40


def build(node: yaml.Node, lines: Lines) -> Any:
    """The plain value of ``node`` (a document's root), its lines set in ``lines``.

    Raises:
        ConfigError: naming the line of an unknown tag, a bad merge, an alias
            in itself, a value nested too deeply, or too many values built.
    """
    return _Builder(lines).value(node, (), depth=0, again=False)


class _Builder:
    """The state of one build: which nodes were met, and how much was copied."""

    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        self.constructor = yaml.constructor.SafeConstructor()
        self.built: set[int] = set()  # nodes built once: meeting one again is an alias
        self.open: set[int] = set()  # nodes being built: meeting one again never ends
        self.copied = 0
        # Where the copy being made is asked for: the mapping key or list an
        # alias is written in (PyYAML keeps no mark of the alias itself).
        self.copying: yaml.Node | None = None

    def value(self, node: yaml.Node, path: Path_, *, depth: int, again: bool) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(
                node,
                f"values nested more than {MAX_DEPTH} levels deep; a config or "
                f"probe table needs only a few. Flatten it",
            )
        again = again or id(node) in self.built
        self.built.add(id(node))
        if again:
            self.count_copy(node)
        self.lines.set(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.open:
            raise self.fail(
                node,
                "an alias here names the value it is part of, so it would never "
                "end; alias another value",
            )
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                self.check_tag(node, _MAP_TAG)
                return self.mapping(node, path, depth=depth, again=again)
            self.check_tag(node, _SEQ_TAG)
            items = []
            for i, item in enumerate(node.value):
                if not again:
                    self.copying = node
                items.append(self.value(item, (*path, i), depth=depth + 1, again=again))
            return items
        finally:
            self.open.discard(id(node))

    def mapping(
        self, node: yaml.MappingNode, path: Path_, *, depth: int, again: bool
    ) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, key_node, value_node, note in self.pairs(node, depth=depth):
            child = (*path, str(key))
            if note is None and not again and id(value_node) in self.built:
                note = f"via an alias at line {key_node.start_mark.line + 1}"
            if not again:
                self.copying = key_node
            result[key] = self.value(value_node, child, depth=depth + 1, again=again)
            self.lines.set(child, key_node.start_mark.line + 1)
            if note is not None:
                self.lines.set_note(child, note)
        return result

    def pairs(
        self, node: yaml.MappingNode, *, depth: int
    ) -> list[tuple[Any, yaml.Node, yaml.Node, str | None]]:
        """The mapping's keys and values, merge keys flattened, in written order.

        Each comes with a note when a merge key brought it in.
        """
        if depth > MAX_DEPTH:
            raise self.fail(
                node, f"merge keys nested more than {MAX_DEPTH} levels deep; flatten"
            )
        written: list[tuple[Any, yaml.Node, yaml.Node]] = []
        merge: yaml.Node | None = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
                if merge is not None:
                    raise self.fail(
                        key_node,
                        "<<: appears twice in this mapping; merge several "
                        "mappings with one: <<: [*first, *second]",
                    )
                merge = key_node
                written.append((None, key_node, value_node))
                continue
            written.append((self.key(key_node), key_node, value_node))
        taken: set[Any] = set()
        for key, key_node, _ in written:
            if key_node is merge:
                continue
            if key in taken:
                raise self.fail(key_node, f"key {key!r} appears twice; keep one")
            taken.add(key)
        result: list[tuple[Any, yaml.Node, yaml.Node, str | None]] = []
        for key, key_node, value_node in written:
            if key_node is not merge:
                result.append((key, key_node, value_node, None))
                continue
            note = f"via <<: at line {key_node.start_mark.line + 1}"
            self.copying = key_node
            for source in self.merge_sources(value_node):
                if id(source) in self.open:
                    raise self.fail(
                        key_node,
                        "<<: merges the mapping it is part of, so it would never "
                        "end; merge another mapping",
                    )
                self.open.add(id(source))
                try:
                    merged = self.pairs(source, depth=depth + 1)
                finally:
                    self.open.discard(id(source))
                for merged_key, merged_key_node, merged_value, _ in merged:
                    self.count_copy(merged_key_node)
                    if merged_key not in taken:
                        taken.add(merged_key)
                        result.append((merged_key, merged_key_node, merged_value, note))
        return result

    def merge_sources(self, node: yaml.Node) -> list[yaml.MappingNode]:
        """What ``<<:`` merges: one mapping, or a list of them (earlier wins)."""
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for item in items:
            if not isinstance(item, yaml.MappingNode):
                raise self.fail(
                    item,
                    "<<: merges mappings: write <<: *name (a mapping marked "
                    "&name) or <<: [*first, *second]",
                )
        return list(items)

    def key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, "a key must be a plain value, not a list or mapping")
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in (_MERGE_TAG, _VALUE_TAG):
            return node.value  # `<<` or `=` where no merge can be: the text itself
        if node.tag not in self.constructor.yaml_constructors or node.tag in (
            _MAP_TAG,
            _SEQ_TAG,
        ):
            raise self.unknown_tag(node)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError) as exc:
            # What each of PyYAML's scalar constructors raises for text it
            # cannot read: int() past 4,300 digits, a 13th month, `!!bool maybe`.
            shown = node.value[:_SHOWN_CHARS] + (
                "..." if len(node.value) > _SHOWN_CHARS else ""
            )
            why = (
                f": {exc}"
                if isinstance(exc, ValueError) and "timestamp" in node.tag
                else ""
            )
            raise self.fail(
                node,
                f"cannot read {shown!r} as {_WORDS.get(node.tag, node.tag)}{why}. "
                f"Quote it to keep it as text",
            ) from None

    def check_tag(self, node: yaml.Node, plain: str) -> None:
        if node.tag != plain:
            raise self.unknown_tag(node)

    def unknown_tag(self, node: yaml.Node) -> ConfigError:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        return self.fail(
            node,
            f"unknown tag {tag!r}: sleuth reads plain YAML (text, numbers, "
            f"true/false, lists, mappings). Remove the tag, or quote the value",
        )

    def count_copy(self, node: yaml.Node) -> None:
        self.copied += 1
        if self.copied > MAX_ALIAS_VALUES:
            raise self.fail(
                self.copying or node,
                f"aliases and merge keys here expand to more than "
                f"{MAX_ALIAS_VALUES:,} values; reuse smaller pieces, or write "
                f"them out",
            )

    def fail(self, node: yaml.Node, message: str) -> ConfigError:
        mark = node.start_mark
        return ConfigError(
            message,
            where=f"{self.lines.file} line {mark.line + 1}, column {mark.column + 1}",
        )
