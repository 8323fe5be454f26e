"""Fixes as text edits: from a rule's `Rewrite` (nodes) to `Edit`s, and edits applied to source text.

Like ruff, a finding carries its fix as plain edits, so fixes cross process and module boundaries
as data and are applied to the text without another parse.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

from review_patterns.core.model import Edit, Fix
from review_patterns.core.rule import Rewrite
from review_patterns.syntax import traversal
from review_patterns.syntax.imports import import_aliases
from review_patterns.syntax.semantic import BindingKind, Scope

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?::[^=]*)?=")


def newline_of(source: str) -> str:
    """The line ending the file uses (its first one), `\\n` when it has none."""
    found = _LINE_BREAK.search(source)
    return found.group() if found else "\n"


_IMPORTS = (cst.Import, cst.ImportFrom)


def _is_docstring(body: Sequence[cst.BaseSmallStatement]) -> bool:
    return (
        len(body) == 1
        and isinstance(body[0], cst.Expr)
        and isinstance(body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def module_names(module: cst.Module) -> set[str]:
    """The names a module binds at its top level: assignments, functions, classes."""
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else []
                if isinstance(small, cst.AnnAssign):
                    targets = [small.target]
                names.update(t.value for t in targets if isinstance(t, cst.Name))
    return names


def _after_imports(module: cst.Module, starts: Sequence[int]) -> int:
    """The 1-based line before which module-level additions go: after the docstring and the imports."""
    printed = len(_LINE_BREAK.findall("".join(module.code_for_node(line) for line in module.header)))
    line = printed + 1
    for index, stmt in enumerate(module.body):
        small = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ()
        if not ((index == 0 and _is_docstring(small)) or (small and all(isinstance(s, _IMPORTS) for s in small))):
            break
        line += len(_LINE_BREAK.findall(module.code_for_node(stmt)))
    return min(line, len(starts) - 1) if len(starts) > 1 else 1


def _imported(statement: str, top: Scope) -> bool | None:
    """True when `from m import n` / `import m` is in place already at the module's top level, None
    when its name is bound to something else there."""
    parsed = cst.parse_statement(statement)
    assert isinstance(parsed, cst.SimpleStatementLine)
    small = parsed.body[0]
    assert isinstance(small, (cst.Import, cst.ImportFrom))
    for local, target in import_aliases(small):
        binding = top.latest(local)
        if binding is None:
            return False
        if binding.kind is not BindingKind.IMPORT or binding.qualified != target:
            return None
    return True


def _span_edit(before: str, after: str, starts: Sequence[int]) -> Edit | None:
    """The one edit turning `before` into `after`: what lies between their common prefix and suffix."""
    if before == after:
        return None
    limit = min(len(before), len(after))
    prefix = _longest(lambda n: before[:n] == after[:n], limit)
    suffix = _longest(lambda n: before[len(before) - n :] == after[len(after) - n :], limit - prefix)
    line, column = _position(starts, prefix)
    end_line, end_column = _position(starts, len(before) - suffix)
    return Edit(line, column, end_line, end_column, after[prefix : len(after) - suffix])


def _longest(holds: Callable[[int], bool], limit: int) -> int:
    """The largest n <= `limit` for which `holds(n)`, when it holds for every smaller n (a bisection:
    comparing slices is done in C, character by character in Python was not)."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _position(starts: Sequence[int], offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = bisect_right(starts, offset) - 1
    return line, offset - starts[line] + 1


def fix_of(
    rewrite: Rewrite, module: cst.Module, top: Scope, bound: Iterable[str], code: str | None = None
) -> Fix | None:
    """The edits of `rewrite` in `module`; None when it cannot be applied cleanly.

    Each replacement is made in the whole tree and the module printed again, so indentation and
    everything around the node come out as LibCST prints them; the edit is the span that changed.
    `top` is the module's scope in the semantic model (what its names are imported as); `bound` are
    the names the module binds at top level; `code` is `module.code` when the caller has it already.
    """
    code = module.code if code is None else code
    starts = _offsets(code)
    newline = newline_of(code)
    edits = []
    replacements: list[tuple[cst.CSTNode, cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement]]] = [*rewrite.replace]
    for node, statement in rewrite.after:
        holder = _statement_line(module, node)
        if holder is None:
            return None
        replacements.append((holder, cst.FlattenSentinel([holder, cst.parse_statement(statement)])))
    for old, new in replacements:
        edit = _span_edit(code, _replaced_code(module, code, traversal.ancestors(module, old), new), starts)
        if edit is not None:
            edits.append(edit)
    new_imports: list[str] = []
    for statement in rewrite.imports:
        state = _imported(statement, top)
        if state is None:
            return None
        if not state:
            new_imports.append(statement)
    names = set(bound)
    new_constants = [c for c in rewrite.constants if not ((m := _ASSIGNED.match(c)) and m.group(1) in names)]
    if new_imports or new_constants:
        line = _after_imports(module, starts)
        lines = code.splitlines()
        before = lines[line - 2].strip() if 1 < line <= len(lines) + 1 else ""
        after = lines[line - 1].strip() if line <= len(lines) else ""
        text = "".join(statement + newline for statement in new_imports)
        if new_constants:  # a block of its own, set apart by blank lines as formatters do
            text += newline if (before or new_imports) else ""
            text += "".join(constant + newline for constant in new_constants)
            text += newline if after else ""
        edits.append(Edit(line, 1, line, 1, text))
    return Fix(rewrite.safe, tuple(edits), rewrite.description, rewrite.files) if edits else None


