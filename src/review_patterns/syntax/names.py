"""Dotted names, call names and chains, bound names, arguments, string literals and source text of
LibCST and `ast` nodes (the one place for each)."""

from __future__ import annotations

import tokenize
from collections.abc import Iterator

import libcst as cst


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a chain of names and attributes, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def called_name(node: cst.BaseExpression) -> str | None:
    """How a called function is written, arguments dropped: `a.b`, or `Service().locate` for a method
    of an instance made on the spot; else None."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Call):
        head = dotted_name(node.value.func)
        return None if head is None else f"{head}().{node.attr.value}"
    return dotted_name(node)


def bound_names(target: cst.BaseExpression) -> Iterator[str]:
    """The names an assignment, `for` or `with ... as` target binds: `a, (b, *c)` -> a, b, c."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from bound_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from bound_names(target.value)


def call_name(node: cst.Call) -> str | None:
    """The called attribute or function name: `obj.save()` -> `save`, `F("x")` -> `F`."""
    func = node.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def keyword(node: cst.Call, name: str) -> cst.Arg | None:
    """The keyword argument `name=` of a call, if given."""
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`call` passing `name=value`: the value of an existing `name=` replaced, or a last argument added."""
    current = keyword(call, name)
    if current is not None:
        return call.with_changes(args=[arg.with_changes(value=value) if arg is current else arg for arg in call.args])
    tight = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    return call.with_changes(args=[*call.args, cst.Arg(value=value, keyword=cst.Name(name), equal=tight)])


def with_argument(call: cst.Call, name: str, position: int, value: cst.BaseExpression) -> cst.Call | None:
    """`call` passing `value` for the parameter `name` at `position`: in place of the positional
    argument there (a `None`), else by keyword; None when it may be in `*args`/`**kwargs`."""
    current = argument(call, name, position)
    if (current is not None and current.star) or any(a.star == "**" for a in call.args):
        return None
    if current is not None and current.keyword is None:
        return call.with_changes(args=[a.with_changes(value=value) if a is current else a for a in call.args])
    return with_keyword(call, name, value)


def with_element(sequence: cst.List, value: cst.BaseExpression) -> cst.List:
    """`sequence` with `value` appended, laid out as its elements are (one a line, or on one line)."""
    elements = list(sequence.elements)
    added = cst.Element(value)
    if not elements:
        return sequence.with_changes(elements=[added])
    if len(elements) > 1:
        separator = elements[-2].comma
    elif isinstance(sequence.lbracket.whitespace_after, cst.ParenthesizedWhitespace):
        separator = cst.Comma(whitespace_after=sequence.lbracket.whitespace_after)
    else:
        separator = cst.MaybeSentinel.DEFAULT
    last = elements[-1]
    return sequence.with_changes(
        elements=[*elements[:-1], last.with_changes(comma=separator), added.with_changes(comma=last.comma)]
    )


def argument(call: cst.Call, name: str, position: int | None = None) -> cst.Arg | None:
    """The argument passed as `name=` or, when `position` is given, as that positional argument.

    A `*args`/`**kwargs` at or before the position is returned itself (`arg.star` is set):
    the argument may be in there, and the caller decides what that means.
    """
    found = keyword(call, name)
    if found is not None or position is None:
        return found
    positional = [a for a in call.args if a.keyword is None]
    starred = [a for a in positional[: position + 1] if a.star]
    if starred:
        return starred[0]
    return positional[position] if len(positional) > position else None


def argument_value(call: cst.Call, name: str, position: int | None = None) -> cst.BaseExpression | None:
    """The value of `argument(...)`, or None when it is not given or hidden in `*args`/`**kwargs`."""
    arg = argument(call, name, position)
    return None if arg is None or arg.star else arg.value


def is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def given(call: cst.Call, name: str, position: int | None = None) -> bool:
    """Whether the argument is passed and is not the literal `None` (`*args` counts as passed)."""
    arg = argument(call, name, position)
    return arg is not None and (bool(arg.star) or not is_none(arg.value))


def chain(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The receivers of a call chain, outermost first: `A.objects.filter(x).first()` gives
    the `first()` call, the `filter(x)` call, `A.objects`, `A`."""
    while True:
        yield node
        if isinstance(node, cst.Call):
            node = node.func
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        else:
            return


_EMPTY = cst.Module([])


def truth_tested(test: cst.BaseExpression) -> Iterator[cst.Call]:
    """The calls a condition tests for truth: `a()`, `not a()`, `a() and b()`."""
    if isinstance(test, cst.Call):
        yield test
    elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        yield from truth_tested(test.expression)
    elif isinstance(test, cst.BooleanOperation):
        yield from truth_tested(test.left)
        yield from truth_tested(test.right)


def code(node: cst.CSTNode, *, one_line: bool = False) -> str:
    """The source text of a node; with `one_line` (to quote it in a message), without its comments
    and with its whitespace runs collapsed to one space."""
    text = _EMPTY.code_for_node(node)
    if not one_line:
        return text
    return " ".join(_without_comments(text).split() if "#" in text else text.split())


def _without_comments(text: str) -> str:
    """`text` (an expression's or a statement's code) with each comment cut from its line."""
    lines = f"(\n{text}\n)".splitlines(keepends=True)  # in brackets: its lines join into one
    try:
        comments = [t.start for t in tokenize.generate_tokens(iter(lines).__next__) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        return text
    for row, column in comments:
        lines[row - 1] = lines[row - 1][:column] + "\n"
    return "".join(lines[1:-1])


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain (non-f, non-concatenated-with-expressions) string literal."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def runs_in_migration(function: cst.FunctionDef) -> bool:
    """Whether a function is a data migration's body, wherever it is written: it takes the
    migration's historical app registry (`def forwards(apps, schema_editor)`, a helper
    `def process_vrfs(apps)` in `utils/migrations.py`) and reads models from it. Only a
    `RunPython` hands a function that registry; the code runs once, at upgrade, alone."""
    params = {p.name.value for p in (*function.params.posonly_params, *function.params.params)}
    if "apps" not in params:
        return False

    class _Reads(cst.CSTVisitor):
        found = False

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "get_model"
                and isinstance(func.value, cst.Name)
                and func.value.value == "apps"
            ):
                self.found = True

    reads = _Reads()
    function.body.visit(reads)
    return reads.found


def model_of_get_model(call: cst.BaseExpression | None) -> tuple[str, str] | None:
    """(app label, model name) of `apps.get_model("shop", "Order")`, `apps.get_model("shop.Order")` or
    `apps.get_model(app_label="shop", model_name="Order")`."""
    if not isinstance(call, cst.Call) or call_name(call) != "get_model":
        return None
    app = keyword(call, "app_label")
    model = keyword(call, "model_name")
    positional = [a.value for a in call.args if a.keyword is None]
    if len(positional) == 1 and app is None and model is None:
        dotted = string_value(positional[0]) or ""
        label, dot, name = dotted.rpartition(".")
        return (label, name) if dot else None
    first = app.value if app is not None else positional[0] if positional else None
    second = model.value if model is not None else positional[1] if len(positional) > 1 else None
    app_label = string_value(first) if first is not None else None
    model_name = string_value(second) if second is not None else None
    return (app_label, model_name) if app_label and model_name else None
