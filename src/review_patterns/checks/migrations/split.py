"""The migration fixes: a NOT NULL field in one step (or two), written as the three steps.

RP201, a NOT NULL field added in one step (`three_steps`):
1. the `AddField` itself adds the field nullable (`null=True`);
2. a new migration fills the rows still NULL, in batches, with `reverse_code`;
3. a new migration enforces NOT NULL with the field as first written (`AlterField`).
Migrations that depended on the original now depend on step 3, so each app keeps one leaf and
`makemigrations --check` finds nothing to do.

RP202/RP206, NOT NULL enforced on a field nullable before, with no backfill (`backfill_first`):
the backfill migration is written, and the enforcing migration depends on it.

RP205, the three steps in one migration (`split_collapsed`): cut in three files.

A backfill writes the field's literal default (RP206); otherwise the value is the developer's to
give: the function that returns it raises until it is written. Offered only for a migration not
released yet (see `project/releases.py`): applied history is never rewritten.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from review_patterns.checks.migrations.helpers import FieldChange, migration_attribute
from review_patterns.core.model import FileChange
from review_patterns.core.rule import Rewrite
from review_patterns.project.migrations import Migration, MigrationHistory
from review_patterns.project.releases import NEXT
from review_patterns.syntax.names import argument, argument_value, code, with_element, with_keyword

_NUMBER = re.compile(r"^(\d+)_")
_LITERALS = (cst.SimpleString, cst.Integer, cst.Float)

_TO_WRITE = """
    # review-patterns: write the value (or compute it from `apps`), then delete this line.
    raise NotImplementedError("give the value of {app}.{model}.{field} for the existing rows")"""

BACKFILL = '''{imports}

BATCH_SIZE = 1000


def {field}_for_existing_rows(apps):
    """The value of `{model}.{field}` for the rows that hold NULL."""{value}


def backfill_{field}(apps, schema_editor):
    """Fills `{model}.{field}` on the rows that still hold NULL, BATCH_SIZE rows at a time."""
    {model} = apps.get_model("{app}", "{model}")
    value = {field}_for_existing_rows(apps)
    rows = {model}.objects.filter({field}__isnull=True)
    while batch := list(rows.values_list("pk", flat=True)[:BATCH_SIZE]):
        {model}.objects.filter(pk__in=batch).update({field}=value)


class Migration(migrations.Migration):
    dependencies = [{dependencies}]

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
    """RP201: the split of the `AddField` `node` of `change`, or None when it cannot be written safely."""
    field = argument(node, "field", 2)
    number = _next_number(change.migration, module, history)
    if number is None or field is None or field.star or not isinstance(field.value, cst.Call):
        return None
    migration = change.migration
    model, name, app = change.model_name, change.operation.name, change.app
    backfill = f"{number:04d}_backfill_{model.lower()}_{name}"
    enforce = f"{number + 1:04d}_alter_{model.lower()}_{name}"
    folder = migration.path.rpartition("/")[0]
    files = [
        FileChange(
            f"{folder}/{backfill}.py",
            None,
            _backfill(change, None, f'("{app}", "{migration.name}")', "from django.db import migrations"),
        ),
        FileChange(
            f"{folder}/{enforce}.py",
            None,
            ENFORCE.format(
                imports="\n".join(_imports(module)),
                app=app,
                model_name=change.operation.model,
                field=name,
                after=backfill,
                definition=code(field.value),
            ),
        ),
        *_repointed(history, migration, enforce),
    ]
    return Rewrite(
        safe=False,
        replace=((field.value, with_keyword(field.value, "null", cst.Name("True"))),),
        files=tuple(files),
        description=f"split into three migrations: nullable here, {backfill}, {enforce}",
    )


def backfill_first(
    change: FieldChange, node: cst.Call, module: cst.Module, history: MigrationHistory
) -> Rewrite | None:
    """RP205/RP206: a backfill migration before the `AlterField` `node` that enforces NOT NULL,
    when the field was nullable before this migration; None when it cannot be written safely."""
    number = _next_number(change.migration, module, history)
    dependencies = migration_attribute(module, "dependencies")
    field = argument_value(node, "field", 2)
    if number is None or change.relaxed_here is not None or not isinstance(dependencies, cst.List):
        return None
    if not isinstance(field, cst.Call):
        return None
    default = argument_value(field, "default")
    value = default if isinstance(default, _LITERALS) or _is_constant(default) else None
    migration = change.migration
    app = change.app
    backfill = f"{number:04d}_backfill_{change.model_name.lower()}_{change.operation.name}"
    written = ", ".join(code(element.value, one_line=True) for element in dependencies.elements)
    added = cst.parse_expression(f'("{app}", "{backfill}")')
    return Rewrite(
        safe=False,
        replace=((dependencies, with_element(dependencies, added)),),
        files=(
            FileChange(
                f"{migration.path.rpartition('/')[0]}/{backfill}.py",
                None,
                _backfill(change, value, written, "\n".join(_imports(module))),
            ),
        ),
        description=f"backfill first, in {backfill}",
    )


def _is_constant(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value in ("True", "False")


def _backfill(change: FieldChange, value: cst.BaseExpression | None, dependencies: str, imports: str) -> str:
    model, field, app = change.model_name, change.operation.name, change.app
    body = (
        f"\n    return {code(value, one_line=True)}"
        if value is not None
        else _TO_WRITE.format(app=app, model=model, field=field)
    )
    return BACKFILL.format(imports=imports, app=app, model=model, field=field, value=body, dependencies=dependencies)


def _imports(module: cst.Module) -> list[str]:
    """The module's top-level import statements, as written."""
    return [
        module.code_for_node(statement).strip()
        for statement in module.body
        if isinstance(statement, cst.SimpleStatementLine)
        and all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)
    ]


