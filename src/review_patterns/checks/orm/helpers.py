"""Shared knowledge of the ORM update rules (RP1xx): Django's `F`, saves, refreshes, querysets,
and a base visitor that follows each function's parameters, bindings and blocks in source order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.syntax.imports import ImportTable
from review_patterns.syntax.names import bound_names, call_name, chain, dotted_name, keyword

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


def is_django_f(node: cst.Call, imports: ImportTable) -> bool:
    """`F("x")`, `Fx("x")`, `models.F("x")` and `django.db.models.F("x")`, resolved through imports."""
    return imports.resolve(node.func) in DJANGO_F


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


def param_names(node: cst.FunctionDef) -> frozenset[str]:
    params = node.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return frozenset(p.name.value for p in every)


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
    """A function (or the module) being visited."""

    is_function: bool
    params: frozenset[str] = frozenset()
    #: name -> how it was last bound: ("assign", value), or ("for", iterable), or ("other", None)
    bound: dict[str, tuple[str, cst.BaseExpression | None]] = field(default_factory=dict)
    blocks: list[tuple[int, int | None]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return tuple(self.blocks)


class FlowRule(Rule):
    """A rule that follows each function in source order: its parameters, local bindings and blocks.

    Subclasses call the `super()` method of every hook they override, and read `self.frame`.
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
        self.frames.append(Frame(is_function=True, params=param_names(node)))

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

    # -- bindings --

    def bind(self, name: str, kind: str, value: cst.BaseExpression | None) -> None:
        """Records that `name` now holds something new; subclasses forget what they knew of it."""
        self.frame.bound[name] = (kind, value)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            if isinstance(target.target, cst.Name):
                self.bind(target.target.value, "assign", original_node.value)
            else:
                for name in bound_names(target.target):
                    self.bind(name, "other", None)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if isinstance(original_node.target, cst.Name) and original_node.value is not None:
            self.bind(original_node.target.value, "assign", original_node.value)

    def leave_NamedExpr(self, original_node: cst.NamedExpr) -> None:
        if isinstance(original_node.target, cst.Name):
            self.bind(original_node.target.value, "assign", original_node.value)

    def visit_For_body(self, node: cst.For) -> None:
        for name in bound_names(node.target):
            self.bind(name, "for", node.iter)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            for name in bound_names(node.asname.name):
                self.bind(name, "other", None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self.bind(node.name.name.value, "other", None)

    def outlives(self, key: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether the object named `key` can be seen after the function returns: `self`, a
        parameter, an object reached through another (`post = instance.post`, or the instance
        that `serializer.save()` returns and the serializer keeps), a global."""
        frame = self.frame
        if "." in key:
            return True
        if key not in frame.bound:
            return key in frame.params or frame.is_function  # a parameter, a global or a closure variable
        kind, value = frame.bound[key]
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
