"""Generates `src/review_patterns/project/django_contrib.json`: the models of Django's contrib apps,
per Django version, for the model index to use where Django is not importable (pre-commit's
isolated environment, a CI job that installs only the linter).

Each module is reduced with `ast` to what the index reads: imports, and classes with their bases,
their class-level assignments (fields, managers, `Meta`) and their method names (bodies dropped).

    python scripts/contrib_models.py PATH_TO_SITE_PACKAGES_OR_SOURCE [...]

Each PATH holds a `django/` package; its version is read from `django/__init__.py`. The versions
found are merged into the existing file, so one can add a version without the others at hand.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

APPS = ("auth", "contenttypes", "sessions", "admin", "sites", "flatpages", "redirects")
OUTPUT = Path(__file__).resolve().parent.parent / "src/review_patterns/project/django_contrib.json"


def version_of(root: Path) -> str:
    """`5.2` from `VERSION = (5, 2, 8, "final", 0)` in `django/__init__.py`."""
    text = (root / "django/__init__.py").read_text(encoding="utf-8")
    found = re.search(r"VERSION\s*=\s*\((\d+),\s*(\d+)", text)
    if found is None:
        raise SystemExit(f"{root}: no VERSION in django/__init__.py")
    return f"{found.group(1)}.{found.group(2)}"


def reduce_class(node: ast.ClassDef) -> ast.ClassDef:
    """The class with its assignments, nested classes and method stubs; docstrings and bodies dropped."""
    body: list[ast.stmt] = []
    for stmt in node.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            body.append(stmt)
        elif isinstance(stmt, ast.ClassDef):
            body.append(reduce_class(stmt))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stub = ast.FunctionDef(
                name=stmt.name,
                args=ast.arguments(posonlyargs=[], args=[ast.arg("self")], kwonlyargs=[], kw_defaults=[], defaults=[]),
                body=[ast.Expr(ast.Constant(...))],
                decorator_list=[],
                returns=None,
                type_params=[],
            )
            body.append(stub)
    node = ast.ClassDef(
        name=node.name,
        bases=node.bases,
        keywords=node.keywords,
        body=body or [ast.Pass()],
        decorator_list=[],
        type_params=[],
    )
    return node


def reduce_module(text: str) -> tuple[str, list[str]]:
    """The reduced source, and the `django.contrib` modules it imports from."""
    tree = ast.parse(text)
    kept: list[ast.stmt] = []
    imported: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            kept.append(stmt)
            if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.module.startswith("django.contrib."):
                imported.append(stmt.module)
        elif isinstance(stmt, ast.ClassDef):
            kept.append(reduce_class(stmt))
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            kept.append(stmt)  # module constants such as ADDITION = 1
    module = ast.Module(body=kept, type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(module)) + "\n", imported


_DEFINES_MODELS = re.compile(r"^class \w+\([^)]*(?:Model|Manager)\b", re.MULTILINE)


def module_file(root: Path, name: str) -> Path | None:
    relative = Path(*name.split("."))
    for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def describe(root: Path) -> dict[str, str]:
    """Module name -> reduced source: each app's `models` and the contrib modules they import from."""
    wanted = [f"django.contrib.{app}.models" for app in APPS]
    found: dict[str, str] = {}
    while wanted:
        name = wanted.pop()
        if name in found:
            continue
        file = module_file(root, name)
        if file is None or name.split(".")[2] not in APPS:
            continue
        text, imported = reduce_module(file.read_text(encoding="utf-8"))
        if name.endswith(".models") or _DEFINES_MODELS.search(text):  # not helpers such as admin.utils
            found[name] = text
            wanted += [m for m in imported if m not in found]
    return dict(sorted(found.items()))


def main(argv: list[str]) -> int:
    data: dict[str, dict[str, str]] = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    for argument in argv:
        root = Path(argument)
        data[version_of(root)] = describe(root)
    ordered = dict(sorted(data.items(), key=lambda item: tuple(int(p) for p in item[0].split("."))))
    OUTPUT.write_text(json.dumps(ordered, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    for version, modules in ordered.items():
        print(f"{version}: {len(modules)} modules, {sum(len(t) for t in modules.values())} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
