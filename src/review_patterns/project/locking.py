"""Rows the project's callers lock: which parameters of which functions hold a row that a caller
fetched with `select_for_update()`, followed from the call sites (read with `ast`, never imported).

`place_order()` locks `voucher` with `basket.vouchers.select_for_update()` and calls
`self.record_voucher_usage(order, voucher, user)`, which calls `voucher.record_usage(order, user)`:
`self` of `Voucher.record_usage` and `voucher` of `record_voucher_usage` hold a locked row.
Functions are found by name; when several classes define the called method, only those whose
name matches the receiver's (`voucher` -> `Voucher`) are taken, and none when no name matches:
`offer.record_usage()` on a row nobody locked stays unlocked.

The lock holds until the transaction ends, so the functions called after it run with the row
locked: one that reaches a row under the locked variable's name, as a dict entry or an attribute
(`discount["voucher"].record_discount(discount)`, `line.voucher.save()`), reaches the locked row.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator

from review_patterns.syntax.parsing import UNREADABLE, parse_python

#: How many calls deep a locked row is followed from the function that locked it.
MAX_DEPTH = 3
_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _locks(node: ast.AST) -> bool:
    """Whether an expression is (or iterates) a queryset with `select_for_update()`."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "select_for_update"
        for n in ast.walk(node)
    )


def _targets(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from _targets(element)


def _locked_here(function: _Function) -> set[str]:
    """Names the function binds to rows it locks itself."""
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and _locks(node.value):
            for target in node.targets:
                names.update(_targets(target))
        elif isinstance(node, (ast.For, ast.AsyncFor)) and _locks(node.iter):
            names.update(_targets(node.target))
    return names


def _params(function: _Function, method_call: bool) -> list[str]:
    params = [p.arg for p in (*function.args.posonlyargs, *function.args.args)]
    if method_call and params and params[0] in ("self", "cls"):
        params = params[1:]
    return params


_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


class _Definitions:
    """The project's functions by name, parsed on demand from the files that define them."""

    def __init__(self, sources: Iterable[tuple[str, str]]) -> None:
        self.sources = list(sources)
        self.found: dict[str, list[tuple[str, _Function]]] = {}
        self._defining: dict[str, list[int]] | None = None  # name -> indexes of the sources defining it
        self._trees: dict[int, ast.Module] = {}

    def named(self, name: str) -> list[tuple[str, _Function]]:
        """(class name or "", function) of every function called `name`."""
        if self._defining is None:
            self._defining = {}
            for i, (_, text) in enumerate(self.sources):
                for defined in set(_DEF.findall(text)):
                    self._defining.setdefault(defined, []).append(i)
        if name not in self.found:
            self.found[name] = [found for i in self._defining.get(name, []) for found in _functions(self.tree(i), name)]
        return self.found[name]

    def tree(self, i: int) -> ast.Module:
        if i not in self._trees:
            self._trees[i] = _parse(self.sources[i][1])
        return self._trees[i]


def _functions(tree: ast.Module, name: str) -> Iterator[tuple[str, _Function]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
                    yield node.name, item
    for item in tree.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
            yield "", item


def _parse(text: str) -> ast.Module:
    try:
        return parse_python(text)
    except UNREADABLE:
        return ast.Module(body=[], type_ignores=[])


def locked_by_callers(sources: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str, str]]:
    """(class or "", function, parameter) of parameters, `self` included, holding a row a caller locked."""
    definitions = _Definitions(sources)
    # (function, its names bound to locked rows, the locked variables' names, calls from this line on, depth)
    queue: list[tuple[_Function, frozenset[str], frozenset[str], int, int]] = []
    for i, (_, text) in enumerate(definitions.sources):
        if "select_for_update" in text:
            for node in ast.walk(definitions.tree(i)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (own := _locked_here(node)):
                    queue.append((node, frozenset(own), frozenset(own), _first_lock(node), 0))
    result: set[tuple[str, str, str]] = set()
    seen: set[tuple[int, frozenset[str], frozenset[str]]] = set()
    while queue:
        function, locked, held, after, depth = queue.pop()
        if (id(function), locked, held) in seen or depth >= MAX_DEPTH:
            continue
        seen.add((id(function), locked, held))
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            for owner, callee, passed in _passes(call, locked, definitions.named):
                result.update((owner, callee.name, name) for name in passed)
                queue.append((callee, frozenset(passed), held, 0, depth + 1))
            if call.lineno < after:
                continue  # before the lock
            for owner, callee in _reached_by_name(call, held, definitions.named):
                result.add((owner, callee.name, "self"))
                queue.append((callee, frozenset({"self"}), held, 0, depth + 1))
            for _, callee in _helpers(call, definitions.named):
                queue.append((callee, frozenset(), held, 0, depth + 1))  # runs with the rows still locked
    return frozenset(result)


def _first_lock(function: _Function) -> int:
    return min(
        (n.lineno for n in ast.walk(function) if isinstance(n, (ast.Assign, ast.For, ast.AsyncFor)) and _locks(n)),
        default=0,
    )


def _key(node: ast.expr) -> str | None:
    """The name a value is reached under: `discount["voucher"]` and `line.voucher` -> "voucher"."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    if isinstance(node, ast.Attribute) and node.attr != "objects":
        return node.attr
    return None


def _reached_by_name(
    call: ast.Call, held: frozenset[str], named: Callable[[str], list[tuple[str, _Function]]]
) -> Iterator[tuple[str, _Function]]:
    """The methods of a locked row's class that a call makes on a value reached under the row's name."""
    func = call.func
    if not isinstance(func, ast.Attribute) or (key := _key(func.value)) not in held:
        return
    assert key is not None
    wanted = key.replace("_", "").lower()
    for owner, callee in named(func.attr):
        if owner and owner.lower().endswith(wanted) and callee.args.args and callee.args.args[0].arg == "self":
            yield owner, callee


def _helpers(call: ast.Call, named: Callable[[str], list[tuple[str, _Function]]]) -> Iterator[tuple[str, _Function]]:
    """The project functions a call of a helper (`self.record(...)`, `record(...)`) may run."""
    func = call.func
    if isinstance(func, ast.Name):
        yield from ((owner, f) for owner, f in named(func.id) if not owner)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        yield from ((owner, f) for owner, f in named(func.attr) if owner)


def _passes(
    call: ast.Call, locked: frozenset[str], named: Callable[[str], list[tuple[str, _Function]]]
) -> Iterator[tuple[str, _Function, set[str]]]:
    """The project functions a call may reach, each with its parameters that receive a locked row."""
    func = call.func
    receiver_locked = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in locked
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    positions = [i for i, arg in enumerate(call.args) if isinstance(arg, ast.Name) and arg.id in locked]
    keywords = {k.arg for k in call.keywords if k.arg and isinstance(k.value, ast.Name) and k.value.id in locked}
    if name is None or not (receiver_locked or positions or keywords):
        return
    candidates = named(name)
    if receiver_locked and len(candidates) > 1:
        assert isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        wanted = func.value.id.replace("_", "").lower()
        candidates = [(owner, f) for owner, f in candidates if owner and owner.lower().endswith(wanted)]
    for owner, callee in candidates:
        params = _params(callee, isinstance(func, ast.Attribute))
        passed = {params[i] for i in positions if i < len(params)} | (keywords & set(params))
        if receiver_locked and callee.args.args and callee.args.args[0].arg == "self":
            passed.add("self")
        if passed:
            yield owner, callee, passed
