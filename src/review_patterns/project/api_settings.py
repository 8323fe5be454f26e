"""What a project's settings say about its API (RP6xx): DRF's `REST_FRAMEWORK` defaults (permission,
throttle and versioning classes), the middleware, and whether DRF is installed. Read with `ast` from
every settings module (`settings.py`, `settings/*.py`), never imported."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from review_patterns.project.settings import SETTINGS_PATH
from review_patterns.syntax.ast_names import top_level
from review_patterns.syntax.files import FileKind, file_kinds
from review_patterns.syntax.parsing import UNREADABLE, parse_python

#: The `REST_FRAMEWORK` keys the API rules read.
_KEYS = (
    "DEFAULT_PERMISSION_CLASSES",
    "DEFAULT_THROTTLE_CLASSES",
    "DEFAULT_THROTTLE_RATES",
    "DEFAULT_VERSIONING_CLASS",
)


@dataclass
class ApiSettings:
    """The project's settings modules, merged: each key lists the values the modules give it.

    A module may give a value that cannot be read statically (`REST_FRAMEWORK = build()`): the key
    is then `opaque`, and rules asking about it assume the value protects (they stay silent)."""

    found: bool = False  #: a settings module was read
    drf_installed: bool = False  #: `rest_framework` is in `INSTALLED_APPS`
    #: key -> one entry per settings module that sets it: the dotted names it lists (or the rates' scopes)
    values: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    opaque: set[str] = field(default_factory=set)  #: keys some module sets to something unreadable
    middleware: list[str] = field(default_factory=list)  #: every `MIDDLEWARE` entry of every module

    def given(self, key: str) -> list[tuple[str, ...]] | None:
        """The values the settings give `key` (empty: none does); None when they cannot be known."""
        if not self.found or key in self.opaque:
            return None
        return self.values.get(key, [])


def read_api_settings(sources: Iterable[tuple[str, str]]) -> ApiSettings:
    """The settings modules merged, not those of the test suite (`tests/settings.py`): a reusable app
    configures DRF only there, and no deployment runs with them."""
    settings = ApiSettings()
    for path, text in sources:
        if not SETTINGS_PATH.search(path) or FileKind.TEST in file_kinds(path):
            continue
        try:
            tree = parse_python(text)
        except UNREADABLE:
            continue
        settings.found = True
        for stmt in top_level(tree.body):
            _read_statement(stmt, settings)
    return settings


def _read_statement(stmt: ast.stmt, settings: ApiSettings) -> None:
    if isinstance(stmt, (ast.Assign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id == "REST_FRAMEWORK":
                _read_dict(stmt.value, settings)
            elif isinstance(target, ast.Name) and target.id == "INSTALLED_APPS":
                settings.drf_installed |= "rest_framework" in _all_strings(stmt.value)
            elif isinstance(target, ast.Name) and target.id == "MIDDLEWARE":
                settings.middleware += _all_strings(stmt.value)
            elif (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "REST_FRAMEWORK"
                and isinstance(target.slice, ast.Constant)
                and target.slice.value in _KEYS
            ):
                _read_value(str(target.slice.value), stmt.value, settings)
    elif (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and isinstance(stmt.value.func.value, ast.Name)
        and stmt.value.func.value.id in ("REST_FRAMEWORK", "INSTALLED_APPS", "MIDDLEWARE")
    ):
        _read_method_call(stmt.value.func.value.id, stmt.value, settings)


def _read_method_call(owner: str, call: ast.Call, settings: ApiSettings) -> None:
    assert isinstance(call.func, ast.Attribute)
    if owner == "REST_FRAMEWORK" and call.func.attr == "update":
        for arg in call.args:
            _read_dict(arg, settings)
        for kw in call.keywords:
            if kw.arg in _KEYS:
                _read_value(kw.arg, kw.value, settings)
            elif kw.arg is None:
                settings.opaque.update(_KEYS)
    elif owner == "REST_FRAMEWORK" and call.func.attr == "setdefault" and len(call.args) == 2:
        key = call.args[0]
        if isinstance(key, ast.Constant) and key.value in _KEYS:
            _read_value(str(key.value), call.args[1], settings)
    elif owner == "INSTALLED_APPS":
        settings.drf_installed |= any("rest_framework" in _all_strings(arg) for arg in call.args)
    elif owner == "MIDDLEWARE":
        for arg in call.args:
            settings.middleware += _all_strings(arg)


def _read_dict(value: ast.expr, settings: ApiSettings) -> None:
    if not isinstance(value, ast.Dict):
        settings.opaque.update(_KEYS)  # `REST_FRAMEWORK = build_settings()`
        return
    for key, item in zip(value.keys, value.values, strict=True):
        if key is None:  # `{**BASE, ...}`: what BASE holds is not followed
            settings.opaque.update(_KEYS)
        elif isinstance(key, ast.Constant) and key.value in _KEYS:
            _read_value(str(key.value), item, settings)


def _read_value(key: str, value: ast.expr, settings: ApiSettings) -> None:
    if isinstance(value, ast.Dict):  # the throttle rates: their scopes
        names = tuple(k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
        if len(names) != len(value.keys):
            settings.opaque.add(key)
        settings.values.setdefault(key, []).append(names)
        return
    if isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, str)):
        settings.values.setdefault(key, []).append((value.value,) if value.value else ())
        return
    if isinstance(value, (ast.List, ast.Tuple)):
        listed = _strings(value)
        if len(listed) == len(value.elts):
            settings.values.setdefault(key, []).append(tuple(listed))
            return
    settings.opaque.add(key)


def _strings(value: ast.expr) -> list[str]:
    """The string literals a list or tuple holds."""
    if not isinstance(value, (ast.List, ast.Tuple)):
        return []
    return [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def _all_strings(value: ast.expr) -> list[str]:
    """Every string literal in an expression: `[...] + [...]`, a conditional, a call's arguments."""
    return [n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
