"""What a test's ``@pytest.mark.parametrize`` decorators write, read from the tree.

Each case's values, by argument name, and whether they reach the test id:
they do unless the case has ``id=`` or the decorator ``ids=``.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ParamValue:
    """One argument's value in one case."""

    name: str
    node: ast.expr
    in_test_id: bool


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for an attribute chain on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def call_name(call: ast.Call) -> str | None:
    """The called name: ``post`` for ``a.http.post(...)``, ``f`` for ``f(...)``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def param_values(
    test: ast.FunctionDef | ast.AsyncFunctionDef,
) -> Iterator[ParamValue]:
    """Every value the test's parametrize decorators give, case by case."""
    for decorator in test.decorator_list:
        yield from _decorator_values(decorator)


def _decorator_values(decorator: ast.expr) -> Iterator[ParamValue]:
    if not (
        isinstance(decorator, ast.Call)
        and (dotted(decorator.func) or "").endswith("mark.parametrize")
        and len(decorator.args) >= 2
    ):
        return
    given_ids = any(k.arg == "ids" for k in decorator.keywords)
    names_node, values_node = decorator.args[0], decorator.args[1]
    names: list[str] = []
    if isinstance(names_node, ast.Constant) and isinstance(names_node.value, str):
        names = [n.strip() for n in names_node.value.split(",")]
    elif isinstance(names_node, ast.List | ast.Tuple):
        names = [
            e.value
            for e in names_node.elts
            if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    if not names or not isinstance(values_node, ast.List | ast.Tuple):
        return
    for case in values_node.elts:
        values: list[ast.expr] = [case]
        in_id = not given_ids
        if isinstance(case, ast.Call) and call_name(case) == "param":
            in_id = in_id and not any(k.arg == "id" for k in case.keywords)
            values = list(case.args)
        elif len(names) > 1 and isinstance(case, ast.Tuple | ast.List):
            values = list(case.elts)
        for name, value in zip(names, values, strict=False):
            yield ParamValue(name=name, node=value, in_test_id=in_id)
