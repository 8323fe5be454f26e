"""RP507 circuit-breaker-per-call: a circuit breaker built anew on every call, so it never opens."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.project.http import BREAKER_CLASSES, matches_any
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import dotted_name

#: Methods that run once per instance or per process, where building a breaker is fine.
_ONCE = frozenset({"__init__", "__new__", "__init_subclass__", "__set_name__", "ready"})
_MEMOIZERS = frozenset({"functools.lru_cache", "functools.cache", "functools.cached_property"})


@dataclass
class _Function:
    name: str
    once: bool  #: runs once (an `__init__`, a memoized function)
    builds: list[cst.Call] = field(default_factory=list)  #: breakers built here
    returns_breaker: bool = False
    factory_calls: list[tuple[cst.Call, str]] = field(default_factory=list)  #: calls of same-module functions


class CircuitBreakerPerCall(Rule):
    """## What it does
    Flags a `pybreaker.CircuitBreaker(...)` (or `aiobreaker`'s, or `circuitbreaker`'s) built
    inside a function or method that runs per call, and a call, inside such a function, of a
    factory that returns a breaker (a function of the same module, or one configured).

    ## Why is this bad?
    A breaker counts failures to decide when to stop calling a dead upstream. Built per call,
    its count starts at zero every time, so it never opens and every request still waits for
    the timeout. Bind it once, at module or class level; a factory is fine when its result is
    bound there.

    ## Known problems
    Breakers built in `__init__`, `__new__`, `AppConfig.ready()` or a memoized (`lru_cache`)
    function are not flagged: they live as long as their object. Test modules are skipped.

    ## Options
    - `breaker-factories`: qualified names (globs) of project functions that return a breaker,
      such as `"integrations.breakers.make_breaker"`.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    code = "RP507"
    name = "circuit-breaker-per-call"
    message = "{what} inside `{function}()` is new on each call, so it never opens: bind it at module level"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    options = {"breaker-factories": ()}
    requires = ("reaker",)
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    examples = (
        Bad(
            """
            import pybreaker
            import requests

            def fetch_rates():
                breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)  # RP507
                return breaker.call(requests.get, RATES_URL, timeout=5)
            """,
            path="billing/rates.py",
        ),
        Good(
            """
            import pybreaker
            import requests

            rates_breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)

            def fetch_rates():
                return rates_breaker.call(requests.get, RATES_URL, timeout=5)
            """,
            path="billing/rates.py",
        ),
        Bad(
            """
            from pybreaker import CircuitBreaker as CB

            def make_breaker(name):
                return CB(fail_max=3, reset_timeout=30, name=name)

            maps_breaker = make_breaker("maps")

            class MapsClient:
                def geocode(self, address):
                    breaker = make_breaker("geocode")  # RP507
                    return breaker.call(self._get, address)

                def route(self, a, b):
                    with_breaker = CB()  # RP507
                    return with_breaker.call(self._get, a, b)
            """,
            path="integrations/maps.py",
        ),
        Bad(
            """
            from integrations.breakers import breaker_for

            def charge(card, amount):
                return breaker_for("stripe").call(stripe_charge, card, amount)  # RP507
            """,
            path="payments/services.py",
            options={"breaker-factories": ["integrations.breakers.breaker_for"]},
        ),
        Good(
            """
            import functools

            from pybreaker import CircuitBreaker

            from .breakers import breaker_for

            class MapsClient:
                breaker = CircuitBreaker(fail_max=5)

                def __init__(self):
                    self.route_breaker = CircuitBreaker(fail_max=5)

            @functools.lru_cache(maxsize=None)
            def shared_breaker(name):
                return CircuitBreaker(name=name)

            def make_breaker(name):
                return CircuitBreaker(name=name)

            def payments_breaker():
                return make_breaker("payments")

            def charge(card, amount):
                return breaker_for("stripe").call(stripe_charge, card, amount)  # not configured
            """,
            path="integrations/maps.py",
        ),
        Good("""
            class CircuitBreaker:  # the project's own, not pybreaker's
                pass

            def handle():
                breaker = CircuitBreaker()
            """),
    )

    def setup(self) -> None:
        self.stack: list[_Function | None] = []  # None for a class body
        self.functions: list[_Function] = []
        self.factories: set[str] = set()  # same-module functions returning a breaker

    def _function(self) -> _Function | None:
        return self.stack[-1] if self.stack else None

    def _is_breaker(self, node: cst.BaseExpression | None) -> bool:
        return isinstance(node, cst.Call) and self.semantic.imported(node.func) in BREAKER_CLASSES

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        around = self.semantic.scope.parent  # decorators are read where the function is defined
        memoized = any(
            self.semantic.imported(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator, around)
            in _MEMOIZERS
            for d in node.decorators
        )
        outer = self._function()
        function = _Function(node.name.value, once=memoized or node.name.value in _ONCE or bool(outer and outer.once))
        self.stack.append(function)
        self.functions.append(function)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        function = self.stack.pop()
        if function is not None and function.returns_breaker and len(self.stack) == 0:
            self.factories.add(function.name)

    def visit_Return(self, node: cst.Return) -> None:
        function = self._function()
        if function is None:
            return
        value = node.value
        if self._is_breaker(value):
            function.returns_breaker = True
            function.builds = [b for b in function.builds if b is not value]
        elif isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in self.factories:
            function.returns_breaker = True  # a factory wrapping a factory
        elif isinstance(node.value, cst.Name) and function.builds:
            function.returns_breaker = True  # `breaker = CircuitBreaker(...); return breaker`
            function.builds.clear()

    def visit_Call(self, node: cst.Call) -> None:
        function = self._function()
        if function is None:
            return
        if self._is_breaker(node):
            function.builds.append(node)
            return
        name = dotted_name(node.func)
        if name is None:
            return
        configured = self.settings["breaker-factories"]
        qualified = self.semantic.imported(node.func) if configured else None
        if qualified is not None and matches_any(qualified, configured):
            function.factory_calls.append((node, "configured"))
            return
        if isinstance(node.func, cst.Name):
            function.factory_calls.append((node, "local"))

    def leave_Module(self, original_node: cst.Module) -> None:
        for function in self.functions:
            if function.once or function.returns_breaker:
                continue
            for call in function.builds:
                self.report(call, what="A circuit breaker built", function=function.name)
            for call, how in function.factory_calls:
                name = dotted_name(call.func)
                if how == "configured" or (name in self.factories and name != function.name):
                    self.report(call, what=f"A breaker from `{name}()`", function=function.name)
