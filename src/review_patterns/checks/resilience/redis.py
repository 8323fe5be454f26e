"""Which expressions are Redis clients, pipelines, locks or Django's cache, through imports and bindings.

Shared by the rules on counters, cache timeouts and locks (RP501, RP502, RP505, RP508). A name
counts only when it is bound to something recognised (`redis.Redis(...)`, `get_redis_connection()`,
`caches["x"]`, `client.pipeline()`, `client.lock(...)`, a factory returning one, an annotation),
so a project's own class with an `incr` or a `set` method, a dict or `threading.Lock` never does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.project.clients import (
    ANNOTATION_KINDS,
    DJANGO_CACHE,
    DJANGO_CACHES,
    LOCK_CLASSES,
    REDIS_FACTORIES,
    Kind,
)
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.imports import ImportTable
from review_patterns.syntax.names import dotted_name, string_value
from review_patterns.syntax.parsing import parse_expression

#: Pipeline methods that do not return the pipeline (the others queue a command and return it).
_PIPELINE_ENDS = frozenset({"execute", "reset", "watch", "unwatch", "multi", "immediate_execute_command"})


@dataclass(frozen=True)
class Binding:
    """What a name, attribute or call stands for; `kind` None means "known not to be one"."""

    kind: Kind | None
    origin: cst.Call | None = None  #: the call that created it (a lock's constructor, for its arguments)


_NOTHING = Binding(None)


class _Frame:
    """A function or class body being visited, and the names it binds."""

    def __init__(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        self.node = node
        self.names: dict[str, Binding] = {}  # function locals, or a class's attributes (incl. `self.x`)
        self.factories: dict[str, Binding] = {}  # a class's methods that return a client

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, cst.ClassDef)


def _statements(body: Sequence[cst.BaseStatement | cst.BaseSmallStatement]) -> Iterator[cst.CSTNode]:
    """Small statements and `with` items of a body, in order, entering blocks but not nested scopes."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                yield from _statements(_block(case.body))
        elif isinstance(stmt, cst.BaseCompoundStatement):
            if isinstance(stmt, cst.With):
                yield from stmt.items
            yield from _statements(_block(stmt.body))
            for extra in _extra_blocks(stmt):
                yield from _statements(extra)


def _block(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement | cst.BaseSmallStatement]:
    return suite.body


def _extra_blocks(stmt: cst.BaseCompoundStatement) -> Iterator[Sequence[Any]]:
    if isinstance(stmt, cst.If):
        orelse = stmt.orelse
        while isinstance(orelse, cst.If):
            yield _block(orelse.body)
            orelse = orelse.orelse
        if orelse is not None:
            yield _block(orelse.body)
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        for handler in stmt.handlers:
            yield _block(handler.body)
        if stmt.orelse is not None:
            yield _block(stmt.orelse.body)
        if stmt.finalbody is not None:
            yield _block(stmt.finalbody.body)
    elif isinstance(stmt, (cst.For, cst.While)) and stmt.orelse is not None:
        yield _block(stmt.orelse.body)


def _is_property(node: cst.FunctionDef, imports: ImportTable) -> bool:
    for decorator in node.decorators:
        name = imports.resolve(decorator.decorator) or ""
        if name.rsplit(".", 1)[-1] in ("property", "cached_property"):
            return True
    return False


