"""Bonus quota-manager: a class or module that implements the whole quota pattern."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from review_patterns.checks.resilience.http import HttpRule
from review_patterns.core.model import Dimension
from review_patterns.core.rule import Bad, BonusCheck, Good
from review_patterns.project.http import GUARD_NAMES, INCREMENT_NAMES, matches_any
from review_patterns.syntax.names import call_name

_ATOMIC = frozenset({"incr", "incrby", "hincrby", "incrbyfloat", "hincrbyfloat"})
_EXPIRE = frozenset({"expire", "expireat", "pexpire", "pexpireat", "touch"})
_WARN = ("warning", "warn", "*alert*", "notify*")


@dataclass
class _Unit:
    """A top-level class, or the module's own functions."""

    guard: bool = False  #: defines a guard
    atomic: bool = False  #: increments with `incr`
    expiry_on_first: bool = False  #: sets the expiry when the count is 1 (or creates the key with one)
    warning: bool = False  #: warns when a threshold is crossed
    broken: bool = False  #: spends quota before a call, or calls out before checking


@dataclass
class _Function:
    guarded: bool = False
    spent: bool = False


def _comparisons(test: cst.BaseExpression) -> list[cst.Comparison]:
    if isinstance(test, cst.Comparison):
        return [test]
    if isinstance(test, cst.BooleanOperation):
        return _comparisons(test.left) + _comparisons(test.right)
    return []


def _is_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.value == "1"


class QuotaManager(HttpRule, BonusCheck):
    """## What it does
    Awards +2 to a file with a class (or a module's functions) that implements the quota
    pattern: a guard to check before the call (`check_quota`, `has_quota`, `can_call_api`),
    an atomic increment (`incr`), the expiry set on the first increment (`if count == 1:
    expire(...)`, or the key created with its expiry: `set(..., nx=True, ex=...)`,
    `cache.add(key, 0, timeout)`), and a warning when usage crosses a threshold; and that
    never spends quota before an external call nor calls out before checking.

    ## Why is this good?
    It is the shape that survived the team's quota incidents: quota is checked up front,
    counted only for calls that happened, cannot be locked forever by a crash, and someone
    hears about it before it runs out.
    """

    name = "quota-manager"
    dimension = Dimension.RELIABILITY
    bonuses = {"quota-manager": 2}
    requires = ("incr",)
    examples = (
        Good(
            """
            import logging

            from django_redis import get_redis_connection

            logger = logging.getLogger(__name__)

            class QuotaManager:
                def __init__(self, api, limit, window):
                    self.api, self.limit, self.window = api, limit, window
                    self.redis = get_redis_connection("default")

                def key(self):
                    return f"quota:{self.api}"

                def check_quota(self):
                    return int(self.redis.get(self.key()) or 0) < self.limit

                def increment_usage(self):
                    count = self.redis.incr(self.key())
                    if count == 1:
                        self.redis.expire(self.key(), self.window)
                    if count >= self.limit * WARN_RATIO:
                        logger.warning("%s quota at %s of %s", self.api, count, self.limit)
                    return count
            """,
            path="integrations/quota.py",
        ),
        Bad(
            """
            from django_redis import get_redis_connection

            class QuotaManager:
                def check_quota(self):
                    return int(get_redis_connection().get(self.key) or 0) < self.limit

                def increment_usage(self):
                    count = get_redis_connection().incr(self.key)  # never expires
                    if count >= self.limit * WARN_RATIO:
                        logger.warning("quota at %s", count)
            """,
            path="integrations/quota.py",
        ),
        Bad(
            """
            import requests
            from django.core.cache import cache

            def has_quota(api):
                return cache.get(f"quota:{api}", 0) < LIMIT

            def call_api(api, url):
                cache.add(f"quota:{api}", 0, WINDOW)
                count = cache.incr(f"quota:{api}")  # spent before the call
                if count > LIMIT * 0.8:
                    logger.warning("quota at %s", count)
                return requests.get(url, timeout=5)
            """,
            path="integrations/quota.py",
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.module_unit = _Unit()
        self.units: list[_Unit] = []  # the top-level class being read, if any
        self.depth = 0  # class nesting
        self.tests: list[tuple[bool, bool]] = []  # enclosing `if`s: (compares with 1, compares with > / >=)
        self.function_stack: list[_Function] = []
        self.awarded = False

    def _unit(self) -> _Unit:
        return self.units[-1] if self.units else self.module_unit

    def _award(self, unit: _Unit, node: cst.CSTNode, what: str) -> None:
        if (
            not self.awarded
            and unit.guard
            and unit.atomic
            and unit.expiry_on_first
            and unit.warning
            and not unit.broken
        ):
            self.awarded = True
            self.award(node, "quota-manager", f"{what} checks, counts atomically, expires and warns")

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.depth == 0 and not self.function_stack:
            self.units.append(_Unit())
        self.depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1
        if self.depth == 0 and not self.function_stack and self.units:
            self._award(self.units.pop(), original_node, f"`{original_node.name.value}`")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if matches_any(node.name.value, GUARD_NAMES):
            self._unit().guard = True
        self.function_stack.append(_Function())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.function_stack.pop()

    def visit_If(self, node: cst.If) -> None:
        comparisons = _comparisons(node.test)
        equals_one = any(
            isinstance(t.operator, cst.Equal) and (_is_one(c.left) or _is_one(t.comparator))
            for c in comparisons
            for t in c.comparisons
        )
        threshold = any(
            isinstance(t.operator, (cst.GreaterThan, cst.GreaterThanEqual)) for c in comparisons for t in c.comparisons
        )
        self.tests.append((equals_one, threshold))

    def leave_If(self, original_node: cst.If) -> None:
        self.tests.pop()

    def visit_Call(self, node: cst.Call) -> None:
        name = call_name(node)
        if name is None:
            return
        unit = self._unit()
        function = self.function_stack[-1] if self.function_stack else _Function()
        if name in _ATOMIC or matches_any(name, INCREMENT_NAMES):
            unit.atomic |= name in _ATOMIC
            function.spent = True
        elif matches_any(name, GUARD_NAMES):
            function.guarded = True
        elif name in _EXPIRE and any(one for one, _ in self.tests):
            unit.expiry_on_first = True
        elif (
            name == "set"
            and any(a.keyword and a.keyword.value == "nx" for a in node.args)
            and any(a.keyword and a.keyword.value in ("ex", "px") for a in node.args)
        ):
            unit.expiry_on_first = True
        elif name == "add" and (
            len(node.args) >= 3 or any(a.keyword and a.keyword.value == "timeout" for a in node.args)
        ):
            unit.expiry_on_first = True
        elif matches_any(name, _WARN) and any(over for _, over in self.tests):
            unit.warning = True
        elif self.http_call(node) is not None and (function.spent or not function.guarded):
            unit.broken = True

    def leave_Module(self, original_node: cst.Module) -> None:
        self._award(self.module_unit, original_node, "This module")
