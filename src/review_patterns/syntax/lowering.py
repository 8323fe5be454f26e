"""Newer Python rewritten into what the running interpreter's `ast` reads, line for line.

LibCST reads every Python up to the newest it knows; CPython's `ast` only its own version's.
The project readers and the syntax check need CPython's tree, so a source that LibCST reads
and the running interpreter does not is lowered: PEP 695 type aliases become assignments and
type parameters go (PEP 696 defaults with them), f-strings this interpreter cannot read
(PEP 701: nested quotes, backslashes, comments, line breaks in fields) and t-strings (PEP 750)
keep their text with a placeholder `_` for each field, `except A, B:` (PEP 758) gets its
parentheses, and `except*` becomes `except` before Python 3.11. What follows each rewrite keeps
its line and, but for the few characters an f-string or an `except` may gain, its column.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from collections.abc import Sequence
from typing import TypeVar

import libcst as cst

_code = cst.Module([]).code_for_node


def lowered(module: cst.Module) -> str:
    """`module`'s code with the syntax this interpreter cannot parse rewritten (see the module doc)."""
    return module.visit(_Lowering()).code


def _blank(code: str) -> str:
    """`code` as spaces, keeping its line breaks."""
    return re.sub(r"[^\r\n]", " ", code)


def _spaces(code: str) -> cst.SimpleWhitespace:
    """As many spaces as `code` has characters but line breaks."""
    return cst.SimpleWhitespace(" " * len(code.replace("\n", "").replace("\r", "")))


def _whitespace(node: cst.BaseParenthesizableWhitespace | cst.MaybeSentinel) -> str:
    return " " if isinstance(node, cst.MaybeSentinel) else _code(node)


