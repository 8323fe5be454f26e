"""RP510 naive-datetime: the server's local wall-clock time where it meets Django's aware times."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

import libcst as cst

from review_patterns.checks.resilience.redis import ClientRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.project.clients import Kind
from review_patterns.syntax import traversal
from review_patterns.syntax.files import FileKind, SourceFile
from review_patterns.syntax.names import code, dotted_name, keyword, string_value


def _aware_now(call: cst.Call) -> Rewrite:
    """The fix: Django's aware clock in place of the naive call."""
    return Rewrite(
        safe=False,
        replace=((call, cst.parse_expression("timezone.now()")),),
        imports=("from django.utils import timezone",),
        description="use `timezone.now()`",
    )


_NAIVE = {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today"}
#: Calls whose result is aware.
_AWARE_CALLS = frozenset(
    {
        "django.utils.timezone.now",
        "django.utils.timezone.localtime",
        "django.utils.timezone.make_aware",
        "pytz.utc.localize",
    }
)
_TIMEZONE_NOW = "django.utils.timezone.now"
#: Queryset methods whose keywords are lookups or field values.
_ORM_LOOKUPS = frozenset({"filter", "exclude", "get", "get_or_create", "update_or_create"})
_ORM_WRITES = frozenset({"create", "update", "get_or_create", "update_or_create"})
#: Lookup suffixes after a field name: `expires_at__gt`.
_LOOKUPS = frozenset({"exact", "gt", "gte", "lt", "lte", "range", "in", "iexact"})
_CACHE_WRITES = {"set": 1, "add": 1, "get_or_set": 1}
#: What turns a naive time into text or a number that keeps its time of day, in a key.
_FORMATS = frozenset({"isoformat", "timestamp", "time", "ctime"})
_TIME_PARTS = frozenset({"hour", "minute", "second", "microsecond"})
#: `strftime` directives of a time of day (or of all of it).
_TIME_DIRECTIVES = re.compile(r"%-?[HIMSpXcTRrsf]")

_AWARE: Final = "aware"
#: What an expression is known to hold: a naive time (the calls it came from), an aware one, or unknown.
Value = frozenset[cst.Call] | Literal["aware"] | None


_ASSET = """
from django.conf import settings
from django.db import models

class LocalAsset(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    location = models.CharField(max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
"""

_API_CALL = """
from django.db import models

class ApiCall(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
    made_at = models.DateTimeField(auto_now_add=True)
"""


class NaiveDatetime(ClientRule):
    """## What it does
    Flags `datetime.now()` and `datetime.utcnow()` without a time zone, and `datetime.today()`,
    however `datetime` was imported, when the naive value meets Django's aware times: stored in
    a model's `DateTimeField` (an assignment, `create()`, `update()`, a field's `default`), used
    in an ORM lookup, compared with or subtracted from an aware time (`timezone.now()`, a
    `DateTimeField` of a model), stored in the cache, or written into the key of a cache or Redis
    call (`client.incr(f"rl:{user}:{datetime.now():%H%M}")`, a time window of a counter). The value
    is followed through local names, `+`/`-` with a `timedelta`, formatting into a key, and functions
    of the same module that return it.

    ## Why is this bad?
    With `USE_TZ` (Django's default) the database and the ORM hold aware times in UTC. A naive
    time in the server's clock is taken as the current time zone's: stamps, TTLs and quota
    windows drift by the server's offset, Django warns on every such save and lookup, and
    comparing a naive time with an aware one raises `TypeError`. A window key cut from the server's
    clock counts twice in the hour that repeats when daylight saving time ends, and processes in
    other time zones count in other windows. Use `django.utils.timezone.now()` or
    `datetime.now(timezone.utc)`.

    ## Known problems
    Local wall-clock time is often what is meant, so a naive value is not flagged where it is
    harmless: formatted (`strftime`, `isoformat`) for anything but a cache or Redis key, cut to a date, time or parts (`.date()`, a
    `DateField`, `.year`), turned into a timestamp, made aware (`astimezone()`, `make_aware`,
    `tz.localize`, a project helper), compared with or subtracted from another naive time of
    the same clock (a duration), assigned to an `auto_now` field (`save()` overwrites it; an
    `update()` does not, and is flagged), given to a new row's `auto_now_add` field (`Model(...)`,
    `create(...)`: the insert overwrites it), or returned to a caller in another module. A function that
    reads `USE_TZ`, or an `if` that calls `timezone.now()` in another branch, chooses naive
    time on purpose. Where the project's settings set `USE_TZ = False` (test settings aside), the
    ORM and `timezone.now()` hold naive local time too: only a window key of the local clock and a
    model field's default fixed at import are flagged (a migration's one-off default is fixed on purpose). A model's field is known by its name (`expires_at` is a `DateTimeField` of
    some model), except in a module that gives an object that is not a model an attribute of
    that name (a dataclass's `expires_at`, what a client's `__init__` sets on `self`). Test
    modules and fixtures are skipped.

    Measured precision: 4 of 4 on 15 real projects (benchmarks/precision).
    """

    reads = ("redis_clients", "models")

    code = "RP510"
    name = "naive-datetime"
    message = "`{call}` is naive and {where}: use `timezone.now()` or pass a tz"
    severity = Severity.WARNING
    dimension = Dimension.RELIABILITY
    requires = ("datetime",)
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    fixes = (
        "Unsafe: the fix calls `timezone.now()` (importing `django.utils.timezone`), which is aware and in "
        "UTC; code that formats or compares the value as local naive time must be read again."
    )
    examples = (
        Bad(
            """
            from datetime import datetime, timedelta

            from .models import ApiCall

            def quota_window_start():
                return datetime.now() - timedelta(hours=1)  # RP510

            def calls_this_hour(customer):
                return ApiCall.objects.filter(customer=customer, made_at__gte=quota_window_start()).count()
            """,
            path="billing/quota.py",
            files={
                "billing/models.py": """
                from django.db import models

                class ApiCall(models.Model):
                    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
                    made_at = models.DateTimeField(auto_now_add=True)
                """
            },
        ),
        Good(
            """
            from datetime import timedelta

            from django.utils import timezone

            from .models import ApiCall

            def quota_window_start():
                return timezone.now() - timedelta(hours=1)

            def calls_this_hour(customer):
                return ApiCall.objects.filter(customer=customer, made_at__gte=quota_window_start()).count()
            """,
            path="billing/quota.py",
        ),
        Bad(
            """
            import datetime as dt
            from datetime import datetime as DateTime

            from django.core.cache import cache
            from django.utils import timezone

            def stamp(order):
                order.paid_at = dt.datetime.utcnow()  # RP510
                Order.objects.filter(pk=order.pk).update(shipped_at=DateTime.today())  # RP510
                checked = dt.datetime.now(tz=None)  # RP510
                if checked > timezone.now():
                    return
                deadline = DateTime.now() + dt.timedelta(minutes=15)  # RP510
                cache.set(f"hold:{order.pk}", deadline, timeout=HOLD_TTL)

            def age(order):
                return DateTime.now() - order.paid_at  # RP510
            """,
            path="shop/services.py",
            files={
                "shop/models.py": """
                from django.db import models

                class Order(models.Model):
                    paid_at = models.DateTimeField(null=True)
                    shipped_at = models.DateTimeField(null=True)
                """
            },
        ),
        Good(
            """
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
                order.delivery_day = datetime.datetime.now().date()  # a DateField: cut to a date
                order.updated_at = datetime.datetime.now()  # auto_now: save() sets it again
                order.save()
            """,
            path="shop/services.py",
            files={
                "shop/models.py": """
                from django.db import models

                class Order(models.Model):
                    paid_at = models.DateTimeField(null=True)
                    delivery_day = models.DateField(null=True)
                    updated_at = models.DateTimeField(auto_now=True)
                """
            },
        ),
        Good(
            """
            from datetime import datetime

            from .models import LocalAsset

            def register(path, owner):
                # An insert stamps `created` itself (auto_now_add): the value given is never stored.
                asset = LocalAsset(created=datetime.now(), location=path, owner=owner)
                asset.save()
                return LocalAsset.objects.create(created=datetime.now(), location=path + ".bak", owner=owner)
            """,
            path="assets/local.py",
            files={"assets/models.py": _ASSET},
        ),
        Bad(
            """
            from datetime import datetime

            from .models import LocalAsset

            def backdate(asset):
                asset.created = datetime.now()  # RP510
                asset.save()  # an existing row: auto_now_add does not apply
                LocalAsset.objects.filter(pk=asset.pk).update(created=datetime.now())  # RP510
            """,
            path="assets/local.py",
            files={"assets/models.py": _ASSET},
        ),
        Bad(
            """
            from datetime import datetime

            def touch(orders):
                # `update()` writes the value as given: auto_now applies only to save()
                orders.update(updated_at=datetime.now())  # RP510
            """,
            path="shop/services.py",
            files={
                "shop/models.py": """
                from django.db import models

                class Order(models.Model):
                    updated_at = models.DateTimeField(auto_now=True)
                """
            },
        ),
        Good(
            """
            from django.utils import timezone
            from django.utils.timezone import make_aware

            class Clock:
                def now(self):
                    return make_aware(datetime.now())  # `datetime` not imported: someone else's

            def expires():
                return timezone.now()
            """,
        ),
        Good(
            """
            import calendar
            import datetime
            from datetime import datetime as dt, timedelta

            from django.conf import settings
            from django.utils import timezone

            def upload_to(instance, filename):
                return datetime.datetime.now().strftime("uploads/%Y/%m/") + filename

            def cookie_expiry(max_age):
                expires = dt.utcnow() + timedelta(seconds=max_age)
                return expires.strftime("%a, %d-%b-%Y %H:%M:%S GMT")

            def season_start():
                return dt.now().year, dt.now().date(), dt.now().timestamp()

            def export(rows):
                started = dt.now()
                write(rows)
                duration = dt.now() - started  # the same clock: a duration
                logger.info("exported in %s", duration.total_seconds())

            def default_for(field):
                if settings.USE_TZ:
                    return timezone.now()
                return dt.now()

            def auto_now_default(order, field):
                if field.get_internal_type() == "DateTimeField":
                    value = timezone.now()
                else:
                    value = dt.now()
                order.paid_at = value

            def local_stamp(order):
                order.paid_at = to_project_tz(dt.now())  # made aware by the project's helper
            """,
            path="shop/utils.py",
        ),
        Good(
            """
            from datetime import datetime

            class PasswordResetTokenGenerator:
                def _num_seconds(self, dt):
                    return int((dt - datetime(2001, 1, 1)).total_seconds())

                def _now(self):
                    return datetime.now()  # naive on purpose, compared with naive times only

                def make_token(self, user):
                    return self._make_token_with_timestamp(user, self._num_seconds(self._now()))
            """,
            path="accounts/tokens.py",
        ),
        Good(
            """
            from datetime import datetime, timedelta

            from .models import ApiCall

            def calls_this_hour(customer):
                start = datetime.now() - timedelta(hours=1)
                return ApiCall.objects.filter(customer=customer, made_at__gte=start).count()
            """,
            path="billing/quota.py",
            files={
                "billing/models.py": _API_CALL,
                # The project keeps naive local time: the ORM and `timezone.now()` are naive too.
                "config/settings/base.py": 'USE_TZ = False\nTIME_ZONE = "America/Chicago"\n',
                "config/settings/test.py": "from .base import *\n",
            },
        ),
        Bad(
            """
            from datetime import datetime, timedelta

            from django.core.cache import cache

            from .models import ApiCall

            def calls_this_hour(customer):
                start = datetime.now() - timedelta(hours=1)  # RP510
                return ApiCall.objects.filter(customer=customer, made_at__gte=start).count()

            def allow_request(user_id):
                key = f"rl:{user_id}:{datetime.now():%H%M}"  # RP510
                return cache.get_or_set(key, 0, timeout=60) < 10 and cache.incr(key)
            """,
            path="billing/quota.py",
            files={
                "billing/models.py": _API_CALL,
                # Only the test settings turn it off; production reads it from the environment.
                "config/settings/base.py": 'USE_TZ = env.bool("USE_TZ", default=True)\n',
                "config/settings/test.py": "USE_TZ = False\n",
            },
        ),
        Bad(
            """
            from datetime import datetime

            from django.core.cache import cache

            def allow_request(user_id):
                key = f"rl:{user_id}:{datetime.now():%H%M}"  # RP510
                return cache.get_or_set(key, 0, timeout=60) < 10 and cache.incr(key)
            """,
            path="billing/limits.py",
            # Naive everywhere, but the hour that repeats when daylight saving time ends still counts twice.
            files={"config/settings.py": "USE_TZ = False\n"},
        ),
        Bad(
            """
            from datetime import datetime

            from django.db import models

            class Invoice(models.Model):
                issued_at = models.DateTimeField(default=datetime.now())  # RP510
            """,
            path="billing/models.py",
            # Every invoice gets the time the server started.
            files={"config/settings.py": "USE_TZ = False\n"},
        ),
        Good(
            """
            from datetime import datetime

            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("billing", "0001_initial")]
                operations = [
                    migrations.AddField(
                        "invoice", "issued_at", models.DateTimeField(default=datetime.now()), preserve_default=False
                    ),
                ]
            """,
            path="billing/migrations/0002_invoice_issued_at.py",
            # The rows the column is added to get the time of the migration: fixed on purpose.
            files={"config/settings.py": "USE_TZ = False\n"},
        ),
        Bad(
            """
            from datetime import datetime

            from celery import shared_task
            from django.core.cache import cache
            from django_redis import get_redis_connection

            def allow_request(user_id):
                key = f"rl:{user_id}:{datetime.now():%H%M}"  # RP510
                count = cache.get_or_set(key, 0, timeout=60)
                return count < 10 and cache.incr(key)

            @shared_task
            def count_translation(project_id):
                redis = get_redis_connection("default")
                hour = datetime.now().strftime("%Y%m%d%H")  # RP510
                redis.hincrby(f"translations:{hour}", project_id)
                redis.expire(f"translations:{hour}", 7200)
            """,
            path="translate/limits.py",
        ),
        Good(
            """
            from datetime import datetime

            from django.core.cache import cache
            from django.utils import timezone

            RECENT = {}

            def allow_request(user_id):
                key = f"rl:{user_id}:{timezone.now():%H%M}"
                count = cache.get_or_set(key, 0, timeout=60)
                return count < 10 and cache.incr(key)

            def daily_quota_used(user_id):
                # A day of the local calendar: the quota resets at local midnight, on purpose.
                return cache.get(f"quota:{user_id}:{datetime.now():%Y-%m-%d}", 0) + cache.get(
                    f"bonus:{user_id}:{datetime.now().date()}", 0
                )

            def remember(user_id):
                RECENT[f"{user_id}:{datetime.now():%H}"] = True  # a dict, not a shared cache
            """,
            path="translate/limits.py",
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

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        """Also: a naive call names `now`, `utcnow` or `today` (an alias is followed, not made up)."""
        return super().applies_to(file) and ("now" in file.source or "today" in file.source)

    def visit_Module(self, node: cst.Module) -> None:
        fields = self.context.models.field_classes()
        #: Field names that are a `DateTimeField` in some model, and those that are only ever dates.
        self.datetime_fields = frozenset(n for n, kinds in fields.items() if any(_datetime(k) for k in kinds))
        self.date_fields = frozenset(
            n for n, kinds in fields.items() if all(k.endswith("DateField") and not _datetime(k) for k in kinds)
        )
        #: `save()` overwrites these with the current time: an assigned value never reaches the database.
        self.auto_now = self.context.models.auto_now_fields()
        #: An insert overwrites these too (`auto_now_add`): a value given to a new row never reaches the database.
        self.auto_now_on_insert = self.context.models.auto_now_fields(on_insert=True)
        #: Unless the settings say `USE_TZ = False`: then the ORM and `timezone.now()` hold naive local time.
        self.use_tz = self.context.models.use_tz is not False
        #: Attributes this module gives objects that are not models (a dataclass's `expires_at`, a
        #: client's `self.expires_at`): here a model's field is not known by its name alone.
        self.datetime_fields -= _plain_attributes(self, node.body)
        self.naive_names: dict[cst.Call, str] = {}
        self.exempt = _exempt_calls(node, self)  # meets every naive call of the module
        self.where: dict[cst.Call, str] = {}
        if not self.naive_names:
            return  # no naive call: nothing to follow
        scopes: list[cst.CSTNode] = [node]
        traversal.visit(node, _Functions(scopes))
        # What the module's functions return, by name, followed until nothing new is learned.
        self.returns: dict[str, frozenset[cst.Call]] = {}
        for _ in range(3):
            before = dict(self.returns)
            for scope in scopes:
                _Scope(self, scope, report=False).run()
            if self.returns == before:
                break
        for scope in scopes:
            _Scope(self, scope, report=True).run()
        for call, where in self.where.items():
            self.report(call, _aware_now(call), call=self.source_name(call), where=where)

    def source_name(self, node: cst.Call) -> str:
        return self.naive_names.get(node, "").removeprefix("datetime.") + "()"

    def imported(self, node: cst.BaseExpression, scope: cst.CSTNode) -> str | None:
        """The qualified name of an imported name as the function (or module) `scope` sees it: the
        rule reads each function on its own, ahead of the traversal."""
        inside = self.semantic.scope_of(scope) if isinstance(scope, (cst.FunctionDef, cst.ClassDef)) else None
        return self.semantic.imported(node, inside or self.semantic.module_scope)

    def naive_call(self, node: cst.Call, scope: cst.CSTNode) -> bool:
        """Whether `node` is `datetime.now()` (without a tz), `utcnow()` or `today()`."""
        name = self.imported(node.func, scope)
        if name in _NAIVE and not (name is not None and name.endswith(".now") and _has_tz(node)):
            self.naive_names[node] = name
            return True
        return False

    def aware_call(self, node: cst.Call, scope: cst.CSTNode) -> bool:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("astimezone", "localize"):
            return True
        name = self.imported(func, scope)
        return name in _AWARE_CALLS or (name == "datetime.datetime.now" and _has_tz(node))


def _plain_attributes(rule: NaiveDatetime, body: Sequence[cst.CSTNode]) -> set[str]:
    """The attributes a module gives objects that are not models: the fields of its dataclasses,
    named tuples and typed dicts, and what the `__init__` of its other classes sets on `self`. A
    mixin of a model sets its fields in other methods, and a form's fields mirror a model's. Only
    class and `__init__` bodies are read, not the whole module."""
    names: set[str] = set()
    for node in body:
        if not isinstance(node, cst.ClassDef) or rule.context.models.lookup(node.name.value, rule.file.path):
            continue
        lines = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        record = _record_class(node)
        for line in lines:
            if isinstance(line, cst.SimpleStatementLine) and record:
                names.update(
                    s.target.value for s in line.body if isinstance(s, cst.AnnAssign) and isinstance(s.target, cst.Name)
                )
            elif isinstance(line, cst.FunctionDef) and line.name.value == "__init__":
                for assign in traversal.nodes_of(line.body, cst.Assign):
                    for target in assign.targets:
                        attribute = target.target
                        if (
                            isinstance(attribute, cst.Attribute)
                            and isinstance(attribute.value, cst.Name)
                            and attribute.value.value == "self"
                        ):
                            names.add(attribute.attr.value)
        names |= _plain_attributes(rule, lines)  # classes inside a class
    return names


def _record_class(node: cst.ClassDef) -> bool:
    """A dataclass (or attrs class), a `NamedTuple` or a `TypedDict`: its annotations are its fields."""
    for decorator in node.decorators:
        expression = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        if (dotted_name(expression) or "").rpartition(".")[2] in _RECORD_DECORATORS:
            return True
    return any((dotted_name(b.value) or "").rpartition(".")[2] in ("NamedTuple", "TypedDict") for b in node.bases)


_RECORD_DECORATORS = frozenset({"dataclass", "define", "frozen", "attrs", "s"})


class _Functions(cst.CSTVisitor):
    """Collects every function of the module: each is a scope of its own."""

    def __init__(self, scopes: list[cst.CSTNode]) -> None:
        super().__init__()
        self.scopes = scopes

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(node)


class _Scope(cst.CSTVisitor):
    """Follows naive values through one function (or the module's top level) in source order."""

    def __init__(self, rule: NaiveDatetime, root: cst.CSTNode, report: bool) -> None:
        super().__init__()
        self.rule = rule
        self.root = root
        self.reporting = report
        self.names: dict[str, Value] = {}
        self.stamps: dict[str, frozenset[cst.Call]] = {}  #: names holding text or numbers cut from naive times

    def run(self) -> None:
        traversal.visit(self.root, self)

    # -- scope boundaries: a nested function is a scope of its own --

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.root

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    # -- what an expression holds --

    def value(self, node: cst.BaseExpression) -> Value:
        rule = self.rule
        if isinstance(node, cst.Name):
            return self.names.get(node.value)
        if isinstance(node, cst.Attribute):
            return _AWARE if node.attr.value in rule.datetime_fields else None
        if isinstance(node, cst.IfExp):
            body, orelse = self.value(node.body), self.value(node.orelse)
            if isinstance(body, frozenset) or isinstance(orelse, frozenset):
                return _naive(body) | _naive(orelse)
            return _AWARE if _AWARE in (body, orelse) else None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            left, right = self.value(node.left), self.value(node.right)
            if left is not None and right is not None:
                return None  # two times: their difference is a duration
            return left if left is not None else right
        if not isinstance(node, cst.Call):
            return None
        if rule.naive_call(node, self.root):
            return None if node in rule.exempt else frozenset({node})
        if rule.aware_call(node, self.root):
            return _AWARE
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value == "replace":
                tz = keyword(node, "tzinfo")
                if tz is None:
                    return self.value(func.value)
                return None if _is_none(tz.value) else _AWARE
            if isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
                return rule.returns.get(f".{func.attr.value}")
            return None
        if isinstance(func, cst.Name):
            return rule.returns.get(func.value)
        return None

    def stamp(self, node: cst.BaseExpression) -> frozenset[cst.Call]:
        """The naive calls whose time of day `node` holds as text or numbers: `f"{now:%H%M}"`,
        `now.strftime("%Y%m%d%H")`, `now.hour`, `now.timestamp()`. A date alone (`now.date()`,
        `f"{now:%Y-%m-%d}"`) is not one: a day of the local calendar is often what is meant."""
        if isinstance(node, cst.Name) and node.value in self.stamps:
            return self.stamps[node.value]
        if isinstance(node, cst.FormattedString):
            return frozenset().union(
                *(
                    self.stamp(p.expression)
                    for p in node.parts
                    if isinstance(p, cst.FormattedStringExpression)
                    and (p.format_spec is None or _time_of_day("".join(code(s) for s in p.format_spec)))
                )
            )
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Modulo)):
            return self.stamp(node.left) | self.stamp(node.right)
        if isinstance(node, (cst.Tuple, cst.List)):
            return frozenset().union(*(self.stamp(e.value) for e in node.elements))
        if isinstance(node, cst.Attribute):
            return _naive(self.value(node.value)) if node.attr.value in _TIME_PARTS else frozenset()
        if isinstance(node, cst.Call):
            func = node.func
            method = func.attr.value if isinstance(func, cst.Attribute) else None
            if method == "strftime" and isinstance(func, cst.Attribute):
                pattern = string_value(node.args[0].value) if node.args else None
                return _naive(self.value(func.value)) if pattern is None or _time_of_day(pattern) else frozenset()
            if method in _FORMATS and isinstance(func, cst.Attribute):
                return _naive(self.value(func.value))
            if method == "format" or dotted_name(func) in ("str", "int"):
                return frozenset().union(*(self.stamp(a.value) for a in node.args))
            if method == "date":
                return frozenset()
        return _naive(self.value(node))

    def found(self, value: Value, where: str, clockless: bool = False) -> None:
        """`value`'s naive calls meet `where` an aware time; `clockless`: a harm that does not depend on
        `USE_TZ` (a window of the local clock, a value fixed at import), reported even without it."""
        if not (self.rule.use_tz or clockless):
            return
        if self.reporting and isinstance(value, frozenset):
            for call in value:
                self.rule.where.setdefault(call, where)

    # -- bindings --

    def leave_Assign(self, original_node: cst.Assign) -> None:
        value = self.value(original_node.value)
        stamp = self.stamp(original_node.value) if not isinstance(value, frozenset) else frozenset()
        for target in original_node.targets:
            self._bind(target.target, value, stamp)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._bind(original_node.target, self.value(original_node.value))

    def _bind(self, target: cst.BaseExpression, value: Value, stamp: frozenset[cst.Call] = frozenset()) -> None:
        if isinstance(target, cst.Name):
            self.names[target.value] = value
            self.stamps[target.value] = stamp
        elif isinstance(target, cst.Attribute):
            field = target.attr.value
            if field in self.rule.datetime_fields and field not in self.rule.auto_now:
                self.found(value, f"is stored in `{field}`, a `DateTimeField`")
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, None)

    def visit_Return(self, node: cst.Return) -> None:
        if self.reporting or node.value is None or not isinstance(self.root, cst.FunctionDef):
            return
        value = self.value(node.value)
        if isinstance(value, frozenset):
            name = self.root.name.value
            for key in (name, f".{name}"):
                self.rule.returns[key] = self.rule.returns.get(key, frozenset()) | value

    # -- where a naive time meets an aware one --

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            self._meet(self.value(left), self.value(target.comparator), "is compared with an aware time")
            left = target.comparator

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Subtract):
            self._meet(self.value(node.left), self.value(node.right), "is subtracted from an aware time")

    def _meet(self, left: Value, right: Value, where: str) -> None:
        if right == _AWARE:
            self.found(left, where)
        elif left == _AWARE:
            self.found(right, where)

    def visit_Call(self, node: cst.Call) -> None:
        if not self.reporting:
            return
        func = node.func
        name = self.rule.imported(func, self.root)
        if name is not None and name.endswith("DateTimeField"):
            # Fixed at import: in a model, every row gets the time the server started; a migration's
            # one-off default for the rows it adds the column to is meant to be fixed.
            self.found(
                self._argument(node, "default"),
                "is the default of a `DateTimeField`, fixed at import",
                clockless=not self.rule.file.is_migration,
            )
            return
        if name == "django.db.models.Q":
            self._lookups(node, writes=False, queryset=True)
            return
        if self._is_model(func, name):  # `Embed(last_updated=...)`
            self._lookups(node, writes=True, queryset=True, inserts=True)
            return
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        kind = self.rule.kind_in(func.value, self.root)
        if kind in (Kind.CACHE, Kind.REDIS, Kind.PIPELINE):
            key = keyword(node, "key") or keyword(node, "name")
            if key is None and node.args and node.args[0].keyword is None and not node.args[0].star:
                key = node.args[0]
            if key is not None:
                where = f"is in the key of `{code(func, one_line=True)}()`, a window of the server's local clock"
                self.found(self.stamp(key.value), where, clockless=True)
        if method in _CACHE_WRITES and kind is Kind.CACHE:
            stored = keyword(node, "value") or keyword(node, "default")
            if stored is None and len(node.args) > 1 and node.args[1].keyword is None:
                stored = node.args[1]
            if stored is not None:
                self.found(self.value(stored.value), "is stored in the cache")
        elif method in _ORM_LOOKUPS or method in _ORM_WRITES:
            self._lookups(
                node,
                writes=method in ("create", "update"),
                queryset=_is_queryset(func.value),
                inserts=method == "create",
            )

    def _lookups(self, node: cst.Call, writes: bool, queryset: bool, inserts: bool = False) -> None:
        """Keyword lookups and field values of an ORM call (and its `defaults=` mapping); `inserts`: the
        values of a new row (`Model(...)`, `create(...)`), where an `auto_now_add` field is stamped anew."""
        for arg in node.args:
            if arg.keyword is None:
                continue
            if inserts and arg.keyword.value in self.rule.auto_now_on_insert:
                continue
            if arg.keyword.value in ("defaults", "create_defaults"):
                for key, value in _mapping(arg.value):
                    self._field(key, value, writes=True, queryset=queryset)
            else:
                self._field(arg.keyword.value, arg.value, writes=writes, queryset=queryset)

    def _field(self, lookup: str, node: cst.BaseExpression, writes: bool, queryset: bool) -> None:
        value = self.value(node)
        if not isinstance(value, frozenset):
            return
        parts = lookup.split("__")
        if len(parts) > 1 and parts[-1] in _LOOKUPS:
            parts.pop()
        field = parts[-1]
        # A lookup on a queryset is on a date or a time; elsewhere only a known `DateTimeField` counts.
        if field in self.rule.date_fields or not (queryset or field in self.rule.datetime_fields):
            return
        kind = ", a `DateTimeField`" if field in self.rule.datetime_fields else ""
        how = f"is stored in `{field}`{kind}" if writes and lookup == field else f"is used in the lookup `{lookup}`"
        self.found(value, how)

    def _is_model(self, func: cst.BaseExpression, name: str | None) -> bool:
        qualified = name or dotted_name(func)
        if qualified is None or not qualified.rpartition(".")[2][:1].isupper():
            return False
        return self.rule.context.models.lookup(qualified, self.rule.file.path) is not None

    def _argument(self, node: cst.Call, name: str) -> Value:
        arg = keyword(node, name)
        return self.value(arg.value) if arg is not None else None


