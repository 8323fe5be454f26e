"""What the migration rules share: each AddField/AlterField of a migration, set against the history.

The history (`context.migrations`) reads migrations with `ast`; a rule visits the same module with
LibCST. An operation is matched to its node by its place in `operations` (and in
`database_operations`), which both readings number the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.project.migrations import (
    FieldSpec,
    FieldState,
    Migration,
    MigrationHistory,
    ModelState,
    Operation,
    StateBuilder,
    looks_like_migration,
)
from review_patterns.syntax.files import FileKind, SourceFile
from review_patterns.syntax.names import call_name, keyword

#: Migrations under these kinds belong to test apps (`tests/`, `test/`, `testapp/`): never run on real data.
TEST_APPS = frozenset({FileKind.TEST, FileKind.FIXTURE})
#: Django's data operations -> (their forward argument, their reverse argument).
DATA_OPERATIONS = {"RunPython": ("code", "reverse_code"), "RunSQL": ("sql", "reverse_sql")}


def data_operation(rule: Rule, node: cst.Call) -> str | None:
    """`RunPython` or `RunSQL` when the call makes Django's operation, else None."""
    qualified = rule.semantic.imported(node.func) or ""
    kind = qualified.rsplit(".", 1)[-1]
    return kind if kind in DATA_OPERATIONS and qualified.startswith("django.db.migrations.") else None


#: The steps of the three-step pattern, for messages.
THREE_STEPS = "split into: add with a default (or nullable) -> backfill in a data migration -> enforce NOT NULL"


@dataclass(frozen=True)
class FieldChange:
    """An AddField or AlterField of a migration, with what the history knows just before it."""

    migration: Migration
    operation: Operation
    model: ModelState | None  #: the model just before the operation
    before: FieldState | None  #: the field just before the operation
    table_exists: bool  #: the model's table was created in an earlier release, so it may hold rows
    new_table: bool  #: the model's table was created in this release (this migration or one shipped with it)
    null_rows: bool  #: rows may hold NULL in the field (see `_null_rows`)
    relaxed_here: int | None  #: index of the operation of this migration that made the field nullable
    relaxed_in: Migration | None  #: the earlier migration that made the field nullable
    backfilled_here: bool  #: a data step on the model earlier in this migration (after `relaxed_here`)
    backfills: tuple[Migration, ...]  #: earlier migrations with a data step on the model, from `relaxed_in` on
    fills: tuple[Migration, ...]  #: those of `backfills` whose data step names the field itself

    @property
    def new(self) -> FieldSpec:
        assert self.operation.field is not None
        return self.operation.field

    @property
    def app(self) -> str:
        return self.operation.app or self.migration.app

    @property
    def model_name(self) -> str:
        return self.model.name if self.model is not None and self.model.created_in else self.operation.model

    @property
    def where(self) -> dict[str, str]:
        """`app`, `model` and `field`, for messages."""
        return {"app": self.app, "model": self.model_name, "field": self.operation.name}

    @property
    def may_have_rows(self) -> bool:
        """The table existed before this migration (or, for a field added here, is not new)."""
        if self.table_exists:
            return True
        return (
            self.relaxed_here is not None
            and self.model is not None
            and self.model.created_in is None
            and self.model.table
        )

    @property
    def enforces_not_null(self) -> bool:
        """An AlterField that turns a nullable field NOT NULL."""
        return (
            self.operation.kind == "AlterField"
            and self.before is not None
            and self.before.spec.null is True
            and self.new.null is False
            and self.new.known
            and self.new.column
        )

    @property
    def has_default(self) -> bool:
        return self.new.default or self.new.db_default

    @property
    def backfilled(self) -> bool:
        return self.backfilled_here or bool(self.backfills)

    @property
    def three_steps(self) -> bool:
        """Made nullable in one migration, backfilled in a later one, enforced in this one."""
        return self.relaxed_in is not None and any(m is not self.relaxed_in for m in self.fills)


def field_changes(history: MigrationHistory, migration: Migration) -> list[FieldChange]:
    """Every AddField/AlterField acting on the database in `migration`, in order (cached per run).

    A squashed migration is not judged: its steps were judged in the migrations it replaces.
    """
    key = ("field_changes", id(migration))
    if key not in history.memo:
        history.memo[key] = (migration, [] if migration.squashed else list(_changes(history, migration)))
    return history.memo[key][1]  # type: ignore[no-any-return]


def _changes(history: MigrationHistory, migration: Migration) -> Iterator[FieldChange]:
    app = migration.app
    state = StateBuilder(history.state_before(migration))
    data_steps: list[tuple[int, Operation]] = []
    for index, operation in enumerate(migration.operations):
        separate = operation.kind == "SeparateDatabaseAndState"
        scratch = StateBuilder(state.freeze()) if separate else state
        for step in operation.database if separate else (operation,):
            if step.kind in ("AddField", "AlterField") and step.field is not None:
                yield _change(history, migration, scratch, step, index, data_steps)
            if step.is_data_step:
                data_steps.append((index, step))
            if separate:
                scratch.apply(app, migration, step, index)
        state.apply(app, migration, operation, index)


