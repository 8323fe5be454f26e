"""The fixes of RP302 and RP307: the text of a caught exception taken out of what it reaches.

A log keeps the exception's class, `type(e).__name__`, in place of its text; a client gets a
generic message in place of the whole string the text was formatted into. Only text written
in the sink itself is replaced (`str(e)`, `f"{e}"`, `"%s" % e`, `e.args`, `traceback.format_exc()`,
`e` as a logger argument): text that arrives through a variable is left, and no fix offered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import libcst as cst

from review_patterns.checks.privacy.helpers import TRACEBACK_TEXT, Handler
from review_patterns.core.rule import Rewrite
from review_patterns.syntax import traversal
from review_patterns.syntax.semantic import SemanticModel

GENERIC_MESSAGE = '"An internal error occurred."'


def log_redaction(sink: cst.CSTNode, handlers: set[Handler], semantic: SemanticModel) -> Rewrite | None:
    """A safe fix: each piece of exception text in `sink` (a logger call) becomes `type(e).__name__`."""
    replace: list[tuple[cst.CSTNode, cst.CSTNode]] = []
    for carrier, name in _carriers(sink, handlers, semantic, log=True):
        if name is None:
            return None  # the traceback of a handler without a name: nothing to name its class by
        kind: cst.BaseExpression = cst.parse_expression(f"type({name}).__name__")
        if isinstance(carrier, cst.FormattedStringExpression):  # `f"{e!r}"`: the class name as it is
            replace.append((carrier, carrier.with_changes(expression=kind, conversion=None)))
        else:
            replace.append((carrier, kind))
    if not replace:
        return None
    return Rewrite(safe=True, replace=tuple(replace), description="log the exception's class, not its text")


def generic_message(sink: cst.CSTNode, handlers: set[Handler], semantic: SemanticModel) -> Rewrite | None:
    """An unsafe fix: each string in `sink` that carries exception text becomes a generic message."""
    parents = _parents(sink)
    tops: dict[int, cst.CSTNode] = {}
    for carrier, _ in _carriers(sink, handlers, semantic, log=False):
        top = _whole_string(carrier, parents)
        tops[id(top)] = top
    if not tops:
        return None
    message = cst.SimpleString(GENERIC_MESSAGE)
    return Rewrite(
        safe=False,
        replace=tuple((top, message) for top in tops.values()),
        description="answer with a generic message",
    )


def _carriers(
    sink: cst.CSTNode, handlers: set[Handler], semantic: SemanticModel, log: bool
) -> Iterator[tuple[cst.CSTNode, str | None]]:
    """The expressions in `sink` that are the text of a handler's exception, with the handler's name."""
    names = {h.name: h for h in handlers if h.name is not None}
    named = [h.name for h in handlers if h.name is not None]
    traceback_of = named[0] if len(named) == 1 else None
    found: list[tuple[cst.CSTNode, str | None]] = []

    def exception(node: cst.BaseExpression) -> str | None:
        return node.value if isinstance(node, cst.Name) and node.value in names else None

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            qualified = semantic.imported_or_written(node.func)
            if qualified in TRACEBACK_TEXT:
                found.append((node, traceback_of))
                return False
            args = [a.value for a in node.args]
            if qualified in ("str", "repr") and len(args) == 1 and (name := exception(args[0])):
                found.append((node, name))
                return False
            if node is sink and log:  # `logger.error("... %s", e)`
                found.extend((a.value, name) for a in node.args if a.keyword is None and (name := exception(a.value)))
            elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
                found.extend((a.value, name) for a in node.args if (name := exception(a.value)))
            return True

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if node.attr.value in ("args", "message") and (name := exception(node.value)):
                found.append((node, name))
                return False
            return True

        def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
            if name := exception(node.expression):
                found.append((node, name))

        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            if isinstance(node.operator, cst.Modulo):
                right = node.right
                values = [e.value for e in right.elements] if isinstance(right, cst.Tuple) else [right]
                found.extend((value, name) for value in values if (name := exception(value)))

    traversal.visit(sink, Finder())
    return iter(found)


def _parents(root: cst.CSTNode) -> Mapping[int, cst.CSTNode]:
    parents: dict[int, cst.CSTNode] = {}

    class Linker(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            for child in traversal.children(node):
                parents[id(child)] = node
            return True

    traversal.visit(root, Linker())
    return parents


_WRAPPERS = (cst.Arg, cst.Element, cst.FormattedStringExpression)


def _whole_string(node: cst.CSTNode, parents: Mapping[int, cst.CSTNode]) -> cst.CSTNode:
    """The whole string `node` is formatted into: `f"failed: {e}"`, `"failed: " + str(e)`, `"%s" % e`."""
    while True:
        parent = parents.get(id(node))
        while isinstance(parent, _WRAPPERS):
            parent = parents.get(id(parent))
        grand = parents.get(id(parent)) if parent is not None else None
        composing = (
            isinstance(parent, (cst.FormattedString, cst.ConcatenatedString))
            or (isinstance(parent, cst.BinaryOperation) and isinstance(parent.operator, (cst.Add, cst.Modulo)))
            or (
                isinstance(parent, cst.Tuple)
                and isinstance(grand, cst.BinaryOperation)
                and isinstance(grand.operator, cst.Modulo)
                and grand.right is parent
            )
            or (
                isinstance(parent, cst.Call)
                and isinstance(parent.func, cst.Attribute)
                and parent.func.attr.value == "format"
            )
        )
        if not composing or parent is None:
            return node
        node = parent