class ClientRule(Rule):
    """A rule that asks what an expression is: `self.binding_of(expr)` and `self.kind_of(expr)`.

    Keeps the names bound in the module, classes (attributes, `self.x`) and functions as the
    traversal goes. Subclasses override `enter_function` / `exit_function` instead of the
    `FunctionDef` visitor methods, and may define the other visitor methods freely.
    """

    #: Tests poke at caches and counters on purpose; these rules are about production code.
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})

    def setup(self) -> None:
        self._module: dict[str, Binding] = {}
        self._module_factories: dict[str, Binding] = {}
        self._frames: list[_Frame] = []

    # -- hooks --

    def enter_function(self, node: cst.FunctionDef) -> None:
        """Called when a function's body starts (its parameters are bound)."""

    def exit_function(self, node: cst.FunctionDef) -> None:
        """Called when a function's body ends, before its names are dropped."""

    # -- questions --

    def kind_of(self, expr: cst.BaseExpression) -> Kind | None:
        binding = self.binding_of(expr)
        return binding.kind if binding is not None else None

    def binding_of(self, expr: cst.BaseExpression, local: Mapping[str, Binding] | None = None) -> Binding | None:
        """What `expr` stands for, or None when it is not recognised."""
        if isinstance(expr, cst.Name):
            found = self._lookup(expr.value, local)
            if found is not None:
                return found if found.kind is not None else None
            return self._imported(expr)
        if isinstance(expr, cst.Attribute):
            if isinstance(expr.value, cst.Name) and expr.value.value in ("self", "cls"):
                owner = self._class()
                return owner.names.get(expr.attr.value) if owner is not None else None
            return self._imported(expr)
        if isinstance(expr, cst.Subscript):
            if self._qualified(expr.value) == DJANGO_CACHES:
                return Binding(Kind.CACHE)
            return None
        if isinstance(expr, cst.Call):
            return self._call(expr, local)
        if isinstance(expr, cst.Await):
            return self.binding_of(expr.expression, local)
        return None

    def method_of(self) -> cst.ClassDef | None:
        """The class whose method is the innermost function being visited, if it is a method."""
        if len(self._frames) >= 2 and not self._frames[-1].is_class and self._frames[-2].is_class:
            node = self._frames[-2].node
            return node if isinstance(node, cst.ClassDef) else None
        return None

    # -- resolution --

    def _qualified(self, expr: cst.BaseExpression) -> str | None:
        if not self.imports.imported(expr):
            return None
        name = self.imports.resolve(expr)
        head = dotted_name(expr)
        if head is not None and self._lookup(head.split(".")[0], None) is not None:
            return None  # shadowed by a parameter or a local name
        return name

    def _imported(self, expr: cst.BaseExpression) -> Binding | None:
        name = self._qualified(expr)
        if name is None:
            return None
        if name == DJANGO_CACHE:
            return Binding(Kind.CACHE)
        kind = self.context.redis_clients.value(name)
        return Binding(kind) if kind is not None else None

    def _lookup(self, name: str, local: Mapping[str, Binding] | None) -> Binding | None:
        if local is not None and name in local:
            return local[name]
        for frame in reversed(self._frames):
            if not frame.is_class and name in frame.names:
                return frame.names[name]
        return self._module.get(name)

    def _class(self) -> _Frame | None:
        for frame in reversed(self._frames):
            if frame.is_class:
                return frame
        return None

    def _call(self, call: cst.Call, local: Mapping[str, Binding] | None) -> Binding | None:
        func = call.func
        name = self._qualified(func)
        if name in REDIS_FACTORIES:
            return Binding(Kind.REDIS, call)
        if name in LOCK_CLASSES:
            return Binding(Kind.LOCK, call)
        if name == "typing.cast" and len(call.args) >= 2:
            return self.binding_of(call.args[1].value, local)
        if name is not None:
            kind = self.context.redis_clients.factory(name)
            if kind is not None:
                return Binding(kind)
            if isinstance(func, cst.Name):
                return None
        if isinstance(func, cst.Name):
            if self._lookup(func.value, local) is None:
                return self._module_factories.get(func.value)
            return None
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            owner = self._class()
            if owner is not None and method in owner.factories:
                return owner.factories[method]
        receiver = self.binding_of(func.value, local)
        kind = receiver.kind if receiver is not None else None
        if kind is None:
            # django-redis: `cache.client.get_client()` is the raw connection.
            if method == "get_client" and isinstance(func.value, cst.Attribute) and func.value.attr.value == "client":
                if self.kind_of(func.value.value) is Kind.CACHE:
                    return Binding(Kind.REDIS, call)
            return None
        if kind is Kind.REDIS and method == "pipeline":
            return Binding(Kind.PIPELINE, call)
        if kind in (Kind.REDIS, Kind.CACHE) and method == "lock":
            return Binding(Kind.LOCK, call)
        if kind is Kind.PIPELINE and method not in _PIPELINE_ENDS:
            return receiver
        return None

    def _annotation(self, annotation: cst.Annotation | None) -> Binding | None:
        if annotation is None:
            return None
        kind = self._annotation_kind(annotation.annotation)
        return Binding(kind) if kind is not None else None

    def _annotation_kind(self, expr: cst.BaseExpression) -> Kind | None:
        text = string_value(expr)
        if text is not None:
            parsed = parse_expression(text)
            if parsed is None:
                return None
            expr = parsed
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            return self._annotation_kind(expr.left) or self._annotation_kind(expr.right)
        if isinstance(expr, cst.Subscript):  # Optional[redis.Redis]
            if (self.imports.resolve(expr.value) or "").rsplit(".", 1)[-1] == "Optional":
                element = expr.slice[0].slice
                if isinstance(element, cst.Index):
                    return self._annotation_kind(element.value)
            return None
        name = self.imports.resolve(expr) if self.imports.imported(expr) else None
        return ANNOTATION_KINDS.get(name or "")

    # -- binding names --

    def _bind(self, target: cst.BaseExpression, binding: Binding | None) -> None:
        frame = self._frames[-1] if self._frames else None
        if isinstance(target, cst.Name):
            if frame is None:
                self._bind_module(target.value, binding)
            else:
                frame.names[target.value] = binding or _NOTHING
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value, None)
        elif (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value in ("self", "cls")
            and binding is not None
            and binding.kind is not None
        ):
            owner = self._class()
            if owner is not None:
                owner.names[target.attr.value] = binding

    def _bind_module(self, name: str, binding: Binding | None) -> None:
        # `try: import redis / except ImportError: redis = None` must not hide the import.
        if (binding is not None and binding.kind is not None) or name not in self.imports.aliases:
            self._module[name] = binding or _NOTHING

    def _scan_function(self, node: cst.FunctionDef, owner: _Frame | None) -> Binding | None:
        """What a function returns when it is a client factory; records `self.x = client` on `owner`."""
        local: dict[str, Binding] = {}
        self._bind_params(node, local)
        returned: Binding | None = None
        globals_: set[str] = set()
        for small in _statements(_block(node.body)):
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                self.imports.add(small)
            elif isinstance(small, cst.Global):
                globals_.update(n.name.value for n in small.names)
            elif isinstance(small, (cst.Assign, cst.AnnAssign)):
                value = small.value
                binding = self.binding_of(value, local) if value is not None else None
                if isinstance(small, cst.AnnAssign):
                    binding = binding or self._annotation(small.annotation)
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                for target in targets:
                    if isinstance(target, cst.Name):
                        local[target.value] = binding or _NOTHING
                        if target.value in globals_ and binding is not None and binding.kind is not None:
                            self._module[target.value] = binding
                    elif (
                        owner is not None
                        and isinstance(target, cst.Attribute)
                        and isinstance(target.value, cst.Name)
                        and target.value.value in ("self", "cls")
                        and binding is not None
                        and binding.kind is not None
                    ):
                        if binding.origin is not None or target.attr.value not in owner.names:
                            owner.names[target.attr.value] = binding
            elif isinstance(small, cst.WithItem) and small.asname is not None:
                if isinstance(small.asname.name, cst.Name):
                    local[small.asname.name.value] = self.binding_of(small.item, local) or _NOTHING
            elif isinstance(small, cst.Return) and small.value is not None:
                found = self.binding_of(small.value, local)
                if found is not None and found.kind is not None:
                    returned = found
        return returned

    def _bind_params(self, node: cst.FunctionDef, names: dict[str, Binding]) -> None:
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        for param in every:
            names[param.name.value] = self._annotation(param.annotation) or _NOTHING

    def _scan_body(
        self,
        body: Sequence[cst.BaseStatement | cst.BaseSmallStatement],
        names: dict[str, Binding],
        factories: dict[str, Binding],
        owner: _Frame | None,
    ) -> None:
        def bind(name: str, binding: Binding | None) -> None:
            if owner is None:
                self._bind_module(name, binding)
            else:
                names[name] = binding or _NOTHING

        def assignments() -> None:
            for small in _statements(body):
                if isinstance(small, cst.Assign):
                    binding = self.binding_of(small.value)
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            bind(target.target.value, binding)
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    binding = self.binding_of(small.value) if small.value is not None else None
                    binding = binding or self._annotation(small.annotation)
                    if binding is not None or small.value is not None:
                        bind(small.target.value, binding)

        assignments()
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                returned = self._scan_function(stmt, owner)
                if returned is not None:
                    if owner is not None and _is_property(stmt, self.imports):
                        owner.names[stmt.name.value] = returned
                    else:
                        factories[stmt.name.value] = returned
        assignments()  # again: `client = get_client()` after the factory was found

    # -- visitor --

    def visit_Module(self, node: cst.Module) -> None:
        self._scan_body(node.body, self._module, self._module_factories, None)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        frame = _Frame(node)
        self._frames.append(frame)
        self._scan_body(_block(node.body), frame.names, frame.factories, frame)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._frames.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        frame = _Frame(node)
        self._bind_params(node, frame.names)
        self._frames.append(frame)
        self.enter_function(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.exit_function(original_node)
        self._frames.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        binding = self.binding_of(node.value)
        for target in node.targets:
            self._bind(target.target, binding)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        binding = self.binding_of(node.value) if node.value is not None else None
        self._bind(node.target, binding or self._annotation(node.annotation))

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, self.binding_of(node.item))
