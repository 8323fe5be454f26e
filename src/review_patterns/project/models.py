"""The model index: every Django model of the project and of the installed apps it uses, read with `ast`.

Nothing is imported: models modules are parsed as text, installed packages are found as files
along the `python-path` setting's folders and `sys.path`; Django's contrib apps, when Django is not
importable, come from a shipped description of the project's release. Built once per run by
`ProjectContext.models`.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from review_patterns.project.contrib import bundled_django_module
from review_patterns.project.settings import (
    SETTINGS_PATH,
    find_installed_module,
    installed_app,
    read_settings,
)
from review_patterns.syntax.ast_names import AstImportTable, ast_argument, ast_dotted_name, ast_string, top_level
from review_patterns.syntax.files import module_name, read_text
from review_patterns.syntax.parsing import UNREADABLE, parse_python, parses

#: Base classes every model ultimately derives from.
MODEL_ROOTS = frozenset({"django.db.models.Model", "django.db.models.base.Model"})
#: Field classes that relate a model to one other row: name -> kind.
SINGLE_RELATIONS = {
    "ForeignKey": "ForeignKey",
    "OneToOneField": "OneToOneField",
    "ParentalKey": "ForeignKey",
    "TreeForeignKey": "ForeignKey",
    "TreeOneToOneField": "OneToOneField",
}
MANY_RELATIONS = {
    "ManyToManyField": "ManyToManyField",
    "ParentalManyToManyField": "ManyToManyField",
    "TreeManyToManyField": "ManyToManyField",
}
DEFAULT_MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})

_MODELS_PATH = re.compile(r"(^|/)(models\.py$|models/[^/]+\.py$)")
_CLASS_LINE = re.compile(r"^[ \t]*class[ \t]+\w+[ \t]*\(([^)]*)\)", re.MULTILINE)
_IMPORT_MODELS = re.compile(r"^[ \t]*from[ \t]+([\w.]+\.models(?:\.[\w.]+)?)[ \t]+import", re.MULTILINE)
_MODEL_BASE = re.compile(r"Model\b")
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"typing_extensions"}
_MAX_FOLLOW = 8
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class Relation:
    """An attribute of a model that reaches other rows."""

    name: str
    field: str  #: ForeignKey, OneToOneField, ManyToManyField, GenericForeignKey, GenericRelation, or "reverse ..."
    target: str | None  #: the related model's label, None when unknown (a GenericForeignKey's is)
    many: bool  #: a manager (`.all()`, `.count()`), not a single object
    query_name: str = ""  #: the name in `filter()`/`Count()` lookups when it differs from the accessor
    #: a child's link to its multi-table parent (`place_ptr`): Django builds the parent from the
    #: child's own row, without a query
    parent_link: bool = False

    @property
    def lookup(self) -> str:
        return self.query_name or self.name

    @property
    def reverse(self) -> bool:
        return self.field.startswith("reverse ")


@dataclass(eq=False)
class Model:
    """One model class: where it lives, what it declares and what other models add to it."""

    name: str
    app_label: str
    module: str
    path: str
    abstract: bool = False
    proxy: bool = False
    complete: bool = True  #: False when a base class could not be read (an uninstalled package)
    bases: list[str] = field(default_factory=list)  #: labels of the model bases, nearest first
    fields: dict[str, str] = field(default_factory=dict)  #: own plain fields and `<fk>_id`: name -> class
    relations: dict[str, Relation] = field(default_factory=dict)  #: own forward relations
    reverse: dict[str, Relation] = field(default_factory=dict)  #: accessors other models add
    managers: set[str] = field(default_factory=set)
    #: Fields that `save()` sets to the current time (`auto_now=True`), whatever was assigned.
    auto_now: set[str] = field(default_factory=set)
    #: Fields that an insert sets to the current time (`auto_now_add=True`), whatever was given.
    auto_now_add: set[str] = field(default_factory=set)
    #: Attributes an abstract model of the project or a mixin of the project gives its subclasses.
    interface: set[str] = field(default_factory=set)
    #: The relations as declared (name, kind, target expression, related name, module), read while the index
    #: is built; not kept in the context cache.
    raw_relations: list[tuple[str, str, ast.expr | None, str | None, Module]] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        return f"{self.app_label}.{self.name}"

    def __getstate__(self) -> dict[str, Any]:
        return {**vars(self), "raw_relations": []}


@dataclass(eq=False)
class Module:
    """A parsed module: its classes and what its imported names stand for.

    The context cache keeps its class names without their bodies (`None`): every model was made
    from them before the index was stored, and lookups after that need only the names."""

    name: str
    path: str
    is_package: bool
    imports: AstImportTable = field(default_factory=AstImportTable)
    classes: dict[str, ast.ClassDef | None] = field(default_factory=dict)
    view: str = ""  #: a digest of what the index reads of the module's text (`index_view`)

    def __getstate__(self) -> dict[str, Any]:
        return {**vars(self), "classes": dict.fromkeys(self.classes)}

    @classmethod
    def parse(cls, name: str, path: str, text: str, *, viewed: bool = False) -> Module | None:
        """The module, or None when it does not parse; `viewed`: with its `view` (the project's own)."""
        tree = None
        pruned = without_function_bodies(text)
        for candidate in (pruned, text) if pruned is not None else (text,):
            try:
                tree = parse_python(candidate)
                break
            except UNREADABLE:
                continue
        if tree is None:
            return None
        view = ""
        if viewed:
            view = index_view(path, text) if _read_whole(path) else _view(text, pruned, candidate is pruned)
        module = cls(name, path, path.endswith("__init__.py"), view=view)
        module.imports.package = name if module.is_package else name.rpartition(".")[0]
        for stmt in top_level(tree.body):
            if isinstance(stmt, ast.ClassDef):
                module.classes.setdefault(stmt.name, stmt)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                module.imports.add(stmt)
        return module

    def qualify(self, expr: ast.expr) -> str | None:
        """The qualified name of a dotted expression, through this module's imports."""
        name = ast_dotted_name(expr)
        if name is None:
            return None
        qualified = self.imports.qualify(name)
        if qualified is not None:
            return qualified
        if name.partition(".")[0] in self.classes:
            return f"{self.name}.{name}"
        return name


_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)")
_DECORATOR = re.compile(r"^([ \t]*)@")
_CLASS = re.compile(r"^[ \t]*class[ \t]")
_STRINGS = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_MAX_HEADER = 40


