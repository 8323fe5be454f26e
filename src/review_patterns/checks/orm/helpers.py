"""Shared knowledge of the ORM update rules (RP1xx): Django's `F`, saves, refreshes, querysets,
and a base visitor that follows each function's blocks in source order, asking the semantic
model how a name was last bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.syntax.names import call_name, chain, dotted_name, keyword
from review_patterns.syntax.semantic import BindingKind, Scope, SemanticModel

#: Qualified names of Django's `F`.
DJANGO_F = frozenset({"django.db.models.F", "django.db.models.expressions.F"})
#: Attributes that give a model's manager.
MANAGER_ATTRS = frozenset({"objects", "_default_manager", "_base_manager"})
#: Queryset methods that SQLAlchemy's and peewee's queries lack: a chain holding one is Django's.
DJANGO_ONLY_METHODS = frozenset(
    {
        "select_related",
        "prefetch_related",
        "values_list",
        "annotate",
        "exclude",
        "defer",
        "only",
        "select_for_update",
        "get_queryset",
        "in_bulk",
        "bulk_create",
        "bulk_update",
        "update_or_create",
        "get_or_create",
        "aggregate",
    }
)


def is_django_f(node: cst.Call, semantic: SemanticModel) -> bool:
    """`F("x")`, `Fx("x")`, `models.F("x")` and `django.db.models.F("x")`, resolved through imports."""
    return semantic.imported(node.func) in DJANGO_F


#: `save()` and `refresh_from_db()`, and their async forms (Django 4.2).
SAVES = frozenset({"save", "asave"})
REFRESHES = frozenset({"refresh_from_db", "arefresh_from_db"})


def string_set(node: cst.BaseExpression | None) -> frozenset[str] | None:
    """The strings of a literal list, tuple or set of plain strings, else None."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    values = set()
    for element in node.elements:
        if not isinstance(element.value, cst.SimpleString):
            return None
        value = element.value.evaluated_value
        if not isinstance(value, str):
            return None
        values.add(value)
    return frozenset(values)


def method_receiver(node: cst.Call) -> str | None:
    """Whose method is called: `obj.save()` -> `obj`, `self.post.save()` -> `self.post`, `super().save()` -> `self`."""
    func = node.func
    if not isinstance(func, cst.Attribute):
        return None
    receiver = func.value
    if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Name) and receiver.func.value == "super":
        return "self"
    return dotted_name(receiver)


def saved_fields(node: cst.Call) -> frozenset[str] | None:
    """The literal `update_fields=[...]` of a `save()`, or None when every field is saved."""
    arg = keyword(node, "update_fields")
    return None if arg is None else string_set(arg.value)


def refreshed_fields(node: cst.Call) -> frozenset[str] | None:
    """The literal `fields=[...]` of a `refresh_from_db()`, or None when every field is reloaded."""
    arg = keyword(node, "fields")
    if arg is None and len(node.args) > 1 and node.args[1].keyword is None:
        arg = node.args[1]  # refresh_from_db(using, fields)
    return None if arg is None else string_set(arg.value)


def chain_calls(node: cst.BaseExpression) -> list[str]:
    """The names of the calls in a chain, outermost first."""
    return [name for link in chain(node) if isinstance(link, cst.Call) and (name := call_name(link))]


def chain_head(node: cst.BaseExpression) -> cst.BaseExpression:
    """The innermost receiver of a chain: `A.objects.filter(x)` -> `A`."""
    *_, last = chain(node)
    return last


def is_manager_or_queryset(
    node: cst.BaseExpression,
    queryset_names: frozenset[str] | set[str] = frozenset(),
) -> bool:
    """Whether an expression is plausibly a Django manager or queryset.

    True for a chain through `X.objects` (or `_default_manager`), `get_queryset()` or another
    Django-only queryset method, or starting at one of `queryset_names`.
    """
    for link in chain(node):
        if isinstance(link, cst.Attribute) and link.attr.value in MANAGER_ATTRS:
            return True
        if isinstance(link, cst.Call) and call_name(link) in DJANGO_ONLY_METHODS:
            return True
        if isinstance(link, cst.Name) and link.value in queryset_names:
            return True
    return False


#: Where a statement sits: the blocks around it, innermost last. A block is (its id, the id
#: of the `if`/`elif`/`else` chain it belongs to, or None).
Path = tuple[tuple[int, int | None], ...]


def reachable(start: Path, end: Path) -> bool:
    """Whether code at `end` can run after code at `start` that precedes it in the source.

    False only when they sit in different branches of the same `if`/`elif`/`else` chain.
    """
    for (block_a, chain_a), (block_b, chain_b) in zip(start, end):
        if block_a != block_b:
            return not (chain_a is not None and chain_a == chain_b)
    return True


