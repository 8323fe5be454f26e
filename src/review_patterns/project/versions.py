"""The project's Django version, read from what the project declares, never by importing Django.

Sources, first found wins: lock files (Poetry, uv, pip-tools pins), requirements files,
`pyproject.toml` dependencies (PEP 621 and Poetry), `setup.cfg` and `setup.py` `install_requires`,
and last the `django` installed where the tool runs. A range gives its lower bound: a project
declaring `Django>=4.2` must still work on 4.2, so a rule whose premise holds on 4.2 applies.
The `django-version` setting (`core.config`) overrides them all.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from review_patterns.syntax.parsing import UNREADABLE, parse_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: (major, minor)
Version = tuple[int, int]

_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+|\*)\w*)?(?:\.[\w*]+)*\s*$")
#: A requirement on Django: `Django[argon2] >= 4.2, < 5` or `django (>=5.1.8,<5.2.0)`, up to a marker or comment.
_REQUIREMENT = re.compile(r"^\s*django(?![\w.-])\s*(?:\[[^\]]*\])?\s*\(?\s*(?P<spec>[^;#()]*)", re.IGNORECASE)
#: Operators whose version bounds the release from below.
_LOWER = re.compile(r"(===|==|~=|>=|>|\^|~)\s*([\d][\w.*]*)")
_DECLARATIONS = frozenset({"poetry.lock", "uv.lock", "pdm.lock", "pyproject.toml", "setup.cfg", "setup.py"})
#: Requirements files, pip-tools' compiled `requirements.txt` among them, at the top or in `requirements/`.
_REQUIREMENTS_FILE = re.compile(r"^(requirements[^/]*\.(txt|in)|requirements/[^/]+\.(txt|in))$")


def parse_version(text: str) -> Version | None:
    """`"5.2"`, `"5.2.8"`, `"6"` -> (5, 2), (5, 2), (6, 0); None for anything else."""
    match = _VERSION.match(text)
    if match is None:
        return None
    minor = match.group(2)
    return int(match.group(1)), int(minor) if minor and minor != "*" else 0


def lower_bound(requirement: str) -> Version | None:
    """The lowest Django release a requirement line allows, or None when it is not on Django or has no lower bound."""
    match = _REQUIREMENT.match(requirement)
    if match is None:
        return None
    return spec_lower_bound(match.group("spec"))


def spec_lower_bound(spec: str) -> Version | None:
    """The lowest release a version specifier allows: `>=4.2,<5` -> (4, 2); Poetry's `^4.2` too."""
    bounds = [v for _, text in _LOWER.findall(spec) if (v := parse_version(text)) is not None]
    return max(bounds) if bounds else None


@dataclass(frozen=True)
class DjangoVersion:
    """The Django release the project runs on (its lowest supported one) and where that was read."""

    version: Version
    source: str  #: a file relative to the project root, "installed django", or "django-version setting"

    def at_least(self, major: int, minor: int = 0) -> bool:
        return self.version >= (major, minor)

    def __str__(self) -> str:
        return f"{self.version[0]}.{self.version[1]} ({self.source})"


Reader = Callable[[str], "str | None"]


def declared_django_version(files: Iterable[str], read: Reader) -> DjangoVersion | None:
    """The Django version a project declares, from its files (paths relative to one folder, read by `read`)."""
    names = sorted(files)
    for finder in (_from_locks, _from_requirements, _from_pyproject, _from_setup_cfg, _from_setup_py):
        found = min(finder(names, read), default=None, key=lambda d: d.version)
        if found is not None:
            return found
    return None


def installed_django_version(path: Iterable[str] | None = None) -> DjangoVersion | None:
    """The `django` installed where the tool runs: the first distribution named Django along `path`
    (`sys.path`), as `importlib.metadata` finds it, read from its metadata without importing either
    (`importlib.metadata` alone costs more than a whole cached run)."""
    for folder in sys.path if path is None else path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for name in names:
            stem, _, kind = name.rpartition(".")
            if kind in ("dist-info", "egg-info") and stem.partition("-")[0].lower() == "django":
                named = stem.partition("-")[2].partition("-")[0]  # `Django-5.2.8` or `Django-5.2.8-py3.12`
                version = parse_version(_metadata_version(os.path.join(folder, name)) or named)
                return DjangoVersion(version, "installed django") if version is not None else None
    return None


