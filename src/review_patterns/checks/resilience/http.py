"""Outbound HTTP calls and circuit breakers, recognised through imports (RP503, RP504, RP507, RP509).

The name tables are project knowledge (`project/http.py`). `ClientScopes` remembers
which names are bound to an HTTP session or a breaker; `HttpRule` keeps it up to date for a rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.project.http import (
    BREAKER,
    BREAKER_CLASSES,
    BREAKER_METHODS,
    HTTP_FUNCTIONS,
    NEW,
    PARAM,
    PATCHED,
    SESSION_CLASSES,
    SESSION_METHODS,
    breaker_like,
    client_keys,
)
from review_patterns.syntax.names import dotted_name


@dataclass(frozen=True)
class HttpCall:
    """An outbound request found in the code."""

    library: str  #: requests, httpx, aiohttp, urllib, or "breaker" for `breaker.call(...)`
    label: str  #: how to name it in a message: `requests.get`, `session.post`
    session: bool  #: a method of a session or client object, not a module function
    receiver: str | None = None  #: the session's or breaker's name as written, if any


class ClientScopes:
    """Which names hold an HTTP session or a circuit breaker, per function and per class."""

    def __init__(self) -> None:
        self.functions: list[dict[str, str]] = [{}]  # the module's names, then each function's
        self.classes: list[dict[str, str]] = []  # `self.x` / `cls.x` per enclosing class

    def enter_function(self) -> None:
        self.functions.append({})

    def leave_function(self) -> None:
        self.functions.pop()

    def enter_class(self) -> None:
        self.classes.append({})

    def leave_class(self) -> None:
        self.classes.pop()

    def bind(self, target: str, kind: str, in_class_body: bool = False) -> None:
        head, _, rest = target.partition(".")
        if head in ("self", "cls") and rest and self.classes:
            self.classes[-1][f"self.{rest}"] = kind
        elif in_class_body and self.classes and "." not in target:
            self.classes[-1][f"self.{target}"] = kind
        elif "." not in target:
            self.functions[-1][target] = kind

    def kind(self, name: str) -> str | None:
        """What `name` (`session`, `self.client`) holds, if it is known."""
        head, _, rest = name.partition(".")
        if head in ("self", "cls") and rest:
            return self.classes[-1].get(f"self.{rest}") if self.classes else None
        for scope in reversed(self.functions):
            if name in scope:
                return scope[name]
        return None


class HttpRule(Rule):
    """A rule that knows the file's HTTP sessions and breakers. Subclasses call `super()` in the
    visit/leave methods they override (`FunctionDef`, `ClassDef`, `Assign`, `AnnAssign`, `WithItem`)."""

    def setup(self) -> None:
        self.clients = ClientScopes()
        self.scope_kinds: list[str] = []  # "class" or "function", innermost last
        self.class_names: list[str] = []

    # -- what an expression is --

    def imported_name(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of an imported dotted expression, else None."""
        return self.imports.resolve(node) if self.imports.imported(node) else None

    def constructed(self, value: cst.BaseExpression | None) -> str | None:
        """The kind (`requests`, `httpx`, `aiohttp`, `breaker`) of an object a call builds."""
        if not isinstance(value, cst.Call):
            return None
        name = self.imported_name(value.func)
        if name in SESSION_CLASSES:
            return SESSION_CLASSES[name]
        if name in BREAKER_CLASSES:
            return BREAKER
        called = dotted_name(value.func)
        if called is None:
            return None
        return NEW + (name if name is not None else f"{self.file.module_name}.{called}")

    def receiver_kind(self, node: cst.BaseExpression) -> str | None:
        """The kind of a call's receiver: a bound name or an object built in place."""
        built = self.constructed(node)
        if built is not None:
            return built
        name = dotted_name(node)
        return None if name is None else self.clients.kind(name)

    def http_call(self, node: cst.Call) -> HttpCall | None:
        """The outbound request `node` makes: a module function, a session method or `breaker.call`."""
        name = self.imported_name(node.func)
        if name in HTTP_FUNCTIONS:
            return HttpCall(HTTP_FUNCTIONS[name], name, session=False)
        func = node.func
        if not isinstance(func, cst.Attribute):
            return None
        kind = self.receiver_kind(func.value)
        receiver = dotted_name(func.value)
        method = func.attr.value
        if kind in SESSION_METHODS and method in SESSION_METHODS[kind]:
            return HttpCall(kind, f"{receiver or kind}.{method}", session=True, receiver=receiver)
        if method in BREAKER_METHODS and (kind == BREAKER or (receiver is not None and breaker_like(receiver))):
            return HttpCall(BREAKER, f"{receiver or 'breaker'}.{method}", session=True, receiver=receiver)
        return None

    def place(self, receiver: str) -> str | None:
        """Where a receiver lives: `module.Class.attr`, `module.name`, an import; None for locals."""
        head, _, rest = receiver.partition(".")
        if head in ("self", "cls") and rest:
            return f"{self.file.module_name}.{self.class_names[-1]}.{rest}" if self.class_names else None
        if head in self.imports.aliases:
            return self.imports.aliases[head] + ("." + rest if rest else "")
        if any(head in scope for scope in self.clients.functions[1:]):
            return None
        return f"{self.file.module_name}.{receiver}"

    def call_client_keys(self, node: cst.Call) -> frozenset[str]:
        """`client_keys` of a method call's receiver."""
        if not isinstance(node.func, cst.Attribute):
            return frozenset()
        receiver = dotted_name(node.func.value)
        if receiver is None:
            return frozenset()
        return client_keys(receiver, self.place(receiver), self.clients.kind(receiver))

    def http_reference(self, node: cst.BaseExpression) -> HttpCall | None:
        """A request function named, not called: `breaker.call(requests.get, url, ...)`."""
        name = self.imported_name(node)
        if name in HTTP_FUNCTIONS:
            return HttpCall(HTTP_FUNCTIONS[name], name, session=False)
        if isinstance(node, cst.Attribute):
            kind = self.receiver_kind(node.value)
            if kind in SESSION_METHODS and node.attr.value in SESSION_METHODS[kind]:
                receiver = dotted_name(node.value)
                return HttpCall(kind, f"{receiver or kind}.{node.attr.value}", session=True, receiver=receiver)
        return None

    # -- bookkeeping --

    def _bind_targets(self, targets: Iterable[cst.BaseExpression], kind: str) -> None:
        in_class_body = bool(self.scope_kinds) and self.scope_kinds[-1] == "class"
        for target in targets:
            name = dotted_name(target)
            if name is not None:
                self.clients.bind(name, kind, in_class_body)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.clients.enter_class()
        self.scope_kinds.append("class")
        self.class_names.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.clients.leave_class()
        self.scope_kinds.pop()
        self.class_names.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.clients.enter_function()
        self.scope_kinds.append("function")
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.clients.bind(param.name.value, PARAM)
            if param.annotation is not None:
                annotation = param.annotation.annotation
                if isinstance(annotation, cst.SimpleString):
                    continue
                name = self.imported_name(annotation)
                if name in SESSION_CLASSES:
                    self.clients.bind(param.name.value, SESSION_CLASSES[name])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.clients.leave_function()
        self.scope_kinds.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        kind = self.constructed(node.value)
        if kind is not None:
            self._bind_targets((t.target for t in node.targets), kind)
        for target in node.targets:
            # `session.request = partial(session.request, timeout=...)`: no longer a plain session
            if isinstance(target.target, cst.Attribute):
                owner = dotted_name(target.target.value)
                session = self.clients.kind(owner) if owner is not None else None
                if session in SESSION_METHODS and target.target.attr.value in SESSION_METHODS[session]:
                    self._bind_targets([target.target.value], PATCHED)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        kind = self.constructed(node.value)
        if kind is not None:
            self._bind_targets([node.target], kind)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        kind = self.constructed(node.item)
        if kind is not None and node.asname is not None and isinstance(node.asname.name, cst.BaseExpression):
            self._bind_targets([node.asname.name], kind)


def passes_unknown_arguments(node: cst.Call) -> bool:
    """`f(*args)` or `f(**kwargs)`: any keyword may be in there."""
    return any(arg.star for arg in node.args)
