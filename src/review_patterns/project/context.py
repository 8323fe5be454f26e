"""The project context: what rules know beyond the file they check, built once per run.

Each part is computed on first use, so a run that selects no rule needing it never pays for it.
The context reads the project's files as text; it never imports or runs them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path

from review_patterns.project.clients import ProjectClients, index_clients
from review_patterns.project.exceptions import ExceptionIndex
from review_patterns.project.migrations import MigrationHistory
from review_patterns.project.models import ModelIndex
from review_patterns.project.quota import QuotaIndex

#: Folder names never checked nor read for the context.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        "env",
        ".env",
        "node_modules",
        "build",
        "dist",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        ".eggs",
    }
)
#: Files that mark the top of a project.
ROOT_MARKERS = ("manage.py", "pyproject.toml", "setup.py", "setup.cfg", ".git")


def is_skipped_dir(path: Path) -> bool:
    """Virtualenvs, VCS folders, build output and caches."""
    return path.name in SKIPPED_DIRS or path.name.endswith(".egg-info") or (path / "pyvenv.cfg").exists()


def find_project_root(path: Path) -> Path:
    """The nearest folder at or above `path` holding a project marker, else `path`'s own folder."""
    start = path.resolve()
    if not start.is_dir():
        start = start.parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    return start


def walk_python_files(top: Path) -> Iterator[Path]:
    """Every `.py` file below `top`, in a stable order, skipping `SKIPPED_DIRS` and virtualenvs."""
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not is_skipped_dir(here / d))
        for name in sorted(files):
            if name.endswith(".py"):
                yield here / name


_METHOD = re.compile(r"^[ \t]+(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


class ProjectContext:
    """The project around the checked files: its sources on disk, or given in memory."""

    def __init__(self, root: Path | None = None, sources: Mapping[str, str] | None = None) -> None:
        self.root = root
        self._sources = dict(sources) if sources is not None else None

    @classmethod
    def empty(cls) -> ProjectContext:
        return cls(sources={})

    @classmethod
    def from_sources(cls, sources: Mapping[str, str]) -> ProjectContext:
        """A project held in memory: relative path -> text (examples and tests)."""
        return cls(sources=sources)

    @classmethod
    def for_path(cls, path: Path) -> ProjectContext:
        """The project holding `path`, read from disk around it."""
        return cls(root=find_project_root(path))

    @cached_property
    def paths(self) -> tuple[str, ...]:
        """The project's Python files, relative to its root, with forward slashes."""
        if self._sources is not None:
            return tuple(sorted(self._sources))
        assert self.root is not None
        return tuple(p.relative_to(self.root).as_posix() for p in walk_python_files(self.root))

    def read(self, path: str) -> str | None:
        """The text of a project file, or None when it cannot be read as text."""
        if self._sources is not None:
            return self._sources.get(path)
        assert self.root is not None
        try:
            return (self.root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def sources(self, wanted: re.Pattern[str] | None = None) -> Iterator[tuple[str, str]]:
        """(path, text) of each readable project file, or only those whose path matches `wanted`."""
        for path in self.paths:
            if wanted is None or wanted.search(path):
                text = self.read(path)
                if text is not None:
                    yield path, text

    @cached_property
    def method_names(self) -> frozenset[str]:
        """Names of the functions the project defines inside a class or function (indented `def`)."""
        return frozenset(name for _, text in self.sources() for name in _METHOD.findall(text))

    # The parts below are computed on first use (one cached property each).

    # -- migration history (RP2xx) --

    @cached_property
    def migrations(self) -> MigrationHistory:
        """Every migrations package of the project, ordered and replayed (read with `ast`, never imported)."""
        return MigrationHistory.from_sources(self.sources(), self.read)

    # -- model index (RP4xx) --

    @cached_property
    def models(self) -> ModelIndex:
        """Every model of the project and of the installed apps it uses, read statically."""
        return ModelIndex(self.paths, self.read)

    # -- exception classes (RP302) --

    @cached_property
    def exceptions(self) -> ExceptionIndex:
        """The project's classes and their bases: which exceptions reach clients, which are its own."""
        return ExceptionIndex(self.sources(), self.read)

    # -- quota guards and clients (RP5xx) --

    @cached_property
    def redis_clients(self) -> ProjectClients:
        """Module-level Redis clients, Django caches and factories returning them, by qualified name."""
        return index_clients(self.sources())

    @cached_property
    def quota_index(self) -> QuotaIndex:
        """The quota guards the project defines and the API clients guarded functions call (RP504)."""
        return QuotaIndex(self)
