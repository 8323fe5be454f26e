"""The migration history: a project's migrations read with `ast`, ordered, and replayed into model state.

Nothing is imported or run. A migrations package is any folder of modules defining
`class Migration(...Migration)`; dependencies (other apps', `swappable_dependency`,
`__first__`/`__latest__`), `replaces` and `run_before` order them, and the operations Django
knows are replayed into a per-app state of models and fields. Custom operations are skipped.
"""

from __future__ import annotations

import ast
import heapq
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from review_patterns.syntax.imports import AstImportTable
from review_patterns.syntax.names import ast_argument, ast_dotted_name

_STRING_FIELDS = """
    CharField TextField SlugField EmailField URLField FilePathField FileField ImageField BinaryField
    CommaSeparatedIntegerField CICharField CIEmailField CITextField
""".split()
_OTHER_FIELDS = """
    IntegerField BigIntegerField SmallIntegerField PositiveIntegerField PositiveBigIntegerField
    PositiveSmallIntegerField FloatField DecimalField BooleanField NullBooleanField DateField DateTimeField
    TimeField DurationField UUIDField JSONField GenericIPAddressField IPAddressField ForeignKey OneToOneField
    ArrayField HStoreField IntegerRangeField BigIntegerRangeField DecimalRangeField DateTimeRangeField
    DateRangeField SearchVectorField AutoField BigAutoField SmallAutoField GeneratedField PointField
    LineStringField PolygonField MultiPointField MultiLineStringField MultiPolygonField
    GeometryCollectionField GeometryField RasterField
""".split()
#: Field classes whose traits are known: name -> (has a column, allows empty strings).
_FIELDS: Mapping[str, tuple[bool, bool]] = {
    **dict.fromkeys(_STRING_FIELDS, (True, True)),
    **dict.fromkeys(_OTHER_FIELDS, (True, False)),
    "ManyToManyField": (False, False),
}
_FIELD_MODULES = ("django.db.models", "django.contrib.postgres.fields", "django.contrib.gis.db.models")
#: Fields whose value Django or the database computes, so adding them never needs a fill.
_SELF_FILLED = frozenset({"AutoField", "BigAutoField", "SmallAutoField", "GeneratedField"})
_WORD = re.compile(r"\w+")
_MIGRATION_CLASS = re.compile(r"^class\s+Migration\s*\(", re.MULTILINE)
_APP_LABEL = re.compile(r"^\s+label\s*=\s*['\"](\w+)['\"]", re.MULTILINE)
_USER_MODEL = re.compile(r"^AUTH_USER_MODEL\s*=\s*['\"](\w+)\.\w+['\"]", re.MULTILINE)
_SETTINGS = re.compile(r"(^|/)settings(\.py$|/)")


def looks_like_migration(source: str) -> bool:
    """Whether a module's text defines a top-level `class Migration(...)` (a cheap pre-check)."""
    return "class Migration" in source and _MIGRATION_CLASS.search(source) is not None


