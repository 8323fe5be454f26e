"""What the project's settings modules say (`AUTH_USER_MODEL`, `INSTALLED_APPS`, `USE_TZ`), read with `ast`,
and which installed apps can be found without importing them."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from review_patterns.syntax.ast_names import ast_string, top_level
from review_patterns.syntax.files import FileKind, file_kinds, module_name
from review_patterns.syntax.parsing import UNREADABLE, parse_python

SETTINGS_PATH = re.compile(r"(^|/)(settings\.py$|settings/[^/]+\.py$|settings_[^/]*\.py$)")


def find_installed_module(name: str, search: Iterable[str] | None = None) -> Path | None:
    """The file of an importable module, found along `search` (else `sys.path`) without importing it."""
    relative = Path(*name.split("."))
    for entry in search if search is not None else sys.path:
        if not entry:
            continue
        folder = Path(entry)
        for candidate in (folder / relative.with_suffix(".py"), folder / relative / "__init__.py"):
            try:
                if candidate.is_file():
                    return candidate
            except OSError:
                continue
    return None


@dataclass(frozen=True)
class Settings:
    """What the project's settings modules say, read with `ast`."""

    #: `AUTH_USER_MODEL` (the first settings module's: base.py before test.py)
    user_model: str | None = None
    installed_apps: tuple[str, ...] = ()  #: every `INSTALLED_APPS` entry
    #: `USE_TZ`: False when the settings (test settings aside) set it only to a literal False;
    #: None when none sets it
    use_tz: bool | None = None


def read_settings(paths: Iterable[str], read: Callable[[str], str | None]) -> Settings:
    """What the project's settings modules (`SETTINGS_PATH`) say."""
    user_model: str | None = None
    installed: list[str] = []
    use_tz: set[bool] = set()
    for path in paths:
        if not SETTINGS_PATH.search(path):
            continue
        text = read(path)
        if text is None or not any(name in text for name in ("AUTH_USER_MODEL", "INSTALLED_APPS", "USE_TZ")):
            continue
        try:
            tree = parse_python(text)
        except UNREADABLE:
            continue
        for stmt in top_level(tree.body):
            if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
                continue
            target = stmt.targets[0]
            if not isinstance(target, ast.Name):
                continue
            if target.id == "AUTH_USER_MODEL" and (value := ast_string(stmt.value)) and "." in value:
                user_model = user_model or value
            elif target.id == "INSTALLED_APPS" and isinstance(stmt.value, (ast.List, ast.Tuple)):
                installed += [s for e in stmt.value.elts if (s := ast_string(e))]
            elif target.id == "USE_TZ" and FileKind.TEST not in file_kinds(path):
                # anything but a literal False (`env.bool("USE_TZ", True)`) may be True
                use_tz.add(not (isinstance(stmt.value, ast.Constant) and stmt.value.value is False))
    return Settings(user_model, tuple(installed), None if not use_tz else any(use_tz))


def unresolved_apps(
    paths: Sequence[str], read: Callable[[str], str | None], search: Sequence[str] | None = None
) -> list[str]:
    """The `INSTALLED_APPS` entries whose package is neither in the project nor importable along
    `search` (else `sys.path`), so the index cannot know their models. Django's own apps are known
    (shipped) or have none."""
    installed = read_settings(paths, read).installed_apps
    project = {module_name(p) for p in paths}
    missing = []
    for entry in dict.fromkeys(installed):
        app = installed_app(entry)
        if app.startswith("django.") or any(_holds(m, app) for m in project):
            continue
        if find_installed_module(app, search) is None:
            missing.append(app)
    return missing


def installed_app(entry: str) -> str:
    """The package an `INSTALLED_APPS` entry names: the entry, or for the path of an `AppConfig` class
    (its last part in CapWords: `blog.apps.BlogConfig`, `site.admin.SiteAdminConfig`) the module holding
    the class, less a final `.apps`."""
    module, _, last = entry.rpartition(".")
    if not (module and last[:1].isupper()):
        return entry
    return module.removesuffix(".apps")


def _holds(module: str, package: str) -> bool:
    """Whether `module` is `package` or lies in it, also below a source folder (`src.blog.models`) and
    in a namespace package (a folder without `__init__.py`)."""
    dotted = f".{module}."
    return f".{package}." in dotted
