"""RP510 naive-datetime: the server's local wall-clock time where an aware time is meant."""

from __future__ import annotations

import libcst as cst

from ..django import keyword
from ..model import Dimension, Severity
from ..rule import Bad, Good, Rule

_NAIVE = {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today"}
#: Calls that turn a naive time into an aware one on purpose.
_MAKE_AWARE = frozenset({"django.utils.timezone.make_aware", "pytz.utc.localize"})


class NaiveDatetime(Rule):
    """## What it does
    Flags `datetime.now()` and `datetime.utcnow()` without a time zone, and `datetime.today()`,
    however `datetime` was imported.

    ## Why is this bad?
    They return naive times in the server's clock: TTLs, quota windows and "created" stamps
    computed from them drift by the server's offset, and comparing them with Django's aware
    datetimes raises `TypeError` or warns. Use `django.utils.timezone.now()` or
    `datetime.now(timezone.utc)`.

    `datetime.now(tz=...)`, `timezone.now()`, a naive time made aware on the spot
    (`datetime.now().astimezone()`, `datetime.utcnow().replace(tzinfo=timezone.utc)`,
    `make_aware(datetime.now())`, `tz.localize(datetime.now())`) and `date.today()` are not flagged.
    """

    code = "RP510"
    name = "naive-datetime"
    message = "`{call}` is naive: use `timezone.now()` or pass a tz"
    severity = Severity.WARNING
    dimension = Dimension.RELIABILITY
    requires = ("datetime",)
    examples = (
        Bad("""
            from datetime import datetime, timedelta

            def quota_window_start():
                return datetime.now() - timedelta(hours=1)  # RP510
            """, path="billing/quota.py"),
        Good("""
            from datetime import timedelta

            from django.utils import timezone

            def quota_window_start():
                return timezone.now() - timedelta(hours=1)
            """, path="billing/quota.py"),
        Bad("""
            import datetime as dt
            from datetime import datetime as DateTime

            def stamp(order):
                order.paid_at = dt.datetime.utcnow()  # RP510
                order.shipped_on = DateTime.today()  # RP510
                order.checked_at = dt.datetime.now(tz=None)  # RP510
            """),
        Good("""
            import datetime
            from datetime import date, timezone

            import pytz

            def stamp(order, tz):
                order.paid_at = datetime.datetime.now(timezone.utc)
                order.checked_at = datetime.datetime.now(tz=tz)
                order.shipped_on = date.today()
                order.local = datetime.datetime.now().astimezone()
                order.utc = datetime.datetime.utcnow().replace(tzinfo=timezone.utc)
                order.berlin = pytz.timezone("Europe/Berlin").localize(datetime.datetime.now())
            """),
        Good("""
            from django.utils import timezone
            from django.utils.timezone import make_aware

            class Clock:
                def now(self):
                    return make_aware(datetime.now())  # `datetime` not imported: someone else's

            def expires():
                return timezone.now()
            """),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.made_aware: set[cst.Call] = set()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        # The outer call is visited before the inner one: remember the inner calls it makes aware.
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            method = func.attr.value
            tz = keyword(node, "tzinfo")
            if method == "astimezone" or (method == "replace" and tz is not None and not _is_none(tz.value)):
                self.made_aware.add(func.value)
        if self._makes_aware(func):
            self.made_aware.update(a.value for a in node.args if isinstance(a.value, cst.Call))
        if node in self.made_aware or not self.imports.imported(func):
            return
        name = self.imports.resolve(func)
        if name not in _NAIVE:
            return
        if name.endswith(".now") and _has_tz(node):
            return
        self.report(node, call=name.removeprefix("datetime.") + "()")

    def _makes_aware(self, func: cst.BaseExpression) -> bool:
        if isinstance(func, cst.Attribute) and func.attr.value == "localize":
            return True  # pytz: `tz.localize(naive)`
        return self.imports.imported(func) and self.imports.resolve(func) in _MAKE_AWARE


def _has_tz(node: cst.Call) -> bool:
    tz = keyword(node, "tz")
    if tz is None:
        tz = next((a for a in node.args if a.keyword is None), None)
    return tz is not None and (bool(tz.star) or not _is_none(tz.value))


def _is_none(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "None"