def _next_number(migration: Migration, module: cst.Module, history: MigrationHistory) -> int | None:
    """The number of the next migration of the app; None when the migration is released, or
    when its folder or imports are not the usual ones (`from django.db import migrations`)."""
    if migration.release not in (None, NEXT):
        return None
    if not any(re.match(r"from django\.db import (.*\b)?migrations\b", line) for line in _imports(module)):
        return None  # the new files say `migrations.RunPython`: only where the original says it too
    numbers = [
        int(m.group(1)) for s in history.order if s.package == migration.package and (m := _NUMBER.match(s.name))
    ]
    return max(numbers) + 1 if numbers else None


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


def split_collapsed(
    change: FieldChange, node: cst.Call, module: cst.Module, history: MigrationHistory
) -> Rewrite | None:
    """RP205: the migration that adds (or relaxes), backfills and enforces a field, cut in three where
    its backfill and its `AlterField` start: the first steps stay, the backfill and what follows it
    up to the `AlterField` move to a new migration, the `AlterField` and the rest to another. Each
    file keeps the imports and only the functions its operations use."""
    migration = change.migration
    number = _next_number(migration, module, history)
    operations = migration_attribute(module, "operations")
    relaxed, path = change.relaxed_here, change.operation.path
    if number is None or relaxed is None or len(path) != 1 or not isinstance(operations, (cst.List, cst.Tuple)):
        return None
    steps, elements, enforce_at = migration.operations, list(operations.elements), path[0]
    name, model = change.operation.name, change.model_name
    fills = [i for i in range(relaxed + 1, enforce_at) if steps[i].is_data_step and steps[i].backfills(model, name)]
    if len(steps) != len(elements) or not fills:
        return None
    # the enforcing part starts at the first `AlterField` after the backfill (other fields' too)
    enforce_at = next(i for i in range(fills[0] + 1, enforce_at + 1) if steps[i].kind == "AlterField")
    app, folder = change.app, migration.path.rpartition("/")[0]
    backfill = f"{number:04d}_backfill_{model.lower()}_{name}"
    enforce = f"{number + 1:04d}_alter_{model.lower()}_{name}"
    first, second, third = (
        _sliced(operations, 0, fills[0]),
        _sliced(operations, fills[0], enforce_at),
        _sliced(operations, enforce_at, len(elements)),
    )
    files = [
        FileChange(f"{folder}/{backfill}.py", None, _part(module, operations, second, (app, migration.name)).code),
        FileChange(f"{folder}/{enforce}.py", None, _part(module, operations, third, (app, backfill)).code),
        *_repointed(history, migration, enforce),
    ]
    return Rewrite(
        safe=False,
        replace=((module, _part(module, operations, first, None)),),
        files=tuple(files),
        description=f"split into three migrations: this one, {backfill}, {enforce}",
    )


