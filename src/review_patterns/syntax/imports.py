"""What each imported local name stands for (`Fx` -> `django.db.models.F`): `import_aliases` for the
LibCST modules being checked (the semantic model binds them); `ast_names.AstImportTable` for the
`ast` modules the project context reads."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from review_patterns.syntax.ast_names import absolute_module
from review_patterns.syntax.names import dotted_name


def import_aliases(node: cst.Import | cst.ImportFrom, package: str = "") -> Iterator[tuple[str, str]]:
    """The local names an import statement binds, with what each stands for: `from django.db.models
    import F as Fx` -> (`Fx`, `django.db.models.F`); `import os.path` -> (`os`, `os`). The semantic
    model reads every import of a checked module through this."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            target = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, target
            else:
                head = target.split(".")[0]
                yield head, head
        return
    if isinstance(node.names, cst.ImportStar):
        return
    module = dotted_name(node.module) if node.module is not None else ""
    base = absolute_module(package, module, len(node.relative))
    for alias in node.names:
        name = dotted_name(alias.name) or ""
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        yield local, f"{base}.{name}" if base else name
