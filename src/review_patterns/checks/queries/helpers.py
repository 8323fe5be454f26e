"""What a queryset is, statically: its model and what `select_related`/`prefetch_related` loaded.

Shared by the query-performance rules (RP4xx). `QueryTracker` is a rule base that follows
querysets through local variables, DRF view classes and loops, in source order: the semantic
model says what a name is bound to, the tracker what each binding holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.project.models import Model, ModelIndex
from review_patterns.syntax.files import attribute_pattern
from review_patterns.syntax.names import (
    argument_value,
    call_name,
    chain,
    code,
    dotted_name,
    model_of_get_model,
    runs_in_migration,
)
from review_patterns.syntax.semantic import Binding, BindingKind, ScopeKind

#: Queryset methods that return a queryset of the same model.
CHAIN_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "order_by",
        "distinct",
        "annotate",
        "alias",
        "only",
        "defer",
        "select_related",
        "prefetch_related",
        "using",
        "iterator",
        "reverse",
        "select_for_update",
        "none",
    }
)
#: Methods that narrow a queryset without changing what is counted (RP402 compares the rest).
FILTER_METHODS = frozenset({"filter", "exclude"})
VALUES_METHODS = frozenset({"values", "values_list"})
SINGLE_METHODS = frozenset({"get", "first", "last", "earliest", "latest"})
#: Calls on a related manager that read rows from the database.
READ_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "count",
        "exists",
        "first",
        "last",
        "get",
        "order_by",
        "values",
        "values_list",
        "aggregate",
        "annotate",
        "latest",
        "earliest",
        "distinct",
        "select_related",
        "prefetch_related",
        "in_bulk",
        "only",
        "defer",
        "iterator",
    }
)
#: Calls that read a prefetched manager's cache instead of querying.
CACHED_METHODS = frozenset({"all", "count", "exists", "first", "last", "iterator"})
#: Manager methods that can only be a Django manager on an attribute of a row of unknown model.
CERTAIN_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "count",
        "order_by",
        "aggregate",
        "annotate",
        "values_list",
        "latest",
        "earliest",
        "select_related",
        "prefetch_related",
    }
)
COUNT_METHODS = frozenset({"count", "exists"})
#: Calls that write: a query per row that no prefetch saves.
WRITE_METHODS = frozenset(
    {
        "delete",
        "update",
        "create",
        "get_or_create",
        "update_or_create",
        "bulk_create",
        "bulk_update",
        "add",
        "remove",
        "clear",
        "set",
    }
)


def receivers(node: cst.BaseExpression) -> Iterator[cst.Call]:
    """The calls a method chain is made of: `a.filter(x).delete()` -> `a.filter(x)`, ..."""
    return (link for link in chain(node) if isinstance(link, cst.Call))


@dataclass(frozen=True)
class Loaded:
    """Relations loaded up front for the rows of a queryset, as `__` paths relative to a row."""

    paths: frozenset[str] = frozenset()  #: every prefix of every select_related/prefetch_related lookup
    attrs: Mapping[str, tuple[str, Loaded]] = field(default_factory=dict)  #: to_attr path -> (lookup, loaded below)
    everything: bool = False  #: a lookup we cannot read: assume it loads what is used
    forward: bool = False  #: `select_related()` without arguments

    def covers(self, path: str, single: bool) -> bool:
        return self.everything or path in self.paths or (self.forward and single)

    def below(self, path: str) -> Loaded:
        """What is loaded for the rows reached through `path`."""
        prefix = path + "__"
        return Loaded(
            frozenset(p[len(prefix) :] for p in self.paths if p.startswith(prefix)),
            {k[len(prefix) :]: v for k, v in self.attrs.items() if k.startswith(prefix)},
            self.everything,
        )

    def plus(self, other: Loaded) -> Loaded:
        return Loaded(
            self.paths | other.paths,
            {**self.attrs, **other.attrs},
            self.everything or other.everything,
            self.forward or other.forward,
        )


def prefixes(lookup: str) -> set[str]:
    parts = lookup.split("__")
    return {"__".join(parts[: i + 1]) for i in range(len(parts))}


@dataclass(frozen=True)
class QuerySet:
    """A queryset (or related manager) of a model; `model` None when the class is not in the index."""

    model: Model | None
    model_name: str
    loaded: Loaded = Loaded()
    values: bool = False  #: `.values()`/`.values_list()`: rows are not model instances
    shape: tuple[str, ...] = ()  #: where it comes from and its non-filter methods (RP402)
    prefetched: bool = False  #: a related manager whose rows were prefetched on the parent row
    path: tuple[str, ...] = ()  #: for a prefetched manager: the lookup that loaded it


@dataclass(frozen=True)
class Instance:
    """One row: the loop variable of a loop over a queryset, or a row reached from one."""

    model: Model | None
    model_name: str
    loaded: Loaded = Loaded()
    path: tuple[str, ...] = ()  #: lookups from the outermost queryset whose prefetch loaded this row
    list_of: bool = False  #: a `to_attr` list of rows


@dataclass(frozen=True)
class ModelRef:
    """A name standing for a model class (`User = get_user_model()`)."""

    model: Model | None
    model_name: str


Value = QuerySet | Instance | ModelRef


@dataclass(eq=False)
class Loop:
    """A `for` loop or comprehension, with the rows it binds (by the semantic model's bindings)."""

    rows: dict[Binding, Instance]
    reported: set[str] = field(default_factory=set)
    #: in a data migration's body (`runs_in_migration`): it runs once, alone
    in_migration: bool = False
    #: whether the body writes (`save`, `delete`, `update`, `create`...): per-row work
    wrote: bool = False
    #: filtered related-manager queries, reported when the loop is left unless it wrote
    pending: list[tuple[cst.CSTNode, dict[str, str]]] = field(default_factory=list)
    #: the variable iterated (`for post in posts`), whose rows a later loop over it sees again
    source: str | None = None


@dataclass(eq=False)
class ClassInfo:
    name: str
    queryset: QuerySet | None = None
    get_queryset: QuerySet | None = None


@dataclass(eq=False)
class Function:
    """A function being visited and, for module-level helpers, what it reads from its parameters."""

    key: tuple[str, str] | None
    params: list[str]
    accesses: list[tuple[str, list[str], cst.Call | None, cst.CSTNode]] = field(default_factory=list)
    rebound: set[str] = field(default_factory=set)
    #: a data migration's body (`runs_in_migration`): it runs once, alone, like a migration module
    in_migration: bool = False


def attribute_path(node: cst.BaseExpression) -> tuple[str, list[str]] | None:
    """`post.topic.forum` -> ("post", ["topic", "forum"]); None unless names and attributes only."""
    name = dotted_name(node) if isinstance(node, cst.Attribute) else None
    if name is None:
        return None
    root, *segments = name.split(".")
    return root, segments


def inner_attributes(node: cst.BaseExpression) -> Iterator[cst.Attribute]:
    while isinstance(node, cst.Attribute):
        yield node
        node = node.value


def exits(body: cst.BaseSuite, loop: bool = False) -> bool:
    """Whether a block always ends in `return`, `raise`, `break` (or `continue` when not a loop body)."""
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return False
    last = body.body[-1]
    ends = (cst.Return, cst.Raise, cst.Break) if loop else (cst.Return, cst.Raise, cst.Break, cst.Continue)
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, ends) for s in last.body)


