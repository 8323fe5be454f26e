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
