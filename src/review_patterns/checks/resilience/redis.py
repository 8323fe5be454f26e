"""Which expressions are Redis clients, pipelines, locks or Django's cache, through imports and bindings.

Shared by the rules on counters, cache timeouts and locks (RP501, RP502, RP505, RP508). A name
counts only when it is bound to something recognised (`redis.Redis(...)`, `get_redis_connection()`,
`caches["x"]`, `client.pipeline()`, `client.lock(...)`, a factory returning one, an annotation),
so a project's own class with an `incr` or a `set` method, a dict or `threading.Lock` never does.
What a name is bound to comes from the semantic model; this module only reads the bound values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

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
from review_patterns.syntax.names import string_value
from review_patterns.syntax.parsing import parse_expression
from review_patterns.syntax.semantic import Binding, BindingKind, Scope, ScopeKind, returned_values

#: Pipeline methods that do not return the pipeline (the others queue a command and return it).
_PIPELINE_ENDS = frozenset({"execute", "reset", "watch", "unwatch", "multi", "immediate_execute_command"})


@dataclass(frozen=True)
class Client:
    """A recognised object: a Redis client, a pipeline, a lock or Django's cache."""

    kind: Kind
    origin: cst.Call | None = None  #: the call that created it (a lock's constructor, for its arguments)


