"""RP206 not-null-enforced-in-one-step: NOT NULL enforced relying on a default, locking the table."""

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
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("note", models.TextField(null=True)),
                    ],
                ),
            ]
        """,
}


class NotNullEnforcedInOneStep(MigrationRule):
    """## What it does
    Flags an `AlterField` that turns a nullable field NOT NULL relying on a default, with no
    backfill before it.

    Not flagged when the three-step pattern was followed (a data migration, or the project's
    own `RunPython` subclass, backfilled the field after it became nullable), or when no row can
    hold NULL (a table or field of the same release, a `FileField`: see RP202).

    ## Why is this bad?
    Django then updates every NULL row to the default and adds the constraint in one
    transaction: on a large live table that holds a lock for the whole update, and writes
    queue behind it. Backfill in batches in a data migration first, then enforce NOT NULL.

    ## Known problems
    Measured precision: 2 of 2 on 15 real projects with their release history rebuilt from the
    package index (benchmarks/precision/history.py: what a clone's release tags show). Without
    git, a release boundary is assumed between migrations of different days: on the bare sdists
    it found 14, and 5 were false alarms enforcing NOT NULL on a table created days or weeks
    earlier in the same release (pretix 0007 and 0115, mayan-edms converter 0003 and 0008,
    documents 0062). The release tags also rightly silence 7 judged true on the sdists: mayan-edms
    documents 0022-0024 (4) re-enforce columns made nullable a day earlier in the same release
    (no NULL row can exist), and pretalx event 0003 and 0007 (3) come before the table's first
    release.

    ## Options
    - `rolling-deploys` (default false): also flag an `AddField` NOT NULL with only a
      Python-side `default` on an existing table. Django fills the rows with the default and
      drops it from the column, so the previous release, still serving during a rolling
      deploy, fails to insert rows without the field. `db_default=` keeps the default in the
      database. Off by default, as adding a field with a default is the team's safe first step.
    """

    code = "RP206"
    name = "not-null-enforced-in-one-step"
    message = "`{app}.{model}.{field}` {problem}"
    severity = Severity.IMPORTANT
    dimension = Dimension.DATA_INTEGRITY
    options = {"rolling-deploys": False}
    fixes = (
        "Unsafe: for a migration not released yet, whose field was nullable before it, the fix writes "
        "the missing step: a new migration that fills the NULL rows in batches with the field's "
        "default (when it is a literal; otherwise with a value you must write: its function raises "
        "`NotImplementedError` until you do), `reverse_code=RunPython.noop`, and makes the enforcing "
        "migration depend on it. The `rolling-deploys` finding has no fix."
    )
    examples = (
        Bad(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AlterField(  # RP206
                        model_name="order",
                        name="note",
                        field=models.TextField(default=""),
                    ),
                ]
            """,
            path="shop/migrations/0002_alter_order_note.py",
            files=_HISTORY,
        ),
        Good(
            """
            from django.db import migrations, models

            def fill_notes(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(note__isnull=True).update(note="")

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.RunPython(fill_notes, migrations.RunPython.noop),
                    migrations.AlterField(model_name="order", name="note", field=models.TextField(default="")),
                ]
            """,
            path="shop/migrations/0002_alter_order_note.py",
            files=_HISTORY,
        ),
        Bad(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField(  # RP206
                        model_name="order",
                        name="channel",
                        field=models.CharField(max_length=20, default="web"),
                    ),
                ]
            """,
            path="shop/migrations/0002_order_channel.py",
            files=_HISTORY,
            options={"rolling-deploys": True},
        ),
        Good(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField(
                        model_name="order",
                        name="channel",
                        field=models.CharField(max_length=20, default="web"),
                    ),
                    migrations.AddField(
                        model_name="order",
                        name="source",
                        field=models.CharField(max_length=20, db_default="web"),
                    ),
                ]
            """,
            path="shop/migrations/0002_order_channel.py",
            files=_HISTORY,
        ),
    )

    def check(self, change: FieldChange, node: cst.Call) -> None:
        new = change.new
        if (
            change.enforces_not_null
            and change.may_have_rows
            and change.null_rows
            and change.has_default
            and not change.backfilled
        ):
            self.report(
                node,
                backfill_first(change, node, self.module, self.context.migrations),
                problem="is made NOT NULL relying on its default: Django updates every NULL row and adds the"
                " constraint in one transaction, locking the table; backfill in a data migration first",
                **change.where,
            )
        elif (
            self.settings["rolling-deploys"]
            and change.operation.kind == "AddField"
            and change.table_exists
            and new.known
            and new.column
            and new.null is False
            and new.default
            and not new.db_default
        ):
            self.report(
                node,
                problem="is added NOT NULL with only a Python-side default, which Django drops after filling"
                " the rows: the previous release fails to insert during a rolling deploy; use `db_default=`",
                **change.where,
            )
