"""The model fields the project's DRF model serializers expose: what its API serves, read statically.

RP302 asks whether the text stored in a model field reaches a client. What is statically knowable
is whether a `ModelSerializer` of the project names that field in its `Meta.fields` (or takes
`"__all__"` without excluding it). Project modules are parsed with `ast` (function bodies pruned),
never imported. Built once per run by `ProjectContext.served_fields`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from review_patterns.project.models import ModelIndex, Module, module_name

_ALL = "__all__"


def _strings(node: ast.expr | None) -> tuple[str, ...] | None:
    """`"__all__"`, `["a", "b"]`, `("a",)`: the names; None when not written out literally."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return tuple(e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return None


def _meta(node: ast.ClassDef) -> dict[str, ast.expr]:
    """The assignments of a serializer's inner `class Meta`."""
    found: dict[str, ast.expr] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
            for inner in stmt.body:
                if isinstance(inner, ast.Assign):
                    for target in inner.targets:
                        if isinstance(target, ast.Name):
                            found[target.id] = inner.value
    return found


def _exposed(module: Module, models: ModelIndex) -> Iterator[tuple[str, str]]:
    """(model label, field name) for each field a serializer of this module exposes; "*" for all."""
    for node in module.classes.values():
        if node is None:
            continue
        meta = _meta(node)
        qualified = module.qualify(meta["model"]) if "model" in meta else None
        model = models.lookup(qualified, module.path) if qualified is not None else None
        if model is None:
            continue
        fields = _strings(meta.get("fields"))
        excluded = _strings(meta.get("exclude"))
        if fields == (_ALL,) or (fields is None and excluded is not None):
            yield model.label, "*"
            yield from ((model.label, f"-{name}") for name in excluded or ())
        else:
            yield from ((model.label, name) for name in fields or ())


class ServedFields:
    """Which fields of which models the project's DRF serializers put in API responses."""

    def __init__(self, sources: Iterable[tuple[str, str]], models: ModelIndex) -> None:
        found: set[tuple[str, str]] = set()
        for path, text in sources:
            if "Serializer" not in text or "Meta" not in text:
                continue
            module = Module.parse(module_name(path), path, text)
            if module is not None:
                found.update(_exposed(module, models))
        self.fields = frozenset(found)

    def serves(self, label: str, field: str) -> bool:
        """Whether an API of the project serializes `field` of the model `label`."""
        if (label, field) in self.fields:
            return True
        return (label, "*") in self.fields and (label, f"-{field}") not in self.fields