#: Where the tracker's querysets and rows come from, besides a model's managers (`Post.objects`):
#: a view's `queryset`, `get_queryset()` and `get_object()`, `get_object_or_404`, `apps.get_model`.
_ROW_SOURCES = frozenset({"queryset", "get_queryset", "get_object", "get_object_or_404", "get_model"})
_USER_ATTRIBUTE = attribute_pattern({"user"})  # `request.user`


@lru_cache(maxsize=8)
def _row_sources(managers: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(_ROW_SOURCES | managers)) + r")\b")


def may_reach_rows(source: str, managers: frozenset[str]) -> bool:
    """Whether `source` names something the tracker follows to a queryset or a row: one of the
    `managers`, one of the `_ROW_SOURCES` or `request.user` (False: its rules have nothing to check)."""
    return _row_sources(managers).search(source) is not None or (
        "request" in source and _USER_ATTRIBUTE.search(source) is not None
    )


class QueryTracker(Rule):
    """A rule base that knows, at each node, which names hold querysets and rows of which models.

    What a name is bound to is the semantic model's; what each binding holds (`Value`) is
    worked out when the traversal passes the statement that binds it.
    """

    reads: ClassVar[tuple[str, ...]] = ("models",)

    def setup(self) -> None:
        self.index: ModelIndex = self.context.models
        self.active = may_reach_rows(self.file.source, self.index.manager_names)
        self.values: dict[Binding, Value] = {}
        self.functions: list[Function] = []
        self.classes: list[ClassInfo] = []
        self.loops: list[Loop] = []
        self.scopes: list[str] = []  #: "class" or "function", innermost last
        self._reading: dict[str, Value] | None = None  #: a method read ahead (`get_queryset`), in order

    # -- scopes --

    @property
    def in_migration(self) -> bool:
        """Inside a data migration's body written outside a migrations module (`runs_in_migration`)."""
        return bool(self.functions) and self.functions[-1].in_migration

    def lookup(self, name: str) -> Value | None:
        """What `name` holds here: a row of a loop around, or what its binding was given."""
        if self._reading is not None and name in self._reading:
            return self._reading[name]
        binding = self.semantic.lookup(name)
        if binding is None:
            return None
        for loop in reversed(self.loops):
            if binding in loop.rows:
                return loop.rows[binding]
        return self.values.get(binding)

    def row(self, name: str) -> tuple[Loop, Instance] | None:
        """The innermost loop whose row `name` holds, and the row."""
        binding = self.semantic.lookup(name)
        for loop in reversed(self.loops):
            if binding is not None and binding in loop.rows:
                return loop, loop.rows[binding]
        return None

    def resolved_name(self, node: cst.BaseExpression) -> str | None:
        """What a dotted name stands for: an import's qualified name; the name as written for a
        module-level name, a builtin or a star import; None for a local name or a parameter."""
        name = dotted_name(node)
        if name is None:
            return None
        binding = self.semantic.lookup(name.partition(".")[0])
        if binding is None or (binding.kind is not BindingKind.IMPORT and binding.scope.kind is ScopeKind.MODULE):
            return name
        return self.semantic.imported(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = ClassInfo(node.name.value)
        self.classes.append(info)
        self.scopes.append("class")
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target = small.targets[0].target
                        if isinstance(target, cst.Name) and target.value == "queryset":
                            value = self.value(small.value)
                            info.queryset = value if isinstance(value, QuerySet) else None
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "get_queryset":
                info.get_queryset = self._returned_queryset(stmt)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()
        self.scopes.pop()

    def _returned_queryset(self, function: cst.FunctionDef) -> QuerySet | None:
        """The queryset `get_queryset` returns, reading its top-level statements in order."""
        self._reading = {}
        try:
            returned: list[QuerySet] = []
            for stmt in function.body.body if isinstance(function.body, cst.IndentedBlock) else ():
                if not isinstance(stmt, cst.SimpleStatementLine):
                    continue
                for small in stmt.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target = small.targets[0].target
                        if isinstance(target, cst.Name):
                            found = self.value(small.value)
                            self._reading.pop(target.value, None)
                            if found is not None:
                                self._reading[target.value] = found
                    elif isinstance(small, cst.Return) and small.value is not None:
                        value = self.value(small.value)
                        if isinstance(value, QuerySet):
                            returned.append(value)
                        else:
                            return None
            if not returned:
                return None
            first = returned[0]
            loaded = first.loaded
            for other in returned[1:]:
                loaded = loaded.plus(other.loaded)
            return QuerySet(first.model, first.model_name, loaded, first.values, ("self.get_queryset()",))
        finally:
            self._reading = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params)]
        in_class = bool(self.scopes) and self.scopes[-1] == "class"
        if in_class and params and params[0] in ("self", "cls"):
            params = params[1:]
        key: tuple[str, str] | None = None
        if self.scopes in ([], ["class"]):
            key = (self.classes[-1].name if self.scopes else "", node.name.value)
        in_migration = runs_in_migration(node) or any(f.in_migration for f in self.functions)
        self.functions.append(Function(key, params, in_migration=in_migration))
        self.scopes.append("function")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.functions.append(
            Function(None, [p.name.value for p in node.params.params], in_migration=self.in_migration)
        )

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.functions.pop()

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._assign(original_node, target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._assign(original_node, original_node.target, original_node.value)

    def leave_Expr(self, original_node: cst.Expr) -> None:
        """`prefetch_related_objects(posts, "author")` loads relations of rows already fetched."""
        call = original_node.value
        if (
            isinstance(call, cst.Call)
            and call.args
            and isinstance(call.args[0].value, cst.Name)
            and (self.resolved_name(call.func) or "").endswith("prefetch_related_objects")
        ):
            binding = self.semantic.lookup(call.args[0].value.value)
            found = self.values.get(binding) if binding is not None else None
            if binding is not None and isinstance(found, QuerySet):
                lookups = self._prefetch_related(call.with_changes(args=call.args[1:]))
                self.values[binding] = QuerySet(
                    found.model,
                    found.model_name,
                    found.loaded.plus(lookups),
                    found.values,
                    found.shape,
                    found.prefetched,
                    found.path,
                )

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        if isinstance(original_node.target, cst.Name):
            self._rebound(original_node.target.value)

    def _rebound(self, name: str) -> None:
        """A parameter given a new value: what a helper reads from it is not what its caller passed."""
        if self.functions and name in self.functions[-1].params:
            self.functions[-1].rebound.add(name)

    def _assign(self, node: cst.CSTNode, target: cst.BaseAssignTargetExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, cst.Name):
            if isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:
                    if isinstance(element.value, cst.Name):
                        self._rebound(element.value.value)
            return
        self._rebound(target.value)
        found = self.value(value)
        binding = next((b for b in self.semantic.bound_by(node) if b.name == target.value), None)
        if found is None or binding is None:
            return
        if isinstance(found, QuerySet) and isinstance(value, cst.Call) and call_name(value) == "none":
            # `qs = Order.objects.none()` in the other branch: no rows, so the rows come from `qs` as it was
            earlier = binding.scope.bindings.get(binding.name, [])
            before = earlier[: earlier.index(binding)] if binding in earlier else []
            found = next((v for b in reversed(before) if isinstance(v := self.values.get(b), QuerySet)), found)
        if isinstance(found, Instance) and self.loops and self._row_derived(value):
            self.loops[-1].rows[binding] = found
        else:
            self.values[binding] = found

    def _row_derived(self, value: cst.BaseExpression) -> bool:
        found = attribute_path(value)
        return found is not None and self.row(found[0]) is not None

    # -- what an expression is --

    def model_named(self, node: cst.BaseExpression) -> ModelRef | None:
        """The model class an expression names, as the file's imports resolve it."""
        if isinstance(node, cst.Call) and self.resolved_name(node.func) in (
            "django.contrib.auth.get_user_model",
            "get_user_model",
        ):
            label = self.index.auth_user_model
            return ModelRef(self.index.get(label), label.rpartition(".")[2])
        name = dotted_name(node)
        if name is None:
            return None
        head = name.split(".")[0]
        bound = self.lookup(head)
        if isinstance(bound, ModelRef) and "." not in name:
            return bound
        if bound is not None or head in ("self", "cls"):
            return None
        qualified = self.resolved_name(node)
        if qualified is None:
            return None  # a local name or a parameter
        model = self.index.lookup(qualified, self.file.path)
        last = name.rpartition(".")[2]
        if model is None and not (last[:1].isupper() and not last.isupper()):
            return None
        return ModelRef(model, last)

    def value(self, node: cst.BaseExpression) -> Value | None:
        """What an expression holds: a queryset, a row, a model class, or None when unknown."""
        if isinstance(node, cst.Name):
            found = self.lookup(node.value)
            return found if found is not None else self.model_named(node)
        if isinstance(node, cst.Attribute):
            return self._attribute(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Subscript):
            base = self.value(node.value)
            if isinstance(base, QuerySet) and len(node.slice) == 1:
                index = node.slice[0].slice
                if isinstance(index, cst.Slice):
                    return base
                if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
                    return Instance(base.model, base.model_name, base.loaded)
            return None
        return None

    def _attribute(self, node: cst.Attribute) -> Value | None:
        attr = node.attr.value
        if isinstance(node.value, cst.Name) and node.value.value == "self":
            info = self.classes[-1] if self.classes else None
            if attr == "queryset" and info is not None and info.queryset is not None:
                return info.queryset
            return None
        if isinstance(node.value, cst.Name) and node.value.value == "request" and attr == "user":
            label = self.index.auth_user_model
            return Instance(self.index.get(label), label.rpartition(".")[2])
        base = self.value(node.value)
        if isinstance(base, ModelRef):
            if (base.model is not None and attr in self.index.managers(base.model)) or (
                base.model is None and attr == "objects"
            ):
                return QuerySet(base.model, base.model_name, shape=(code(node),))
            return None
        if isinstance(base, Instance) and not base.list_of:
            if attr in base.loaded.attrs:
                lookup, below = base.loaded.attrs[attr]
                target = self._target_of(base.model, lookup)
                return Instance(target, target.name if target else "", below, list_of=True)
            relation = self.index.relation(base.model, attr) if base.model is not None else None
            if relation is None:
                return None
            target = self.index.get(relation.target)
            name = target.name if target else (relation.target or "").rpartition(".")[2]
            covered = base.loaded.covers(attr, not relation.many)
            below = base.loaded.below(attr) if covered else Loaded()
            path = (*base.path, attr) if covered else ()
            if relation.many:
                return QuerySet(target, name, below, shape=(code(node),), prefetched=covered, path=path)
            return Instance(target, name, below, path)
        return None

    def _target_of(self, model: Model | None, lookup: str) -> Model | None:
        for step in lookup.split("__"):
            if model is None:
                return None
            relation = self.index.relation(model, step)
            model = self.index.get(relation.target) if relation is not None else None
        return model

    def _call(self, node: cst.Call) -> Value | None:
        func = node.func
        model = self.model_named(node)
        if model is not None:
            return model
        named = model_of_get_model(node) if isinstance(func, cst.Attribute) else None
        if named is not None:  # `apps.get_model("blog", "Post")`, or with `app_label=` and `model_name=`
            found = self.index.label_of(*named)
            return ModelRef(self.index.get(found), named[1])
        if isinstance(func, cst.Name):
            if func.value in ("list", "sorted", "reversed", "tuple") and node.args:
                inner = self.value(node.args[0].value)
                return inner if isinstance(inner, QuerySet) or (isinstance(inner, Instance) and inner.list_of) else None
            if self.resolved_name(func) in ("django.shortcuts.get_object_or_404", "get_object_or_404") and node.args:
                ref = self.model_named(node.args[0].value)
                if ref is not None:
                    return Instance(ref.model, ref.model_name)
            return None
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value == "self" and self.classes:
            info = self.classes[-1]
            if method == "get_queryset":
                return info.get_queryset or (
                    info.queryset
                    and QuerySet(
                        info.queryset.model,
                        info.queryset.model_name,
                        info.queryset.loaded,
                        shape=("self.get_queryset()",),
                    )
                )
            if method in ("filter_queryset", "paginate_queryset") and node.args:
                return self.value(node.args[0].value)
            if method == "get_object":
                qs = info.get_queryset or info.queryset
                return Instance(qs.model, qs.model_name, qs.loaded) if qs is not None else None
            return None
        if (
            isinstance(receiver, cst.Call)
            and isinstance(receiver.func, cst.Name)
            and receiver.func.value == "super"
            and method == "get_queryset"
            and self.classes
            and self.classes[-1].queryset is not None
        ):
            return self.classes[-1].queryset
        base = self.value(receiver)
        if not isinstance(base, QuerySet):
            return None
        if method in VALUES_METHODS:
            return QuerySet(base.model, base.model_name, base.loaded, True, (*base.shape, code(func.attr)))
        if method in SINGLE_METHODS:
            return Instance(
                base.model, base.model_name, base.loaded if base.prefetched and method in CACHED_METHODS else Loaded()
            )
        if method not in CHAIN_METHODS:
            return None
        keeps_cache = base.prefetched and method in ("all", "iterator")
        loaded = base.loaded if keeps_cache or not base.prefetched else Loaded()
        if method == "select_related":
            loaded = loaded.plus(self._select_related(node))
        elif method == "prefetch_related":
            loaded = loaded.plus(self._prefetch_related(node))
        shape = base.shape if method in FILTER_METHODS else (*base.shape, code(node.with_changes(func=func.attr)))
        return QuerySet(
            base.model,
            base.model_name,
            loaded,
            base.values,
            shape,
            prefetched=keeps_cache,
            path=base.path if keeps_cache else (),
        )

    def _select_related(self, node: cst.Call) -> Loaded:
        if not node.args:
            return Loaded(forward=True)
        paths: set[str] = set()
        for arg in node.args:
            text = _string(arg.value)
            if text is None or arg.star:
                if isinstance(arg.value, cst.Name) and arg.value.value == "None":
                    continue
                return Loaded(everything=True)
            paths |= prefixes(text)
        return Loaded(frozenset(paths))

    def _prefetch_related(self, node: cst.Call) -> Loaded:
        paths: set[str] = set()
        attrs: dict[str, tuple[str, Loaded]] = {}
        for arg in node.args:
            text = _string(arg.value)
            if text is not None and not arg.star:
                paths |= prefixes(text)
                continue
            value = arg.value
            if (
                isinstance(value, cst.Call)
                and not arg.star
                and (self.resolved_name(value.func) or "").rpartition(".")[2] == "Prefetch"
            ):
                lookup = argument_value(value, "lookup", 0)
                text = _string(lookup) if lookup is not None else None
                if text is None:
                    return Loaded(everything=True)
                queryset = argument_value(value, "queryset", 1)
                below = Loaded()
                if queryset is not None:
                    inner = self.value(queryset)
                    if not isinstance(inner, QuerySet):
                        return Loaded(everything=True)
                    below = inner.loaded
                to_attr = _string(argument_value(value, "to_attr", 2))
                parent, _, last = text.rpartition("__")
                if parent:
                    paths |= prefixes(parent)
                if to_attr:
                    key = f"{parent}__{to_attr}" if parent else to_attr
                    attrs[key] = (last, below)
                    paths.add(key)
                else:
                    paths |= prefixes(text)
                    paths |= {f"{text}__{p}" for p in below.paths}
                    attrs.update({f"{text}__{k}": v for k, v in below.attrs.items()})
                continue
            return Loaded(everything=True)
        return Loaded(frozenset(paths), attrs)

    def rows(self, node: cst.BaseExpression) -> Instance | None:
        """The rows a loop over `node` binds, when it is a queryset of model instances."""
        found = self.value(node)
        if isinstance(found, QuerySet) and not found.values:
            return Instance(found.model, found.model_name, found.loaded, found.path if found.prefetched else ())
        if isinstance(found, Instance) and found.list_of:
            return Instance(found.model, found.model_name, found.loaded, found.path)
        return None

    def bind(self, target: cst.BaseExpression, iterable: cst.BaseExpression, loop: Loop) -> None:
        """Adds to `loop` the row a `for target in iterable` binds (`enumerate` too)."""
        if (
            isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Name)
            and iterable.func.value == "enumerate"
            and iterable.args
        ):
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                self.bind(target.elements[1].value, iterable.args[0].value, loop)
            return
        if isinstance(target, cst.Name):
            row = self.rows(iterable)
            binding = self.semantic.lookup(target.value)  # the model has bound the loop's target already
            if row is not None and binding is not None:
                loop.rows[binding] = row


def _string(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