#: Attributes of `class Migration` a migration split off another does not take over.
_OWN = frozenset({"initial", "replaces", "run_before"})


def _names(node: cst.CSTNode) -> set[str]:
    """The names `node` reads (`noop` in `x.noop` is an attribute, not a name)."""
    found: set[str] = set()

    class Reader(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

    node.visit(Reader())
    return found


def _sliced(sequence: cst.List | cst.Tuple, start: int, stop: int) -> cst.List | cst.Tuple:
    """The elements `start:stop` of a list written one a line, each keeping its own line comment."""
    elements = list(sequence.elements)[start:stop]
    closing = sequence.rbracket.whitespace_before if isinstance(sequence, cst.List) else None
    if stop == len(sequence.elements) or not elements or not isinstance(closing, cst.ParenthesizedWhitespace):
        return sequence.with_changes(elements=elements)
    last = elements[-1]
    comma = last.comma
    if not isinstance(comma, cst.Comma) or not isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
        return sequence.with_changes(elements=elements)
    assert isinstance(sequence, cst.List)
    line = comma.whitespace_after.first_line  # the comment of the last kept element's line
    elements[-1] = last.with_changes(comma=comma.with_changes(whitespace_after=cst.SimpleWhitespace("")))
    bracket = sequence.rbracket.with_changes(whitespace_before=closing.with_changes(first_line=line))
    return sequence.with_changes(elements=elements, rbracket=bracket)


def _part(
    module: cst.Module,
    operations: cst.List | cst.Tuple,
    ops: cst.List | cst.Tuple,
    after: tuple[str, str] | None,
) -> cst.Module:
    """`module` with `ops` for its `operations` and only the functions these use; depending on
    `after` alone (a new migration), or on what it depended on (`after` None)."""
    definitions = {s.name.value: s for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))}
    named, used = _names(ops), set()
    while grown := {d for d in named & definitions.keys() if d not in used and d != "Migration"}:
        used |= grown  # the functions the operations name, and those these name in turn
        for defined in grown:
            named |= _names(definitions[defined])

    migration = next(s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == "Migration")
    attributes = {
        id(small) for line in migration.body.body if isinstance(line, cst.SimpleStatementLine) for small in line.body
    }

    class Cut(cst.CSTTransformer):
        def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> Any:
            targets = {t.target.value for t in original_node.targets if isinstance(t.target, cst.Name)}
            if id(original_node) not in attributes:
                return updated_node
            if original_node.value is operations:
                return updated_node.with_changes(value=ops)
            if after is not None and "dependencies" in targets:
                return updated_node.with_changes(value=cst.parse_expression(f'[("{after[0]}", "{after[1]}")]'))
            if after is not None and targets & _OWN:
                return cst.RemoveFromParent()
            return updated_node

    cut = module.visit(Cut())
    assert isinstance(cut, cst.Module)
    if after is not None:  # a new file: not what `makemigrations` wrote at the original's date
        header = [line for line in cut.header if "Generated by Django" not in code(line)]
        while header and header[0].comment is None:
            header.pop(0)
        cut = cut.with_changes(header=header)
    body = [
        s
        for s in cut.body
        if not (
            isinstance(s, (cst.FunctionDef, cst.ClassDef)) and s.name.value != "Migration" and s.name.value not in used
        )
    ]
    return cut.with_changes(body=body)
