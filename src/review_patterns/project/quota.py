"""What RP504 knows of the whole project: the quota guards it defines and the API clients that
guarded functions call. Read with `ast` (fast), and only the files that call a guard."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from review_patterns.project.http import (
    BREAKER,
    BREAKER_CLASSES,
    NEW,
    PARAM,
    SESSION_CLASSES,
    breaker_like,
    client_keys,
    matches_any,
)
from review_patterns.syntax.ast_names import AstImportTable, ast_dotted_name, top_level
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.parsing import UNREADABLE, parse_python

if TYPE_CHECKING:
    from review_patterns.project.context import ProjectContext


@dataclass(frozen=True)
class QuotaFacts:
    """The project's quota guards and the clients called after one, for one set of guard names."""

    guards: frozenset[str]  #: guard functions the project defines
    clients: frozenset[str]  #: `client_keys` of the calls made after a guard call


def name_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """A regex finding a call of a name matching one of the globs: `check_quota(`."""
    alternatives = ("".join(r"\w*" if c == "*" else r"\w" if c == "?" else re.escape(c) for c in p) for p in patterns)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")\s*\(")


class QuotaIndex:
    """Built once per run (`ProjectContext.quota_index`); `facts()` is memoized per guard names."""

    def __init__(self, context: ProjectContext) -> None:
        self.context = context
        self._facts: dict[tuple[str, ...], QuotaFacts] = {}

    @property
    def defined(self) -> frozenset[str]:
        """Names of every function and method the project defines."""
        return self.context.function_names

    def facts(self, guards: tuple[str, ...]) -> QuotaFacts:
        self.context.record("quota_facts", guards)
        if guards not in self._facts:
            self._facts[guards] = self._compute(guards)
        return self._facts[guards]

    def _compute(self, guards: tuple[str, ...]) -> QuotaFacts:
        if not guards:
            return QuotaFacts(frozenset(), frozenset())
        defined = frozenset(n for n in self.defined if matches_any(n, guards))
        calls = name_regex(guards)
        clients: set[str] = set()
        for path, text in self.context.sources():
            if calls.search(text) is None:
                continue
            try:
                tree = parse_python(text)
            except UNREADABLE:
                continue
            clients |= ModuleReader(tree, SourceFile(path, text), guards).guarded_clients()
        return QuotaFacts(defined, frozenset(clients))


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


_Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class _Calls:
    """A function's calls in source order: (client keys, same-module callee, after a guard call)."""

    calls: list[tuple[frozenset[str], str | None, bool]]


