"""The error tree is drawn once in sleuth/errors.py, and the docs show the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sleuth import errors

DOCS = Path(__file__).parents[1] / "docs" / "writing-probes.md"
_NODE = re.compile(r"^[ │]*(?:[├└]─ )?(?P<name>[A-Z]\w+)\s")


def tree_of(text: str) -> list[tuple[int, str]]:
    """``(depth, class name)`` of each line of a drawn tree."""
    start = text.index("SleuthError ")
    nodes = []
    for line in text[start:].splitlines():
        match = _NODE.match(line)
        if match is None:
            break
        nodes.append((match.start("name") // 3, match["name"]))
    return nodes


def test_the_docs_draw_the_tree_errors_py_draws():
    assert errors.__doc__ is not None
    in_code = tree_of(errors.__doc__.replace("\n    ", "\n"))
    assert tree_of(DOCS.read_text()) == in_code
    assert {name for _, name in in_code} == set(errors.__all__)


def test_each_error_is_a_subclass_of_its_parent_in_the_tree():
    assert errors.__doc__ is not None
    parents: list[str] = []
    for depth, name in tree_of(errors.__doc__.replace("\n    ", "\n")):
        del parents[depth:]
        if parents:
            assert getattr(errors, name).__bases__ == (getattr(errors, parents[-1]),)
        parents.append(name)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("sleuth.history.db", "StoreError"),
        ("sleuth.history.views", "HistoryUnavailable"),
    ],
)
def test_history_errors_are_the_trees_own(module, name):
    import importlib

    assert getattr(importlib.import_module(module), name) is getattr(errors, name)
