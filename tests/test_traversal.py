"""The engine's traversal makes exactly the calls LibCST's own makes, in the same order."""

from __future__ import annotations

import textwrap
from typing import Any

import libcst as cst
import pytest
from conftest import ROOT
from libcst._batched_visitor import _BatchedCSTVisitor

from review_patterns.syntax import traversal

TRICKY = textwrap.dedent(
    '''
    from __future__ import annotations
    from .models import *
    from ..services import (charge, refund,)
    import a.b as c

    @app.task(bind=True)
    @other
    async def run(self, /, x: int = 1, *args: str, key=None, **kwargs) -> dict[str, int]:
        async with lock() as (held, _):
            async for row in rows():
                print(f"{row!r:>{width}} {value=} {nested:{'x' if y else 'z'}}", *args, sep="")
        if (n := len(kwargs)) > 1:
            return {k: v for k, v in kwargs.items() if v}
        elif n:
            del kwargs["a"], args
        else:
            raise ValueError("no") from None
        try:
            yield from gen()
        except* (KeyError, TypeError) as group:
            pass
        finally:
            global counter
        match command:
            case {"op": "add", **rest} if rest:
                pass
            case [first, *others] | Point(x=0, y=_):
                pass
        lambda a, *, b=2: a[1:2, ::3] @ b
        x = y if z else not w; assert x, "message"
        return ~x ** -y

    class Order(models.Model, metaclass=Meta):
        """Docs."""
        total: int = 0
        items = [i async for i in aiter()] + [*a, *b]
        t = (1,) ; s = {1, 2} ; e = ...
        while True:
            break
        for a, (b, c) in pairs:
            continue
    '''
)


class Recorder:
    """Every method the batched traversal may call, recording (method, node) in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def get(self, name: str, default: Any = ()) -> list[Any]:
        return [lambda node: self.calls.append((name, id(node)))]


class Plain(cst.CSTVisitor):
    """A rule-like visitor that skips the bodies of nested functions (`visit_*` returning False)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.calls.append(("visit", id(node)))
        return not isinstance(node, (cst.Lambda, cst.FunctionDef)) or len(self.calls) < 3

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.calls.append(("leave", id(original_node)))

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.calls.append((f"visit {attribute}", id(node)))

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self.calls.append((f"leave {attribute}", id(original_node)))


class Methods(cst.CSTVisitor):
    """A visitor as rules write them: `visit_*`/`leave_*` methods, one declining a nested function's body."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.calls.append(("function", id(node)))
        self.depth += 1
        return self.depth < 2

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_Name(self, node: cst.Name) -> None:
        self.calls.append((node.value, id(node)))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.calls.append(("call", id(original_node)))

    def visit_If_body(self, node: cst.If) -> None:
        self.calls.append(("if body", id(node)))

    def leave_If_orelse(self, node: cst.If) -> None:
        self.calls.append(("else done", id(node)))


def sources() -> list[tuple[str, str]]:
    found = [("tricky.py", TRICKY)]
    for folder in (ROOT / "examples", ROOT / "tests" / "fixtures", ROOT / "src" / "review_patterns" / "checks"):
        found += [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*.py"))]
    return [(path, source) for path, source in found if source.strip()]


@pytest.mark.parametrize(("path", "source"), sources(), ids=lambda value: value if value.endswith(".py") else "")
def test_the_same_calls_in_the_same_order(path: str, source: str) -> None:
    module = cst.parse_module(source)
    theirs, ours = Recorder(), Recorder()
    module.visit(_BatchedCSTVisitor(theirs))  # type: ignore[arg-type]
    traversal._Walk(ours).walk(module)  # type: ignore[arg-type]
    assert ours.calls == theirs.calls and len(ours.calls) > 10

    for node in (module, *module.body[:3]):
        for kind in (Plain, Methods):
            theirs_plain, ours_plain = kind(), kind()
            node.visit(theirs_plain)
            traversal.visit(node, ours_plain)
            assert ours_plain.calls == theirs_plain.calls


@pytest.mark.parametrize(
    "kind",
    [
        cst.If,
        cst.Raise,
        cst.Comparison,
        cst.Call,
        cst.Name,
        cst.FunctionDef,
        cst.Comma,
        cst.SimpleWhitespace,
    ],
)
def test_nodes_of_finds_what_the_matchers_find_in_the_same_order(kind: type[cst.CSTNode]) -> None:
    import libcst.matchers as m

    module = cst.parse_module(
        TRICKY + (ROOT / "tests" / "fixtures").joinpath("privacy_project", "shop", "views.py").read_text()
    )
    for node in (module, *module.body):
        expected = m.findall(node, getattr(m, kind.__name__)())
        assert [id(n) for n in traversal.nodes_of(node, kind)] == [id(n) for n in expected]


def test_children_are_libcsts_children_read_without_rebuilding_the_node() -> None:
    module = cst.parse_module(TRICKY)
    for node in traversal.nodes_of(module, cst.CSTNode):
        assert [id(n) for n in traversal.children(node)] == [id(n) for n in node.children]


def test_ancestors_are_the_nodes_libcst_passes_on_its_way_down_to_a_node() -> None:
    module = cst.parse_module(TRICKY)

    class Paths(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[cst.CSTNode] = []
            self.paths: list[list[int]] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.stack.append(node)
            self.paths.append([id(n) for n in self.stack])
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.stack.pop()

    expected = Paths()
    traversal.visit(module, expected)
    nodes = list(traversal.nodes_of(module, cst.CSTNode))
    assert len(nodes) == len(expected.paths) > 100
    for node, path in zip(nodes, expected.paths):
        assert [id(n) for n in traversal.ancestors(module, node)] == path
    assert traversal.ancestors(module, cst.Name("elsewhere")) == []


def test_a_node_class_whose_order_cannot_be_read_is_walked_by_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    module = cst.parse_module(TRICKY)
    monkeypatch.setitem(traversal._ORDER, cst.FunctionDef, None)
    theirs, ours = Recorder(), Recorder()
    module.visit(_BatchedCSTVisitor(theirs))  # type: ignore[arg-type]
    traversal._Walk(ours).walk(module)  # type: ignore[arg-type]
    assert ours.calls == theirs.calls


def test_fields_are_read_in_source_order() -> None:
    assert traversal.field_order(cst.FunctionDef) is not None
    names = [name for name, _ in traversal.field_order(cst.FunctionDef) or ()]
    assert names.index("decorators") < names.index("name") < names.index("params") < names.index("body")
    # visited only when set: LibCST's `if format_spec is not None:` before visiting it
    assert dict(traversal.field_order(cst.FormattedStringExpression) or ())["format_spec"] is True
    assert not any(when_set for _, when_set in traversal.field_order(cst.FunctionDef) or ())


class Named(Recorder):
    """Methods for the names real rules use only: whitespace and operators are then not walked."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def get(self, name: str, default: Any = ()) -> list[Any]:
        return super().get(name) if name in self.names else []