class ModuleReader:
    """One module: its imports and bindings, as `HttpRule` tracks them in LibCST."""

    def __init__(self, tree: ast.Module, file: SourceFile, guards: tuple[str, ...]) -> None:
        self.tree = tree
        self.module = file.module_name
        self.guards = guards
        self.imports = AstImportTable.of_module(tree, file.package)
        self.bindings: dict[str, str] = {}
        for node in top_level(tree.body):
            if isinstance(node, ast.Assign):
                self.bind(self.bindings, node.targets, node.value)

    def resolve(self, name: str) -> str | None:
        """The qualified name of an imported dotted name, else None."""
        return self.imports.qualify(name)

    def constructed(self, value: ast.expr) -> str | None:
        if not isinstance(value, ast.Call):
            return None
        called = ast_dotted_name(value.func)
        if called is None:
            return None
        name = self.resolve(called)
        if name in SESSION_CLASSES:
            return SESSION_CLASSES[name]
        if name in BREAKER_CLASSES:
            return BREAKER
        return NEW + (name if name is not None else f"{self.module}.{called}")

    def bind(self, scope: dict[str, str], targets: list[ast.expr], value: ast.expr) -> None:
        kind = self.constructed(value)
        if kind is None and isinstance(value, (ast.Name, ast.Attribute)):
            # `self.circuit = vision_breaker`: a module-level breaker held under another name
            held = ast_dotted_name(value) or ""
            if breaker_like(held) or self.bindings.get(held) == BREAKER:
                kind = BREAKER
        if kind is not None:
            for target in targets:
                name = ast_dotted_name(target)
                if name is not None:
                    scope[name] = kind

    def guarded_clients(self) -> set[str]:
        """Clients called after a guard call, directly or through a helper of the same module."""
        functions: dict[str, _Calls] = {}  # "name" or "Class.name" -> what it calls
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                attributes: dict[str, str] = {}
                methods = [n for n in node.body if isinstance(n, _Function)]
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign):
                        self.bind(
                            attributes, [ast.Name(f"self.{ast_dotted_name(t)}") for t in stmt.targets], stmt.value
                        )
                for method in methods:
                    for inner in own_nodes(method):
                        if isinstance(inner, ast.Assign) and any(
                            (ast_dotted_name(t) or "").startswith("self.") for t in inner.targets
                        ):
                            self.bind(attributes, inner.targets, inner.value)
                for method in methods:
                    functions[f"{node.name}.{method.name}"] = self._calls(method, node.name, attributes)
            elif isinstance(node, _Function) and not self._is_method(node):
                functions.setdefault(node.name, self._calls(node, None, {}))

        def reachable(key: str, seen: set[str]) -> set[str]:
            if key in seen or key not in functions:
                return set()
            seen.add(key)
            found: set[str] = set()
            for keys, callee, _ in functions[key].calls:
                found |= keys
                if callee is not None:
                    found |= reachable(callee, seen)
            return found

        clients: set[str] = set()
        for calls in functions.values():
            for keys, callee, guarded in calls.calls:
                if guarded:
                    clients |= keys
                    if callee is not None:
                        clients |= reachable(callee, set())
        return clients

    @cached_property
    def _methods(self) -> set[int]:
        return {id(n) for c in ast.walk(self.tree) if isinstance(c, ast.ClassDef) for n in c.body}

    def _is_method(self, node: _Function) -> bool:
        return id(node) in self._methods

    def _calls(self, node: _Function, class_name: str | None, attributes: dict[str, str]) -> _Calls:
        local: dict[str, str] = {}
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            local[arg.arg] = PARAM
        own = list(own_nodes(node))
        for inner in own:
            if isinstance(inner, ast.Assign):
                self.bind(local, inner.targets, inner.value)
        calls = sorted((n for n in own if isinstance(n, ast.Call)), key=lambda c: (c.lineno, c.col_offset))
        guarded = any(
            matches_any(_called_name(d) or "", self.guards)
            if isinstance(d, ast.Call)
            else matches_any((ast_dotted_name(d) or "").rsplit(".", 1)[-1], self.guards)
            for d in node.decorator_list
        )
        result = _Calls([])
        for call in calls:
            if not guarded and matches_any(_called_name(call) or "", self.guards):
                guarded = True
                continue
            keys: frozenset[str] = frozenset()
            callee = None
            func = call.func
            if isinstance(func, ast.Name):
                callee = func.id
            elif isinstance(func, ast.Attribute):
                receiver = ast_dotted_name(func.value)
                if receiver in ("self", "cls") and class_name is not None:
                    callee = f"{class_name}.{func.attr}"
                elif receiver is not None:
                    keys = client_keys(
                        receiver, self.place(receiver, class_name, local), self.kind(receiver, local, attributes)
                    )
            result.calls.append((keys, callee, guarded))
        return result

    def place(self, receiver: str, class_name: str | None, local: dict[str, str]) -> str | None:
        head, _, rest = receiver.partition(".")
        if head in ("self", "cls") and rest:
            return f"{self.module}.{class_name}.{rest}" if class_name else None
        if head in self.imports.aliases:
            return self.imports.qualify(receiver)
        if head in local:
            return None
        return f"{self.module}.{receiver}"

    def kind(self, receiver: str, local: dict[str, str], attributes: dict[str, str]) -> str | None:
        head, _, rest = receiver.partition(".")
        if head in ("self", "cls") and rest:
            return attributes.get(f"self.{rest}")
        return local.get(receiver, self.bindings.get(receiver))


def own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, without those of nested functions, classes and lambdas."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield child
        stack.extend(ast.iter_child_nodes(child))
