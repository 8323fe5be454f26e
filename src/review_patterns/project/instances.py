"""Where the project makes instances of its classes on each call (RP507), read with `ast`, never imported.

An instance is made per call when `Service(...)` runs inside a function (a view, a task, a method),
not at module level, in a class body, in a memoized function or in `AppConfig.ready()`. A module
function that returns the new instance is a factory: its own callers decide. An instance made in
`__init__` lives as long as its owner: the owner's instances decide. Django and DRF views are made
per request. Management commands and scripts run once per process and are not read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from review_patterns.project.quota import own_nodes
from review_patterns.syntax.ast_names import AstImportTable, ast_dotted_name
from review_patterns.syntax.files import FileKind, SourceFile
from review_patterns.syntax.parsing import UNREADABLE, parse_python

#: Functions that run once per process or per owner: an instance made there is not made per call.
ONCE_METHODS = frozenset({"__init__", "__new__", "__init_subclass__", "__set_name__", "ready"})
MEMOIZERS = frozenset({"functools.lru_cache", "functools.cache", "functools.cached_property"})
_NOT_READ = frozenset({FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION, FileKind.COMMAND, FileKind.SCRIPT})
_MAX_DEPTH = 4

_Function = ast.FunctionDef | ast.AsyncFunctionDef


def is_drf_view(name: str) -> bool:
    """A DRF view class (`APIView`, the generic views, the viewsets), by qualified name."""
    return name == "rest_framework.views.APIView" or name.startswith(
        ("rest_framework.generics.", "rest_framework.viewsets.")
    )


def is_view_class(name: str) -> bool:
    """A Django or DRF class-based view, by qualified name: Django makes one instance per request."""
    return is_drf_view(name) or name.startswith("django.views.")


@dataclass(frozen=True)
class Site:
    """Where instances are made per call: "`locate()` in geo/views.py:12"."""

    where: str


@dataclass
class _Module:
    file: SourceFile
    tree: ast.Module
    imports: AstImportTable


class Instantiations:
    """Built once per run (`ProjectContext.instantiations`); `per_call()` is memoized per class."""

    def __init__(
        self, sources: Iterable[tuple[str, str]], asked: Callable[[str], None] = lambda qualified: None
    ) -> None:
        """`asked(qualified)` is told each question (the context records it as read by the rule asking)."""
        self._asked = asked
        self._sources = [(p, t) for p, t in sources if not SourceFile(p, t).kinds & _NOT_READ]
        self._parsed: dict[str, _Module | None] = {}
        self._memo: dict[str, Site | None] = {}

    def per_call(self, qualified: str) -> Site | None:
        """Where the project makes an instance of `qualified` (a class, or a factory returning one) on
        each call, else None (made once, at module level or in a singleton, or never)."""
        self._asked(qualified)
        return self._per_call(qualified, set())

    def _per_call(self, qualified: str, active: set[str]) -> Site | None:
        if qualified in self._memo:
            return self._memo[qualified]
        if qualified in active or len(active) > _MAX_DEPTH:
            return None
        active.add(qualified)
        short = qualified.rpartition(".")[2]
        written = re.compile(rf"\b{re.escape(short)}\b")
        found = None
        for path, text in self._sources:
            module = self._module(path, text) if written.search(text) else None
            if module is not None:
                found = next(self._sites(module, qualified, active), None)
                if found is not None:
                    break
        active.discard(qualified)
        self._memo[qualified] = found
        return found

    def _module(self, path: str, text: str) -> _Module | None:
        if path not in self._parsed:
            file = SourceFile(path, text)
            try:
                tree = parse_python(text)
            except UNREADABLE:
                self._parsed[path] = None
            else:
                self._parsed[path] = _Module(file, tree, AstImportTable.of_module(tree, file.package, everywhere=True))
        return self._parsed[path]

    def _sites(self, module: _Module, qualified: str, active: set[str]) -> Iterator[Site]:
        """The places of `module` where `qualified` is called on each call."""
        for owner, function in _functions(module.tree):
            returned = _returned(function)
            for node in own_nodes(function):
                if not isinstance(node, ast.Call) or not self._names(module, node.func, qualified):
                    continue
                if _memoized(function, module.imports) or function.name in ONCE_METHODS - {"__init__"}:
                    continue
                if function.name == "__init__" and owner is not None:
                    # Kept by its owner: made per call when the owner is.
                    bases = (module.imports.resolve(b) or "" for b in owner.bases)
                    if any(is_view_class(b) for b in bases):
                        yield Site(f"`{owner.name}`, a view made per request ({module.file.path}:{node.lineno})")
                    elif (made := self._per_call(f"{module.file.module_name}.{owner.name}", active)) is not None:
                        yield made
                elif node in returned:
                    if owner is None:  # a factory: its callers decide
                        made = self._per_call(f"{module.file.module_name}.{function.name}", active)
                        if made is not None:
                            yield made
                else:
                    name = f"{owner.name}.{function.name}" if owner is not None else function.name
                    yield Site(f"`{name}()` in {module.file.path}:{node.lineno}")

    @staticmethod
    def _names(module: _Module, func: ast.expr, qualified: str) -> bool:
        """Whether a called expression stands for `qualified`: itself, imported, or re-exported by a package."""
        written = ast_dotted_name(func)
        if written is None:
            return False
        name = module.imports.qualify(written) or f"{module.file.module_name}.{written}"
        if name == qualified or qualified.endswith("." + name):
            return True
        package, _, last = name.rpartition(".")
        return bool(package) and last == qualified.rpartition(".")[2] and qualified.startswith(package + ".")


def _functions(tree: ast.Module) -> Iterator[tuple[ast.ClassDef | None, _Function]]:
    """Every function of a module with the class it is a method of (None for the others)."""
    todo: list[tuple[ast.ClassDef | None, ast.AST]] = [(None, d) for d in _definitions(tree)]
    while todo:
        owner, node = todo.pop(0)
        if isinstance(node, ast.ClassDef):
            todo += [(node, d) for d in _definitions(node)]
        elif isinstance(node, _Function):
            yield owner, node
            todo += [(None, d) for d in _definitions(node)]


def _definitions(node: ast.AST) -> Iterator[ast.AST]:
    """The classes and functions defined in `node`'s body, not those nested in them."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop(0)
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield child
        else:
            stack.extend(ast.iter_child_nodes(child))


def _returned(function: _Function) -> set[ast.AST]:
    """The calls whose value the function returns: `return Service()`, or `service = Service(); return service`."""
    returns = [n.value for n in own_nodes(function) if isinstance(n, ast.Return) and n.value is not None]
    names = {r.id for r in returns if isinstance(r, ast.Name)}
    found: set[ast.AST] = {r for r in returns if isinstance(r, ast.Call)}
    for node in own_nodes(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
                found.add(node.value)
    return found


def _memoized(function: _Function, imports: AstImportTable) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if imports.resolve(target) in MEMOIZERS:
            return True
    return False