def _exempt_calls(module: cst.Module, rule: NaiveDatetime) -> set[cst.Call]:
    """Naive calls chosen on purpose: in a function that reads `USE_TZ`, or in an `if` that calls
    `timezone.now()` in another branch (`if DateTimeField: timezone.now() else: datetime.now()`)."""
    exempt: set[cst.Call] = set()
    frames: list[tuple[cst.CSTNode, list[cst.Call], list[bool]]] = []
    functions: list[cst.CSTNode] = [module]  # where names are read: the innermost function

    class _Walk(cst.CSTVisitor):
        def _push(self, node: cst.CSTNode) -> None:
            frames.append((node, [], [False]))

        def _pop(self) -> None:
            _, calls, chosen = frames.pop()
            if chosen[0]:
                exempt.update(calls)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self._push(node)
            functions.append(node)

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self._pop()
            functions.pop()

        def visit_If(self, node: cst.If) -> None:
            self._push(node)

        def leave_If(self, original_node: cst.If) -> None:
            self._pop()

        def visit_IfExp(self, node: cst.IfExp) -> None:
            self._push(node)

        def leave_IfExp(self, original_node: cst.IfExp) -> None:
            self._pop()

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == "USE_TZ":
                for frame in reversed(frames):
                    if isinstance(frame[0], cst.FunctionDef):
                        frame[2][0] = True
                        break

        def visit_Call(self, node: cst.Call) -> None:
            if rule.naive_call(node, functions[-1]):
                for _, calls, _ in frames:
                    calls.append(node)
            elif rule.imported(node.func, functions[-1]) == _TIMEZONE_NOW:
                for frame in frames:
                    if not isinstance(frame[0], cst.FunctionDef):
                        frame[2][0] = True

    traversal.visit(module, _Walk())
    return exempt