def test_whitespace_and_operators_are_skipped_when_no_visitor_asks_for_them() -> None:
    from review_patterns.checks import ALL_RULES

    names = {
        n
        for rule in ALL_RULES
        for n in dir(rule)
        if n.startswith(("visit_", "leave_")) and not getattr(getattr(rule, n), "_is_no_op", False)
    }
    module = cst.parse_module(TRICKY)
    theirs, ours = Named(names), Named(names)
    module.visit(_BatchedCSTVisitor(theirs))  # type: ignore[arg-type]
    assert traversal.layout_unused(names) and not traversal.layout_unused([*names, "leave_Comma_whitespace_after"])
    traversal._Walk(ours, skip_layout=True).walk(module)  # type: ignore[arg-type]
    assert ours.calls == theirs.calls and len(ours.calls) > 100


def test_fields_of_whitespace_and_operators_are_read_from_their_declared_types() -> None:
    assert traversal.layout_fields(cst.Call) == {"whitespace_after_func", "whitespace_before_args"}
    assert traversal.layout_fields(cst.Arg) >= {"comma", "equal", "whitespace_after_star"}
    assert "keyword" not in traversal.layout_fields(cst.Arg) and "value" not in traversal.layout_fields(cst.Arg)
    assert traversal.layout_fields(cst.Attribute) == {"dot"}
    assert traversal.layout_fields(cst.Name) == frozenset()  # parentheses are nodes of their own


def test_a_method_for_a_whitespace_field_still_sees_that_field() -> None:
    names = {"visit_Call", "visit_Call_whitespace_after_func", "leave_Call_whitespace_after_func", "visit_Name"}
    module = cst.parse_module(TRICKY)
    theirs, ours = Named(names), Named(names)
    module.visit(_BatchedCSTVisitor(theirs))  # type: ignore[arg-type]
    assert traversal.layout_unused(names)
    traversal._Walk(ours, skip_layout=True).walk(module)  # type: ignore[arg-type]
    assert ours.calls == theirs.calls and any(name.endswith("after_func") for name, _ in ours.calls)


class Commas(Methods):
    """A visitor with a method for an operator node: the walk must still go through operators."""

    def visit_Comma(self, node: cst.Comma) -> None:
        self.calls.append(("comma", id(node)))


def test_a_visitor_with_a_method_for_an_operator_still_sees_every_one() -> None:
    module = cst.parse_module(TRICKY)
    theirs, ours, fewer = Commas(), Commas(), Methods()
    module.visit(theirs)
    traversal.visit(module, ours)
    traversal.visit(module, fewer)  # the same walk without it skips whitespace and operators
    assert ours.calls == theirs.calls and sum(name == "comma" for name, _ in ours.calls) > 5
    assert fewer.calls == [call for call in ours.calls if call[0] != "comma"]


def test_walks_with_the_same_methods_share_their_plans_but_call_their_own_visitors() -> None:
    class Names(cst.BatchableCSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.seen.append(node.value)

        def visit_Call_func(self, node: cst.Call) -> None:
            self.seen.append("call")

    first, second = Names(), Names()
    traversal.visit_batched(cst.parse_module("alpha = beta()\n"), [first])
    traversal.visit_batched(cst.parse_module("gamma(delta)\n"), [second])
    assert first.seen == ["alpha", "call", "beta"] and second.seen == ["call", "gamma", "delta"]
