"""What kind of module a file is: tests, fixtures, a migration, a management command, settings,
models, services, a script (decided here only, from the path; rules declare the kinds they skip)."""

from __future__ import annotations

import re
from enum import Enum
from functools import cached_property


class FileKind(str, Enum):
    """A kind of module. A file may be of several kinds (a fixture is also under tests)."""

    TEST = "test"  #: a test module or a test helper: run by the test runner, never in production
    FIXTURE = "fixture"  #: code kept as test data (fixture projects, other linters' rule samples)
    MIGRATION = "migration"  #: a Django (or South) migration module
    COMMAND = "command"  #: a management command, run by an operator
    SETTINGS = "settings"
    MODELS = "models"
    SERVICES = "services"
    SCRIPT = "script"  #: a file outside any package: `manage.py`, `setup.py`, `scripts/`, `bin/`


_KINDS: tuple[tuple[FileKind, re.Pattern[str]], ...] = (
    # `contests.py` and `latest.py` are not tests: a name must be `test(s)`, start `test_` or end `_test(s)`.
    (
        FileKind.TEST,
        re.compile(
            r"(^|/)(tests?/|testapps?/|testutils?/|tests?\.py$|test_[^/]*\.py$|[^/]*_tests?\.py$|conftest\.py$|testutils?\.py$)"
        ),
    ),
    (
        FileKind.FIXTURE,
        re.compile(
            r"(^|/)(tests?/([^/]+/)*(fixtures|testdata|test_data)/|testdata/|test_data/|\.semgrep/|eval_files/)"
        ),
    ),
    (FileKind.MIGRATION, re.compile(r"(^|/)(migrations|db_migrations|south_migrations)/(?!__init__\.py$)[^/]+\.py$")),
    (FileKind.COMMAND, re.compile(r"(^|/)management/commands/(?!__init__\.py$)[^/]+\.py$")),
    (FileKind.SETTINGS, re.compile(r"(^|/)(settings\.py$|settings/[^/]+\.py$)")),
    (FileKind.MODELS, re.compile(r"(^|/)(models\.py$|models/[^/]+\.py$)")),
    (FileKind.SERVICES, re.compile(r"(^|/)(services\.py$|services/[^/]+\.py$)")),
    (
        FileKind.SCRIPT,
        re.compile(r"(^|/)(scripts?|bin)/[^/]+\.py$|^(manage|setup|noxfile|fabfile)\.py$"),
    ),
)


def file_kinds(path: str) -> frozenset[FileKind]:
    """The kinds of the module at `path` (relative to the project, forward slashes)."""
    return frozenset(kind for kind, pattern in _KINDS if pattern.search(path))


class SourceFile:
    """A file being checked: its path (relative, forward slashes), text and what kind of module it is."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    @cached_property
    def module_name(self) -> str:
        """`blog/views.py` -> `blog.views`; `blog/__init__.py` -> `blog`."""
        parts = self.path.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(p for p in parts if p not in ("", "."))

    @cached_property
    def package(self) -> str:
        parts = self.path.split("/")[:-1]
        return ".".join(p for p in parts if p not in ("", "."))

    @cached_property
    def kinds(self) -> frozenset[FileKind]:
        return file_kinds(self.path)

    @property
    def is_test(self) -> bool:
        """A test module or test helper (the one definition; `contests.py` is not one)."""
        return FileKind.TEST in self.kinds

    @property
    def is_migration(self) -> bool:
        return FileKind.MIGRATION in self.kinds

    @property
    def is_models_module(self) -> bool:
        return FileKind.MODELS in self.kinds

    @property
    def is_settings(self) -> bool:
        return FileKind.SETTINGS in self.kinds

    @property
    def is_services_module(self) -> bool:
        return FileKind.SERVICES in self.kinds
