"""Shared knowledge of Python and Django source: file kinds, dotted names and import aliases."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from functools import cached_property

import libcst as cst

_MIGRATION = re.compile(r"(^|/)(migrations|db_migrations|south_migrations)/[^/]+\.py$")
_MODELS = re.compile(r"(^|/)(models\.py$|models/[^/]+\.py$)")
_TESTS = re.compile(r"(^|/)(tests?/|tests?\.py$|test_[^/]*\.py$|[^/]*_tests?\.py$|conftest\.py$|testutils?\.py$)")
_SETTINGS = re.compile(r"(^|/)(settings\.py$|settings/[^/]+\.py$)")
_SERVICES = re.compile(r"(^|/)(services\.py$|services/[^/]+\.py$)")


class SourceFile:
    """A file being checked: its path (relative, forward slashes), text and what kind of module it is."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    @cached_property
    def module_name(self) -> str:
        """`blog/views.py` -> `blog.views`; `blog/__init__.py` -> `blog`."""
        parts = self.path.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(p for p in parts if p not in ("", "."))

    @cached_property
    def package(self) -> str:
        parts = self.path.split("/")[:-1]
        return ".".join(p for p in parts if p not in ("", "."))

    @cached_property
    def is_migration(self) -> bool:
        return bool(_MIGRATION.search(self.path)) and not self.path.endswith("__init__.py")

    @cached_property
    def is_models_module(self) -> bool:
        return bool(_MODELS.search(self.path))

    @cached_property
    def is_test(self) -> bool:
        return bool(_TESTS.search(self.path))

    @cached_property
    def is_settings(self) -> bool:
        return bool(_SETTINGS.search(self.path))

    @cached_property
    def is_services_module(self) -> bool:
        return bool(_SERVICES.search(self.path))


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a chain of names and attributes, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def ast_dotted_name(node: ast.expr) -> str | None:
    """The same for Python's `ast`, with which the project context reads many files fast."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = ast_dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def bound_names(target: cst.BaseExpression) -> Iterator[str]:
    """The names an assignment, `for` or `with ... as` target binds: `a, (b, *c)` -> a, b, c."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from bound_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from bound_names(target.value)


def call_name(node: cst.Call) -> str | None:
    """The called attribute or function name: `obj.save()` -> `save`, `F("x")` -> `F`."""
    func = node.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def keyword(node: cst.Call, name: str) -> cst.Arg | None:
    """The keyword argument `name=` of a call, if given."""
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain (non-f, non-concatenated-with-expressions) string literal."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


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