@dataclass(frozen=True)
class FieldSpec:
    """A field as an operation writes it: `models.CharField(max_length=20, null=True)`."""

    type: str  #: the class, qualified through the module's imports: "django.db.models.CharField"
    known: bool  #: a Django field class whose traits are known (third-party fields are not)
    null: bool | None  #: None when `null=` is not a literal
    default: bool  #: a Python-side `default=` other than None
    db_default: bool  #: a `db_default=` other than None
    column: bool  #: has a database column (a ManyToManyField has none)
    self_filled: bool  #: Django fills existing rows itself on add (blank strings, auto_now, keys)

    @property
    def short_type(self) -> str:
        return self.type.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Operation:
    """One operation of a migration, as far as the history needs it."""

    kind: str  #: "AddField", "RunPython", ...; "" for a custom or unreadable operation
    path: tuple[int, ...]  #: index in `operations`, then in `database_operations`
    line: int
    app: str = ""  #: the `app_label=` the operation names, if any (else the migration's app)
    model: str = ""  #: the model's name as written (CreateModel: the new model)
    name: str = ""  #: the field (AddField, AlterField, RemoveField, RenameField: the old name)
    new_name: str = ""  #: RenameModel, RenameField
    field: FieldSpec | None = None
    fields: tuple[tuple[str, FieldSpec], ...] = ()  #: CreateModel
    table: bool | None = None  #: CreateModel / AlterModelOptions: whether the model has a table
    reversible: bool = False  #: RunPython / RunSQL with a reverse
    noop: bool = False  #: RunPython / RunSQL whose forward step does nothing
    #: RunSQL: the words of its SQL. RunPython: lowercased names the forward function mentions: models it gets,
    #: names, attributes, keywords and strings (fields it may fill); "*" for `get_model` of a
    #: model not named literally; None when the function cannot be read
    uses: frozenset[str] | None = None
    database: tuple[Operation, ...] = ()  #: SeparateDatabaseAndState
    state: tuple[Operation, ...] = ()  #: SeparateDatabaseAndState, RunSQL(state_operations=)

    @property
    def is_data_step(self) -> bool:
        return self.kind in ("RunPython", "RunSQL") and not self.noop

    def backfills(self, model: str, field: str) -> bool:
        """Whether this data step may fill `field` of `model`: it names either (a RunSQL may fill any)."""
        if not self.is_data_step:
            return False
        if self.kind == "RunSQL" or self.uses is None:
            return True
        return bool({"*", model.lower(), field.lower()} & self.uses)

    def names(self, field: str) -> bool:
        """Whether this data step names `field` (in its function, or in its SQL): surely a backfill of it."""
        return self.is_data_step and self.uses is not None and field.lower() in self.uses


@dataclass(eq=False)
class Migration:
    """One migration module. Compared by identity; `index` is its place in the history's order."""

    path: str  #: relative to the project root, forward slashes
    package: str  #: the folder holding it
    app: str  #: the app label
    name: str  #: "0002_add_field"
    dependencies: tuple[tuple[str, str], ...] = ()  #: as written; ("__setting__", "AUTH_USER_MODEL") for swappable
    replaces: tuple[tuple[str, str], ...] = ()
    run_before: tuple[tuple[str, str], ...] = ()
    initial: bool = False
    operations: tuple[Operation, ...] = ()
    source: str = ""
    index: int = -1
    ancestors: int = 0  #: a bit set of `index`es
    parents: list[Migration] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    def __repr__(self) -> str:
        return f"<Migration {self.label}>"

    def walk(self) -> Iterator[Operation]:
        """Every operation that acts on the database, in order, with database_operations inlined."""
        for operation in self.operations:
            yield operation
            yield from operation.database


@dataclass(frozen=True)
class FieldState:
    """A field of a model in the replayed state."""

    name: str
    spec: FieldSpec
    since: Migration | None  #: the migration that added it; None when the history does not show it
    #: Where the field last became nullable, (migration, operation index) while it still is nullable.
    nullable_since: tuple[Migration, int] | None = None


@dataclass(frozen=True)
class ModelState:
    """A model in the replayed state: its fields by lowercased name."""

    name: str
    fields: Mapping[str, FieldState]
    created_in: Migration | None  #: None when the history does not show its creation
    table: bool = True  #: False for proxy and unmanaged models


#: app label -> lowercased model name -> model
ProjectState = Mapping[str, Mapping[str, ModelState]]