def _parses_here(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code, mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True


def _fields(parts: Sequence[cst.CSTNode]) -> str:
    """An f-string's or a format spec's parts with a placeholder for each field's expression."""
    out = []
    for part in parts:
        if isinstance(part, (cst.FormattedStringText, cst.TemplatedStringText)):
            out.append(part.value)
            continue
        assert isinstance(part, (cst.FormattedStringExpression, cst.TemplatedStringExpression))
        inside = _code(part.whitespace_before_expression) + _code(part.expression)
        inside += _code(part.whitespace_after_expression)
        blank = _blank(inside)
        field = "_" + (blank[1:] if blank.startswith(" ") else blank)
        if part.equal is not None:
            field += "="
        if part.conversion is not None:
            field += "!" + part.conversion
        if part.format_spec is not None:
            field += ":" + _fields(part.format_spec)
        out.append("{" + field + "}")
    return "".join(out)


def _string(node: cst.FormattedString | cst.TemplatedString) -> cst.BaseExpression:
    quote: str = node.end
    prefix = node.start[: -len(quote)].replace("t", "f").replace("T", "F")
    body = _fields(node.parts)
    if "\n" in body and len(quote) == 1:  # a field broken over lines: only triple quotes allow that
        quote *= 3
    lowered = cst.parse_expression(prefix + quote + body + quote)
    return lowered.with_changes(lpar=node.lpar, rpar=node.rpar)


class _Lowering(cst.CSTTransformer):
    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        return False  # an f-string is kept or lowered whole

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.BaseExpression:
        return updated_node if _parses_here(_code(updated_node)) else _string(updated_node)

    def visit_TemplatedString(self, node: cst.TemplatedString) -> bool:
        return False

    def leave_TemplatedString(
        self, original_node: cst.TemplatedString, updated_node: cst.TemplatedString
    ) -> cst.BaseExpression:
        return _string(updated_node)

    def leave_TypeAlias(self, original_node: cst.TypeAlias, updated_node: cst.TypeAlias) -> cst.Assign:
        node = updated_node
        before_equal = _code(node.whitespace_after_type)
        if node.type_parameters is not None:
            before_equal += _code(node.type_parameters) + _whitespace(node.whitespace_after_type_parameters)
        else:
            before_equal += _whitespace(node.whitespace_after_name)
        target = cst.AssignTarget(
            node.name,
            whitespace_before_equal=_spaces("type" + before_equal),
            whitespace_after_equal=node.whitespace_after_equals,
        )
        value = node.value
        lines = before_equal.count("\n")
        if lines and hasattr(value, "lpar"):  # a parameter list broken over lines: its breaks go in parentheses
            opening = cst.LeftParen(whitespace_after=_with_lines(_spaces(""), lines))
            value = value.with_changes(lpar=[opening, *value.lpar], rpar=[*value.rpar, cst.RightParen()])
        return cst.Assign([target], value, semicolon=node.semicolon)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        return _without_type_parameters(updated_node)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        return _without_type_parameters(updated_node)

    def leave_ExceptHandler(
        self, original_node: cst.ExceptHandler, updated_node: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        return updated_node.with_changes(type=_parenthesised(updated_node.type))

    def leave_ExceptStarHandler(
        self, original_node: cst.ExceptStarHandler, updated_node: cst.ExceptStarHandler
    ) -> cst.ExceptStarHandler:
        return updated_node.with_changes(type=_parenthesised(updated_node.type))

    def leave_TryStar(self, original_node: cst.TryStar, updated_node: cst.TryStar) -> cst.BaseStatement:
        if sys.version_info >= (3, 11):
            return updated_node
        handlers = [
            cst.ExceptHandler(
                h.body,
                h.type,
                h.name,
                leading_lines=h.leading_lines,
                whitespace_after_except=cst.SimpleWhitespace(" " + _code(h.whitespace_after_star)),
                whitespace_before_colon=h.whitespace_before_colon,
            )
            for h in updated_node.handlers
        ]
        node = updated_node
        return cst.Try(
            node.body, handlers, node.orelse, node.finalbody, node.leading_lines, node.whitespace_before_colon
        )


Definition = TypeVar("Definition", cst.FunctionDef, cst.ClassDef)


def _without_type_parameters(node: Definition) -> Definition:
    if node.type_parameters is None:
        return node
    dropped = _code(node.type_parameters) + _code(node.whitespace_after_type_parameters)
    lines = dropped.count("\n")
    if not lines:
        after_name = _spaces(_code(node.whitespace_after_name) + dropped)
        return node.with_changes(
            type_parameters=None, whitespace_after_type_parameters=_spaces(""), whitespace_after_name=after_name
        )
    node = node.with_changes(type_parameters=None, whitespace_after_type_parameters=_spaces(""))
    # A list broken over lines: its line breaks go inside the parentheses that follow.
    if isinstance(node, cst.FunctionDef):
        return node.with_changes(whitespace_before_params=_with_lines(node.whitespace_before_params, lines))
    if isinstance(node.lpar, cst.LeftParen):
        return node.with_changes(
            lpar=node.lpar.with_changes(whitespace_after=_with_lines(node.lpar.whitespace_after, lines))
        )
    return node.with_changes(
        lpar=cst.LeftParen(whitespace_after=_with_lines(_spaces(""), lines)), rpar=cst.RightParen()
    )


def _with_lines(whitespace: cst.BaseParenthesizableWhitespace, lines: int) -> cst.ParenthesizedWhitespace:
    """`whitespace` (after an opening parenthesis) with `lines` more line breaks first."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return whitespace.with_changes(empty_lines=[cst.EmptyLine(indent=False)] * lines + list(whitespace.empty_lines))
    assert isinstance(whitespace, cst.SimpleWhitespace)
    return cst.ParenthesizedWhitespace(
        empty_lines=[cst.EmptyLine(indent=False)] * (lines - 1), indent=False, last_line=whitespace
    )


def _parenthesised(expression: cst.BaseExpression | None) -> cst.BaseExpression | None:
    if isinstance(expression, cst.Tuple) and not expression.lpar:
        return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expression
