"""RP505 magic-cache-ttl: a cache timeout written as a number instead of a named constant."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

import libcst as cst

from review_patterns.checks.resilience.redis import ClientRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.project.clients import Kind
from review_patterns.syntax.files import SourceFile, attribute_pattern
from review_patterns.syntax.names import argument, code

#: Django cache method -> (timeout keyword, its position).
CACHE_TIMEOUTS = {
    "set": ("timeout", 2),
    "add": ("timeout", 2),
    "get_or_set": ("timeout", 2),
    "set_many": ("timeout", 1),
    "touch": ("timeout", 1),
    "expire": ("timeout", 1),  # django-redis
}
#: Redis command -> ((keyword, position or None, in milliseconds), ...).
REDIS_TIMEOUTS: dict[str, tuple[tuple[str, int | None, bool], ...]] = {
    "set": (("ex", 2, False), ("px", 3, True)),
    "getex": (("ex", 1, False), ("px", 2, True)),
    "setex": (("time", 1, False),),
    "psetex": (("time_ms", 1, True),),
    "expire": (("time", 1, False),),
    "pexpire": (("time", 1, True),),
    "hexpire": (("seconds", 1, False),),
    "hpexpire": (("milliseconds", 1, True),),
}
CACHE_PAGE = "django.views.decorators.cache.cache_page"
#: Where the rule reports: a call of one of the methods above, or `cache_page` (imported under any name).
_REPORTED_AT = attribute_pattern({*CACHE_TIMEOUTS, *REDIS_TIMEOUTS})

_OPERATORS: dict[type[cst.BaseBinaryOp], Callable[[float, float], float]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
}


def literal_value(node: cst.BaseExpression) -> float | None:
    """The value of a number literal or of arithmetic made only of number literals."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return float(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = literal_value(node.expression)
        if inner is None:
            return None
        return -inner if isinstance(node.operator, cst.Minus) else inner
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _OPERATORS:
        left, right = literal_value(node.left), literal_value(node.right)
        if left is None or right is None:
            return None
        try:
            return float(_OPERATORS[type(node.operator)](left, right))
        except ZeroDivisionError:
            return None
    return None


