"""RP202 not-null-enforced-without-backfill: a nullable field made NOT NULL with nothing filling its NULLs."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.migrations.helpers import FieldChange, MigrationRule
from review_patterns.checks.migrations.split import backfill_first
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good

_HISTORY = {
    "shop/migrations/0001_initial.py": """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            initial = True
            operations = [
                migrations.CreateModel(
                    name="Order",
                    fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
                ),
            ]
        """,
    "shop/migrations/0002_order_currency.py": """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [
                migrations.AddField("order", "currency", models.CharField(max_length=3, null=True)),
            ]
        """,
}


class NotNullEnforcedWithoutBackfill(MigrationRule):
    """## What it does
    Flags an `AlterField` that makes a nullable field NOT NULL with no default and no backfill.

    The history must show the field nullable, and rows may hold NULL: either the rows already
    in the table when the field was added nullable without a default (to a table of an earlier
    release), or rows written while it was nullable, which needs a release in between (see
    "Releases of migrations" in the README) and a field the ORM writes NULL to (`FileField` and
    `ImageField` store ""). A field added nullable with a default, and enforced in the same
    release, is not flagged. A backfill is a `RunSQL`, a `RunPython` (or the project's own
    subclass of it) whose forward function uses the model (`apps.get_model("shop", "Order")`)
    or cannot be read, in this migration before the `AlterField`, or in a migration from the
    one where the field first became nullable on. A field made nullable by an earlier operation
    of this same migration counts too.

    ## Why is this bad?
    Rows written while the field was nullable hold NULL, and `ALTER COLUMN ... SET NOT NULL`
    fails on the first of them: the deploy stops half-way. Fill the NULLs in a data migration
    first (only the rows that still need it), then enforce NOT NULL.

    ## Known problems
    Measured precision: no finding on 15 real projects (benchmarks/precision); the one found
    before was backfilled by the project's own `RunPython` subclass.
    """

    code = "RP202"
    name = "not-null-enforced-without-backfill"
    message = (
        "`{app}.{model}.{field}` is made NOT NULL but nothing fills the NULL rows written since it became"
        " nullable ({since}): the migration fails on existing data; backfill them in a data migration"
        " (`.filter({field}__isnull=True).update(...)`) before enforcing NOT NULL"
    )
    severity = Severity.BLOCKER
    penalty = 10
    dimension = Dimension.DATA_INTEGRITY
    fixes = (
        "Unsafe: for a migration not released yet, whose field was nullable before it, the fix writes "
        "the missing step: a new migration that fills the NULL rows in batches with a value you must "
        "write (its function raises `NotImplementedError` until you do), `reverse_code=RunPython.noop`, "
        "and makes the enforcing migration depend on it."
    )
    examples = (
        Bad(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_order_currency")]
                operations = [
                    migrations.AlterField(  # RP202
                        model_name="order",
                        name="currency",
                        field=models.CharField(max_length=3),
                    ),
                ]
            """,
            path="shop/migrations/0003_alter_order_currency.py",
            files=_HISTORY,
        ),
        Good(
            """
            from django.db import migrations, models

            def fill_currency(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(currency__isnull=True).update(currency="EUR")

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_order_currency")]
                operations = [
                    migrations.RunPython(fill_currency, migrations.RunPython.noop),
                    migrations.AlterField(
                        model_name="order",
                        name="currency",
                        field=models.CharField(max_length=3),
                    ),
                ]
            """,
            path="shop/migrations/0003_alter_order_currency.py",
            files=_HISTORY,
        ),
        Good(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_order_currency")]
                operations = [
                    migrations.AlterField("order", "currency", models.CharField(max_length=3, null=True, blank=True)),
                    migrations.AlterField("order", "note", models.TextField()),
                ]
            """,
            path="shop/migrations/0003_alter_order_currency.py",
            files=_HISTORY,
        ),
    )

    def check(self, change: FieldChange, node: cst.Call) -> None:
        if (
            change.enforces_not_null
            and change.may_have_rows
            and change.null_rows
            and not change.has_default
            and not change.backfilled
        ):
            since = change.relaxed_in.label if change.relaxed_in else "in this migration"
            rewrite = backfill_first(change, node, self.module, self.context.migrations)
            self.report(node, rewrite, since=since, **change.where)
