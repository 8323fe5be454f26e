"""What each imported local name stands for (`Fx` -> `django.db.models.F`): `ImportTable` for the
LibCST modules being checked, `AstImportTable` for the `ast` modules the project context reads."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from review_patterns.syntax.names import ast_dotted_name, dotted_name


def absolute_module(package: str, module: str | None, level: int) -> str:
    """The module a `from` import names: `from ..x import y` in package `a.b.c` -> `a.b.x`."""
    if not level:
        return module or ""
    parts = package.split(".") if package else []
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, module] if module else parts)


def _import_target(node: cst.BaseExpression) -> str:
    name = dotted_name(node)
    assert name is not None  # import targets are always dotted names
    return name


class ImportTable:
    """What each imported local name stands for: `Fx` -> `django.db.models.F`.

    Cheaper than LibCST's scope provider and enough to tell Django's `F` from another `F`.
    """

    def __init__(self, package: str = "") -> None:
        self.package = package
        self.aliases: dict[str, str] = {}

    @classmethod
    def of_module(cls, module: cst.Module, package: str = "") -> ImportTable:
        """The imports of a module's top level, including those under `if` and `try`."""
        table = cls(package)
        table.add_all(module.body)
        return table

    def add_all(self, body: Iterable[cst.CSTNode]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.add(small)
            elif isinstance(stmt, cst.If):
                self.add_all(stmt.body.body)
                if isinstance(stmt.orelse, cst.Else):
                    self.add_all(stmt.orelse.body.body)
            elif isinstance(stmt, cst.Try):
                self.add_all(stmt.body.body)
                for handler in stmt.handlers:
                    self.add_all(handler.body.body)

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                target = _import_target(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = target
                else:
                    head = target.split(".")[0]
                    self.aliases[head] = head
            return
        if isinstance(node.names, cst.ImportStar):
            return
        base = self._from_module(node)
        for alias in node.names:
            name = _import_target(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{name}" if base else name

    def _from_module(self, node: cst.ImportFrom) -> str:
        module = dotted_name(node.module) if node.module is not None else ""
        return absolute_module(self.package, module, len(node.relative))

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a dotted expression; names not imported stay as written."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        if head in self.aliases:
            return self.aliases[head] + dot + rest
        return name

    def imported(self, node: cst.BaseExpression) -> bool:
        """Whether the expression's first name comes from an import."""
        name = dotted_name(node)
        return name is not None and name.split(".")[0] in self.aliases


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
    """`ImportTable` for Python's `ast`, with which the project context reads many files fast.
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
