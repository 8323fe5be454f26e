"""The folder tree is the architecture: each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "review_patterns"
#: Top to bottom. A module may import its own layer and those below it, never one above.
LAYERS = ("frontends", "report", "checks", "core", "project", "syntax")


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "review_patterns" or len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] in LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path: Path) -> None:
    own = LAYERS.index(path.relative_to(PACKAGE).parts[0])
    upward = [
        f"line {line}: {module}"
        for line, module in _imports(path)
        if module == "review_patterns" or ((layer := _layer(module)) is not None and layer < own)
    ]
    assert not upward, f"{path.relative_to(PACKAGE)} imports a layer above its own: {upward}"


def test_relative_imports_are_not_used() -> None:
    relative = [
        f"{p.relative_to(PACKAGE)}:{n.lineno}"
        for p in MODULES
        for n in ast.walk(ast.parse(p.read_text()))
        if isinstance(n, ast.ImportFrom) and n.level
    ]
    assert not relative


def test_python_is_parsed_for_ast_in_one_place() -> None:
    """`parse_python` reads any Python LibCST reads; `ast.parse` only the running interpreter's."""
    direct = [
        f"{p.relative_to(PACKAGE)}:{n.lineno}"
        for p in MODULES
        if p.parent.name != "syntax"
        for n in ast.walk(ast.parse(p.read_text()))
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "ast.parse"
    ]
    assert not direct, f"use review_patterns.syntax.parsing.parse_python: {direct}"


def _rule_classes() -> list[type]:
    from review_patterns.checks import ALL_RULES
    from review_patterns.core.rule import Rule

    return sorted({c for rule in ALL_RULES for c in rule.__mro__ if issubclass(c, Rule) and c is not Rule}, key=str)


def test_rules_prepare_in_setup_not_in_the_constructor() -> None:
    """`Rule.__init__` is typed and calls `setup()`; an override of `__init__` would bypass both."""
    overriding = [c.__qualname__ for c in _rule_classes() if "__init__" in c.__dict__]
    assert not overriding, overriding


def test_setup_below_a_base_calls_the_base() -> None:
    """A base's `setup()` builds the state its visitor methods use: forgetting `super().setup()`
    would fail silently, so each override below one calls it."""
    import inspect
    import textwrap

    from review_patterns.core.rule import Rule

    forgetful = []
    for cls in _rule_classes():
        if "setup" not in cls.__dict__:
            continue
        bases_with_setup = [b for b in cls.__mro__[1:] if b is not Rule and "setup" in b.__dict__]
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls.__dict__["setup"])))
        calls_super = any(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "setup"
            and isinstance(n.func.value, ast.Call)
            and isinstance(n.func.value.func, ast.Name)
            and n.func.value.func.id == "super"
            for n in ast.walk(tree)
        )
        if bases_with_setup and not calls_super:
            forgetful.append(cls.__qualname__)
    assert not forgetful, forgetful


def test_visitor_methods_below_a_base_call_the_base() -> None:
    """A base class's `visit_X`/`leave_X` keeps its state (blocks, sessions, loops); an override
    below it that forgot `super().visit_X(node)` would leave that state wrong, silently."""
    import inspect
    import textwrap

    import libcst as cst

    from review_patterns.core.rule import Rule

    forgetful = []
    for cls in _rule_classes():
        for name, method in cls.__dict__.items():
            if not name.startswith(("visit_", "leave_")) or not hasattr(cst, name.split("_")[1]):
                continue  # `leave_frame` and the like are a base's own hooks, not LibCST's
            if not any(b is not Rule and issubclass(b, Rule) and name in b.__dict__ for b in cls.__mro__[1:]):
                continue
            tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
            calls_super = any(
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == name
                and isinstance(n.func.value, ast.Call)
                and isinstance(n.func.value.func, ast.Name)
                and n.func.value.func.id == "super"
                for n in ast.walk(tree)
            )
            if not calls_super:
                forgetful.append(f"{cls.__qualname__}.{name}")
    assert not forgetful, forgetful
