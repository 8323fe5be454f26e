"""RP204 non-idempotent-backfill: a data migration that updates every row instead of the rows that need it."""

from __future__ import annotations

import re

import libcst as cst

from review_patterns.checks.migrations.helpers import TEST_APPS, data_operation
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.project.migrations import MigrationHistory, looks_like_migration
from review_patterns.syntax import traversal
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.names import (
    argument_value,
    call_name,
    dotted_name,
    keyword,
    model_of_get_model,
    string_value,
)
from review_patterns.syntax.semantic import BindingKind, ScopeKind

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
_DERIVED = re.compile(r"\b(F|Subquery|OuterRef|Exists|Case|When|Coalesce)\(")
#: Django's expressions and database functions: given a field name (`Lower("locale")`), they compute
#: from the row.
_EXPRESSIONS = ("django.db.models.", "django.contrib.postgres.")


def _updated_model(node: cst.Call) -> cst.BaseExpression | None:
    """The model of an update of every row (`Order` in `Order.objects.all().update(...)`), else None."""
    func = node.func
    if not isinstance(func, cst.Attribute) or func.attr.value != "update":
        return None
    receiver = func.value
    while isinstance(receiver, cst.Call):
        method = call_name(receiver)
        if method in _FILTERS or method not in _ALL_ROWS or not isinstance(receiver.func, cst.Attribute):
            return None
        receiver = receiver.func.value
    if isinstance(receiver, cst.Attribute) and receiver.attr.value in _MANAGERS:
        return receiver.value
    return None


