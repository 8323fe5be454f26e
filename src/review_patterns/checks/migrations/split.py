"""The fix of RP201: a NOT NULL field added in one step, written as the three steps.

1. The `AddField` itself adds the field nullable (`null=True`).
2. A new migration fills the rows still NULL, in batches, with `reverse_code`. The value is the
   developer's to give: the function that returns it raises until it is written.
3. A new migration enforces NOT NULL with the field as first written (`AlterField`).

Migrations that depended on the original now depend on step 3, so each app keeps one leaf and
`makemigrations --check` finds nothing to do. Offered only for a migration not released yet (see
`project/releases.py`): applied history is never rewritten.
"""

from __future__ import annotations

import re

import libcst as cst

from review_patterns.checks.migrations.helpers import FieldChange
from review_patterns.core.model import FileChange
from review_patterns.core.rule import Rewrite
from review_patterns.project.migrations import Migration, MigrationHistory
from review_patterns.project.releases import NEXT
from review_patterns.syntax.names import argument, code, with_keyword

_NUMBER = re.compile(r"^(\d+)_")

BACKFILL = '''from django.db import migrations

BATCH_SIZE = 1000


def {field}_for_existing_rows(apps):
    """The value of `{model}.{field}` for the rows that existed before it was added."""
    # review-patterns: write the value (or compute it from `apps`), then delete this line.
    raise NotImplementedError("give the value of {app}.{model}.{field} for the existing rows")


def backfill_{field}(apps, schema_editor):
    """Fills `{model}.{field}` on the rows that still hold NULL, BATCH_SIZE rows at a time."""
    {model} = apps.get_model("{app}", "{model}")
    value = {field}_for_existing_rows(apps)
    rows = {model}.objects.filter({field}__isnull=True)
    while batch := list(rows.values_list("pk", flat=True)[:BATCH_SIZE]):
        {model}.objects.filter(pk__in=batch).update({field}=value)


class Migration(migrations.Migration):
    dependencies = [("{app}", "{after}")]

    operations = [
        migrations.RunPython(backfill_{field}, reverse_code=migrations.RunPython.noop),
    ]
'''

ENFORCE = """{imports}


class Migration(migrations.Migration):
    dependencies = [("{app}", "{after}")]

    operations = [
        migrations.AlterField(
            model_name="{model_name}",
            name="{field}",
            field={definition},
        ),
    ]
"""


def three_steps(change: FieldChange, node: cst.Call, module: cst.Module, history: MigrationHistory) -> Rewrite | None:
    """The split of the `AddField` `node` of `change`, or None when it cannot be written safely."""
    migration = change.migration
    if migration.release not in (None, NEXT):
        return None
    field = argument(node, "field", 2)
    if field is None or field.star or not isinstance(field.value, cst.Call):
        return None
    imports = [
        module.code_for_node(statement).strip()
        for statement in module.body
        if isinstance(statement, cst.SimpleStatementLine)
        and all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)
    ]
    if not any(re.match(r"from django\.db import (.*\b)?migrations\b", line) for line in imports):
        return None  # the new files say `migrations.RunPython`: only where the original says it too
    siblings = [m for m in history.order if m.package == migration.package]
    numbers = [int(match.group(1)) for m in siblings if (match := _NUMBER.match(m.name))]
    if not numbers:
        return None
    number = max(numbers) + 1
    model, name, app = change.model_name, change.operation.name, change.app
    lower = model.lower()
    backfill = f"{number:04d}_backfill_{lower}_{name}"
    enforce = f"{number + 1:04d}_alter_{lower}_{name}"
    folder = migration.path.rpartition("/")[0]
    header = "\n".join(imports)
    files = [
        FileChange(
            f"{folder}/{backfill}.py",
            None,
            BACKFILL.format(app=app, model=model, field=name, after=migration.name),
        ),
        FileChange(
            f"{folder}/{enforce}.py",
            None,
            ENFORCE.format(
                imports=header,
                app=app,
                model_name=change.operation.model,
                field=name,
                after=backfill,
                definition=code(field.value),
            ),
        ),
    ]
    files += _repointed(history, migration, enforce)
    nullable = with_keyword(field.value, "null", cst.Name("True"))
    return Rewrite(
        safe=False,
        replace=((field.value, nullable),),
        files=tuple(files),
        description=f"split into three migrations: nullable here, {backfill}, {enforce}",
    )


def _repointed(history: MigrationHistory, original: Migration, enforce: str) -> list[FileChange]:
    """The migrations that depended on `original`, depending on the step that enforces NOT NULL instead."""
    changes = []
    for later in history.order:
        text = later.source
        for app, name in later.dependencies:
            if name == original.name and history.resolve(later, (app, name)) is original:
                pattern = rf"""\(\s*(['"]){re.escape(app)}\1\s*,\s*(['"]){re.escape(name)}\2\s*\)"""
                text = re.sub(pattern, rf"(\g<1>{app}\g<1>, \g<2>{enforce}\g<2>)", text)
        if text != later.source:
            changes.append(FileChange(later.path, later.source, text))
    return changes