def _is_queryset(node: cst.BaseExpression) -> bool:
    """`Model.objects...`, `x.filter(...)...`: the receiver is certainly a manager or queryset."""
    while True:
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in ("filter", "exclude", "all", "select_related"):
                return True
            node = func
        elif isinstance(node, cst.Attribute):
            if node.attr.value == "objects":
                return True
            node = node.value
        else:
            return False


def _mapping(node: cst.BaseExpression) -> list[tuple[str, cst.BaseExpression]]:
    """The string keys and values of `{"a": x}` or `dict(a=x)`."""
    if isinstance(node, cst.Dict):
        return [
            (element.key.evaluated_value, element.value)
            for element in node.elements
            if isinstance(element, cst.DictElement)
            and isinstance(element.key, cst.SimpleString)
            and isinstance(element.key.evaluated_value, str)
        ]
    if isinstance(node, cst.Call) and dotted_name(node.func) == "dict":
        return [(arg.keyword.value, arg.value) for arg in node.args if arg.keyword is not None]
    return []


def _time_of_day(pattern: str) -> bool:
    """Whether a `strftime` pattern or format spec keeps the time of day (`%H%M`), not the date alone."""
    return "%" not in pattern or _TIME_DIRECTIVES.search(pattern) is not None


def _naive(value: Value) -> frozenset[cst.Call]:
    return value if isinstance(value, frozenset) else frozenset()


def _datetime(kind: str) -> bool:
    return kind.endswith("DateTimeField")


def _has_tz(node: cst.Call) -> bool:
    tz = keyword(node, "tz")
    if tz is None:
        tz = next((a for a in node.args if a.keyword is None), None)
    return tz is not None and (bool(tz.star) or not _is_none(tz.value))


def _is_none(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "None"