def _replaced_code(
    module: cst.Module,
    code: str,
    path: Sequence[cst.CSTNode],
    new: cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement],
) -> str:
    """`code` (the module's) with the last node of `path` replaced by `new`, as the module prints.

    Only the innermost statement above the node whose text is found once in `code` is printed,
    before and after (with the indentation of the blocks around it, as the module prints it);
    where none is, the whole module is.
    """
    old = path[-1]
    for depth in range(len(path) - 2, 0, -1):
        holder = path[depth]
        if not isinstance(holder, cst.BaseStatement):
            continue
        indents = [_indent(block, module) for block in path[1:depth] if isinstance(block, cst.IndentedBlock)]
        text = _printed(holder, module, indents)
        at = code.find(text)
        if at == -1 or code.find(text, at + 1) != -1:
            continue
        replaced = holder.visit(_Replace(old, new, path[depth:]))
        assert isinstance(replaced, cst.CSTNode)
        return code[:at] + _printed(replaced, module, indents) + code[at + len(text) :]
    replaced_module = module.visit(_Replace(old, new, path))
    assert isinstance(replaced_module, cst.Module)
    return replaced_module.code


def _indent(block: cst.IndentedBlock, module: cst.Module) -> str:
    return module.default_indent if block.indent is None else block.indent


def _printed(node: cst.CSTNode, module: cst.Module, indents: list[str]) -> str:
    """`node` as `module` prints it inside blocks indented by `indents`."""
    state = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
    state.indent_tokens.extend(indents)
    node._codegen(state)
    return "".join(state.tokens)


class _Replace(cst.CSTTransformer):
    """Replaces one node (by identity), by several in a statement list, rebuilding only the nodes
    that hold it (`path`, from the module down to it): LibCST rebuilds every node it enters."""

    def __init__(
        self,
        old: cst.CSTNode,
        new: cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement],
        path: Sequence[cst.CSTNode],
    ) -> None:
        self.old, self.new = old, new
        self.holders = {id(node) for node in path[:-1]}

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) in self.holders

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        return self.new if original_node is self.old else updated_node


#: Statements after which a statement added still runs.
_CONTINUING = (cst.Expr, cst.Assign, cst.AnnAssign, cst.AugAssign)


def _statement_line(module: cst.Module, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The statement line whose statement holds `node`, when something added after it runs."""
    found: list[cst.SimpleStatementLine] = []

    class Finder(cst.CSTVisitor):
        line: cst.SimpleStatementLine | None = None

        def on_visit(self, visited: cst.CSTNode) -> bool:
            if found:
                return False
            if isinstance(visited, cst.BaseCompoundStatement) or isinstance(visited, cst.SimpleStatementSuite):
                self.line = None  # a header, or a body on the header's line
            elif isinstance(visited, cst.SimpleStatementLine):
                self.line = visited
            if visited is node and self.line is not None:
                found.append(self.line)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if isinstance(original_node, cst.SimpleStatementLine):
                self.line = None

    traversal.visit(module, Finder())
    if not found or len(found[0].body) != 1 or not isinstance(found[0].body[0], _CONTINUING):
        return None
    return found[0]


def _offsets(source: str) -> list[int]:
    """Offset of the start of each 1-based line (index 0 unused), one past the end included."""
    starts = [0, 0]
    starts += [match.end() for match in _LINE_BREAK.finditer(source)]
    return starts


def apply_fixes(source: str, fixes: Iterable[Fix]) -> tuple[str, int]:
    """`source` with every fix whose edits overlap none applied before it; and how many were applied.

    Identical edits shared by several fixes (the same import added twice) are applied once.
    """
    starts = _offsets(source)

    def offset(line: int, column: int) -> int:
        if line >= len(starts):
            return len(source)
        return min(starts[line] + column - 1, len(source))

    taken: list[tuple[int, int, str]] = []
    applied = 0
    for fix in fixes:
        spans = [(offset(e.line, e.column), offset(e.end_line, e.end_column), e.content) for e in fix.edits]
        fresh = [span for span in spans if span not in taken]
        if any(_overlaps(span, other) for span in fresh for other in taken):
            continue
        taken.extend(fresh)
        applied += 1
    for start, end, content in sorted(taken, key=lambda s: (s[0], s[1]), reverse=True):
        source = source[:start] + content + source[end:]
    return source, applied


def _overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    if a[0] == a[1] or b[0] == b[1]:  # insertions clash only when placed at the same point
        return (a[0] == b[0] and a[1] == b[1]) or (b[0] < a[0] < b[1]) or (a[0] < b[0] < a[1])
    return a[0] < b[1] and b[0] < a[1]
