"""Outbound HTTP calls and circuit breakers, recognised through imports (RP503, RP504, RP507, RP509).

The name tables are project knowledge (`project/http.py`). `HttpRule` asks the semantic model
what a name is bound to and reads the kind of client from the bound value.
"""

from __future__ import annotations

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
from review_patterns.syntax.semantic import Binding, BindingKind, ScopeKind


@dataclass(frozen=True)
class HttpCall:
    """An outbound request found in the code."""

    library: str  #: requests, httpx, aiohttp, urllib, or "breaker" for `breaker.call(...)`
    label: str  #: how to name it in a message: `requests.get`, `session.post`
    session: bool  #: a method of a session or client object, not a module function
    receiver: str | None = None  #: the session's or breaker's name as written, if any


class HttpRule(Rule):
    """A rule that knows the file's HTTP sessions and breakers, asking the semantic model what a
    name is bound to. Subclasses call `super()` in the `visit_Assign` they override."""

    def setup(self) -> None:
        # Sessions whose request methods were replaced (`s.request = partial(s.request, timeout=5)`).
        self.patched: set[Binding] = set()

    # -- what an expression is --

    def imported_name(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a dotted expression whose head is an import here (not a local
        that hides it, like `requests = session_factory()`), else None."""
        return self.semantic.imported(node)

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
        return self.bound_kind(node)

    def bound_kind(self, node: cst.BaseExpression) -> str | None:
        """What a name or `self.x` holds (a session's library, a breaker, a parameter), if known."""
        if isinstance(node, cst.Name):
            binding = self.semantic.lookup(node.value)
        elif isinstance(node, cst.Attribute):
            binding = self.semantic.self_attribute(node)
        else:
            return None
        if binding is None:
            return None
        if binding in self.patched:
            return PATCHED
        if binding.kind is BindingKind.PARAMETER:
            annotation = binding.annotation
            if annotation is not None and not isinstance(annotation, cst.SimpleString):
                name = self.imported_name(annotation)
                if name in SESSION_CLASSES:
                    return SESSION_CLASSES[name]
            return PARAM
        if binding.kind in (BindingKind.ASSIGNMENT, BindingKind.WITH, BindingKind.ATTRIBUTE):
            value = binding.value
            if isinstance(value, (cst.Name, cst.Attribute)) and value is not node:
                # `self.circuit = vision_breaker`: a module-level breaker (a project factory's) held
                # under another name; named like one, or bound to one here
                name = dotted_name(value)
                if name is not None and breaker_like(name):
                    return BREAKER
                return None if isinstance(value, cst.Attribute) else self._named_kind(value)
            return self.constructed(value)
        return None

    def _named_kind(self, node: cst.Name) -> str | None:
        """The kind a plain name holds, when it is a breaker bound in this module."""
        binding = self.semantic.lookup(node.value)
        if binding is None or binding.kind is not BindingKind.ASSIGNMENT:
            return None
        return BREAKER if self.constructed(binding.value) == BREAKER else None

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
            owner = self.semantic.class_
            return f"{self.file.module_name}.{owner.name.value}.{rest}" if owner is not None else None
        binding = self.semantic.lookup(head)
        if binding is not None and binding.kind is BindingKind.IMPORT and binding.qualified is not None:
            return binding.qualified + ("." + rest if rest else "")
        if binding is not None and binding.scope.kind is not ScopeKind.MODULE:
            return None
        return f"{self.file.module_name}.{receiver}"

    def call_client_keys(self, node: cst.Call) -> frozenset[str]:
        """`client_keys` of a method call's receiver."""
        if not isinstance(node.func, cst.Attribute):
            return frozenset()
        receiver = dotted_name(node.func.value)
        if receiver is None:
            return frozenset()
        return client_keys(receiver, self.place(receiver), self.bound_kind(node.func.value))

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

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            # `session.request = partial(session.request, timeout=...)`: no longer a plain session
            if isinstance(target.target, cst.Attribute):
                owner = target.target.value
                session = self.bound_kind(owner)
                binding = self.semantic.binding_of(owner)
                if (
                    binding is not None
                    and session in SESSION_METHODS
                    and target.target.attr.value in SESSION_METHODS[session]
                ):
                    self.patched.add(binding)


def passes_unknown_arguments(node: cst.Call) -> bool:
    """`f(*args)` or `f(**kwargs)`: any keyword may be in there."""
    return any(arg.star for arg in node.args)
