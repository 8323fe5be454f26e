"""What each imported local name stands for (`Fx` -> `django.db.models.F`), for LibCST modules."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from review_patterns.syntax.names import dotted_name


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
        if not node.relative:
            return module or ""
        parts = self.package.split(".") if self.package else []
        up = len(node.relative) - 1
        parts = parts[: len(parts) - up] if up else parts
        return ".".join([*parts, module] if module else parts)

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
