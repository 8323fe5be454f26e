"""RP507 circuit-breaker-per-call: a circuit breaker built anew on every call, so it never opens."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.project.http import BREAKER_CLASSES, matches_any
from review_patterns.project.instances import MEMOIZERS, ONCE_METHODS, is_view_class
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import dotted_name
from review_patterns.syntax.semantic import Binding


@dataclass
class _Function:
    name: str
    once: bool  #: runs once (an `__init__`, a memoized function)
    builds: list[cst.Call] = field(default_factory=list)  #: breakers built here
    returns_breaker: bool = False
    #: calls of configured factories, and of names (with the binding each has there, None for a builtin)
    factory_calls: list[tuple[cst.Call, str, Binding | None]] = field(default_factory=list)
    owner: tuple[str, bool] | None = None  #: an `__init__`'s top-level class: (name, whether it is a view)


class CircuitBreakerPerCall(Rule):
    """## What it does
    Flags a `pybreaker.CircuitBreaker(...)` (or `aiobreaker`'s, or `circuitbreaker`'s) built
    inside a function or method that runs per call, and a call, inside such a function, of a
    factory that returns a breaker (a function of the same module, or one configured). A breaker
    built in `__init__` is flagged when the class is made per call: a Django or DRF class-based
    view (one instance per request), or a class the project instantiates inside a function
    (`GeocodingService().locate(...)` in a view or a task), in any module, directly, through a
    factory function returning the instance, or through an owner made per call that keeps it.

    ## Why is this bad?
    A breaker counts failures to decide when to stop calling a dead upstream. Built per call,
    its count starts at zero every time, so it never opens and every request still waits for
    the timeout. Bind it once, at module or class level; a factory is fine when its result is
    bound there.

    ## Known problems
    Breakers built in `__new__`, `AppConfig.ready()` or a memoized (`lru_cache`) function are not
    flagged: they live as long as their object. A class instantiated only at module level (a
    singleton), in a memoized function, in a management command or in tests is made once. A class
    made by a method returning it (`self.get_service()`) or by a class attribute's factory is
    not followed. Test modules are skipped.

    ## Options
    - `breaker-factories`: qualified names (globs) of project functions that return a breaker,
      such as `"integrations.breakers.make_breaker"`.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    reads = ("instantiations",)

    code = "RP507"
    name = "circuit-breaker-per-call"
    message = "{what} inside `{function}()` is new {each}, so it never opens: bind it at module level"
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
        Bad(
            """
            import pybreaker
            import requests

            class GeocodingService:
                def __init__(self):
                    self.breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)  # RP507

                def locate(self, address):
                    return self.breaker.call(requests.get, GEOCODER_URL, params={"q": address}, timeout=5)
            """,
            path="geo/services.py",
            files={
                "geo/views.py": """
                    from django.http import JsonResponse

                    from .services import GeocodingService

                    def locate(request):
                        point = GeocodingService().locate(request.GET["q"])
                        return JsonResponse(point)
                    """,
            },
        ),
        Bad(
            """
            from pybreaker import CircuitBreaker
            from rest_framework.views import APIView

            class LabelView(APIView):
                def __init__(self, **kwargs):
                    super().__init__(**kwargs)
                    self.breaker = CircuitBreaker(fail_max=3)  # RP507
            """,
            path="vision/views.py",
        ),
        Good(
            """
            import pybreaker
            import requests

            class GeocodingService:
                def __init__(self):
                    self.breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)

                def locate(self, address):
                    return self.breaker.call(requests.get, GEOCODER_URL, params={"q": address}, timeout=5)
            """,
            path="geo/services.py",
            files={
                "geo/views.py": """
                    import functools

                    from django.http import JsonResponse

                    from .services import GeocodingService

                    geocoder = GeocodingService()  # one for the process

                    def build_router():
                        return GeocodingService()

                    router = build_router()

                    @functools.lru_cache(maxsize=None)
                    def reverse_geocoder():
                        return GeocodingService()

                    def locate(request):
                        return JsonResponse(geocoder.locate(request.GET["q"]))

                    def place(request):
                        return JsonResponse(reverse_geocoder().locate(request.GET["q"]))
                    """,
                "geo/tests/test_services.py": """
                    from geo.services import GeocodingService

                    def test_locate():
                        assert GeocodingService().locate("Paris")
                    """,
            },
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
        self.classes: list[tuple[str, bool]] = []  # (name, whether it is a view) of the classes entered
        self.functions: list[_Function] = []
        self.factories: set[Binding] = set()  # module-level functions returning a breaker

    def _function(self) -> _Function | None:
        return self.stack[-1] if self.stack else None

    def _is_breaker(self, node: cst.BaseExpression | None) -> bool:
        return isinstance(node, cst.Call) and self.semantic.imported(node.func) in BREAKER_CLASSES

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(None)
        view = any(is_view_class(self.semantic.imported(b.value) or "") for b in node.bases)
        self.classes.append((node.name.value, view))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        memoized = any(
            self.semantic.imported(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator) in MEMOIZERS
            for d in node.decorators
        )
        outer = self._function()
        name = node.name.value
        function = _Function(name, once=memoized or name in ONCE_METHODS or bool(outer and outer.once))
        if name == "__init__" and self.stack == [None]:  # a method of a top-level class
            function.owner = self.classes[-1]
        self.stack.append(function)
        self.functions.append(function)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        function = self.stack.pop()
        if function is not None and function.returns_breaker and len(self.stack) == 0:
            self.factories.update(self.semantic.bound_by(original_node))

    def visit_Return(self, node: cst.Return) -> None:
        function = self._function()
        if function is None:
            return
        value = node.value
        if self._is_breaker(value):
            function.returns_breaker = True
            function.builds = [b for b in function.builds if b is not value]
        elif isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and self._factory(value.func):
            function.returns_breaker = True  # a factory wrapping a factory
        elif isinstance(node.value, cst.Name) and function.builds:
            function.returns_breaker = True  # `breaker = CircuitBreaker(...); return breaker`
            function.builds.clear()

    def _factory(self, name: cst.Name) -> bool:
        """Whether `name` is, here, a module-level function seen returning a breaker."""
        return self.semantic.lookup(name.value) in self.factories

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
            function.factory_calls.append((node, "configured", None))
            return
        if isinstance(node.func, cst.Name):
            function.factory_calls.append((node, "local", self.semantic.lookup(node.func.value)))

    def leave_Module(self, original_node: cst.Module) -> None:
        for function in self.functions:
            if function.returns_breaker:
                continue
            if not function.once:
                self._report(function, function.name, "on each call")
            elif function.owner is not None and (function.builds or function.factory_calls):
                cls, view = function.owner
                if view:
                    self._report(function, f"{cls}.__init__", f"with each `{cls}`, a view Django makes per request")
                elif (site := self.context.instantiations.per_call(f"{self.file.module_name}.{cls}")) is not None:
                    self._report(
                        function, f"{cls}.__init__", f"with each `{cls}`, and one is made per call in {site.where}"
                    )

    def _report(self, function: _Function, shown: str, each: str) -> None:
        for call in function.builds:
            self.report(call, what="A circuit breaker built", function=shown, each=each)
        for call, how, binding in function.factory_calls:
            name = dotted_name(call.func)
            if how == "configured" or (binding in self.factories and name != function.name):
                self.report(call, what=f"A breaker from `{name}()`", function=shown, each=each)
