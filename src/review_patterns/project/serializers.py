"""The model fields the project's DRF model serializers expose: what its API serves, read statically.

RP302 asks whether the text stored in a model field reaches a client. What is statically knowable
is whether a `ModelSerializer` of the project names that field in its `Meta.fields` (or takes
`"__all__"` without excluding it). Project modules are parsed with `ast` (function bodies pruned),
never imported. Built once per run by `ProjectContext.served_fields`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from review_patterns.project.models import ModelIndex, Module
from review_patterns.syntax.files import module_name

_ALL = "__all__"

#: A serializer's `Meta`: the qualified name of its model, its `fields` and its `exclude`.
Declared = tuple[str, tuple[str, ...] | None, tuple[str, ...] | None]


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


def declarations(path: str, text: str) -> tuple[Declared, ...]:
    """(qualified model name, `fields`, `exclude`) of each serializer `Meta` naming a model in a module:
    what the module says, before the model index is asked which model that is."""
    if "Serializer" not in text or "Meta" not in text:
        return ()
    module = Module.parse(module_name(path), path, text)
    if module is None:
        return ()
    found: list[Declared] = []
    for node in module.classes.values():
        meta = _meta(node) if node is not None else {}
        qualified = module.qualify(meta["model"]) if "model" in meta else None
        if qualified is not None:
            found.append((qualified, _strings(meta.get("fields")), _strings(meta.get("exclude"))))
    return tuple(found)


def _exposed(path: str, declared: Iterable[Declared], models: ModelIndex) -> Iterator[tuple[str, str]]:
    """(model label, field name) for each field the serializers of a module expose; "*" for all."""
    for qualified, fields, excluded in declared:
        model = models.lookup(qualified, path)
        if model is None:
            continue
        if fields == (_ALL,) or (fields is None and excluded is not None):
            yield model.label, "*"
            yield from ((model.label, f"-{name}") for name in excluded or ())
        else:
            yield from ((model.label, name) for name in fields or ())


class ServedFields:
    """Which fields of which models the project's DRF serializers put in API responses."""

    def __init__(self, sources: Iterable[tuple[str, str]], models: ModelIndex) -> None:
        self.declared = {path: found for path, text in sources if (found := declarations(path, text))}
        self.fields = frozenset(
            exposed for path, found in self.declared.items() for exposed in _exposed(path, found, models)
        )

    def holds(self, path: str, text: str) -> bool:
        """Whether the file declares the same serializers with this text: then, over the same model
        index (the context cache checks it), the part says the same."""
        return declarations(path, text) == self.declared.get(path, ())

    def serves(self, label: str, field: str) -> bool:
        """Whether an API of the project serializes `field` of the model `label`."""
        if (label, field) in self.fields:
            return True
        return (label, "*") in self.fields and (label, f"-{field}") not in self.fields