def _balance(line: str) -> int:
    code = _STRINGS.sub("", line).split("#", 1)[0]
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


def without_function_bodies(text: str) -> str | None:
    """The source with every function's body dropped (its name stays, for the class's
    interface): what is left is what the index reads.

    Parsing only class bodies and imports is several times faster on large models modules.
    None when the text is too unusual to prune by lines (the caller then parses it whole).
    """
    lines = text.splitlines()
    out: list[str] = []
    decorators: list[str] = []
    i, count = 0, len(lines)
    while i < count:
        line = lines[i]
        stripped = line.strip()
        if _DECORATOR.match(line):
            depth, start = _balance(line), i
            decorators.append(line)
            while depth > 0 and i + 1 < count and i - start < _MAX_HEADER:
                i += 1
                decorators.append(lines[i])
                depth += _balance(lines[i])
            if depth > 0:
                return None
            i += 1
            continue
        match = _DEF.match(line)
        if match is None:
            if stripped and not stripped.startswith("#"):
                out.extend(decorators)
                decorators = []
            out.append(line)
            i += 1
            continue
        indent = match.group(1)
        depth, start = _balance(line), i
        while depth > 0:
            i += 1
            if i >= count or i - start >= _MAX_HEADER:
                return None
            depth += _balance(lines[i])
        decorators = []
        out.append(f"{indent}def {match.group(2)}(): pass")
        i += 1
        while i < count:
            body = lines[i]
            content = body.strip()
            if content and not content.startswith("#") and len(body) - len(body.lstrip()) <= len(indent):
                break
            i += 1
    return "\n".join(out) + "\n"


def index_view(path: str, text: str) -> str:
    """A digest of what the model index reads of a project file: its text without function bodies,
    comments and blank lines, the class lines and the imports of models modules anywhere in it, and
    whether it parses. A module is parsed without its function bodies when that parses (else every
    edit counts); settings and `apps.py` are parsed whole, so a body that does not parse hides the rest."""
    pruned = without_function_bodies(text)
    readable = parses(text) if _read_whole(path) else pruned is not None and parses(pruned)
    return _view(text, pruned, readable)


def _read_whole(path: str) -> bool:
    return SETTINGS_PATH.search(path) is not None or path.rsplit("/", 1)[-1] == "apps.py"