def _change(
    history: MigrationHistory,
    migration: Migration,
    state: StateBuilder,
    operation: Operation,
    index: int,
    data_steps: list[tuple[int, Operation]],
) -> FieldChange:
    app = operation.app or migration.app
    model = state.model(app, operation.model)
    before = state.field(app, operation.model, operation.name)
    created = model.created_in if model is not None else None
    new_table = created is not None and history.same_release(created, migration)
    # A data step earlier in this migration that deletes every row leaves the table empty.
    emptied = any(operation.model.lower() in step.empties for _, step in data_steps)
    table_exists = model is not None and model.table and created is not None and not new_table and not emptied
    relaxed_here: int | None = None
    relaxed_in: Migration | None = None
    if before is not None and before.nullable_since is not None:
        where, at = before.nullable_since
        if where is migration:
            relaxed_here = at
        else:
            relaxed_in = where
    name, field = operation.model, operation.name
    backfilled_here = any(
        step.backfills(name, field) and (relaxed_here is None or at > relaxed_here) for at, step in data_steps
    )
    backfills: list[Migration] = []
    fills: list[Migration] = []
    if relaxed_in is not None:
        start = before.nullable_since[1] if before and before.nullable_since else -1
        for earlier in history.ancestors(migration):
            if earlier is relaxed_in:
                steps = [s for s in earlier.walk() if s.path[0] > start]
            elif history.is_ancestor(relaxed_in, earlier):
                steps = list(earlier.walk())
            else:
                continue
            same_app = earlier.app == app
            if any(s.backfills(name, field) and (same_app or s.kind == "RunPython") for s in steps):
                backfills.append(earlier)
                if any(s.names(field) for s in steps):
                    fills.append(earlier)
    return FieldChange(
        migration,
        operation,
        model,
        before,
        table_exists,
        new_table,
        _null_rows(history, migration, model, before),
        relaxed_here,
        relaxed_in,
        backfilled_here,
        tuple(backfills),
        tuple(fills),
    )


#: Fields the ORM never writes NULL to: an empty file is stored as "".
_NEVER_NULL = frozenset({"FileField", "ImageField"})


def _null_rows(
    history: MigrationHistory, migration: Migration, model: ModelState | None, before: FieldState | None
) -> bool:
    """Whether rows may hold NULL in the field when `migration` makes it NOT NULL.

    NULLs come from two places: the rows already in the table when the field became nullable
    (an `AddField` without a default to a table created in an earlier release), and the rows
    written while it was nullable, which needs a release to have run in between (and a field
    the ORM writes NULL to). Unknown history counts as possible.
    """
    if before is None or before.nullable_since is None:
        return True
    relaxed, at = before.nullable_since
    step = _relaxing_step(relaxed, at, before.name)
    if step is None:
        return True
    kind, spec = step
    if not history.same_release(relaxed, migration) and before.spec.short_type not in _NEVER_NULL:
        return True
    if kind == "AddField" and not (spec.default or spec.db_default):
        created = model.created_in if model is not None else None
        return created is None or not history.same_release(created, relaxed)
    return False


def _relaxing_step(migration: Migration, at: int, name: str) -> tuple[str, FieldSpec] | None:
    """(kind, field) of the operation at `at` of `migration` that made field `name` nullable."""
    if not 0 <= at < len(migration.operations):
        return None
    operation = migration.operations[at]
    for step in (operation, *operation.database, *operation.state):
        if step.kind == "CreateModel":
            spec = {n.lower(): f for n, f in step.fields}.get(name.lower())
            return None if spec is None else ("CreateModel", spec)
        if step.kind in ("AddField", "AlterField") and step.name.lower() == name.lower() and step.field is not None:
            return step.kind, step.field
    return None


def migration_attribute(module: cst.Module, name: str) -> cst.BaseExpression | None:
    """The value of `name = ...` in the body of a module's `class Migration` (the last one), if any."""
    found: cst.BaseExpression | None = None
    for statement in module.body:
        if isinstance(statement, cst.ClassDef) and statement.name.value == "Migration":
            for line in statement.body.body:
                if isinstance(line, cst.SimpleStatementLine):
                    for small in line.body:
                        if isinstance(small, cst.Assign) and any(
                            isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
                        ):
                            found = small.value
                        elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                            if small.target.value == name and small.value is not None:
                                found = small.value
            break
    return found


def operation_nodes(module: cst.Module) -> dict[tuple[int, ...], cst.Call]:
    """The operation calls of a module's `class Migration`, by their place (as `Operation.path` numbers them)."""
    nodes: dict[tuple[int, ...], cst.Call] = {}
    _number(migration_attribute(module, "operations"), (), nodes)
    return nodes


def _number(node: cst.BaseExpression | None, path: tuple[int, ...], nodes: dict[tuple[int, ...], cst.Call]) -> None:
    if not isinstance(node, (cst.List, cst.Tuple)):
        return
    for index, element in enumerate(node.elements):
        call = element.value
        if not isinstance(call, cst.Call):
            continue
        nodes[(*path, index)] = call
        if call_name(call) == "SeparateDatabaseAndState":
            database = keyword(call, "database_operations")
            if database is None and call.args and call.args[0].keyword is None:
                database = call.args[0]
            if database is not None:
                _number(database.value, (*path, index), nodes)


class MigrationRule(Rule):
    """A rule on the AddField/AlterField operations of a migration, judged against the history.

    Subclasses implement `check(change, node)`. The migrations of test apps are not judged: their
    tables only ever exist in test databases.
    """

    reads = ("migrations",)
    requires = ("class Migration",)  #: the catalogue's word; `applies_to` then looks for the class itself
    skip_kinds = TEST_APPS

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        return super().applies_to(file) and looks_like_migration(file.source)

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node
        self.nodes = operation_nodes(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.nodes:
            return
        history = self.context.migrations
        migration = history.migration(self.file.path, self.file.source)
        if migration is None:
            return
        for change in field_changes(history, migration):
            node = self.nodes.get(change.operation.path)
            if node is not None:
                self.check(change, node)

    def check(self, change: FieldChange, node: cst.Call) -> None:
        raise NotImplementedError
