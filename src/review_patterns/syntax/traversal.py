"""One traversal of a module for every rule, as `libcst.visit_batched` makes it, without rebuilding the tree.

LibCST's `visit` rebuilds (and validates) every node it passes, even for a visitor that changes
nothing: that is most of the cost of a traversal. `visit_batched` here walks the same nodes in
the same order and calls the same `visit_*`, `visit_<Node>_<field>`, `leave_<Node>_<field>` and
`leave_*` methods, in the same order, reading each node class's fields in the order its own
`_visit_and_replace_children` visits them. A class whose order cannot be read that way is
walked by LibCST itself.
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import libcst as cst
from libcst._nodes import op as op_nodes
from libcst._nodes import whitespace as whitespace_nodes

#: `visit_required(self, "name", self.name, visitor)`: a visited field, in visiting order.
_FIELD = re.compile(
    r"\bvisit_(?:required|optional|sentinel|sequence|body_sequence|iterable|body_iterable)\(\s*self,\s*\"(\w+)\""
)

#: `if format_spec is not None`: a field visited only when set.
_WHEN_SET = re.compile(r"\bif (\w+) is not None\b")

#: Node class -> the fields its children are in, in visiting order, each with whether it is visited
#: only when not None; None: walked by LibCST.
_ORDER: dict[type[cst.CSTNode], tuple[tuple[str, bool], ...] | None] = {}


def field_order(node_class: type[cst.CSTNode]) -> tuple[tuple[str, bool], ...] | None:
    """The fields LibCST visits for `node_class`, in its order, read from its `_visit_and_replace_children`
    (a field it visits as a node or as a sequence depending on the value, such as `ImportFrom.names`,
    is named once; `FormattedStringExpression.format_spec` is visited only when set); None when that
    source cannot be read."""
    if node_class not in _ORDER:
        try:
            source = inspect.getsource(node_class._visit_and_replace_children)
        except (OSError, TypeError):
            _ORDER[node_class] = None
        else:
            when_set = set(_WHEN_SET.findall(source))
            _ORDER[node_class] = tuple((field, field in when_set) for field in dict.fromkeys(_FIELD.findall(source)))
    return _ORDER[node_class]


Method = Callable[[cst.CSTNode], Any]
N = TypeVar("N", bound=cst.CSTNode)


def visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a visitor that changes nothing: the same calls, in the same order
    (a `visit_*` returning False skips the node's children), without rebuilding the tree."""
    visitor_class = type(visitor)
    if any(getattr(visitor_class, hook) is not getattr(cst.CSTVisitor, hook) for hook in _HOOKS):
        _visit_hooks(node, visitor)  # the visitor dispatches itself
        return
    found = _PLAIN.get(visitor_class)
    if found is None:
        found = _PLAIN[visitor_class] = ({}, _own_methods(visitor_class))
    _visit_plain(node, visitor, *found)


def nodes_of(node: cst.CSTNode, kind: type[N] | tuple[type[N], ...]) -> Iterator[N]:
    """`node` and the nodes below it that are instances of `kind`, in visiting order (what
    `libcst.matchers.findall(node, kind())` finds, without importing the matchers or rebuilding nodes)."""
    below = children if _is_layout(kind) else _content_children  # whitespace holds no other node
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, kind):
            yield current
        stack.extend(reversed(below(current)))


def children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """`node.children` (in visiting order), read from its fields: LibCST's `children` rebuilds the node."""
    order = field_order(type(node))
    return node.children if order is None else _gathered(node, (field for field, _ in order))


def _gathered(node: cst.CSTNode, fields: Iterable[str]) -> list[cst.CSTNode]:
    """The nodes held by these visited fields of `node`, in order."""
    found: list[cst.CSTNode] = []
    for field in fields:
        value = getattr(node, field)
        kind = type(value)
        if kind is tuple or kind is list:
            found.extend(value)
        elif value is not None and kind is not _SENTINEL:  # a node (a visited field holds nothing else)
            found.append(value)
    return found