def _metadata_version(distribution: str) -> str | None:
    """The `Version:` header of a `.dist-info` (`METADATA`) or `.egg-info` (`PKG-INFO`, or the file itself)."""
    for candidate in (os.path.join(distribution, "METADATA"), os.path.join(distribution, "PKG-INFO"), distribution):
        try:
            with open(candidate, encoding="utf-8", errors="replace") as metadata:
                for line in metadata:
                    if not line.strip():
                        break  # the headers end at the first blank line
                    if line.lower().startswith("version:"):
                        return line.partition(":")[2].strip()
        except OSError:
            continue
    return None


def is_declaration_file(name: str) -> bool:
    """Whether a file relative to a project folder may declare the project's dependencies."""
    return name in _DECLARATIONS or _REQUIREMENTS_FILE.match(name) is not None


def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _from_locks(names: list[str], read: Reader) -> Iterator[DjangoVersion]:
    """`poetry.lock` and `uv.lock` (and `pdm.lock`): `[[package]] name = "django" version = "5.2.8"`."""
    for name in names:
        if name not in ("poetry.lock", "uv.lock", "pdm.lock") or (text := read(name)) is None:
            continue
        for package in _toml(text).get("package", []):
            if isinstance(package, dict) and str(package.get("name", "")).lower() == "django":
                version = parse_version(str(package.get("version", "")))
                if version is not None:
                    yield DjangoVersion(version, name)


def _from_requirements(names: list[str], read: Reader) -> Iterator[DjangoVersion]:
    for name in names:
        if _REQUIREMENTS_FILE.match(name) and (text := read(name)) is not None:
            for line in text.splitlines():
                if (version := lower_bound(line)) is not None:
                    yield DjangoVersion(version, name)


def _from_pyproject(names: list[str], read: Reader) -> Iterator[DjangoVersion]:
    if "pyproject.toml" not in names or (text := read("pyproject.toml")) is None:
        return
    table = _toml(text)
    for requirement in table.get("project", {}).get("dependencies", []):
        if isinstance(requirement, str) and (version := lower_bound(requirement)) is not None:
            yield DjangoVersion(version, "pyproject.toml")
    poetry = table.get("tool", {}).get("poetry", {})
    groups = [poetry.get("dependencies", {})]
    for key, spec in (d for group in groups if isinstance(group, dict) for d in group.items()):
        if key.lower() != "django":
            continue
        if isinstance(spec, dict):
            spec = spec.get("version", "")
        if isinstance(spec, str) and (version := spec_lower_bound(spec)) is not None:
            yield DjangoVersion(version, "pyproject.toml")


def _from_setup_cfg(names: list[str], read: Reader) -> Iterator[DjangoVersion]:
    if "setup.cfg" not in names or (text := read("setup.cfg")) is None:
        return
    inside = False
    for line in text.splitlines():
        if re.match(r"^\s*install_requires\s*=", line):
            inside = True
            line = line.split("=", 1)[1]
        elif inside and (not line[:1].isspace() and line.strip()):
            inside = False  # the next key ends the list
        if inside and (version := lower_bound(line.strip())) is not None:
            yield DjangoVersion(version, "setup.cfg")


def _from_setup_py(names: list[str], read: Reader) -> Iterator[DjangoVersion]:
    if "setup.py" not in names or (text := read("setup.py")) is None:
        return
    try:
        tree = parse_python(text)
    except UNREADABLE:
        return
    # `install_requires=[...]`, or a list bound to a name first (`install_requires = [...]`); classifiers
    # (`Framework :: Django :: 4.2`) never start with the package name.
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                if isinstance(element, ast.Constant) and isinstance(element.value, str):
                    if (version := lower_bound(element.value)) is not None:
                        yield DjangoVersion(version, "setup.py")
