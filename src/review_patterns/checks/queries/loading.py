"""The fix of RP401: the relation a loop reaches, loaded by the queryset the loop runs over.

The lookup joins the queryset's own `select_related(...)`/`prefetch_related(...)` when the chain
has one, else a new call is added to the chain (before a slice, `list(...)` or `iterator()`).
"""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.queries.helpers import CHAIN_METHODS
from review_patterns.core.rule import Rewrite
from review_patterns.syntax.names import chain

#: Calls that hand the rows of a queryset on unchanged: the queryset is their argument.
_WRAPPERS = frozenset({"list", "sorted", "tuple", "reversed"})


def load_in_queryset(expression: cst.BaseExpression, method: str, lookup: str) -> Rewrite | None:
    """`expression` (a loop's queryset) loading `lookup` with `method`; None when it is not a queryset chain."""
    target = expression
    while True:
        if isinstance(target, cst.Call) and isinstance(target.func, cst.Name) and target.func.value in _WRAPPERS:
            if not target.args:
                return None
            target = target.args[0].value
        elif isinstance(target, cst.Subscript):
            target = target.value  # `qs[:20]`: load before slicing
        elif _method(target) == "iterator":
            if method == "prefetch_related":
                return None  # `iterator()` prefetches only with a `chunk_size`: a choice left to the developer
            assert isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute)
            target = target.func.value
        else:
            break
    if _method(target) not in CHAIN_METHODS:
        return None
    description = f'load it with `{method}("{lookup}")`'
    for link in chain(target):
        if isinstance(link, cst.Call) and _method(link) == method:
            if any(arg.star or arg.keyword is not None for arg in link.args):
                return None
            strings = [arg.value for arg in link.args if isinstance(arg.value, cst.SimpleString)]
            if any(s.evaluated_value == lookup for s in strings):
                return None
            quote = strings[0].quote if strings else '"'
            added = cst.Arg(cst.SimpleString(f"{quote}{lookup}{quote}"))
            return Rewrite(
                safe=False, replace=((link, link.with_changes(args=[*link.args, added])),), description=description
            )
    receiver = target
    if _method(target) == "all" and isinstance(target, cst.Call) and not target.args:
        assert isinstance(target.func, cst.Attribute)
        receiver = target.func.value  # `Post.objects.all()` -> `Post.objects.select_related(...)`
    loading = cst.Call(cst.Attribute(receiver, cst.Name(method)), [cst.Arg(cst.SimpleString(f'"{lookup}"'))])
    return Rewrite(safe=False, replace=((target, loading),), description=description)


def _method(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value
    return None