class ClientRule(Rule):
    """A rule that asks what an expression is: `self.client_of(expr)` and `self.kind_of(expr)`.

    The semantic model says what a name, `self.x` or a called function is bound to; this base
    reads the bound value (a call, an annotation, what a factory returns), once per binding.
    """

    reads: ClassVar[tuple[str, ...]] = ("redis_clients",)

    #: Tests poke at caches and counters on purpose; these rules are about production code.
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})

    def setup(self) -> None:
        self._known: dict[Binding | cst.FunctionDef, Client | None] = {}

    # -- questions --

    def kind_of(self, expr: cst.BaseExpression) -> Kind | None:
        found = self.client_of(expr)
        return found.kind if found is not None else None

    def client_of(self, expr: cst.BaseExpression) -> Client | None:
        """What `expr` stands for at the current node, or None when it is not recognised."""
        return self._client(expr, None)

    def kind_in(self, expr: cst.BaseExpression, function: cst.CSTNode) -> Kind | None:
        """What `expr` stands for anywhere in `function` (a `def`, else the module's top level), for a
        rule that reads a function ahead of the traversal."""
        scope = self.semantic.scope_of(function) if isinstance(function, cst.FunctionDef) else None
        found = self._client(expr, scope or self.semantic.module_scope)
        return found.kind if found is not None else None

    # -- reading expressions; `scope` None is the current node, else anywhere in that scope --

    def _client(self, expr: cst.BaseExpression, scope: Scope | None) -> Client | None:
        if isinstance(expr, cst.Name):
            binding = self.semantic.lookup(expr.value) if scope is None else self.semantic.resolve(expr.value, scope)
            return self._bound(binding) if binding is not None else None
        if isinstance(expr, cst.Attribute):
            if isinstance(expr.value, cst.Name) and expr.value.value in ("self", "cls"):
                return self._attribute(expr.attr.value, scope)
            return self._imported(expr, scope)
        if isinstance(expr, cst.Subscript):
            return Client(Kind.CACHE) if self.semantic.imported(expr.value, scope) == DJANGO_CACHES else None
        if isinstance(expr, cst.Call):
            return self._call(expr, scope)
        if isinstance(expr, cst.Await):
            return self._client(expr.expression, scope)
        return None

    def _imported(self, expr: cst.BaseExpression, scope: Scope | None) -> Client | None:
        name = self.semantic.imported(expr, scope)
        if name is None:
            return None
        if name == DJANGO_CACHE:
            return Client(Kind.CACHE)
        kind = self.context.redis_clients.value(name)
        return Client(kind) if kind is not None else None

    def _bound(self, binding: Binding) -> Client | None:
        """What a binding holds: an import, an assigned value, an annotation; read once."""
        if binding in self._known:
            return self._known[binding]
        self._known[binding] = None  # a value that refers to itself is not recognised
        found: Client | None = None
        where = binding.scope
        if binding.kind is BindingKind.IMPORT and binding.qualified is not None:
            name = binding.qualified
            found = Client(Kind.CACHE) if name == DJANGO_CACHE else None
            kind = self.context.redis_clients.value(name)
            found = found or (Client(kind) if kind is not None else None)
        elif binding.kind in (BindingKind.ASSIGNMENT, BindingKind.WITH, BindingKind.ATTRIBUTE):
            if binding.kind is BindingKind.ATTRIBUTE and binding.method is not None:
                where = self.semantic.scope_of(binding.method) or where
            found = self._client(binding.value, where) if binding.value is not None else None
            if found is None and binding.annotation is not None:
                found = self._annotation(binding.annotation, where)
        elif binding.kind is BindingKind.PARAMETER and binding.annotation is not None:
            found = self._annotation(binding.annotation, where)
        elif binding.kind is BindingKind.FUNCTION and isinstance(binding.node, cst.FunctionDef):
            if binding.scope.kind is ScopeKind.CLASS and self._is_property(binding.node, where):
                found = self._returned(binding.node)
        self._known[binding] = found
        return found

    def _attribute(self, attr: str, scope: Scope | None) -> Client | None:
        """`self.x`: set to a client in a method (the last one that builds it, else the last one),
        a client in the class body, or a property returning one."""
        owner = self._class_scope(scope)
        if owner is None:
            return None
        assigned = [found for b in owner.attributes.get(attr, ()) if (found := self._bound(b)) is not None]
        built = [found for found in assigned if found.origin is not None]
        if built or assigned:
            return (built or assigned)[-1]
        binding = owner.latest(attr)
        return self._bound(binding) if binding is not None else None

    def _class_scope(self, scope: Scope | None) -> Scope | None:
        current: Scope | None = scope if scope is not None else self.semantic.scope
        while current is not None and current.kind is not ScopeKind.CLASS:
            current = current.parent
        return current

    def _returned(self, function: cst.FunctionDef) -> Client | None:
        """What a function returns when it is a client factory (its last `return` of a client)."""
        if function in self._known:
            return self._known[function]
        self._known[function] = None
        scope = self.semantic.scope_of(function)
        found: Client | None = None
        if scope is not None:
            for value in returned_values(function):
                found = self._client(value, scope) or found
        self._known[function] = found
        return found

    def _call(self, call: cst.Call, scope: Scope | None) -> Client | None:
        func = call.func
        name = self.semantic.imported(func, scope)
        if name in REDIS_FACTORIES:
            return Client(Kind.REDIS, call)
        if name in LOCK_CLASSES:
            return Client(Kind.LOCK, call)
        if name == "typing.cast" and len(call.args) >= 2:
            return self._client(call.args[1].value, scope)
        if name is not None:
            kind = self.context.redis_clients.factory(name)
            if kind is not None:
                return Client(kind)
            if isinstance(func, cst.Name):
                return None
        if isinstance(func, cst.Name):
            binding = self.semantic.lookup(func.value) if scope is None else self.semantic.resolve(func.value, scope)
            if (
                binding is not None
                and binding.kind is BindingKind.FUNCTION
                and isinstance(binding.node, cst.FunctionDef)
            ):
                return self._returned(binding.node)
            return None
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            owner = self._class_scope(scope)
            factory = owner.latest(method) if owner is not None else None
            if (
                factory is not None
                and factory.kind is BindingKind.FUNCTION
                and isinstance(factory.node, cst.FunctionDef)
            ):
                found = self._returned(factory.node)
                if found is not None:
                    return found
        receiver = self._client(func.value, scope)
        kind = receiver.kind if receiver is not None else None
        if kind is None:
            # django-redis: `cache.client.get_client()` is the raw connection.
            if method == "get_client" and isinstance(func.value, cst.Attribute) and func.value.attr.value == "client":
                inner = self._client(func.value.value, scope)
                if inner is not None and inner.kind is Kind.CACHE:
                    return Client(Kind.REDIS, call)
            return None
        if kind is Kind.REDIS and method == "pipeline":
            return Client(Kind.PIPELINE, call)
        if kind in (Kind.REDIS, Kind.CACHE) and method == "lock":
            return Client(Kind.LOCK, call)
        if kind is Kind.PIPELINE and method not in _PIPELINE_ENDS:
            return receiver
        return None

    def _annotation(self, expr: cst.BaseExpression, scope: Scope) -> Client | None:
        kind = self._annotation_kind(expr, scope)
        return Client(kind) if kind is not None else None

    def _annotation_kind(self, expr: cst.BaseExpression, scope: Scope) -> Kind | None:
        text = string_value(expr)
        if text is not None:
            parsed = parse_expression(text)
            if parsed is None:
                return None
            expr = parsed
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            return self._annotation_kind(expr.left, scope) or self._annotation_kind(expr.right, scope)
        if isinstance(expr, cst.Subscript):  # Optional[redis.Redis]
            if (self._name(expr.value, scope) or "").rsplit(".", 1)[-1] == "Optional":
                element = expr.slice[0].slice
                if isinstance(element, cst.Index):
                    return self._annotation_kind(element.value, scope)
            return None
        return ANNOTATION_KINDS.get(self.semantic.imported(expr, scope) or "")

    def _name(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """The qualified name of an import, else the name as written."""
        return self.semantic.imported_or_written(expr, scope)

    def _is_property(self, node: cst.FunctionDef, scope: Scope) -> bool:
        return any(
            (self._name(d.decorator, scope) or "").rsplit(".", 1)[-1] in ("property", "cached_property")
            for d in node.decorators
        )