class StateBuilder:
    """A copy-on-write project state that operations are applied to."""

    def __init__(self, base: ProjectState) -> None:
        self.apps: dict[str, Mapping[str, ModelState]] = dict(base)
        self._copied: set[str] = set()

    def models(self, app: str) -> dict[str, ModelState]:
        if app not in self._copied:
            self.apps[app] = dict(self.apps.get(app, {}))
            self._copied.add(app)
        return self.apps[app]  # type: ignore[return-value]

    def model(self, app: str, name: str) -> ModelState | None:
        return self.apps.get(app, {}).get(name.lower())

    def field(self, app: str, model: str, name: str) -> FieldState | None:
        found = self.model(app, model)
        return None if found is None else found.fields.get(name.lower())

    def freeze(self) -> ProjectState:
        return dict(self.apps)

    def apply(self, app: str, migration: Migration, operation: Operation, index: int) -> None:
        """Replays one operation's effect on the state; unknown operations change nothing."""
        app = operation.app or app
        kind = operation.kind
        if kind in ("SeparateDatabaseAndState", "RunSQL"):
            for inner in operation.state:
                self.apply(app, migration, inner, index)
            return
        key = operation.model.lower()
        if not key:
            return
        if kind == "CreateModel":
            fields = {
                name.lower(): FieldState(name, spec, migration, (migration, index) if spec.null else None)
                for name, spec in operation.fields
            }
            table = operation.table if operation.table is not None else True
            self.models(app)[key] = ModelState(operation.model, fields, migration, table)
        elif kind == "DeleteModel":
            self.models(app).pop(key, None)
        elif kind == "RenameModel":
            models = self.models(app)
            moved = models.pop(key, None)
            if moved is not None:
                models[operation.new_name.lower()] = replace(moved, name=operation.new_name)
        elif kind == "AlterModelOptions" and operation.table is not None:
            found = self.model(app, key)
            if found is not None:
                self.models(app)[key] = replace(found, table=operation.table)
        elif kind in ("AddField", "AlterField", "RemoveField", "RenameField"):
            self._apply_field(app, migration, operation, index)

    def _apply_field(self, app: str, migration: Migration, operation: Operation, index: int) -> None:
        key, name = operation.model.lower(), operation.name.lower()
        model = self.model(app, key) or ModelState(operation.model, {}, None)
        fields = dict(model.fields)
        previous = fields.get(name)
        if operation.kind in ("AddField", "AlterField") and operation.field is not None:
            spec = operation.field
            since = migration if operation.kind == "AddField" else previous.since if previous else None
            nullable: tuple[Migration, int] | None = None
            if spec.null:
                kept = previous is not None and previous.spec.null and operation.kind == "AlterField"
                nullable = previous.nullable_since if kept and previous is not None else (migration, index)
            fields[name] = FieldState(operation.name, spec, since, nullable)
        elif operation.kind == "RemoveField":
            fields.pop(name, None)
        elif operation.kind == "RenameField" and previous is not None:
            del fields[name]
            fields[operation.new_name.lower()] = replace(previous, name=operation.new_name)
        self.models(app)[key] = replace(model, fields=fields)


# -- reading migration modules ------------------------------------------------------------------


def _literal(node: ast.expr | None) -> object:
    """The value of a constant, `_NOTHING` for anything else."""
    if isinstance(node, ast.Constant):
        return node.value
    return _NOTHING


_NOTHING = object()


def _string(node: ast.expr | None) -> str | None:
    value = _literal(node)
    return value if isinstance(value, str) else None