def _view(text: str, pruned: str | None, readable: bool) -> str:
    kept = pruned if pruned is not None and readable else text
    lines = [line for line in kept.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    digest = hashlib.blake2b(digest_size=16)
    for part in (lines, _CLASS_LINE.findall(text), sorted(set(_IMPORT_MODELS.findall(text))), readable):
        digest.update(json.dumps(part).encode())
    return digest.hexdigest()


def _call_name(node: ast.expr) -> str | None:
    """`models.ForeignKey(...)` -> `ForeignKey`."""
    if not isinstance(node, ast.Call):
        return None
    name = ast_dotted_name(node.func)
    return None if name is None else name.rpartition(".")[2]


def app_config_package(path: str, text: str) -> str | None:
    """The app package whose `AppConfig` (its `label`) a project file may declare: that of an `apps.py`,
    or a package's `__init__.py` naming `AppConfig` (as apps did beside `default_app_config` before
    Django 3.2); None for other files."""
    folder, _, name = path.rpartition("/")
    if name == "apps.py":
        return module_name(folder) if folder else ""
    if name == "__init__.py" and "AppConfig" in text:
        return module_name(path)
    return None


def may_change_index(path: str, text: str, model_names: frozenset[str], modules: frozenset[str]) -> bool:
    """Whether a project file with this path and text may add to, or take from, a model index that knows
    `model_names` and has read `modules`: a models, settings or apps module, a class deriving from a model
    (or from anything called `...Model`), or an import of a models module the index has not read.
    Kept beside `ModelIndex._build`, whose choices of what to read it must cover."""
    if _MODELS_PATH.search(path) or SETTINGS_PATH.search(path) or app_config_package(path, text) is not None:
        return True
    if "class " in text:
        for bases in _CLASS_LINE.findall(text):
            if _MODEL_BASE.search(bases) or any(name in model_names for name in re.findall(r"\w+", bases)):
                return True
    if ".models" not in text:
        return False
    return any(
        name not in modules and not any(m.endswith("." + name) for m in modules)
        for name in _IMPORT_MODELS.findall(text)
    )


class ModelIndex:
    """Every model found, by label, with lookups by qualified class name."""

    def __init__(
        self,
        paths: Iterable[str],
        read: Callable[[str], str | None],
        *,
        search: Sequence[str] | None = None,
        contrib: str | None = None,
    ) -> None:
        """`search`: where installed apps are found (None: `sys.path`); `contrib`: the shipped release
        ("5.2") of Django's contrib models used when Django is not importable (None: the newest)."""
        self._read = read
        self._search = search
        self._contrib = contrib
        self._paths = tuple(paths)
        self._project: dict[str, str] = {module_name(p): p for p in self._paths}
        self._suffixes: dict[str, list[str]] = {}
        for name in self._project:
            parts = name.split(".")
            for start in range(1, len(parts)):
                self._suffixes.setdefault(".".join(parts[start:]), []).append(name)
        self._modules: dict[str, Module | None] = {}
        self._texts: dict[str, str] = {}
        self._classes: dict[tuple[str, str], Model | None] = {}
        self._pending: set[tuple[str, str]] = set()
        self.models: dict[str, Model] = {}
        self.by_name: dict[str, list[Model]] = {}
        self.app_labels: dict[str, str] = {}  #: app package -> label, from AppConfig classes
        self.installed_apps: list[str] = []
        self.auth_user_model = "auth.User"
        self.use_tz: bool | None = None  #: the settings' `USE_TZ` (`Settings.use_tz`)
        self._own_paths = frozenset(self._paths)
        #: What the index read of each project file it read (`index_view`), by path.
        self.views: dict[str, str] = {}
        self._field_classes: dict[str, frozenset[str]] | None = None
        self._interface: tuple[int, frozenset[str]] = (-1, frozenset())
        self._field_classes_of = 0
        self._manager_names: tuple[int, frozenset[str]] = (-1, DEFAULT_MANAGERS)
        self._build()

    # -- reading modules --

    @property
    def read_modules(self) -> frozenset[str]:
        """Names of the modules read so far, project and installed."""
        return frozenset(self._modules)

    def _text(self, path: str) -> str | None:
        if path not in self._texts:
            text = self._read(path)
            if text is None:
                return None
            self._texts[path] = text
        return self._texts[path]

    def _project_module(self, name: str) -> str | None:
        if name in self._project:
            return name
        found = self._suffixes.get(name, [])
        return found[0] if len(found) == 1 else None

    def module(self, name: str) -> Module | None:
        """A project module by (possibly shorter) dotted name, else an installed one along sys.path."""
        if name in self._modules:
            return self._modules[name]
        self._modules[name] = None  # guards against import cycles
        parsed: Module | None = None
        local = self._project_module(name)
        if local is not None:
            path = self._project[local]
            text = self._text(path)
            if text is not None:
                parsed = Module.parse(local, path, text, viewed=True)
                if parsed is not None:
                    self.views[path] = parsed.view
        elif name.split(".")[0] not in _STDLIB:
            file = find_installed_module(name, self._search)
            if file is not None:
                text = read_text(file)
                parsed = Module.parse(name, file.as_posix(), text) if text is not None else None
                if parsed is not None:
                    self._read_app_config(name)
            elif (bundled := bundled_django_module(name, self._contrib)) is not None:
                parsed = Module.parse(name, f"<bundled>/{name.replace('.', '/')}.py", bundled)
        self._modules[name] = parsed
        if parsed is not None and parsed.name != name:
            self._modules[parsed.name] = parsed
        return parsed

    def find_class(self, qualified: str, depth: int = 0) -> tuple[Module, str] | None:
        """The module defining the class a qualified name stands for, and the class's name, following re-exports."""
        module_part, _, name = qualified.rpartition(".")
        if not module_part or depth > _MAX_FOLLOW:
            return None
        module = self.module(module_part)
        if module is None:
            return None
        return self._class_in(module, name, depth)

    def _class_in(self, module: Module, name: str, depth: int) -> tuple[Module, str] | None:
        if name in module.classes:
            return module, name
        imported = module.imports.aliases.get(name)
        if imported is not None and imported != f"{module.name}.{name}":
            return self.find_class(imported, depth + 1)
        for star in module.imports.stars:
            found = self.find_class(f"{star}.{name}", depth + 1)
            if found is not None:
                return found
        return None

    def _read_app_config(self, app_module: str) -> None:
        """Labels of the installed app holding `app_module`, from its `apps.py` (else its `__init__.py`)."""
        parts = app_module.split(".")
        for end in range(len(parts), 0, -1):
            package = ".".join(parts[:end])
            if package in self.app_labels:
                return
            file = find_installed_module(f"{package}.apps", self._search)
            if file is not None:
                if (text := read_text(file)) is not None:
                    self._read_apps(package, text)
                return
            init = find_installed_module(package, self._search)
            if init is not None and init.name == "__init__.py" and (text := read_text(init)) is not None:
                if "AppConfig" in text:
                    self._read_apps(package, text)
                    if package in self.app_labels:
                        return

    def _read_apps(self, package: str, text: str) -> None:
        try:
            tree = parse_python(text)
        except UNREADABLE:
            return
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                values = {
                    t.id: ast_string(stmt.value)
                    for stmt in node.body
                    if isinstance(stmt, ast.Assign)
                    for t in stmt.targets
                    if isinstance(t, ast.Name)
                }
                name, label = values.get("name"), values.get("label")
                if label:
                    self.app_labels[package] = label
                    if name:
                        self.app_labels[name] = label

    # -- building --

    def _build(self) -> None:
        self._read_settings()
        for path in self._paths:
            if path.endswith(("apps.py", "__init__.py")) and (text := self._text(path)) is not None:
                package = app_config_package(path, text)
                if package is not None:
                    self._read_apps(package, text)
                    self.views[path] = index_view(path, text)
        candidates: list[str] = []
        external: set[str] = set()
        others: list[tuple[str, str]] = []
        for path in self._paths:
            text = self._text(path)
            if text is None:
                continue
            if _MODELS_PATH.search(path):
                candidates.append(path)
            elif "class " in text:
                others.append((path, text))
                if "Model" in text and any(_MODEL_BASE.search(bases) for bases in _CLASS_LINE.findall(text)):
                    candidates.append(path)
            if ".models" in text:
                external.update(m for m in _IMPORT_MODELS.findall(text) if self._project_module(m) is None)
        for entry in [*self.installed_apps, "django.contrib.auth", "django.contrib.contenttypes"]:
            app = installed_app(entry)
            if self._project_module(f"{app}.models") is None:
                external.add(f"{app}.models")
        for path in candidates:
            self._index_module(module_name(path))
        for name in sorted(external):
            self._index_module(name)
        # Classes deriving from a model found so far, in modules not read yet.
        seen = set(candidates)
        while names := {m.name for m in self.by_name_values()}:
            pattern = re.compile(rf"\b(?:{'|'.join(sorted(names))})\b")
            more = [
                p for p, text in others if p not in seen and any(pattern.search(b) for b in _CLASS_LINE.findall(text))
            ]
            if not more:
                break
            for path in more:
                seen.add(path)
                self._index_module(module_name(path))
        self._texts.clear()
        self._resolve_relations()

    def _read_settings(self) -> None:
        settings = read_settings(self._paths, self._text)
        self.installed_apps = list(settings.installed_apps)
        self.auth_user_model = settings.user_model or self.auth_user_model
        self.use_tz = settings.use_tz
        for path in self._paths:
            if SETTINGS_PATH.search(path) and (text := self._text(path)) is not None:
                self.views[path] = index_view(path, text)

    def holds(self, path: str, text: str) -> bool:
        """Whether the index says the same after a project file it read was edited to `text`: it reads
        the same of the file (its classes, fields, imports and settings; a method's body is not read)."""
        return path in self.views and self.views[path] == index_view(path, text)

    def _index_module(self, name: str) -> None:
        module = self.module(name)
        if module is not None:
            for class_name in list(module.classes):
                self._model_of(module, class_name)

    def _model_of(self, module: Module, class_name: str) -> Model | None:
        """The model a class defines, or None when it is not a model."""
        key = (module.name, class_name)
        if key in self._classes:
            return self._classes[key]
        if key in self._pending:
            return None
        node = module.classes[class_name]
        if node is None:  # a module restored from the context cache: its models were all made before
            return None
        self._pending.add(key)
        bases: list[Model] = []
        mixins: list[tuple[Module, ast.ClassDef]] = []
        is_model = False
        complete = True
        for base in node.bases:
            generic = isinstance(base, ast.Subscript)  # `Priced[int]`: a generic base (PEP 695) is its class
            qualified = module.qualify(base.value if isinstance(base, ast.Subscript) else base)
            if qualified is None or (generic and qualified.startswith(("typing.", "typing_extensions."))):
                continue
            if qualified in MODEL_ROOTS:
                is_model = True
                continue
            found = self.find_class(qualified) if "." in qualified else self._class_in(module, qualified, 0)
            if found is not None:
                parent = self._model_of(*found)
                mixin = found[0].classes[found[1]]
                if parent is not None:
                    bases.append(parent)
                    is_model = True
                elif mixin is not None:
                    mixins.append((found[0], mixin))
            elif _may_be_model(qualified):
                complete = False
        if not is_model and not complete and _looks_like_model(node, module):
            is_model = True
        self._pending.discard(key)
        model = self._make_model(module, node, bases, complete) if is_model else None
        if model is not None:
            own = [(m, c) for m, c in mixins if m.path in self._own_paths]
            if model.abstract and module.path in self._own_paths:
                own.append((module, node))
            for _, cls in own:
                model.interface |= _class_attributes(cls)
        self._classes[key] = model
        return model

    def _field_kind(self, module: Module, value: ast.expr) -> str | None:
        """The class a model attribute's call makes (`ForeignKey`, `CharField`, a manager...). A class
        named like a relation but not one of Django's is read where it is defined: Sentry's
        `HybridCloudForeignKey` is a `BigIntegerField`, its `FlexibleForeignKey` a `ForeignKey`."""
        name = _call_name(value)
        kind = _relation_guess(name)
        if kind == name or not isinstance(value, ast.Call):
            return kind
        qualified = module.qualify(value.func)
        found = self._field_base(qualified, 0) if qualified is not None else None
        return found if found is not None else kind

    def _field_base(self, qualified: str, depth: int) -> str | None:
        """The relation class a field class derives from, or the name of the plain Django field it
        derives from; None when its bases cannot be read."""
        found = self.find_class(qualified) if depth <= _MAX_FOLLOW else None
        node = found[0].classes[found[1]] if found is not None else None
        if found is None or node is None:
            return None
        for base in node.bases:
            name = found[0].qualify(base)
            if name is None:
                continue
            tail = name.rpartition(".")[2]
            if tail in SINGLE_RELATIONS or tail in MANY_RELATIONS:
                return tail
            if name.startswith("django.db.models.") and tail.endswith("Field"):
                return tail
            deeper = self._field_base(name, depth + 1)
            if deeper is not None:
                return deeper
        return None

    def _make_model(self, module: Module, node: ast.ClassDef, bases: list[Model], complete: bool) -> Model:
        meta = _meta(node)
        app_label = ast_string(meta.get("app_label")) or self._app_label(module.name)
        model = Model(
            name=node.name,
            app_label=app_label,
            module=module.name,
            path=module.path,
            abstract=_true(meta.get("abstract")),
            proxy=_true(meta.get("proxy")),
            complete=complete and all(b.complete for b in bases),
            bases=[b.label for b in bases],
        )
        for stmt in node.body:
            target, value = _assignment(stmt)
            if target is None or value is None:
                continue
            if isinstance(value, ast.Call) and _is_manager_call(value):
                model.managers.add(target)
                continue
            kind = self._field_kind(module, value)
            if kind is None or not isinstance(value, ast.Call):
                continue
            if kind in SINGLE_RELATIONS or kind in MANY_RELATIONS:
                to = value.args[0] if value.args else ast_argument(value, "to")
                related = ast_argument(value, "related_name")
                model.raw_relations.append(
                    (
                        target,
                        SINGLE_RELATIONS.get(kind) or MANY_RELATIONS[kind],
                        to,
                        ast_string(related) if related is not None else None,
                        module,
                    )
                )
                if kind in SINGLE_RELATIONS:
                    model.fields[f"{target}_id"] = "ForeignKey.attname"
                if kind in MANY_RELATIONS and _symmetrical_self(value, to):
                    model.raw_relations[-1] = (*model.raw_relations[-1][:3], "+symmetrical", module)
            elif kind == "GenericForeignKey":
                model.relations[target] = Relation(target, "GenericForeignKey", None, many=False)
            elif kind in ("GenericRelation", "TaggableManager"):
                to = value.args[0] if value.args else ast_argument(value, "to")
                model.raw_relations.append((target, kind, to, "+", module))
            elif kind.endswith("Manager") or kind == "as_manager":
                model.managers.add(target)
            elif kind.endswith("Field") or kind in ("AutoField",):
                model.fields[target] = kind
                if isinstance(value, ast.Call) and _true(ast_argument(value, "auto_now")):
                    model.auto_now.add(target)
                if isinstance(value, ast.Call) and _true(ast_argument(value, "auto_now_add")):
                    model.auto_now_add.add(target)
        name = node.name
        label = f"{app_label}.{name}"
        if label not in self.models:
            self.models[label] = model
        self.by_name.setdefault(name, []).append(model)
        return model

    def _app_label(self, module: str) -> str:
        parts = module.split(".")
        package = parts[: len(parts) - 1 - parts[::-1].index("models")] if "models" in parts else parts[:-1]
        for end in range(len(package), 0, -1):
            prefix = ".".join(package[:end])
            for key in (prefix, *self._suffix_keys(prefix)):
                if key in self.app_labels:
                    return self.app_labels[key]
        return package[-1] if package else parts[0]

    def _suffix_keys(self, name: str) -> list[str]:
        parts = name.split(".")
        return [".".join(parts[i:]) for i in range(1, len(parts))]

    def _resolve_relations(self) -> None:
        # Resolving a target may read a module not read yet, indexing more models: until none is new.
        resolved: set[int] = set()
        while todo := [m for m in self.by_name_values() if id(m) not in resolved]:
            for model in todo:
                resolved.add(id(model))
                for name, kind, to, _related_name, module in model.raw_relations:
                    target = self._target(to, module, model)
                    model.relations[name] = Relation(
                        name, kind, target, many=kind in ("ManyToManyField", "GenericRelation", "TaggableManager")
                    )
        for model in self.by_name_values():
            if model.abstract:
                continue
            for _, relation, related_name in self._declared(model):
                if (
                    relation.field in ("GenericForeignKey", "GenericRelation", "TaggableManager")
                    or relation.target is None
                ):
                    continue
                related = self.models.get(relation.target)
                if related is None or (related_name is not None and related_name.endswith(("+", "+symmetrical"))):
                    continue
                lower = model.name.lower()
                if related_name:
                    accessor = related_name.replace("%(class)s", lower).replace(
                        "%(app_label)s", model.app_label.lower()
                    )
                elif relation.field == "OneToOneField":
                    accessor = lower
                else:
                    accessor = f"{lower}_set"
                one = relation.field == "OneToOneField"
                query = accessor if related_name else lower
                related.reverse.setdefault(
                    accessor, Relation(accessor, f"reverse {relation.field}", model.label, not one, query)
                )
            for base in model.bases:
                parent = self.models.get(base)
                if parent is not None and not parent.abstract and not model.proxy:
                    model.relations.setdefault(
                        f"{parent.name.lower()}_ptr",
                        Relation(
                            f"{parent.name.lower()}_ptr", "OneToOneField", parent.label, many=False, parent_link=True
                        ),
                    )
                    parent.reverse.setdefault(
                        model.name.lower(),
                        Relation(model.name.lower(), "reverse OneToOneField", model.label, many=False),
                    )

    def by_name_values(self) -> Iterator[Model]:
        """Every model indexed so far; a snapshot, as reading a model may index more."""
        for models in list(self.by_name.values()):
            yield from list(models)

    def _declared(self, model: Model, depth: int = 0) -> Iterator[tuple[Model, Relation, str | None]]:
        """The forward relations a model declares, its own and those of its abstract bases."""
        related = {name: rn for name, _, _, rn, _ in model.raw_relations}
        for relation in model.relations.values():
            yield model, relation, related.get(relation.name)
        for base in model.bases:
            parent = self.models.get(base)
            if parent is not None and parent.abstract and depth < _MAX_FOLLOW:
                yield from self._declared(parent, depth + 1)

    def _target(self, to: ast.expr | None, module: Module, model: Model) -> str | None:
        if to is None:
            return None
        text = ast_string(to)
        if text is not None:
            if text == "self":
                return model.label
            if "." in text:
                app, _, name = text.rpartition(".")
                return self._label(app, name)
            return self._label(model.app_label, text) or self._unique(text)
        if (
            isinstance(to, ast.Call)
            and ast_dotted_name(to.func) == "getattr"
            and len(to.args) > 1
            and ast_string(to.args[1]) == "AUTH_USER_MODEL"
        ):
            to = ast.Name("AUTH_USER_MODEL")
        qualified = module.qualify(to)
        if qualified is None:
            return None
        if qualified.endswith("AUTH_USER_MODEL"):
            app, _, name = self.auth_user_model.rpartition(".")
            return self._label(app, name) or self.auth_user_model
        found = self.find_class(qualified) if "." in qualified else self._class_in(module, qualified, 0)
        if found is None:
            return self._unique(qualified.rpartition(".")[2])
        target = self._model_of(*found)
        return target.label if target is not None else None

    def label_of(self, app: str, name: str) -> str | None:
        """The label of the model `name` of app `app`, matched without case as Django does."""
        return self._label(app, name)

    def _label(self, app: str, name: str) -> str | None:
        label = f"{app}.{name}"
        if label in self.models:
            return label
        for model in self.by_name.get(name, []):
            if model.app_label.lower() == app.lower():
                return model.label
        lowered = name.lower()
        for candidates in self.by_name.values():
            for model in candidates:
                if model.name.lower() == lowered and model.app_label.lower() == app.lower():
                    return model.label
        return None

    def _unique(self, name: str) -> str | None:
        found = self.by_name.get(name, [])
        return found[0].label if len(found) == 1 else None

    # -- queries --

    def get(self, label: str | None) -> Model | None:
        return None if label is None else self.models.get(label)

    def lookup(self, qualified: str, path: str = "") -> Model | None:
        """The model a qualified class name stands for, as a checked file's imports resolve it.

        A bare name is looked up in the module at `path` (the checked file itself).
        """
        module_part, _, name = qualified.rpartition(".")
        candidates = self.by_name.get(name, [])
        if not candidates:
            return None
        if not module_part:
            here = [
                m
                for m in candidates
                if path and (path.endswith("/" + m.path) or path == m.path or m.path.endswith("/" + path))
            ]
            return here[0] if len(here) == 1 else None
        wanted = module_part.split(".")
        matching = [m for m in candidates if _module_matches(wanted, m.module.split("."))]
        if len(matching) == 1:
            return matching[0]
        found = self.find_class(qualified)
        if found is not None:
            module, name = found
            return self._classes.get((module.name, name))
        return None

    def relation(self, model: Model, name: str, depth: int = 0) -> Relation | None:
        """The relation `name` on instances of `model`: declared, added by another model, or inherited."""
        found = model.relations.get(name) or model.reverse.get(name)
        if found is not None or depth > _MAX_FOLLOW:
            return found
        for base in model.bases:
            parent = self.models.get(base)
            if parent is not None:
                found = self.relation(parent, name, depth + 1)
                if found is not None:
                    return found
        return None

    def has_field(self, model: Model, name: str, depth: int = 0) -> bool:
        """Whether `name` is a plain column of `model` (or its bases)."""
        if name in model.fields or name in ("pk", "id"):
            return True
        return depth <= _MAX_FOLLOW and any(
            (parent := self.models.get(base)) is not None and self.has_field(parent, name, depth + 1)
            for base in model.bases
        )

    def field_classes(self) -> dict[str, frozenset[str]]:
        """Every plain field name of every model -> the field classes it has across models (recomputed
        only when a lookup has indexed more models since)."""
        if self._field_classes is None or self._field_classes_of != len(self.models):
            self._field_classes_of = len(self.models)
            found: dict[str, set[str]] = {}
            for model in self.models.values():
                for name, kind in model.fields.items():
                    found.setdefault(name, set()).add(kind)
            self._field_classes = {name: frozenset(kinds) for name, kinds in found.items()}
        return self._field_classes

    def auto_now_fields(self, on_insert: bool = False) -> frozenset[str]:
        """Field names that are `auto_now=True` (with `on_insert`, `auto_now_add=True` too) in every
        model that has a field of that name."""

        def stamped(model: Model) -> set[str]:
            return model.auto_now | model.auto_now_add if on_insert else model.auto_now

        names = {name for model in self.models.values() for name in stamped(model)}
        return frozenset(
            name
            for name in names
            if all(name in stamped(model) for model in self.models.values() if name in model.fields)
        )

    def interface_attributes(self) -> frozenset[str]:
        """Attributes the project's own abstract models and model mixins define for every subclass."""
        if self._interface[0] != len(self.models):
            found = frozenset(name for model in self.models.values() for name in model.interface)
            self._interface = (len(self.models), found)
        return self._interface[1]

    @property
    def manager_names(self) -> frozenset[str]:
        """The manager attributes of every model read so far, and Django's defaults."""
        known = len(self.models)
        if self._manager_names[0] != known:
            self._manager_names = (known, DEFAULT_MANAGERS.union(*(m.managers for m in self.models.values())))
        return self._manager_names[1]

    def managers(self, model: Model, depth: int = 0) -> set[str]:
        """Manager attributes of a model, including inherited ones and Django's defaults."""
        found = set(DEFAULT_MANAGERS) | model.managers
        if depth <= _MAX_FOLLOW:
            for base in model.bases:
                parent = self.models.get(base)
                if parent is not None:
                    found |= self.managers(parent, depth + 1)
        return found


def _class_attributes(node: ast.ClassDef) -> set[str]:
    """Names a class body defines: fields, class attributes, methods and properties."""
    names: set[str] = set()
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
    return names


def _module_matches(wanted: list[str], module: list[str]) -> bool:
    """`pretix.base.models` names `src.pretix.base.models.event` (a models package re-exports)."""
    for end in range(len(module), 0, -1):
        have = module[:end]
        n = min(len(have), len(wanted))
        if have[-n:] == wanted[-n:] and (end == len(module) or "models" in have[-1:]):
            return True
    return False


def _meta(node: ast.ClassDef) -> dict[str, ast.expr]:
    for stmt in node.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
            values: dict[str, ast.expr] = {}
            for inner in stmt.body:
                target, value = _assignment(inner)
                if target is not None and value is not None:
                    values[target] = value
            return values
    return {}


def _true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _assignment(stmt: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, stmt.value
    return None, None


def _relation_guess(kind: str | None) -> str | None:
    """Subclasses of the relation fields count as them: `GroupManyToManyField` -> `ManyToManyField`."""
    if kind is None or kind in SINGLE_RELATIONS or kind in MANY_RELATIONS or kind.startswith("Generic"):
        return kind
    for base in ("ManyToManyField", "OneToOneField", "ForeignKey"):
        if kind.endswith(base):
            return base
    return kind


def _is_manager_call(value: ast.Call) -> bool:
    """`Manager.from_queryset(QS)()` and `QS.as_manager()`."""
    func = value.func
    return isinstance(func, ast.Call) and _call_name(func) == "from_queryset"


def _symmetrical_self(call: ast.Call, to: ast.expr | None) -> bool:
    symmetrical = ast_argument(call, "symmetrical")
    return ast_string(to) == "self" and (symmetrical is None or _true(symmetrical))


def _may_be_model(qualified: str) -> bool:
    """Whether a base class that could not be read may be a model. Django's own classes are known
    (its models are in `contrib`, or end in `Model`); so are DRF's, whose only models are authtoken's:
    a serializer of a `models/` package, read where DRF is not installed, is no model."""
    if qualified in _BUILTINS:
        return False
    if qualified.startswith("django."):
        return qualified.startswith("django.contrib.") or qualified.endswith("Model")
    if qualified.startswith("rest_framework."):
        return qualified.startswith("rest_framework.authtoken.")
    return True


def _looks_like_model(node: ast.ClassDef, module: Module) -> bool:
    """A class of a models module with a base that could not be read and fields is taken for a model."""
    if not _MODELS_PATH.search(module.path):
        return False
    has_fields = any(
        (kind := _call_name(value)) is not None
        and (kind.endswith("Field") or kind in SINGLE_RELATIONS or kind in MANY_RELATIONS)
        for stmt in node.body
        for _, value in [_assignment(stmt)]
        if value is not None
    )
    return has_fields