def duration(seconds: float) -> str:
    """`900` -> `15 minutes`."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''}"
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


class MagicCacheTtl(ClientRule):
    """## What it does
    Flags a cache timeout written as a number or as arithmetic of numbers: `cache.set(k, v, 3600)`,
    `timeout=60 * 15`, `cache_page(60 * 15)`, `redis.setex(k, 86400, v)`, `expire(k, 3600)`,
    `set(k, v, ex=300)`, on Django's cache or a Redis client.

    ## Why is this bad?
    How long data may be stale is a product decision: 30 minutes for a popular listing, 24 hours
    for stable reference data. Scattered numbers hide that choice, drift apart for the same
    data, and must be found one by one when it changes. A named constant (`PRODUCT_LIST_TTL`)
    states it once. `None` (forever) and `0` (do not cache) are not magic and are not flagged.

    ## Known problems
    HTTP caching headers (`cache_control(max_age=...)`) are not cache timeouts and are not
    checked. Test modules are not checked.

    Measured precision: 37 of 37 on 15 real projects (benchmarks/precision).
    """

    code = "RP505"
    name = "magic-cache-ttl"
    message = "cache timeout `{ttl}` ({duration}) is a magic number: name it in a constant"
    severity = Severity.WARNING
    dimension = Dimension.CODE_CLARITY
    requires = ("cache", "redis", "Redis")
    fixes = (
        "Safe: the number moves to a module constant named after its duration "
        "(`CACHE_TTL_30_MINUTES = 60 * 30  # 30 minutes`), or the module's constant that already holds "
        "that value is used; the timeout itself does not change."
    )
    examples = (
        Bad("""
            from django.core.cache import cache

            def product_list(category):
                products = list(category.products.all())
                cache.set(f"products:{category.pk}", products, 60 * 30)  # RP505
                return products
            """),
        Good("""
            from django.core.cache import cache

            POPULAR_TTL = 60 * 30

            def product_list(category):
                products = list(category.products.all())
                cache.set(f"products:{category.pk}", products, POPULAR_TTL)
                return products
            """),
        Bad("""
            from django.core.cache import caches
            from django.utils.decorators import method_decorator
            from django.views.decorators.cache import cache_page
            from django.views.generic import ListView
            from django_redis import get_redis_connection

            @method_decorator(cache_page(60 * 15), name="dispatch")  # RP505
            class ProductList(ListView):
                def get_queryset(self):
                    caches["default"].get_or_set("count", self.count, timeout=300)  # RP505
                    redis = get_redis_connection()
                    redis.setex("featured", 86400, "1")  # RP505
                    redis.set("banner", "on", ex=3600)  # RP505
                    redis.expire("banner", 3600)  # RP505
                    return super().get_queryset()
            """),
        Good("""
            import requests
            from django.core.cache import cache

            STABLE_TTL = 24 * 60 * 60

            def rates():
                cache.set("rates", fetch(), timeout=None)
                cache.set("menu", build(), 0)
                cache.set("stable", load(), STABLE_TTL * 2)
                requests.get(RATES_URL, timeout=5)

            def local_cache(cache, memo: dict):
                cache.set("x", 1, 3600)
                memo.setdefault("x", 3600)
            """),
    )

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        source = file.source
        return super().applies_to(file) and ("cache_page" in source or _REPORTED_AT.search(source) is not None)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.semantic.imported(func) == CACHE_PAGE:
            self._check(argument(node, "timeout", 0), False)
        elif isinstance(func, cst.Attribute):
            method = func.attr.value
            if method not in CACHE_TIMEOUTS and method not in REDIS_TIMEOUTS:
                return
            kind = self.kind_of(func.value)
            if kind is Kind.CACHE and method in CACHE_TIMEOUTS:
                name, position = CACHE_TIMEOUTS[method]
                self._check(argument(node, name, position), False)
            elif kind in (Kind.REDIS, Kind.PIPELINE) and method in REDIS_TIMEOUTS:
                for name, where, milliseconds in REDIS_TIMEOUTS[method]:
                    self._check(argument(node, name, where), milliseconds)

    def _check(self, arg: cst.Arg | None, milliseconds: bool) -> None:
        if arg is None or arg.star:
            return
        value = literal_value(arg.value)
        if value is not None and value > 0:
            seconds = value / 1000 if milliseconds else value
            rewrite = self._constant(arg.value, value, seconds, milliseconds)
            self.report(arg.value, rewrite, ttl=code(arg.value, one_line=True), duration=duration(seconds))

    def setup(self) -> None:
        super().setup()
        self.constants: dict[str, float | None] = {}

    def visit_Module(self, node: cst.Module) -> None:
        self.constants = module_numbers(node)

    def _constant(self, node: cst.BaseExpression, value: float, seconds: float, ms: bool) -> Rewrite | None:
        """The TTL named: by a module constant that holds the same value, or by a new one."""
        for name, known in self.constants.items():
            if known == value and name.isupper():
                return Rewrite(safe=True, replace=((node, cst.Name(name)),), description=f"use `{name}`")
        spelled = re.sub(r"\W+", "_", duration(seconds)).strip("_").upper()
        name = f"CACHE_TTL_{spelled}{'_MS' if ms else ''}"
        if name in self.constants:
            return None  # the name holds another value: a person must choose one
        line = f"{name} = {code(node, one_line=True)}  # {duration(seconds)}"
        return Rewrite(safe=True, replace=((node, cst.Name(name)),), constants=(line,), description=f"name it `{name}`")


def module_numbers(module: cst.Module) -> dict[str, float | None]:
    """Names the module assigns at top level, with their value when it is number arithmetic."""
    numbers: dict[str, float | None] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Name):
                        numbers[target.value] = literal_value(small.value)
    return numbers