def ancestors(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes from `root` down to `target` (both included, by identity); empty when `target` is not below `root`."""
    below = children if _is_layout(type(target)) else _content_children
    path: list[cst.CSTNode] = []
    stack: list[tuple[cst.CSTNode, int]] = [(root, 0)]
    while stack:
        current, depth = stack.pop()
        del path[depth:]
        path.append(current)
        if current is target:
            return path
        stack.extend((child, depth + 1) for child in reversed(below(current)))
    return []


def _content_children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """`children(node)` but whitespace and operators: what a search for another kind of node goes through."""
    node_class = type(node)
    if node_class not in _CONTENT_FIELDS:
        order = field_order(node_class)
        layout = layout_fields(node_class)
        _CONTENT_FIELDS[node_class] = None if order is None else tuple(f for f, _ in order if f not in layout)
    fields = _CONTENT_FIELDS[node_class]
    return node.children if fields is None else _gathered(node, fields)


#: Node class -> its visited fields that may hold more than whitespace and operators; None: LibCST's `children`.
_CONTENT_FIELDS: dict[type[cst.CSTNode], tuple[str, ...] | None] = {}


def _is_layout(kind: type[cst.CSTNode] | tuple[type[cst.CSTNode], ...]) -> bool:
    """Whether a whitespace or operator node may be of `kind` (`cst.Comma`, `cst.CSTNode`)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return any(issubclass(layout, k) for k in kinds for layout in _LAYOUT_CLASSES)


_HOOKS = ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute")
#: Visitor class -> (node class -> its plan (as `_Walk.plan`, with unbound methods), its own methods);
#: weak: rules define visitor classes inside functions.
_PLAIN: weakref.WeakKeyDictionary[
    type[cst.CSTVisitor], tuple[dict[type[cst.CSTNode], Any], dict[str, Callable[..., Any]]]
] = weakref.WeakKeyDictionary()
#: Classes whose `visit_*`/`leave_*` methods are all LibCST's do-nothing stubs.
_STUBS = frozenset(cst.CSTVisitor.__mro__)


def _own_methods(visitor_class: type[cst.CSTVisitor]) -> dict[str, Callable[..., Any]]:
    """The visitor's `visit_*`/`leave_*` methods, read from its own classes: looking each name up
    on the class, through LibCST's thousand stubs, cost more than many a walk (a rule defines a
    visitor class in a function: a new class per call)."""
    names = {
        name
        for klass in visitor_class.__mro__
        if klass not in _STUBS
        for name in vars(klass)
        if name.startswith(("visit_", "leave_"))
    }
    return {name: method for name in names if (method := _method(visitor_class, name)) is not None}


def _method(visitor_class: type[cst.CSTVisitor], name: str) -> Callable[..., Any] | None:
    """The visitor's own method `name`, None for LibCST's do-nothing stubs."""
    method = getattr(visitor_class, name, None)
    return None if method is None or getattr(method, "_is_no_op", False) else method


def _visit_plain(
    node: cst.CSTNode,
    visitor: cst.CSTVisitor,
    plans: dict[type[cst.CSTNode], Any],
    methods: dict[str, Callable[..., Any]],
) -> None:
    node_class = type(node)
    plan = plans.get(node_class)
    if plan is None:
        plan = plans[node_class] = _plain_plan(node_class, methods)
    if plan is _LIBCST:
        node.visit(visitor)
        return
    visit_method, fields, leave_method = plan
    if visit_method is None or visit_method(visitor, node) is not False:
        for field, when_set, attribute_visit, attribute_leave in fields:
            value = getattr(node, field)
            if when_set and value is None:
                continue
            if attribute_visit is not None:
                attribute_visit(visitor, node)
            kind = type(value)
            if kind is tuple or kind is list:
                for child in value:
                    _visit_plain(child, visitor, plans, methods)
            elif value is not None and kind is not _SENTINEL:  # a node (a visited field holds nothing else)
                _visit_plain(value, visitor, plans, methods)
            if attribute_leave is not None:
                attribute_leave(visitor, node)
    if leave_method is not None:
        leave_method(visitor, node)


#: The plan of a node class that LibCST walks itself (`field_order` cannot read its order).
_LIBCST: Any = object()
#: The plan of a node class whose subtree is not walked: only whitespace and operators, with no method for them.
_SKIPPED = (None, (), None)


def _plain_plan(node_class: type[cst.CSTNode], methods: dict[str, Callable[..., Any]]) -> Any:
    """(visit method, [(field, only when set, attribute visit, attribute leave)], leave method) for
    `_visit_plain`; whitespace and operator nodes are not walked when the visitor has no method for them."""
    order = field_order(node_class)
    if order is None:
        return _LIBCST
    name = node_class.__name__
    skip_layout = layout_unused(methods)
    if skip_layout and name in _LAYOUT and node_class.__module__ in _LAYOUT_MODULES:
        return _SKIPPED
    layout = layout_fields(node_class) if skip_layout else frozenset()
    fields = tuple(
        (field, when_set, visit, leave)
        for field, when_set in order
        for visit, leave in [(methods.get(f"visit_{name}_{field}"), methods.get(f"leave_{name}_{field}"))]
        if field not in layout or visit or leave
    )
    return (methods.get(f"visit_{name}"), fields, methods.get(f"leave_{name}"))


def _visit_hooks(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    order = field_order(type(node))
    if order is None:
        node.visit(visitor)
        return
    if visitor.on_visit(node):
        for field, when_set in order:
            value = getattr(node, field)
            if when_set and value is None:
                continue
            visitor.on_visit_attribute(node, field)
            if isinstance(value, cst.CSTNode):
                _visit_hooks(value, visitor)
            elif isinstance(value, (tuple, list)):
                for child in value:
                    _visit_hooks(child, visitor)
            visitor.on_leave_attribute(node, field)
    visitor.on_leave(node)


def visit_batched(module: cst.Module, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
    """Walks `module` once, calling every visitor's methods as `libcst.visit_batched` would."""
    methods: dict[str, list[Method]] = {}
    for visitor in visitors:
        for name, method in visitor.get_visitors().items():
            methods.setdefault(name, []).append(method)
    _Walk(methods, skip_layout=layout_unused(methods)).walk(module)


def layout_unused(names: Iterable[str]) -> bool:
    """Whether none of these `visit_*`/`leave_*` method names is for whitespace or an operator token."""
    return not any(name.split("_", 2)[1] in _LAYOUT for name in names)


#: Whitespace, comments and operator tokens: nodes whose children are only such nodes. When no
#: visitor has a method for any of them, their subtrees are not walked (nothing would be called).
_LAYOUT_CLASSES = tuple(
    value
    for module in (whitespace_nodes, op_nodes)
    for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, cst.CSTNode) and value.__module__ == module.__name__
)
_LAYOUT = frozenset(layout.__name__ for layout in _LAYOUT_CLASSES)
_LAYOUT_MODULES = frozenset({whitespace_nodes.__name__, op_nodes.__name__})
_SENTINEL = cst.MaybeSentinel
#: Node class -> its visited fields whose declared type admits only whitespace and operator nodes.
_LAYOUT_FIELDS: dict[type[cst.CSTNode], frozenset[str]] = {}


def layout_fields(node_class: type[cst.CSTNode]) -> frozenset[str]:
    """The visited fields of `node_class` that hold only whitespace or operator nodes (or nothing), by
    their declared types: `Call.whitespace_after_func`, `Attribute.dot`, `Arg.comma`. Where
    `layout_unused` holds, the walk does not even enter them."""
    found = _LAYOUT_FIELDS.get(node_class)
    if found is None:
        try:
            hints = typing.get_type_hints(node_class)
        except Exception:  # an annotation that cannot be resolved: every field is walked
            hints = {}
        order = field_order(node_class) or ()
        found = _LAYOUT_FIELDS[node_class] = frozenset(
            field for field, _ in order if field in hints and _only_layout(hints[field])
        )
    return found


def _only_layout(hint: Any) -> bool:
    """Whether a field's type admits only whitespace or operator nodes, None or `MaybeSentinel`."""
    if hint is type(None) or hint is cst.MaybeSentinel:
        return True
    origin = typing.get_origin(hint)
    if origin is not None:  # Union, Optional, Sequence[...]
        arguments = typing.get_args(hint)
        return bool(arguments) and origin in _CONTAINERS and all(_only_layout(a) for a in arguments)
    return isinstance(hint, type) and hint.__module__ in _LAYOUT_MODULES


_CONTAINERS = (typing.Union, types.UnionType, collections.abc.Sequence, list, tuple)


#: The methods' names a walk was planned for -> node class -> its skeleton (see `_Walk.skeleton`):
#: a run's files mostly share their rules, so their plans are worked out once.
_SKELETONS: dict[tuple[frozenset[str], bool], dict[type[cst.CSTNode], Any]] = {}


class _Walk:
    def __init__(self, methods: Mapping[str, list[Method]], skip_layout: bool = False) -> None:
        self.methods = methods
        #: Node class -> (visits, [(field, only when set, attribute visits, attribute leaves)], leaves, False),
        #: or (visits, [field], leaves, True) when no visitor has a method for one of its fields
        self.plans: dict[type[cst.CSTNode], Any] = {}
        self.fallback: cst.CSTVisitor | None = None
        #: No method is for whitespace or an operator (`layout_unused`): their subtrees are not walked.
        self.skip_layout = skip_layout
        self.skeletons: dict[type[cst.CSTNode], Any] = {}
        if isinstance(methods, dict):
            if len(_SKELETONS) > 256:
                _SKELETONS.clear()
            self.skeletons = _SKELETONS.setdefault((frozenset(methods), skip_layout), {})

    def skeleton(self, node_class: type[cst.CSTNode]) -> Any:
        """The plan of `node_class` in method names: None for a subtree not walked, else
        (visit name, fields, leave name, plain), the fields as in a plan, with names for methods."""
        name = node_class.__name__
        if self.skip_layout and name in _LAYOUT and node_class.__module__ in _LAYOUT_MODULES:
            return None
        order = field_order(node_class)
        fields: tuple[Any, ...] | None = None
        plain = False
        if order is not None:
            every = [
                (field, when_set, self._name(f"visit_{name}_{field}"), self._name(f"leave_{name}_{field}"))
                for field, when_set in order
            ]
            if self.skip_layout:  # no call for a field that holds only whitespace or operators
                layout = layout_fields(node_class)
                every = [f for f in every if f[0] not in layout or f[2] or f[3]]
            plain = not any(visit or leave for _, _, visit, leave in every)
            # with no `visit_<Node>_<field>` method, only the children matter
            fields = tuple(f[0] for f in every) if plain else tuple(every)
        return (self._name(f"visit_{name}"), fields, self._name(f"leave_{name}"), plain)

    def _name(self, name: str) -> str | None:
        return name if self.methods.get(name) else None

    def plan(self, node_class: type[cst.CSTNode]) -> Any:
        if node_class in self.skeletons:
            skeleton = self.skeletons[node_class]
        else:
            skeleton = self.skeletons[node_class] = self.skeleton(node_class)
        if skeleton is None:  # not walked
            plan: Any = ((), (), (), True)
        else:
            visit, fields, leave, plain = skeleton
            if fields is not None and not plain:
                fields = tuple((f, when_set, self._get(v), self._get(lv)) for f, when_set, v, lv in fields)
            plan = (self._get(visit), fields, self._get(leave), plain)
        self.plans[node_class] = plan
        return plan

    def _get(self, name: str | None) -> tuple[Method, ...]:
        return () if name is None else tuple(self.methods.get(name, ()))

    def walk(self, node: cst.CSTNode) -> None:
        plan = self.plans.get(type(node)) or self.plan(type(node))
        visits, fields, leaves, plain = plan
        if fields is None:
            node.visit(self._libcst())
            return
        for method in visits:
            method(node)
        walk = self.walk
        if plain:
            for field in fields:
                value = getattr(node, field)
                kind = type(value)
                if kind is tuple or kind is list:
                    for child in value:
                        walk(child)
                elif value is not None and kind is not _SENTINEL:  # a node (a visited field holds nothing else)
                    walk(value)
        else:
            for field, when_set, attribute_visits, attribute_leaves in fields:
                value = getattr(node, field)
                if when_set and value is None:
                    continue
                for method in attribute_visits:
                    method(node)
                kind = type(value)
                if kind is tuple or kind is list:
                    for child in value:
                        walk(child)
                elif value is not None and kind is not _SENTINEL:
                    walk(value)
                for method in attribute_leaves:
                    method(node)
        for method in leaves:
            method(node)

    def _libcst(self) -> cst.CSTVisitor:
        if self.fallback is None:
            from libcst._batched_visitor import _BatchedCSTVisitor

            self.fallback = _BatchedCSTVisitor(self.methods)
        return self.fallback
