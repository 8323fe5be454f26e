"""What kind of module a file is: a migration, models, tests, settings, services (decided here only)."""

from __future__ import annotations

import re
from functools import cached_property

_MIGRATION = re.compile(r"(^|/)(migrations|db_migrations|south_migrations)/[^/]+\.py$")
_MODELS = re.compile(r"(^|/)(models\.py$|models/[^/]+\.py$)")
_TESTS = re.compile(r"(^|/)(tests?/|tests?\.py$|test_[^/]*\.py$|[^/]*_tests?\.py$|conftest\.py$|testutils?\.py$)")
_SETTINGS = re.compile(r"(^|/)(settings\.py$|settings/[^/]+\.py$)")
_SERVICES = re.compile(r"(^|/)(services\.py$|services/[^/]+\.py$)")


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
    def is_migration(self) -> bool:
        return bool(_MIGRATION.search(self.path)) and not self.path.endswith("__init__.py")

    @cached_property
    def is_models_module(self) -> bool:
        return bool(_MODELS.search(self.path))

    @cached_property
    def is_test(self) -> bool:
        return bool(_TESTS.search(self.path))

    @cached_property
    def is_settings(self) -> bool:
        return bool(_SETTINGS.search(self.path))

    @cached_property
    def is_services_module(self) -> bool:
        return bool(_SERVICES.search(self.path))
