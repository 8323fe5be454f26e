"""Where reported nodes are, as LibCST's `PositionProvider` places them, without its whole-module pass.

`PositionProvider` walks the whole tree once (a metadata visit) and then prints the whole module,
recording a range for every node. Here the module is printed with the same state (its tokens,
lines and columns), recording ranges as it does, and printing stops as soon as the last node
asked about has been printed: a node's range is final then, since a node records only its own
range, from its own tokens and children.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import libcst as cst
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState


class _AllFound(Exception):
    """Raised once every node asked about has its range."""


class _State(PositionProvidingCodegenState):
    ranges: dict[cst.CSTNode, CodeRange]
    wanted: set[int]  #: the ids of the nodes whose ranges are still to come

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> Iterator[None]:
        """As LibCST's; when printing stops inside `node`, its range is left out (its `end_node`
        may not have been printed)."""
        start = CodePosition(self.line, self.column)
        yield
        ranges = self.ranges
        ranges[node] = CodeRange(
            ranges[start_node].start if start_node is not None else start,
            ranges[end_node].end if end_node is not None else CodePosition(self.line, self.column),
        )

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        if node not in self.ranges:  # a syntactic range recorded while printing the node is kept
            self.ranges[node] = CodeRange(start, CodePosition(self.line, self.column))
        wanted = self.wanted
        if id(node) in wanted:
            wanted.discard(id(node))
            if not wanted:
                raise _AllFound


def positions_of(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[cst.CSTNode, CodeRange]:
    """The ranges `PositionProvider` gives `nodes` (and the nodes printed before the last of them).

    A node that is not in `module` has no range: the result has no key for it.
    """
    no_provider: Any = None  # the ranges are kept in the state itself
    state = _State(default_indent=module.default_indent, default_newline=module.default_newline, provider=no_provider)
    state.ranges = {}
    state.wanted = {id(node) for node in nodes}
    if state.wanted:
        try:
            module._codegen(state)
        except _AllFound:
            pass
    return state.ranges
