"""What each imported local name stands for (`Fx` -> `django.db.models.F`): `import_aliases` for the
LibCST modules being checked (the semantic model binds them), `AstImportTable` for the `ast` modules
the project context reads."""

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


def import_aliases(node: cst.Import | cst.ImportFrom, package: str = "") -> Iterator[tuple[str, str]]:
    """The local names an import statement binds, with what each stands for: `from django.db.models
    import F as Fx` -> (`Fx`, `django.db.models.F`); `import os.path` -> (`os`, `os`). The semantic
    model reads every import of a checked module through this."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            target = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, target
            else:
                head = target.split(".")[0]
                yield head, head
        return
    if isinstance(node.names, cst.ImportStar):
        return
    module = dotted_name(node.module) if node.module is not None else ""
    base = absolute_module(package, module, len(node.relative))
    for alias in node.names:
        name = dotted_name(alias.name) or ""
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        yield local, f"{base}.{name}" if base else name


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
