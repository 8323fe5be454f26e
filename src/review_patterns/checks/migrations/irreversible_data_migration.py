"""RP203 irreversible-data-migration: `RunPython` without `reverse_code`, `RunSQL` without `reverse_sql`."""

from __future__ import annotations

import re

import libcst as cst

from review_patterns.checks.migrations.helpers import DATA_OPERATIONS, TEST_APPS, data_operation
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.project.migrations import looks_like_migration
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.names import argument_value, dotted_name, string_value

_READ_ONLY = re.compile(r"\s*(SELECT\b|$)", re.IGNORECASE)


def is_noop(node: cst.BaseExpression | None) -> bool:
    """`RunPython.noop`, `RunSQL.noop`, an empty SQL string, or SQL that only reads (`SELECT ...`)."""
    if node is None:
        return False
    name = dotted_name(node)
    sql = string_value(node)
    return (name is not None and name.endswith(".noop")) or (sql is not None and _READ_ONLY.match(sql) is not None)


class IrreversibleDataMigration(Rule):
    """## What it does
    Flags a `RunPython` without `reverse_code` and a `RunSQL` without `reverse_sql`.

    `migrations.RunPython.noop` (or `RunSQL.noop`) as the reverse is fine: it says that undoing
    the step needs nothing. A step whose forward side is itself a no-op (or SQL that only
    `SELECT`s) is not flagged.

    ## Why is this bad?
    Django refuses to unapply a migration with an irreversible operation, so a release that
    must be rolled back cannot migrate its database back either: the rollback becomes a manual
    operation on production data, under pressure.

    ## Known problems
    Measured precision: 30 of 30 on 8 real projects (benchmarks/precision).
    """

    code = "RP203"
    name = "irreversible-data-migration"
    message = (
        "`{operation}` has no `{reverse}`: the migration cannot be unapplied when the release is rolled back;"
        " give a reverse step (`migrations.{operation}.noop` when undoing needs nothing)"
    )
    severity = Severity.IMPORTANT
    dimension = Dimension.DATA_INTEGRITY
    requires = ("RunPython", "RunSQL")
    skip_kinds = TEST_APPS
    examples = (
        Bad(
            """
            from django.db import migrations

            def fill_currency(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(currency__isnull=True).update(currency="EUR")

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_order_currency")]
                operations = [
                    migrations.RunPython(fill_currency),  # RP203
                    migrations.RunSQL("CREATE INDEX order_currency ON shop_order (currency)"),  # RP203
                ]
            """,
            path="shop/migrations/0003_fill_order_currency.py",
        ),
        Good(
            """
            from django.db import migrations

            def fill_currency(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(currency__isnull=True).update(currency="EUR")

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_order_currency")]
                operations = [
                    migrations.RunPython(fill_currency, reverse_code=migrations.RunPython.noop),
                    migrations.RunSQL(
                        "CREATE INDEX order_currency ON shop_order (currency)",
                        reverse_sql="DROP INDEX order_currency",
                    ),
                    migrations.RunPython(migrations.RunPython.noop),
                ]
            """,
            path="shop/migrations/0003_fill_order_currency.py",
        ),
    )

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        return super().applies_to(file) and looks_like_migration(file.source)

    def visit_Call(self, node: cst.Call) -> None:
        operation = data_operation(self, node)
        if operation is None:
            return
        forward_name, reverse_name = DATA_OPERATIONS[operation]
        forward = argument_value(node, forward_name, 0)
        reverse = argument_value(node, reverse_name, 1)
        if forward is None or is_noop(forward):
            return
        if reverse is None or (isinstance(reverse, cst.Name) and reverse.value == "None"):
            if any(a.star == "**" for a in node.args):
                return  # the reverse may come in **kwargs
            self.report(node, operation=operation, reverse=reverse_name)
