"""RP510 naive-datetime: the server's local wall-clock time where an aware time is meant."""

from __future__ import annotations

import libcst as cst

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import keyword

_NAIVE = {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today"}
#: Calls that turn a naive time into an aware one on purpose.
_MAKE_AWARE = frozenset({"django.utils.timezone.make_aware", "pytz.utc.localize"})
#: Methods after which the naive value does no harm: made aware, formatted, or cut to a date or time.
_HARMLESS = frozenset({"astimezone", "strftime", "date", "time", "timetuple", "weekday", "isoweekday", "isocalendar"})
#: Wall-clock parts: `datetime.now().year` is `date.today().year`.
_PARTS = frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"})


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

    ## Known problems
    Local wall-clock time is sometimes what is meant, so these are not flagged either: a value
    only formatted or cut to its date, time or parts (`datetime.now().strftime(...)`,
    `datetime.now().date()`, `datetime.now().year`), a function that reads `USE_TZ` or an
    `if` statement that calls `timezone.now()` in another branch (both choose naive time on
    purpose), and test modules.
    """

    code = "RP510"
    name = "naive-datetime"
    message = "`{call}` is naive: use `timezone.now()` or pass a tz"
    severity = Severity.WARNING
    dimension = Dimension.RELIABILITY
    requires = ("datetime",)
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    examples = (
        Bad(
            """
            from datetime import datetime, timedelta

            def quota_window_start():
                return datetime.now() - timedelta(hours=1)  # RP510
            """,
            path="billing/quota.py",
        ),
        Good(
            """
            from datetime import timedelta

            from django.utils import timezone

            def quota_window_start():
                return timezone.now() - timedelta(hours=1)
            """,
            path="billing/quota.py",
        ),
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
        Good(
            """
            import datetime
            from datetime import datetime as dt, timedelta

            from django.conf import settings
            from django.utils import timezone

            def upload_to(instance, filename):
                return datetime.datetime.now().strftime("uploads/%Y/%m/") + filename

            def cookie_expiry(max_age):
                return (dt.utcnow() + timedelta(seconds=max_age)).strftime("%a, %d-%b-%Y %H:%M:%S GMT")

            def season_start():
                return dt.now().year, dt.now().date()

            def default_for(field):
                if settings.USE_TZ:
                    return timezone.now()
                return dt.now()

            def auto_now_default(field):
                if field.get_internal_type() == "DateTimeField":
                    value = timezone.now()
                else:
                    value = dt.now()
                return value
            """,
            path="shop/utils.py",
        ),
        Good(
            """
            from datetime import datetime

            def test_token_expires():
                assert token_valid(issued=datetime.now())
            """,
            path="shop/tests/test_tokens.py",
        ),
    )

    def setup(self) -> None:
        self.exempt: set[cst.Call] = set()
        # Per enclosing function: its naive calls, and whether it handles time zones itself.
        self.functions: list[tuple[list[tuple[cst.Call, str]], list[bool]]] = [([], [False])]
        # Enclosing `if`s: does one of its branches call `timezone.now()`, and its naive calls.
        self.branches: list[tuple[list[bool], list[tuple[cst.Call, str]]]] = []
        self.outer_branches: list[list[tuple[list[bool], list[tuple[cst.Call, str]]]]] = []

    def visit_If(self, node: cst.If) -> None:
        self.branches.append(([False], []))

    def leave_If(self, original_node: cst.If) -> None:
        aware, calls = self.branches.pop()
        if not aware[0]:  # `if DateTimeField: timezone.now() else: datetime.now()` chooses on purpose
            self.functions[-1][0].extend(calls)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(([], [False]))
        self.outer_branches.append(self.branches)
        self.branches = []

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._flush()
        self.branches = self.outer_branches.pop()

    def leave_Module(self, original_node: cst.Module) -> None:
        self._flush()

    def _flush(self) -> None:
        calls, aware = self.functions.pop()
        if not aware[0]:
            for call, name in calls:
                self.report(call, call=name)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "USE_TZ":
            self.functions[-1][1][0] = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "USE_TZ":
            self.functions[-1][1][0] = True
        elif node.attr.value in _PARTS:
            self._exempt(node.value)

    def _exempt(self, node: cst.BaseExpression) -> None:
        """The naive calls in `node`, whose value is only made aware, formatted or read in parts."""
        if isinstance(node, cst.Call):
            self.exempt.add(node)
        elif isinstance(node, cst.BinaryOperation):  # `(utcnow() + delta).strftime(...)`
            self._exempt(node.left)
            self._exempt(node.right)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        # The outer call is visited before the inner one: remember the inner calls it makes harmless.
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            tz = keyword(node, "tzinfo")
            if method in _HARMLESS or (method == "replace" and tz is not None and not _is_none(tz.value)):
                self._exempt(func.value)
        if self._makes_aware(func):
            for arg in node.args:
                self._exempt(arg.value)
        if not self.imports.imported(func):
            return
        name = self.imports.resolve(func)
        if name == "django.utils.timezone.now":
            for aware, _ in self.branches:
                aware[0] = True
        if name not in _NAIVE or node in self.exempt:
            return
        if name.endswith(".now") and _has_tz(node):
            return
        found = (node, name.removeprefix("datetime.") + "()")
        (self.branches[-1][1] if self.branches else self.functions[-1][0]).append(found)

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
