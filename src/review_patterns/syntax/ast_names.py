"""The `ast` side of `names.py` and `imports.py`: what the project context reads of the `ast` modules
(dotted names, arguments, what imported names stand for), without LibCST."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


def ast_dotted_name(node: ast.expr) -> str | None:
    """`names.dotted_name` for Python's `ast`, with which the project context reads many files fast."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = ast_dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def ast_string(node: ast.expr | None) -> str | None:
    """The value of a string literal, else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def ast_called_name(node: ast.expr) -> str | None:
    """`names.called_name` for Python's `ast`."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call):
        head = ast_dotted_name(node.value.func)
        return None if head is None else f"{head}().{node.attr}"
    return ast_dotted_name(node)


def ast_argument(call: ast.Call, name: str, position: int | None = None) -> ast.expr | None:
    """`argument_value` for Python's `ast`: the value passed as `name=` or at `position`."""
    for found in call.keywords:
        if found.arg == name:
            return found.value
    if position is None or position >= len(call.args):
        return None
    if any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return None
    return call.args[position]


def absolute_module(package: str, module: str | None, level: int) -> str:
    """The module a `from` import names: `from ..x import y` in package `a.b.c` -> `a.b.x`."""
    if not level:
        return module or ""
    parts = package.split(".") if package else []
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, module] if module else parts)


def top_level(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """A module's statements, including those under top-level `if`, `try` and their `else`."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from top_level(stmt.body)
            yield from top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from top_level(stmt.body)
            for handler in stmt.handlers:
                yield from top_level(handler.body)
            yield from top_level(stmt.orelse)
        else:
            yield stmt


@dataclass
class AstImportTable:
    """What imported names stand for in a module read with Python's `ast`, with which the project context reads many files fast.
    Plain data, so that the project context can digest the parts that hold one."""

    package: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)  #: modules imported with `*`

    @classmethod
    def of_module(cls, tree: ast.Module, package: str = "", *, everywhere: bool = False) -> AstImportTable:
        """The imports of a module's top level (under `if` and `try` too), or of all of it."""
        table = cls(package)
        nodes = ast.walk(tree) if everywhere else top_level(tree.body)
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                table.add(node)
        return table

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                head = alias.name.split(".")[0]
                self.aliases[alias.asname or head] = alias.name if alias.asname else head
            return
        base = absolute_module(self.package, node.module, node.level)
        for alias in node.names:
            if alias.name == "*":
                self.stars.append(base)
            else:
                self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def qualify(self, name: str) -> str | None:
        """The qualified name of a dotted name whose head is imported, else None."""
        head, dot, rest = name.partition(".")
        return self.aliases[head] + dot + rest if head in self.aliases else None

    def resolve(self, node: ast.expr) -> str | None:
        """The qualified name of a dotted expression; names not imported stay as written."""
        name = ast_dotted_name(node)
        return None if name is None else (self.qualify(name) or name)