class NonIdempotentBackfill(Rule):
    """## What it does
    Flags a backfill that `update()`s every row of a table instead of the rows that need it.

    Looked for in `RunPython` forward functions and the helpers they call:
    `Model.objects.update(...)`, `Model.objects.all().update(...)`.

    `.filter(...)` and `.exclude(...)` narrow the rows; `.all()` and `.using(...)` do not.
    An update that sets None (clearing a cache) or a value computed from the row's own columns
    or related rows (`F(...)`, `Subquery(...)`, `Case`/`When`, `Coalesce`, database functions
    given a field such as `Lower("locale")`, also through a variable) gives the same result when
    re-run, and is not flagged. Nor is a backfill of a column added in the same migration or
    release, or of a model created in it: there is nothing to overwrite yet. Nor is an update that
    points every row at the one row a delete of the others keeps (`update(driver=driver)`, then
    `exclude(pk=driver.pk).delete()`): merging duplicates, which a second run repeats exactly.

    ## Why is this bad?
    A backfill that overwrites every row is not safe to run twice or on partly migrated data:
    rows that the new release already wrote, or that an earlier partial run filled, lose their
    real values. Update only the rows that still need it: `.filter(field__isnull=True).update(...)`.

    ## Known problems
    Measured on 15 real projects with their release history rebuilt from the package index
    (benchmarks/precision/history.py: what a clone's release tags show): no finding. On the bare
    sdists it found 2: both reset and recompute a column added one or two migrations earlier in
    the same release (mayan-edms documents 0067 in 4.0b1, label-studio io_storages 0014 in
    1.8.0), so nothing real is overwritten; only the release tags show it. A merge of duplicates
    (mayan-edms file_metadata 0003) is not flagged.
    """

    reads = ("migrations",)

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
    skip_kinds = TEST_APPS
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
        Good(
            """
            from django.db import migrations

            def merge_duplicate_drivers(apps, schema_editor):
                StoredDriver = apps.get_model("file_metadata", "StoredDriver")
                DriverEntry = apps.get_model("file_metadata", "DriverEntry")
                driver = StoredDriver.objects.first()
                if driver:
                    DriverEntry.objects.update(driver=driver)
                    StoredDriver.objects.exclude(pk=driver.pk).delete()

            class Migration(migrations.Migration):
                dependencies = [("file_metadata", "0002_documenttypesettings")]
                operations = [migrations.RunPython(merge_duplicate_drivers, migrations.RunPython.noop)]
            """,
            path="file_metadata/migrations/0003_merge_duplicate_drivers.py",
        ),
    )

    def setup(self) -> None:
        self.functions: list[str] = []  # enclosing module-level function, innermost last
        self.updates: dict[str, list[tuple[cst.Call, tuple[str, str] | None, list[str]]]] = {}
        self.calls: dict[str, set[str]] = {}
        self.forward: list[str] = []
        #: function -> names of the rows kept by `Model.objects.exclude(pk=keep.pk).delete()`
        self.survivors: dict[str, set[str]] = {}
        #: the models the file fetches with `apps.get_model(...)`
        self.fetched: list[tuple[str, str]] = []

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        return super().applies_to(file) and looks_like_migration(file.source)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(self.functions[0] if self.functions else node.name.value)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Call(self, node: cst.Call) -> None:
        fetched = model_of_get_model(node)
        if fetched is not None:
            self.fetched.append(fetched)
        if self.functions:
            function = self.functions[-1]
            model = _updated_model(node)
            fields = self._overwritten(node) if model is not None else []
            kept = _kept_by_delete(node)
            if kept is not None:
                self.survivors.setdefault(function, set()).add(kept)
            if fields:
                named = self._assigned(model) if isinstance(model, cst.Name) else None
                self.updates.setdefault(function, []).append((node, model_of_get_model(named or model), fields))
            elif isinstance(node.func, cst.Name):
                self.calls.setdefault(function, set()).add(node.func.value)
        if data_operation(self, node) == "RunPython":
            forward = argument_value(node, "code", 0)
            if isinstance(forward, cst.Name):
                self.forward.append(forward.value)

    def _assigned(self, name: cst.Name) -> cst.BaseExpression | None:
        """The value last assigned to a name of the function: `Order = apps.get_model(...)`."""
        binding = self.semantic.lookup(name.value)
        if (
            binding is None
            or binding.kind is not BindingKind.ASSIGNMENT
            or binding.scope.kind is not ScopeKind.FUNCTION
        ):
            return None
        return binding.value

    def _overwritten(self, node: cst.Call) -> list[str]:
        """The fields `update()` sets to a fixed value (not None, not computed from the row)."""
        found = []
        for arg in node.args:
            if arg.keyword is None:
                continue
            value = arg.value
            if isinstance(value, cst.Name):
                value = self._assigned(value) or value  # a Subquery in a variable
            if isinstance(value, cst.Name) and value.value == "None":
                continue  # clearing a cache or a stale value, not a backfill
            if self._derived(value):
                continue
            found.append(arg.keyword.value)
        return found

    def _derived(self, value: cst.BaseExpression) -> bool:
        """Computed from the row's own columns or related rows: the same on every run."""
        if _DERIVED.search(cst.Module([]).code_for_node(value)):
            return True
        for node in _calls(value):
            qualified = self.semantic.imported(node.func) or ""
            if (
                qualified.startswith(_EXPRESSIONS)
                and not qualified.endswith(".Value")
                and any(a.keyword is None and string_value(a.value) is not None for a in node.args)
            ):
                return True
        return False

    def _old_columns(self, model: tuple[str, str] | None, fields: list[str]) -> list[str]:
        """The fields that existed before this release: a column added in it holds nothing to overwrite.

        A model passed in (`def update_storage(storage)`, called for each of a list) is one of those
        the file fetches with `apps.get_model`: each of them holding the fields must have had them
        before this release for the update to overwrite anything.
        """
        history: MigrationHistory = self.context.migrations
        migration = history.migration(self.file.path, self.file.source)
        if migration is None:
            return fields
        if model is None:
            holders = [m for m in dict.fromkeys(self.fetched) if self._holds(m, fields)]
            return next((old for m in holders if (old := self._old_columns(m, fields))), [] if holders else fields)
        app, name = model
        state = history.state_after(migration).get(app, {}).get(name.lower())
        if state is None:
            return fields
        if state.created_in is not None and history.same_release(state.created_in, migration):
            return []
        old = []
        for field in fields:
            known = state.fields.get(field.lower()) or state.fields.get(field.lower().removesuffix("_id"))
            if known is None or known.since is None or not history.same_release(known.since, migration):
                old.append(field)
        return old

    def _holds(self, model: tuple[str, str], fields: list[str]) -> bool:
        """Whether `model` has every one of `fields` after this migration."""
        history: MigrationHistory = self.context.migrations
        migration = history.migration(self.file.path, self.file.source)
        app, name = model
        state = history.state_after(migration).get(app, {}).get(name.lower()) if migration else None
        return state is not None and all(
            f.lower() in state.fields or f.lower().removesuffix("_id") in state.fields for f in fields
        )

    def leave_Module(self, original_node: cst.Module) -> None:
        reported: set[int] = set()
        for forward in dict.fromkeys(self.forward):
            seen, todo = {forward}, [forward]
            while todo:
                function = todo.pop()
                for call, model, fields in self.updates.get(function, []):
                    if id(call) in reported:
                        continue
                    reported.add(id(call))
                    # `update(driver=driver)` then `exclude(pk=driver.pk).delete()`: duplicates merged into
                    # the one row kept, which a second run merges into again
                    kept = self.survivors.get(function, set())
                    fields = [
                        f for f in fields if (arg := keyword(call, f)) is None or dotted_name(arg.value) not in kept
                    ]
                    old = self._old_columns(model, fields)
                    if old:
                        self.report(call, call=_short(call), function=forward, field=old[0])
                for callee in self.calls.get(function, set()) - seen:
                    seen.add(callee)
                    todo.append(callee)


def _kept_by_delete(node: cst.Call) -> str | None:
    """`keep` in `Model.objects.exclude(pk=keep.pk).delete()`: the one row a delete of the others keeps."""
    if call_name(node) != "delete" or not isinstance(node.func, cst.Attribute):
        return None
    narrowed = node.func.value
    if not isinstance(narrowed, cst.Call) or call_name(narrowed) != "exclude" or len(narrowed.args) != 1:
        return None
    arg = narrowed.args[0]
    if arg.keyword is None or arg.keyword.value not in ("pk", "id"):
        return None
    value = arg.value
    if isinstance(value, cst.Attribute) and value.attr.value in ("pk", "id"):
        value = value.value
    return dotted_name(value)


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    """Every call inside `node`, itself included."""
    found: list[cst.Call] = []

    class Collect(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    traversal.visit(node, Collect())
    return found


def _short(call: cst.Call) -> str:
    """`Order.objects.all().update(...)`: the call without its arguments."""
    return cst.Module([]).code_for_node(call.func) + "(...)"
