"""RP205 collapsed-three-step-migration: add, backfill and enforce NOT NULL in one migration; bonus for three."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.migrations.helpers import THREE_STEPS, FieldChange, MigrationRule
from review_patterns.checks.migrations.split import split_collapsed
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good

_INITIAL = """
    from django.db import migrations, models

    class Migration(migrations.Migration):
        initial = True
        operations = [
            migrations.CreateModel(
                name="Order",
                fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
            ),
        ]
    """
_ADD = """
    from django.db import migrations, models

    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [
            migrations.AddField("order", "currency", models.CharField(max_length=3, null=True)),
        ]
    """
_BACKFILL = """
    from django.db import migrations

    def fill_currency(apps, schema_editor):
        Order = apps.get_model("shop", "Order")
        Order.objects.filter(currency__isnull=True).update(currency="EUR")

    class Migration(migrations.Migration):
        dependencies = [("shop", "0002_order_currency")]
        operations = [migrations.RunPython(fill_currency, migrations.RunPython.noop)]
    """


class CollapsedThreeStepMigration(MigrationRule):
    """## What it does
    Flags a migration that adds or relaxes a field, backfills it and enforces NOT NULL on it, all at once.

    One finding per field, at the enforcing `AlterField`; not for a model created in the same
    release (its table has no rows to backfill). The rule also awards the bonus
    `three-step-migration` at an enforcing `AlterField` when the history shows the three steps
    apart: the field made nullable (by `AddField`, `CreateModel` or `AlterField`) in one
    migration, filled by a `RunPython` or `RunSQL` that names it in a later one, and made
    NOT NULL in a migration after that.

    ## Why is this bad?
    In one migration the three steps deploy and roll back together: the new code cannot run
    against the relaxed column while the backfill is still going, the backfill runs inside the
    schema change's transaction and holds its locks, and a failed enforce rolls the backfill back.
    Three migrations can each be deployed, checked and rolled back on their own.

    ## Known problems
    Measured precision: 8 of 8 on 15 real projects (benchmarks/precision).
    """

    code = "RP205"
    name = "collapsed-three-step-migration"
    message = "`{app}.{model}.{field}` is {added}, backfilled and made NOT NULL in one migration: " + THREE_STEPS
    severity = Severity.IMPORTANT
    dimension = Dimension.DATA_INTEGRITY
    bonuses = {"three-step-migration": 3}
    fixes = (
        "Unsafe: for a migration not released yet, the fix cuts it in three where its backfill and its "
        "`AlterField` start: the first steps stay, the backfill moves to a new migration and the "
        "`AlterField` (with what follows it) to another, each with the imports and only the functions "
        "its operations use; migrations that depended on it depend on the last one. Each part then "
        "deploys and rolls back on its own, which changes how the migration runs."
    )
    examples = (
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
                    migrations.RunPython(fill_currency, migrations.RunPython.noop),
                    migrations.AlterField("order", "currency", models.CharField(max_length=3)),  # RP205
                ]
            """,
            path="shop/migrations/0002_order_currency.py",
            files={"shop/migrations/0001_initial.py": _INITIAL},
        ),
        Good(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0003_fill_order_currency")]
                operations = [
                    migrations.AlterField("order", "currency", models.CharField(max_length=3)),
                ]
            """,
            path="shop/migrations/0004_alter_order_currency.py",
            files={
                "shop/migrations/0001_initial.py": _INITIAL,
                "shop/migrations/0002_order_currency.py": _ADD,
                "shop/migrations/0003_fill_order_currency.py": _BACKFILL,
            },
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.fields: set[tuple[str, str, str]] = set()  # reported already: one finding per field

    def check(self, change: FieldChange, node: cst.Call) -> None:
        if not change.enforces_not_null or change.new_table:
            return
        key = (change.app, change.operation.model.lower(), change.operation.name.lower())
        if change.relaxed_here is not None and change.backfilled_here and key not in self.fields:
            self.fields.add(key)
            added = change.migration.operations[change.relaxed_here].kind == "AlterField"
            rewrite = split_collapsed(change, node, self.module, self.context.migrations)
            self.report(node, rewrite, added="made nullable" if added else "added", **change.where)
        elif change.three_steps:
            label = f"{change.app}.{change.model_name}.{change.operation.name}"
            self.award(node, "three-step-migration", f"`{label}`: added nullable, backfilled, then enforced NOT NULL")
