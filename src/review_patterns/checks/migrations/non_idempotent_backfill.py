"""RP204 non-idempotent-backfill: a data migration that updates every row instead of the rows that need it."""

from __future__ import annotations

import re

import libcst as cst

from review_patterns.checks.migrations.helpers import data_operation
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.project.migrations import looks_like_migration
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.names import argument_value, call_name

#: Queryset methods that narrow the rows.
_FILTERS = frozenset({"filter", "exclude", "complex_filter", "none", "get", "in_bulk"})
#: Queryset methods that keep every row.
_ALL_ROWS = frozenset(
    {
        "all",
        "using",
        "order_by",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "select_for_update",
        "get_queryset",
        "distinct",
        "annotate",
        "alias",
    }
)
_MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
#: A value computed from the row's own columns or related rows: recomputing it gives the same.
_DERIVED = re.compile(r"\b(F|Subquery|OuterRef|Exists)\(")


def updates_every_row(node: cst.Call) -> bool:
    """`Model.objects.update(...)` or `Model.objects.all().using(db).update(...)`: no filter on the way."""
    func = node.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "update":
        return False
    receiver = func.value
    while isinstance(receiver, cst.Call):
        method = call_name(receiver)
        if method in _FILTERS or method not in _ALL_ROWS or not isinstance(receiver.func, cst.Attribute):
            return False
        receiver = receiver.func.value
    return isinstance(receiver, cst.Attribute) and receiver.attr.value in _MANAGERS


def overwritten_field(node: cst.Call) -> str | None:
    """The first field `update()` sets to a fixed value (not None, not derived from other columns)."""
    for arg in node.args:
        if arg.keyword is None:
            continue
        value = arg.value
        if isinstance(value, cst.Name) and value.value == "None":
            continue  # clearing a cache or a stale value, not a backfill
        if _DERIVED.search(cst.Module([]).code_for_node(value)):
            continue
        return arg.keyword.value
    return None


class NonIdempotentBackfill(Rule):
    """## What it does
    Flags a backfill that `update()`s every row of a table instead of the rows that need it.

    Looked for in `RunPython` forward functions and the helpers they call:
    `Model.objects.update(...)`, `Model.objects.all().update(...)`.

    `.filter(...)` and `.exclude(...)` narrow the rows; `.all()` and `.using(...)` do not.
    An update that sets None (clearing a cache) or a value computed from the row's own columns
    or related rows (`F(...)`, `Subquery(...)`) gives the same result when re-run, and is not flagged.

    ## Why is this bad?
    A backfill that overwrites every row is not safe to run twice or on partly migrated data:
    rows that the new release already wrote, or that an earlier partial run filled, lose their
    real values. Update only the rows that still need it: `.filter(field__isnull=True).update(...)`.
    """

    code = "RP204"
    name = "non-idempotent-backfill"
    message = (
        "`{call}` updates every row of the table in the backfill `{function}`: re-running it or running it"
        " on partly migrated data overwrites real values; update only the rows that still need it"
        " (`.filter({field}__isnull=True).update(...)`)"
    )
    severity = Severity.WARNING
    dimension = Dimension.DATA_INTEGRITY
    requires = ("RunPython",)
    examples = (
        Bad(
            """
            from django.db import migrations

            def fill_currency(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.all().update(currency="EUR")  # RP204

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_order_currency")]
                operations = [migrations.RunPython(fill_currency, migrations.RunPython.noop)]
            """,
            path="shop/migrations/0003_fill_order_currency.py",
        ),
        Good(
            """
            from django.db import migrations

            def fill_currency(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(currency__isnull=True).update(currency="EUR")

            def reset_currency(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.update(currency=None)

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_order_currency")]
                operations = [migrations.RunPython(fill_currency, reset_currency)]
            """,
            path="shop/migrations/0003_fill_order_currency.py",
        ),
    )

    def setup(self) -> None:
        self.functions: list[str] = []  # enclosing module-level function, innermost last
        self.updates: dict[str, list[cst.Call]] = {}
        self.calls: dict[str, set[str]] = {}
        self.forward: list[str] = []

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        return super().applies_to(file) and looks_like_migration(file.source)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(self.functions[0] if self.functions else node.name.value)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if self.functions:
            function = self.functions[-1]
            if updates_every_row(node) and overwritten_field(node):
                self.updates.setdefault(function, []).append(node)
            elif isinstance(node.func, cst.Name):
                self.calls.setdefault(function, set()).add(node.func.value)
        if data_operation(self, node) == "RunPython":
            forward = argument_value(node, "code", 0)
            if isinstance(forward, cst.Name):
                self.forward.append(forward.value)

    def leave_Module(self, original_node: cst.Module) -> None:
        reported: set[int] = set()
        for forward in dict.fromkeys(self.forward):
            seen, todo = {forward}, [forward]
            while todo:
                function = todo.pop()
                for call in self.updates.get(function, []):
                    if id(call) in reported:
                        continue
                    reported.add(id(call))
                    self.report(call, call=_short(call), function=forward, field=overwritten_field(call))
                for callee in self.calls.get(function, set()) - seen:
                    seen.add(callee)
                    todo.append(callee)


def _short(call: cst.Call) -> str:
    """`Order.objects.all().update(...)`: the call without its arguments."""
    return cst.Module([]).code_for_node(call.func) + "(...)"
