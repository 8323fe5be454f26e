"""Guards in front of LibCST's parser: only what CPython accepts, and not too deep, reaches it.

LibCST's native parser overflows its stack on deeply nested input (an uncatchable crash;
Instagram/LibCST#619, #980, #1000) and its traversal recurses once per level. CPython's own
parser rejects most of those inputs cheaply, and `nesting_depth` bounds the rest.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

import libcst as cst

#: Deepest nesting (see `nesting_depth`) handed to LibCST. Real code stays below 40 (Django's
#: deepest is 14); LibCST parses 1,000 levels in about a second, and its native parser crashes
#: somewhere above 5,000 operands of one `and`.
MAX_NESTING = 1000


@dataclass(frozen=True)
class Rejected:
    """Why a source cannot be analysed, and where."""

    line: int
    column: int  #: 0-based
    reason: str


def nesting_depth(tree: ast.AST) -> int:
    """How deep LibCST's tree for `tree` goes, counted without recursion.

    Each operand of `and`/`or` counts as a level, since LibCST nests them pairwise where
    CPython keeps them in one list.
    """
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    node_class, bool_op = ast.AST, ast.BoolOp
    while stack:  # `ast.iter_child_nodes` inlined: this runs over every node of every file
        node, depth = stack.pop()
        if type(node) is bool_op:
            depth += len(node.values) - 1
        if depth > deepest:
            deepest = depth
        depth += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                stack.extend((item, depth) for item in value if isinstance(item, node_class))
            elif isinstance(value, node_class):
                stack.append((value, depth))
    return deepest


def check_source(source: str, mode: str = "exec") -> Rejected | None:
    """None when LibCST may be given `source`; else why not, in CPython's words where it has them."""
    found = checked_depth(source, mode)
    return found if isinstance(found, Rejected) else None


def checked_depth(source: str, mode: str = "exec") -> Rejected | int:
    """`source`'s nesting depth (see `nesting_depth`) when LibCST may be given it; else why not."""
    try:
        with (
            warnings.catch_warnings()
        ):  # CPython's SyntaxWarnings ("'bool' object is not callable") are not ours to print
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode=mode)
    except SyntaxError as error:
        if "too many nested" in error.msg or "too complex" in error.msg:
            return Rejected(error.lineno or 1, 0, f"too deeply nested to analyse ({error.msg})")
        return Rejected(error.lineno or 1, max((error.offset or 1) - 1, 0), f"syntax error: {error.msg}")
    except RecursionError:
        return Rejected(1, 0, "too deeply nested to analyse (Python's own parser gives up)")
    except MemoryError:
        return Rejected(1, 0, "too large to analyse (out of memory while parsing)")
    except ValueError as error:  # null bytes, surrogates
        return Rejected(1, 0, f"cannot parse: {error}")
    depth = nesting_depth(tree)
    if depth > MAX_NESTING:
        return Rejected(1, 0, f"too deeply nested to analyse (nesting {depth}, limit {MAX_NESTING})")
    return depth


def parse_expression(text: str) -> cst.BaseExpression | None:
    """`text` (say a string annotation) as a LibCST expression, or None when it is not a safe one."""
    if check_source(text, mode="eval") is not None:
        return None
    try:
        return cst.parse_expression(text)
    except (cst.ParserSyntaxError, ValueError, RecursionError, MemoryError):
        return None