@dataclass
class Frame:
    """A function (or the module) being visited: the blocks around the current statement."""

    is_function: bool
    blocks: list[tuple[int, int | None]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return tuple(self.blocks)


#: How a name was last bound: ("assign", value), ("for", iterable) or ("other", None).
Bound = tuple[str, cst.BaseExpression | None]


class FlowRule(Rule):
    """A rule that follows each function in source order, in its blocks (`self.frame.path`); what a
    name holds is the semantic model's (`bound`, `is_parameter`).

    Subclasses call the `super()` method of every visitor method they override (a test checks it);
    `forget(name)` tells them a name now holds something new.
    """

    def setup(self) -> None:
        self.frames: list[Frame] = [Frame(is_function=False)]
        self._if_chain: dict[int, int] = {}  # id of an `elif` If or of a block -> its chain
        self._block_chain: dict[int, int] = {}

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    # -- scopes and blocks --

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.frames.append(Frame(is_function=True))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.leave_frame(self.frame)
        self.frames.pop()

    def leave_frame(self, frame: Frame) -> None:
        """Called when a function has been visited, while its frame is still `self.frame`."""

    def visit_If(self, node: cst.If) -> None:
        chain_id = self._if_chain.pop(id(node), id(node))
        self._block_chain[id(node.body)] = chain_id
        if isinstance(node.orelse, cst.If):
            self._if_chain[id(node.orelse)] = chain_id
        elif isinstance(node.orelse, cst.Else):
            self._block_chain[id(node.orelse.body)] = chain_id

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.frame.blocks.append((id(node), self._block_chain.pop(id(node), None)))

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.frame.blocks.pop()

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self.frame.blocks.append((id(node), self._block_chain.pop(id(node), None)))

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self.frame.blocks.pop()

    # -- bindings, from the semantic model --

    def _flow_scope(self) -> Scope:
        """The scope of the function (a `def`, not a lambda or comprehension) or module being followed."""
        for scope in reversed(self.semantic.scopes):
            if isinstance(scope.node, (cst.FunctionDef, cst.Module)):
                return scope
        return self.semantic.module_scope

    def bound(self, name: str) -> Bound | None:
        """How `name` was last bound in the current function (or module body) before this point;
        None when it was not bound there yet: a parameter, a global, a closure variable."""
        binding = self._flow_scope().reached.get(name)
        if binding is None or binding.kind in (BindingKind.PARAMETER, BindingKind.IMPORT):
            return None
        if binding.kind in (BindingKind.FUNCTION, BindingKind.CLASS):
            return None
        if binding.kind is BindingKind.ASSIGNMENT and binding.value is not None:
            return ("assign", binding.value)
        if binding.kind is BindingKind.LOOP and isinstance(binding.node, cst.For):
            return ("for", binding.node.iter)
        if binding.kind is BindingKind.WITH and binding.value is not None:
            return ("with", binding.value)  # `with ProgressReport(...) as pb`: the context manager's expression
        return ("other", None)

    def unpacked(self, name: str) -> tuple[cst.BaseExpression, int] | None:
        """For `name` last bound from a flat tuple target (`row, created = ...get_or_create(...)`) in
        the current function: the right-hand side and the name's place in the target."""
        binding = self._flow_scope().reached.get(name)
        return binding.unpacked if binding is not None and binding.kind is BindingKind.ASSIGNMENT else None

    def local_names(self) -> list[str]:
        """The names bound so far in the current function (or module body), first bound first."""
        return [name for name in self._flow_scope().reached if self.bound(name) is not None]

    def is_parameter(self, name: str) -> bool:
        """Whether `name` still holds a parameter of the current function."""
        binding = self._flow_scope().reached.get(name)
        return binding is not None and binding.kind is BindingKind.PARAMETER

    def forget(self, name: str) -> None:
        """Called when `name` is bound to something new: subclasses forget what they knew of it."""

    def _rebound(self, node: cst.CSTNode) -> None:
        for binding in self.semantic.bound_by(node):
            if binding.kind is not BindingKind.ATTRIBUTE:
                self.forget(binding.name)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._rebound(original_node)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._rebound(original_node)

    def leave_NamedExpr(self, original_node: cst.NamedExpr) -> None:
        if isinstance(original_node.target, cst.Name):
            self.forget(original_node.target.value)

    def visit_For_body(self, node: cst.For) -> None:
        self._rebound(node)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._rebound(node)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._rebound(node)

    def outlives(self, key: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether the object named `key` can be seen after the function returns: `self`, a
        parameter, an object reached through another (`post = instance.post`, or the instance
        that `serializer.save()` returns and the serializer keeps), a global."""
        if "." in key:
            return True
        bound = self.bound(key)
        if bound is None:
            return self.frame.is_function  # a parameter, a global or a closure variable
        kind, value = bound
        if kind != "assign" or value is None:
            return False
        if isinstance(value, cst.Attribute):
            return True
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and call_name(value) == "save":
            return True  # `serializer.save()` and `form.save()` return the instance they keep
        if isinstance(value, cst.Subscript):
            base = dotted_name(value.value)
            return base is not None and base not in seen and self.outlives(base, seen | {key})
        if isinstance(value, cst.Name) and value.value not in seen and value.value != key:
            return self.outlives(value.value, seen | {key})
        return False
