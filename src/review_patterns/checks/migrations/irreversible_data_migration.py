"""RP203 irreversible-data-migration: `RunPython` without `reverse_code`, `RunSQL` without `reverse_sql`."""

from __future__ import annotations

import re

import libcst as cst

from review_patterns.checks.migrations.helpers import DATA_OPERATIONS, TEST_APPS, data_operation, operation_nodes
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite, Rule
from review_patterns.project.migrations import looks_like_migration
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.names import argument_value, code, dotted_name, string_value, with_argument

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
    `SELECT`s) is not flagged, nor is an app's first migration when it is squashed (`replaces`,
    or a `_squashed_` name): it replays the steps of the migrations it replaces, judged when they
    were written, and no rollback lands inside it (unapplying it removes the app). A squash or a
    replacement later in the history is judged: a rollback unapplies it like any other.

    ## Why is this bad?
    Django refuses to unapply a migration with an irreversible operation, so a release that
    must be rolled back cannot migrate its database back either: the rollback becomes a manual
    operation on production data, under pressure.

    ## Known problems
    Measured precision: 30 of 30 sampled (of 58 found) on 15 real projects (benchmarks/precision).
    """

    reads = ("migrations",)

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
    fixes = (
        "Unsafe: where the `RunPython` fills a field that an `AddField` earlier in the same migration "
        "adds, the fix passes `reverse_code=migrations.RunPython.noop`: unapplying the migration "
        "drops the field right after, so undoing the fill needs nothing. It is unsafe because it "
        "declares the step reversible on the fix's word; any other data step needs a reverse you write."
    )
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
        Bad(
            """
            from django.db import migrations, models

            def fill_currency(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(currency__isnull=True).update(currency="EUR")

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "currency", models.CharField(max_length=3, null=True)),
                    migrations.RunPython(fill_currency),  # RP203
                ]
            """,
            path="shop/migrations/0002_order_currency.py",
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

    def visit_Module(self, node: cst.Module) -> None:
        self.paths = {id(call): path for path, call in operation_nodes(node).items()}
        migration = self.context.migrations.migration(self.file.path, self.file.source)
        #: An app's first migration squashed from others replays steps judged there, and no rollback
        #: lands inside it: unapplying it removes the app.
        self.squashed = (
            migration is not None
            and migration.squashed
            and not any(app == migration.app for app, _ in migration.dependencies)
        )

    def visit_Call(self, node: cst.Call) -> None:
        if self.squashed:
            return
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
            self.report(node, self._noop_reverse(node, operation), operation=operation, reverse=reverse_name)

    def _noop_reverse(self, node: cst.Call, operation: str) -> Rewrite | None:
        """`reverse_code=RunPython.noop` for a backfill of a field added earlier in the same
        migration: unapplying drops the field right after, so undoing the fill needs nothing."""
        path = self.paths.get(id(node))
        migration = self.context.migrations.migration(self.file.path, self.file.source)
        if operation != "RunPython" or path is None or migration is None:
            return None
        steps = list(migration.walk())
        at = next((i for i, step in enumerate(steps) if step.path == path), None)
        uses = None if at is None else steps[at].uses
        if at is None or uses is None:
            return None
        added = [s for s in steps[:at] if s.kind == "AddField" and steps[at].names(s.name)]
        if not any({"*", s.model.lower()} & uses for s in added):
            return None
        fixed = with_argument(node, "reverse_code", 1, cst.Attribute(node.func, cst.Name("noop")))
        if fixed is None:
            return None
        noop = f"{code(node.func, one_line=True)}.noop"
        return Rewrite(safe=False, replace=((node, fixed),), description=f"pass `reverse_code={noop}`")
