"""RP201 not-null-column-without-default: a NOT NULL column added to a table with rows, with nothing to fill it."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.migrations.helpers import THREE_STEPS, FieldChange, MigrationRule
from review_patterns.checks.migrations.split import three_steps
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good

_INITIAL = """
    from django.db import migrations, models

    class Migration(migrations.Migration):
        initial = True
        dependencies = []
        operations = [
            migrations.CreateModel(
                name="Order",
                fields=[
                    ("id", models.BigAutoField(primary_key=True, serialize=False)),
                    ("total", models.DecimalField(max_digits=10, decimal_places=2)),
                ],
            ),
        ]
    """


class NotNullColumnWithoutDefault(MigrationRule):
    """## What it does
    Flags an `AddField` of a NOT NULL column with no way to fill the rows already in the table.

    The model's table must hold rows: created in an earlier release (see "Releases of
    migrations" in the README: git tags, `--diff`, else the same `makemigrations` run or day).
    Not flagged: `null=True`; a `db_default` other than None; a Python-side `default` (Django
    fills the rows with it on add; see RP206's `rolling-deploys`); fields Django fills itself
    (string fields with `blank=True`, `auto_now`/`auto_now_add`, auto and primary keys); fields
    with no column (`ManyToManyField`); a model created in the same release (the same migration,
    an app's initial migrations, the relations `makemigrations` split off them); a table a data
    step of the same migration emptied first (`Model.objects.all().delete()`). Third-party field
    classes are not judged.

    ## Why is this bad?
    The database cannot add a NOT NULL column without a value for the existing rows: the
    migration fails on deploy against production data, although it passed on the empty test
    database. Add the field nullable (or with a default), backfill it in a data migration,
    then enforce NOT NULL in a third migration.

    ## Known problems
    A squashed migration (`replaces`, or `_squashed_` in its name) is not judged; the migrations
    it replaces are. Migrations of test apps (under `tests/`, `test/`, `testapp/`) are not judged.
    Without git history (an sdist), releases are guessed from the migrations' headers.
    Measured on 15 real projects with their release history rebuilt from the package index
    (benchmarks/precision/history.py: what a clone's release tags show): no finding. On the bare
    sdists it had one false alarm: weblate vcs 0003 adds a column in the release that created
    the table (both first shipped in 2026.7), which only the release tags show. The 9 found
    before (split-off initial relations, a table emptied first, a test app) were false alarms.
    """

    code = "RP201"
    name = "not-null-column-without-default"
    message = (
        "`{app}.{model}.{field}` is added NOT NULL with no default to a table that already has rows:"
        " the migration fails on existing data; " + THREE_STEPS
    )
    severity = Severity.BLOCKER
    penalty = 10
    dimension = Dimension.DATA_INTEGRITY
    fixes = (
        "Unsafe: for a migration not released yet, the fix writes the three steps: the `AddField` "
        "adds the field with `null=True`; a new migration fills the rows still NULL in batches "
        "(`reverse_code=RunPython.noop`) with a value you must write: its function raises "
        "`NotImplementedError` until you do; a second new migration enforces NOT NULL with the "
        "field as first written. Migrations that depended on the original depend on the last step "
        "instead. Released migrations are never rewritten."
    )
    examples = (
        Bad(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField(  # RP201
                        model_name="order",
                        name="currency",
                        field=models.CharField(max_length=3),
                    ),
                ]
            """,
            path="shop/migrations/0002_order_currency.py",
            files={"shop/migrations/0001_initial.py": _INITIAL},
        ),
        Good(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField(
                        model_name="order",
                        name="currency",
                        field=models.CharField(max_length=3, null=True),
                    ),
                ]
            """,
            path="shop/migrations/0002_order_currency.py",
            files={"shop/migrations/0001_initial.py": _INITIAL},
        ),
        Good(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "currency", models.CharField(max_length=3, db_default="EUR")),
                    migrations.AddField("order", "note", models.TextField(blank=True)),
                    migrations.AddField("order", "paid", models.BooleanField(default=False)),
                    migrations.AddField("order", "updated", models.DateTimeField(auto_now=True)),
                    migrations.AddField("order", "tags", models.ManyToManyField(to="shop.tag")),
                ]
            """,
            path="shop/migrations/0002_order_fields.py",
            files={"shop/migrations/0001_initial.py": _INITIAL},
        ),
        Good(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = []
                operations = [
                    migrations.AddField(
                        model_name="order",
                        name="currency",
                        field=models.CharField(max_length=3),
                    ),
                ]
            """,
            path="shop/migrations/0002_order_currency.py",
        ),
    )

    def check(self, change: FieldChange, node: cst.Call) -> None:
        new = change.new
        if (
            change.operation.kind == "AddField"
            and change.table_exists
            and new.known
            and new.column
            and new.null is False
            and not new.default
            and not new.db_default
            and not new.self_filled
        ):
            self.report(node, three_steps(change, node, self.module, self.context.migrations), **change.where)