class _Module:
    """One migration module's syntax tree and what its names stand for."""

    def __init__(self, tree: ast.Module) -> None:
        self.imports = AstImportTable.of_module(tree)
        self.functions = {
            node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self.lists: dict[str, ast.expr] = {}  # `name = [...]` of the module and the class: operations in variables
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.lists[node.targets[0].id] = node.value

    def resolve(self, node: ast.expr) -> str | None:
        return self.imports.resolve(node)

    def elements(self, node: ast.expr | None) -> list[ast.expr] | None:
        """The items of a list or tuple literal (or of a module-level variable holding one)."""
        if isinstance(node, ast.Name) and node.id in self.lists:
            node = self.lists[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            return list(node.elts)
        return None

    def field(self, node: ast.expr) -> FieldSpec | None:
        if not isinstance(node, ast.Call):
            return None
        qualified = self.resolve(node.func) or ""
        short = qualified.rsplit(".", 1)[-1]
        known = short in _FIELDS and qualified.startswith(_FIELD_MODULES)
        column, empty_strings = _FIELDS.get(short, (True, False)) if known else (True, False)
        values = {k.arg: k.value for k in node.keywords if k.arg}
        null_value = _literal(values.get("null", ast.Constant(short == "NullBooleanField")))
        null = null_value if isinstance(null_value, bool) else None
        default = "default" in values and _literal(values["default"]) is not None
        db_default = "db_default" in values and _literal(values["db_default"]) is not None
        true = [k for k, v in values.items() if _literal(v) is True]
        self_filled = known and (
            short in _SELF_FILLED
            or "primary_key" in true
            or ("blank" in true and empty_strings)
            or "auto_now" in true
            or "auto_now_add" in true
        )
        return FieldSpec(qualified, known, null, default, db_default, column, self_filled)

    def operation(self, node: ast.expr, path: tuple[int, ...]) -> Operation:
        line = getattr(node, "lineno", 0)
        if not isinstance(node, ast.Call):
            return Operation("", path, line)
        qualified = self.resolve(node.func) or ""
        kind = qualified.rsplit(".", 1)[-1]
        if not qualified.startswith("django.db.migrations."):
            return Operation("", path, line)
        reader = _OPERATIONS.get(kind)
        if reader is None:
            return Operation("", path, line)
        operation = reader(self, node, path, line)
        app = _string(next((k.value for k in node.keywords if k.arg == "app_label"), None))
        return replace(operation, app=app) if app else operation

    def operations(self, node: ast.expr | None, path: tuple[int, ...] = ()) -> tuple[Operation, ...]:
        items = self.elements(node) or []
        return tuple(self.operation(item, (*path, i)) for i, item in enumerate(items))

    def uses(self, node: ast.expr | None) -> tuple[frozenset[str] | None, bool]:
        """(models a RunPython forward function may use, or None when unreadable; whether it is a no-op)."""
        if node is None:
            return None, False
        name = ast_dotted_name(node)
        if name is not None and name.endswith(".noop"):
            return frozenset(), True
        if isinstance(node, ast.Lambda):
            return self._models_used([node.body], set()), False
        if isinstance(node, ast.Name) and node.id in self.functions:
            return self._models_used(self.functions[node.id].body, {node.id}), False
        return None, False

    def _models_used(self, body: list[ast.stmt] | list[ast.expr], seen: set[str]) -> frozenset[str]:
        found: set[str] = set()
        for statement in body:
            for node in ast.walk(statement):
                if isinstance(node, ast.Call):
                    if (isinstance(node.func, ast.Attribute) and node.func.attr == "get_model") or (
                        isinstance(node.func, ast.Name) and node.func.id == "get_model"
                    ):
                        found.add(_model_argument(node) or "*")  # "*": a model not named literally
                    elif isinstance(node.func, ast.Name) and node.func.id in self.functions:
                        if node.func.id not in seen:
                            seen.add(node.func.id)
                            found |= self._models_used(self.functions[node.func.id].body, seen)
                    found.update(k.arg.lower() for k in node.keywords if k.arg)  # update(field=...)
                elif isinstance(node, ast.Name):
                    found.add(node.id.lower())  # a model imported directly, a field in a variable
                elif isinstance(node, ast.Attribute):
                    found.add(node.attr.lower())  # obj.field = ..., event.invoices
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and 0 < len(node.value) < 100:
                    found.add(node.value.split("__")[0].lower())  # filter(field__isnull=True), "field"
        return frozenset(found)


def _model_argument(call: ast.Call) -> str:
    """The lowercased model of `apps.get_model("app", "Model")` or `("app.Model")`; "" when not literal."""
    if len(call.args) == 1 and not call.keywords:
        dotted = _string(call.args[0]) or ""
        return dotted.rsplit(".", 1)[-1].lower() if "." in dotted else ""
    return (_string(ast_argument(call, "model_name", 1)) or "").lower()


def _field_operation(module: _Module, node: ast.Call, path: tuple[int, ...], line: int, kind: str) -> Operation:
    written = ast_argument(node, "field", 2)
    spec = module.field(written) if kind in ("AddField", "AlterField") and written is not None else None
    return Operation(
        kind,
        path,
        line,
        model=_string(ast_argument(node, "model_name", 0)) or "",
        name=_string(ast_argument(node, "old_name" if kind == "RenameField" else "name", 1)) or "",
        new_name=_string(ast_argument(node, "new_name", 2)) or "" if kind == "RenameField" else "",
        field=spec,
    )


def _create_model(module: _Module, node: ast.Call, path: tuple[int, ...], line: int) -> Operation:
    fields: list[tuple[str, FieldSpec]] = []
    for item in module.elements(ast_argument(node, "fields", 1)) or []:
        if isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2:
            name, spec = _string(item.elts[0]), module.field(item.elts[1])
            if name is not None and spec is not None:
                fields.append((name, spec))
    return Operation(
        "CreateModel",
        path,
        line,
        model=_string(ast_argument(node, "name", 0)) or "",
        fields=tuple(fields),
        table=_has_table(ast_argument(node, "options", 2), creating=True),
    )


def _has_table(options: ast.expr | None, creating: bool) -> bool | None:
    """False for `{"proxy": True}` or `{"managed": False}`; True when a model is created otherwise."""
    if isinstance(options, ast.Dict):
        for key, value in zip(options.keys, options.values, strict=True):
            name = _string(key) if key is not None else None
            if (name == "proxy" and _literal(value) is True) or (name == "managed" and _literal(value) is False):
                return False
            if name == "managed" and _literal(value) is True:
                return True
    return True if creating else None


def _rename_model(module: _Module, node: ast.Call, path: tuple[int, ...], line: int) -> Operation:
    return Operation(
        "RenameModel",
        path,
        line,
        model=_string(ast_argument(node, "old_name", 0)) or "",
        new_name=_string(ast_argument(node, "new_name", 1)) or "",
    )


def _run_python(module: _Module, node: ast.Call, path: tuple[int, ...], line: int) -> Operation:
    uses, noop = module.uses(ast_argument(node, "code", 0))
    reverse = ast_argument(node, "reverse_code", 1)
    return Operation(
        "RunPython",
        path,
        line,
        reversible=reverse is not None and _literal(reverse) is not None,
        noop=noop,
        uses=uses,
    )


def _run_sql(module: _Module, node: ast.Call, path: tuple[int, ...], line: int) -> Operation:
    sql = ast_argument(node, "sql", 0)
    reverse = ast_argument(node, "reverse_sql", 1)
    noop = (ast_dotted_name(sql) or "").endswith(".noop") if sql is not None else True
    noop = noop or _literal(sql) in ("", [], ())
    texts = [_string(item) for item in module.elements(sql) or ([sql] if sql is not None else [])]
    readable = [text for text in texts if text is not None]
    words = frozenset(_WORD.findall(" ".join(readable).lower())) if len(readable) == len(texts) else None
    return Operation(
        "RunSQL",
        path,
        line,
        reversible=reverse is not None and _literal(reverse) is not None,
        noop=noop,
        uses=words,
        state=module.operations(ast_argument(node, "state_operations", 2), (*path, -1)),
    )


def _separate(module: _Module, node: ast.Call, path: tuple[int, ...], line: int) -> Operation:
    return Operation(
        "SeparateDatabaseAndState",
        path,
        line,
        database=module.operations(ast_argument(node, "database_operations", 0), path),
        state=module.operations(ast_argument(node, "state_operations", 1), (*path, -1)),
    )


def _simple(kind: str, name_arg: str) -> Callable[[_Module, ast.Call, tuple[int, ...], int], Operation]:
    def read(module: _Module, node: ast.Call, path: tuple[int, ...], line: int) -> Operation:
        table = _has_table(ast_argument(node, "options", 1), creating=False) if kind == "AlterModelOptions" else None
        return Operation(kind, path, line, model=_string(ast_argument(node, name_arg, 0)) or "", table=table)

    return read


def _field_reader(kind: str) -> Callable[[_Module, ast.Call, tuple[int, ...], int], Operation]:
    def read(module: _Module, node: ast.Call, path: tuple[int, ...], line: int) -> Operation:
        return _field_operation(module, node, path, line, kind)

    return read


_OPERATIONS: Mapping[str, Callable[[_Module, ast.Call, tuple[int, ...], int], Operation]] = {
    **{kind: _field_reader(kind) for kind in ("AddField", "AlterField", "RemoveField", "RenameField")},
    "CreateModel": _create_model,
    "DeleteModel": _simple("DeleteModel", "name"),
    "AlterModelOptions": _simple("AlterModelOptions", "name"),
    "RenameModel": _rename_model,
    "RunPython": _run_python,
    "RunSQL": _run_sql,
    "SeparateDatabaseAndState": _separate,
}


def _pairs(module: _Module, node: ast.expr | None) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in module.elements(node) or []:
        if isinstance(item, ast.Call) and (module.resolve(item.func) or "").endswith("swappable_dependency"):
            setting = ast_dotted_name(item.args[0]) if item.args else None
            pairs.append(("__setting__", (setting or "AUTH_USER_MODEL").rsplit(".", 1)[-1]))
        elif isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2:
            app, name = _string(item.elts[0]), _string(item.elts[1])
            if app is not None and name is not None:
                pairs.append((app, name))
    return tuple(pairs)


def _migration_class(tree: ast.Module) -> ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            if any((ast_dotted_name(base) or "").endswith("Migration") for base in node.bases):
                return node
    return None


def class_attributes(cls: ast.ClassDef) -> dict[str, ast.expr]:
    """The class-level assignments `name = value` of a class body (the last one of each name wins)."""
    found: dict[str, ast.expr] = {}
    for node in cls.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def read_migration(path: str, source: str, app: str | None = None) -> Migration | None:
    """Reads one migration module, or None when the text is not one (or does not parse)."""
    if not looks_like_migration(source):
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    cls = _migration_class(tree)
    if cls is None:
        return None
    module = _Module(tree)
    attributes = class_attributes(cls)
    module.lists.update(attributes)  # `operations = [SeparateDatabaseAndState(state_operations=state_operations)]`
    package, _, filename = path.rpartition("/")
    return Migration(
        path=path,
        package=package,
        app=app or default_app_label(package),
        name=filename.removesuffix(".py"),
        dependencies=_pairs(module, attributes.get("dependencies")),
        replaces=_pairs(module, attributes.get("replaces")),
        run_before=_pairs(module, attributes.get("run_before")),
        initial=_literal(attributes.get("initial")) is True,
        operations=module.operations(attributes.get("operations")),
        source=source,
    )


def default_app_label(package: str) -> str:
    """The app label Django would give by default: the name of the folder holding the package."""
    parts = [p for p in package.split("/") if p not in ("", ".")]
    return parts[-2] if len(parts) >= 2 else (parts[-1] if parts else "")


# -- the history --------------------------------------------------------------------------------


class MigrationHistory:
    """Every migration of a project, in dependency order, with the model state before each."""

    def __init__(self, migrations: Iterable[Migration], user_app: str = "auth") -> None:
        self.user_app = user_app
        self.packages: dict[str, dict[str, Migration]] = {}
        for migration in migrations:
            self.packages.setdefault(migration.package, {})[migration.name] = migration
        self.labels: dict[str, list[str]] = {}  # app label (or folder name) -> packages
        for package, members in sorted(self.packages.items()):
            app = next(iter(members.values())).app
            for label in dict.fromkeys((app, default_app_label(package))):
                self.labels.setdefault(label, []).append(package)
        for members in self.packages.values():
            for migration in members.values():
                migration.parents = self._parents(migration)
        for members in self.packages.values():
            for migration in members.values():
                for target in migration.run_before:
                    found = self.resolve(migration, target)
                    if found is not None and found is not migration and migration not in found.parents:
                        found.parents.append(migration)
        self.order: tuple[Migration, ...] = self._sort()
        self._states: list[ProjectState] | None = None
        self.memo: dict[Any, Any] = {}  #: results computed once per run by the rules (keyed by their name)
        self._by_file: dict[str, list[Migration]] = {}
        for migration in self.order:
            self._by_file.setdefault(migration.path.rsplit("/", 1)[-1], []).append(migration)

    @classmethod
    def from_sources(
        cls, sources: Iterable[tuple[str, str]], read: Callable[[str], str | None] = lambda path: None
    ) -> MigrationHistory:
        """Reads every migration module among `sources`; `read` gives other files (apps.py for labels)."""
        found: list[tuple[str, str]] = []
        user_app = "auth"
        for path, text in sources:
            if "AUTH_USER_MODEL" in text and _SETTINGS.search(path):
                match = _USER_MODEL.search(text)
                if match:
                    user_app = match.group(1)
            if looks_like_migration(text):
                found.append((path, text))
        labels: dict[str, str] = {}
        migrations = []
        for path, text in found:
            package = path.rpartition("/")[0]
            if package not in labels:
                app_folder = package.rpartition("/")[0]
                config = read(f"{app_folder}/apps.py" if app_folder else "apps.py") or ""
                declared = _APP_LABEL.findall(config)
                labels[package] = declared[0] if len(set(declared)) == 1 else default_app_label(package)
            migration = read_migration(path, text, labels[package])
            if migration is not None:
                migrations.append(migration)
        return cls(migrations, user_app)

    # -- the graph --

    def resolve(self, migration: Migration, target: tuple[str, str]) -> Migration | None:
        """The migration a dependency names, seen from `migration`, or None when the project lacks it."""
        app, name = target
        if app == "__setting__":
            app, name = self.user_app, "__first__"
        packages = self.labels.get(app, [])
        if migration.package in packages:
            packages = [migration.package]
        elif len(packages) > 1:
            holding = [p for p in packages if name in self.packages[p]] or packages
            packages = sorted(holding, key=lambda p: -len(_common_prefix(p, migration.package)))[:1]
        for package in packages:
            members = self.packages[package]
            if name == "__first__":
                roots = [m for m in members.values() if not any(d[0] == m.app for d in m.dependencies)]
                return min(roots or members.values(), key=lambda m: m.name)
            if name == "__latest__":
                needed = {d[1] for m in members.values() for d in m.dependencies if d[0] == m.app}
                leaves = [m for m in members.values() if m.name not in needed]
                return max(leaves or members.values(), key=lambda m: m.name)
            if name in members:
                return members[name]
            for candidate in members.values():
                if (app, name) in candidate.replaces or any(r[1] == name for r in candidate.replaces):
                    return candidate
        return None

    def _parents(self, migration: Migration) -> list[Migration]:
        parents: list[Migration] = []
        for target in migration.dependencies:
            found = self.resolve(migration, target)
            if found is not None and found is not migration and found not in parents:
                parents.append(found)
        return parents

    def _sort(self) -> tuple[Migration, ...]:
        """Dependencies first; ties by package and name. A cycle is broken rather than fatal."""
        every = sorted(
            (m for members in self.packages.values() for m in members.values()), key=lambda m: (m.package, m.name)
        )
        waiting = {id(m): len(m.parents) for m in every}
        children: dict[int, list[Migration]] = {}
        for m in every:
            for parent in m.parents:
                children.setdefault(id(parent), []).append(m)
        ready = [(m.package, m.name, i, m) for i, m in enumerate(every) if not m.parents]
        heapq.heapify(ready)
        order: list[Migration] = []
        placed: set[int] = set()
        position = {id(m): i for i, m in enumerate(every)}
        while len(order) < len(every):
            if not ready:  # a cycle: take the first waiting migration
                first = next(m for m in every if id(m) not in placed)
                heapq.heappush(ready, (first.package, first.name, position[id(first)], first))
            *_, migration = heapq.heappop(ready)
            if id(migration) in placed:
                continue
            placed.add(id(migration))
            migration.index = len(order)
            migration.ancestors = 0
            for parent in migration.parents:
                if id(parent) in placed:
                    migration.ancestors |= parent.ancestors | (1 << parent.index)
            order.append(migration)
            for child in children.get(id(migration), []):
                waiting[id(child)] -= 1
                if waiting[id(child)] == 0 and id(child) not in placed:
                    heapq.heappush(ready, (child.package, child.name, position[id(child)], child))
        return tuple(order)

    # -- lookups --

    def find(self, path: str, source: str | None = None) -> Migration | None:
        """The migration stored at `path`, matched by its end (paths may be relative to another folder).

        Among several matches, the one holding `source` wins, then the longest path.
        """
        path = path.replace("\\", "/")
        matches = [
            candidate
            for candidate in self._by_file.get(path.rsplit("/", 1)[-1], [])
            if path == candidate.path or path.endswith("/" + candidate.path) or candidate.path.endswith("/" + path)
        ]
        return max(matches, key=lambda m: (m.source == source, len(m.path)), default=None)

    def migration(self, path: str, source: str) -> Migration | None:
        """The migration being checked: the stored one when its text matches, else read from `source`."""
        key = ("migration", path, source)
        if key not in self.memo:
            self.memo[key] = self._migration(path, source)
        return self.memo[key]  # type: ignore[no-any-return]

    def _migration(self, path: str, source: str) -> Migration | None:
        stored = self.find(path, source)
        if stored is not None and stored.source == source:
            return stored
        package = stored.package if stored else path.rpartition("/")[0]
        lone = read_migration(stored.path if stored else path, source, stored.app if stored else None)
        if lone is None:
            return None
        lone.package = package
        lone.parents = self._parents(lone)
        for parent in lone.parents:
            lone.ancestors |= parent.ancestors | (1 << parent.index)
        return lone

    def is_ancestor(self, earlier: Migration, later: Migration) -> bool:
        return earlier.index >= 0 and bool(later.ancestors >> earlier.index & 1)

    def ancestors(self, migration: Migration) -> list[Migration]:
        """The migrations applied before `migration`, in order."""
        bits, found = migration.ancestors, []
        while bits:
            low = bits & -bits
            found.append(self.order[low.bit_length() - 1])
            bits ^= low
        return found

    # -- state --

    def state_before(self, migration: Migration) -> ProjectState:
        """The project's models as the migrations applied before `migration` leave them."""
        states = self._replay()
        parents = [p for p in migration.parents if 0 <= p.index and (migration.index < 0 or p.index < migration.index)]
        if not parents:
            return self._fold({}, migration.ancestors)
        base = max(parents, key=lambda p: p.ancestors.bit_count())
        rest = migration.ancestors & ~(base.ancestors | 1 << base.index)
        return self._fold(states[base.index], rest)

    def state_after(self, migration: Migration) -> ProjectState:
        """The project's models once `migration` is applied too."""
        if migration.index >= 0:
            return self._replay()[migration.index]
        builder = StateBuilder(self.state_before(migration))
        replay(builder, migration)
        return builder.freeze()

    def _fold(self, state: ProjectState, bits: int) -> ProjectState:
        if not bits:
            return state
        builder = StateBuilder(state)
        for migration in self._in_order(bits):
            replay(builder, migration)
        return builder.freeze()

    def _in_order(self, bits: int) -> Iterator[Migration]:
        while bits:
            low = bits & -bits
            yield self.order[low.bit_length() - 1]
            bits ^= low

    def _replay(self) -> list[ProjectState]:
        """The state after each migration, computed once, in order, each from its richest parent."""
        if self._states is None:
            states: list[ProjectState] = []
            self._states = states
            for migration in self.order:
                parents = migration.parents
                if parents and all(p.index < migration.index for p in parents):
                    base = max(parents, key=lambda p: p.ancestors.bit_count())
                    rest = migration.ancestors & ~(base.ancestors | 1 << base.index)
                    builder = StateBuilder(states[base.index])
                    for earlier in self._in_order(rest):
                        replay(builder, earlier)
                else:
                    builder = StateBuilder(self._fold({}, migration.ancestors) if migration.ancestors else {})
                replay(builder, migration)
                states.append(builder.freeze())
        return self._states


def replay(builder: StateBuilder, migration: Migration) -> None:
    """Applies a migration's operations to the state (SeparateDatabaseAndState by its state side)."""
    for index, operation in enumerate(migration.operations):
        builder.apply(migration.app, migration, operation, index)


def _common_prefix(a: str, b: str) -> str:
    size = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        size += 1
    return a[:size]
