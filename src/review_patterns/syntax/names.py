"""Dotted names, call names, bound names, keyword arguments and string literals of LibCST and `ast` nodes."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import libcst as cst


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a chain of names and attributes, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def ast_dotted_name(node: ast.expr) -> str | None:
    """The same for Python's `ast`, with which the project context reads many files fast."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = ast_dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def bound_names(target: cst.BaseExpression) -> Iterator[str]:
    """The names an assignment, `for` or `with ... as` target binds: `a, (b, *c)` -> a, b, c."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from bound_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from bound_names(target.value)


def call_name(node: cst.Call) -> str | None:
    """The called attribute or function name: `obj.save()` -> `save`, `F("x")` -> `F`."""
    func = node.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def keyword(node: cst.Call, name: str) -> cst.Arg | None:
    """The keyword argument `name=` of a call, if given."""
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain (non-f, non-concatenated-with-expressions) string literal."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
