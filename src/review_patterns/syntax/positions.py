"""Where reported nodes are, as LibCST's `PositionProvider` places them, without its whole-module pass.

`PositionProvider` walks the whole tree once (a metadata visit), then prints the whole module
with a state that counts lines and columns token by token and records a `CodeRange` for every
node. Here:

- the top-level statements before the first one holding a node asked about are printed plainly,
  only to count their lines;
- from that statement on, the module is printed with a state that counts as LibCST's does
  (`_Placing`, checked against it node by node in the tests), keeping ranges as plain tuples;
- printing stops as soon as the last node asked about has been printed: a node's range is final
  then, since a node records only its own range, from its own tokens and children.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

#: A line break as LibCST's position provider counts them.
_NEWLINE = re.compile(r"\r\n?|\n")

_Position = tuple[int, int]  # line (1-based), column (0-based)


class _AllFound(Exception):
    """Raised once every node asked about has its range."""


class _Reached(Exception):
    """Raised by `_Finder` when it is about to print a node asked about."""


class _Finder(CodegenState):
    """Prints without counting anything, up to a node asked about."""

    wanted: set[int]

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            raise _Reached

    def record_syntactic_position(  # type: ignore[override]  # any context manager does
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> AbstractContextManager[None]:
        return _NOTHING  # LibCST's makes a generator for every expression printed


class _Placing(CodegenState):
    """LibCST's `PositionProvidingCodegenState`, with ranges kept as tuples of tuples and a token
    without a line break counted without a regex."""

    line: int
    column: int
    starts: list[_Position]
    ranges: dict[cst.CSTNode, tuple[_Position, _Position]]
    wanted: set[int]  #: the ids of the nodes whose ranges are still to come

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.starts.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.starts.pop()
        ranges = self.ranges
        if node not in ranges:  # a syntactic range recorded while printing the node is kept
            ranges[node] = (start, (self.line, self.column))
        wanted = self.wanted
        if id(node) in wanted:
            wanted.discard(id(node))
            if not wanted:
                raise _AllFound

    def record_syntactic_position(  # type: ignore[override]  # any context manager does
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> _Syntactic:
        """As LibCST's; when printing stops inside `node`, its range is left out (its `end_node`
        may not have been printed)."""
        return _Syntactic(self, node, start_node, end_node)


_NOTHING = nullcontext()


class _Syntactic:
    """Records a node's syntactic range around its printing: LibCST's is a generator-based context
    manager, made for every expression printed, several times the cost of this one."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self, state: _Placing, node: cst.CSTNode, start_node: cst.CSTNode | None, end_node: cst.CSTNode | None
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:  # printing stopped inside the node
            return
        state, start_node, end_node = self.state, self.start_node, self.end_node
        ranges = state.ranges
        ranges[self.node] = (
            ranges[start_node][0] if start_node is not None else self.start,
            ranges[end_node][1] if end_node is not None else (state.line, state.column),
        )


def positions_of(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, CodeRange]:
    """The ranges `PositionProvider` gives `nodes`. A node that is not in `module` has no range:
    the result has no key for it."""
    asked = set(nodes)
    if not asked:
        return {}
    state = _Placing(default_indent=module.default_indent, default_newline=module.default_newline)
    state.line, state.column, state.starts, state.ranges = 1, 0, [], {}
    state.wanted = {id(node) for node in asked}
    reached = _first_statement_asked_about(module, state.wanted)
    try:
        if reached is None:  # in the header or the footer, or not in the module
            module._codegen(state)
        else:
            index, lines = reached
            state.line += lines  # at the start of a line: the column stays 0
            for statement in module.body[index:]:
                statement._codegen(state)
            for line in module.footer:
                line._codegen(state)
    except _AllFound:
        pass
    ranges = state.ranges
    return {
        node: CodeRange(CodePosition(*ranges[node][0]), CodePosition(*ranges[node][1]))
        for node in asked & ranges.keys()
    }


def _first_statement_asked_about(module: cst.Module, wanted: set[int]) -> tuple[int, int] | None:
    """The index of the first top-level statement that holds a node asked about, and the number of
    lines printed before it; None when that is not in the body or what comes before it does not
    end a line."""
    finder = _Finder(default_indent=module.default_indent, default_newline=module.default_newline)
    finder.wanted = wanted
    tokens = finder.tokens
    try:
        for line in module.header:
            line._codegen(finder)
        for index, statement in enumerate(module.body):
            printed = len(tokens)
            try:
                statement._codegen(finder)
            except _Reached:
                before = tokens[:printed]
                if before and not before[-1].endswith(("\n", "\r")):
                    return None
                return index, sum(len(_NEWLINE.findall(token)) for token in before if "\n" in token or "\r" in token)
    except _Reached:  # in the header
        return None
    return None
