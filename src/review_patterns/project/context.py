"""The project context: what rules know beyond the file they check, built once per run.

Each part is computed on first use, so a run that selects no rule needing it never pays for it;
its reader module is imported then too, so a run of cached files imports none of them.
The context reads the project's files as text; it never imports or runs them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields, is_dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from review_patterns.project.contrib import contrib_version
from review_patterns.project.tracebacks import may_log_tracebacks, module_loggers
from review_patterns.project.versions import (
    DjangoVersion,
    Version,
    declared_django_version,
    installed_django_version,
    is_declaration_file,
)
from review_patterns.syntax.files import MAX_FILE_SIZE, FileKind, SourceFile, module_name, read_text

if TYPE_CHECKING:
    from review_patterns.project.clients import ProjectClients
    from review_patterns.project.endpoints import EndpointIndex, PaidOptions
    from review_patterns.project.exceptions import ExceptionIndex
    from review_patterns.project.instances import Instantiations
    from review_patterns.project.migrations import MigrationHistory
    from review_patterns.project.models import ModelIndex
    from review_patterns.project.quota import QuotaIndex
    from review_patterns.project.releases import Releases
    from review_patterns.project.serializers import ServedFields

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


def is_skipped_dir(path: Path | str) -> bool:
    """Virtualenvs, VCS folders, build output and caches."""
    name = os.path.basename(path)
    return name in SKIPPED_DIRS or name.endswith(".egg-info") or os.path.exists(os.path.join(path, "pyvenv.cfg"))


def find_project_root(path: Path, known: dict[str, str | None] | None = None, default: Path | None = None) -> Path:
    """The nearest folder at or above `path` holding a project marker, else `default`, else `path`'s own
    folder. `known` keeps what was found for each folder looked at, for the next call (the folders of a tree).

    A package whose only marker is a `manage.py` (Review Board's `reviewboard/manage.py`) is not a root:
    its modules are imported by the package's name, from a folder above (the nearest marked one; the
    package itself when there is none)."""
    start = path.resolve()
    if not start.is_dir():
        start = start.parent
    known = {} if known is None else known
    trail = []
    package_with_manage: str | None = None
    folder = str(start)
    while folder not in known:
        trail.append(folder)
        markers = [m for m in ROOT_MARKERS if os.path.exists(os.path.join(folder, m))]
        if markers == ["manage.py"] and os.path.exists(os.path.join(folder, "__init__.py")):
            package_with_manage = package_with_manage or folder
        elif markers:
            known[folder] = folder
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            known[folder] = None
            break
        folder = parent
    marked = known[folder]
    if marked is None and package_with_manage is not None:
        below = trail[: trail.index(package_with_manage) + 1]
        known.update(dict.fromkeys(below, package_with_manage))
        known.update(dict.fromkeys(trail[len(below) :], None))
        marked = known[trail[0]]
    else:
        known.update(dict.fromkeys(trail, marked))
    if marked is not None:
        return Path(marked)
    return default if default is not None else start


@functools.cache
def _started_from() -> frozenset[str]:
    """What Python puts first on `sys.path` for what started it: "" for `-c`, the current folder for
    `-m`, the script's folder for a script (the `review-patterns` command). It says how the tool
    was started, not what is installed; the context cache keys on the search path, and each way of
    starting the tool rebuilt what the others had kept."""
    script = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c") else None
    folders = {os.path.dirname(os.path.abspath(script)), os.path.dirname(os.path.realpath(script))} if script else set()
    return frozenset({"", os.getcwd(), *folders})


def walk_python_files(top: Path) -> Iterator[str]:
    """Every `.py` file below `top`, relative to it with forward slashes, in a stable order (a folder's
    files, then its folders), skipping `SKIPPED_DIRS` and virtualenvs; links to folders are not followed."""
    yield from _python_files(str(top), "", top=True)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """Whether the entry is a folder or a link to one; a link to nowhere or in a loop is not."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _python_files(folder: str, prefix: str, top: bool = False) -> Iterator[str]:
    """One `scandir` per folder: a virtualenv is known by the `pyvenv.cfg` in its listing, a file from
    a folder by the listing's entry type (no call per file or folder, as `os.walk` plus a check did)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    if not top and any(entry.name == "pyvenv.cfg" and entry.is_file() for entry in entries):
        return
    folders = []
    for entry in entries:
        if _is_folder(entry):
            name = entry.name
            if not entry.is_symlink() and name not in SKIPPED_DIRS and not name.endswith(".egg-info"):
                folders.append(name)
        elif entry.name.endswith(".py"):
            yield prefix + entry.name
    for name in folders:
        yield from _python_files(os.path.join(folder, name), f"{prefix}{name}/")


def _looks_like_migration(text: str) -> bool:
    from review_patterns.project.migrations import looks_like_migration

    return looks_like_migration(text)


def _may_change_models(path: str, text: str, models: frozenset[str], modules: frozenset[str]) -> bool:
    from review_patterns.project.models import may_change_index

    return may_change_index(path, text, models, modules)


def _may_bind_clients(text: str) -> bool:
    from review_patterns.project.clients import worth_reading

    return worth_reading(text)


def _may_change_exceptions(path: str, text: str, handler_paths: frozenset[str]) -> bool:
    from review_patterns.project.exceptions import may_change_index

    return may_change_index(path, text, handler_paths)


def _paid_options(options: list[list[str]]) -> PaidOptions:
    from review_patterns.project.endpoints import PaidOptions

    return PaidOptions.of(options)


T = TypeVar("T")


class part(Generic[T]):  # lower case: used as a decorator, like cached_property
    """A part of the project knowledge: computed on first use, and recorded in `touched` at every use.

    The result cache keys a file's findings on the fingerprints of exactly the parts its rules read.
    """

    #: Whether a use is recorded; an index whose answers depend on the rules' options records each
    #: question it answers instead (`ProjectContext.DERIVED`).
    recorded = True

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, context: None, owner: type) -> part[T]: ...
    @overload
    def __get__(self, context: ProjectContext, owner: type) -> T: ...
    def __get__(self, context: ProjectContext | None, owner: type) -> part[T] | T:
        if context is None:
            return self
        if self.recorded:
            context.touched.add(self.name)
        built = context._parts
        if self.name not in built:
            stored = context.store.load(context, self.name) if context.store is not None else None
            if stored is not None:
                built[self.name], context._fingerprints[self.name] = stored
            else:
                built[self.name] = self.compute(context)
                if self.recorded and (context.fingerprinting or context.store is not None):
                    context.fingerprint(self.name)  # now, before lookups memoize more into the part
                if self.recorded and context.store is not None:
                    context.store.save(context, self.name, built[self.name], context._fingerprints[self.name])
        value: T = built[self.name]
        return value


class index(part[T]):  # lower case: used as a decorator
    """A part whose answers depend on the rules' options: each answer is recorded as read (a name
    of `ProjectContext.DERIVED` with its arguments), never the whole part."""

    recorded = False


class PartStore(Protocol):
    """Keeps built parts between runs (the cache's `ContextCache`)."""

    def load(self, context: ProjectContext, name: str) -> tuple[Any, str] | None:
        """The part and its fingerprint as stored for this state of the project, else None."""

    def save(self, context: ProjectContext, name: str, value: Any, fingerprint: str) -> None: ...

    def fingerprint(self, context: ProjectContext, name: str) -> str | None:
        """The stored part's fingerprint, read without loading the part, else None."""

    def remember(self, context: ProjectContext, name: str, fingerprint: str) -> None:
        """Keeps the fingerprint of an answer (`ProjectContext.DERIVED`) while no project file changes."""


def stable_digest(value: Any) -> str:
    """A digest of plain data (dataclasses, mappings, sets, sequences, scalars, `ast` nodes, simple
    objects) that depends neither on the hash seed nor on the order of sets, so that it is the same
    in every process. Dataclass fields declared `repr=False` are working state and are left out."""
    digest = hashlib.blake2b(digest_size=16)
    active: set[int] = set()  # objects being fed: a cycle is fed once

    def feed(item: Any) -> None:
        if isinstance(item, Enum):
            feed(item.value)
        elif item is None or isinstance(item, (str, int, float, bool)):
            digest.update(f"{type(item).__name__}:{item!r};".encode())
        elif isinstance(item, ast.AST):
            digest.update(ast.dump(item).encode())
        elif id(item) in active:
            digest.update(b"^")
        else:
            active.add(id(item))
            feed_container(item)
            active.discard(id(item))

    def feed_container(item: Any) -> None:
        if is_dataclass(item) and not isinstance(item, type):
            digest.update(f"{type(item).__name__}(".encode())
            for f in fields(item):
                if f.repr:
                    digest.update(f"{f.name}=".encode())
                    feed(getattr(item, f.name))
            digest.update(b")")
        elif isinstance(item, Mapping):
            digest.update(b"{")
            for key in sorted(item, key=repr):
                feed(key)
                feed(item[key])
            digest.update(b"}")
        elif isinstance(item, (set, frozenset)):
            digest.update(b"<")
            for element in sorted(item, key=repr):
                feed(element)
            digest.update(b">")
        elif isinstance(item, (list, tuple)):
            digest.update(b"[")
            for element in item:
                feed(element)
            digest.update(b"]")
        elif hasattr(item, "__dict__") and not callable(item):
            digest.update(f"{type(item).__name__}(".encode())
            feed(vars(item))
            digest.update(b")")
        else:
            raise TypeError(f"cannot digest {type(item).__name__}")

    feed(value)
    return digest.hexdigest()


#: The size limit of a dependency declaration (a lock file of a large project is several megabytes).
MAX_DECLARATION_SIZE = 50_000_000


def _read_in(folder: Path, name: str) -> str | None:
    return read_text(folder / name, MAX_DECLARATION_SIZE)


def _declaring_folders(root: Path) -> Iterator[Path]:
    """`root`, then, when `root` lies in a repository whose top is at most three folders up (a
    `backend/` beside the requirements), the folders up to that top; never beyond it."""
    yield root
    if (root / ".git").exists():
        return
    parents = list(root.resolve().parents)[:3]
    top = next((i for i, parent in enumerate(parents) if (parent / ".git").exists()), None)
    if top is not None:
        yield from parents[: top + 1]


def _declaration_files(folder: Path) -> list[str]:
    """The files of `folder` (and of its `requirements/`) that may declare dependencies."""
    names: list[str] = []
    for sub in (folder, folder / "requirements"):
        try:
            entries = [p.name for p in sub.iterdir() if p.is_file()]
        except OSError:
            continue
        prefix = "" if sub == folder else "requirements/"
        names += [prefix + name for name in entries if is_declaration_file(prefix + name)]
    return names


_METHOD = re.compile(r"^[ \t]+(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


class Names(frozenset[str]):
    """Names the project's files define, with those of each file (`by_path`): a kept part so read
    still holds after a file that defines the same names changed."""

    by_path: dict[str, frozenset[str]]

    @classmethod
    def of(cls, found: Iterable[tuple[str, frozenset[str]]]) -> Names:
        by_path = {path: names for path, names in found if names}
        names = cls(name for defined in by_path.values() for name in defined)
        names.by_path = by_path
        return names

    def holds(self, path: str, defined: frozenset[str]) -> bool:
        """Whether the file at `path`, now defining `defined`, leaves the names as they are."""
        return self.by_path.get(path, frozenset()) == defined


def _functions_defined(path: str, text: str) -> frozenset[str]:
    """The functions and methods a file defines, none for a migration."""
    return frozenset() if FileKind.MIGRATION in SourceFile(path, text).kinds else frozenset(_DEF.findall(text))


class ProjectContext:
    """The project around the checked files: its sources on disk, or given in memory."""

    def __init__(
        self,
        root: Path | None = None,
        sources: Mapping[str, str] | None = None,
        *,
        django_version: Version | None = None,
        release_tags: str | None = None,
        since: str | None = None,
        releases: Releases | None = None,
        python_path: Sequence[str] = (),
        max_file_size: int = MAX_FILE_SIZE,
    ) -> None:
        """`django_version` is the `django-version` setting: it overrides what the project declares.
        `release_tags`: the pattern of release tags (None: tags that look like versions); `since`: the
        commit a `--diff` review compares with; `releases`: known releases (for projects in memory).
        `python_path`: the `python-path` setting, folders searched for installed apps before `sys.path`;
        `max_file_size`: project files larger than this are not read (the `max-file-size` setting)."""
        self.root = root
        self._sources = dict(sources) if sources is not None else None
        self.django_version_setting = django_version
        self._release_tags = release_tags
        self._since = since
        self.python_path = tuple(python_path)
        self.max_file_size = max_file_size
        self._parts: dict[str, Any] = {} if releases is None else {"releases": releases}
        self._fingerprints: dict[str, str] = {}
        #: Names of the parts read since last cleared: the result cache records them per file.
        self.touched: set[str] = set()
        #: Set by the result cache: fingerprint each part as soon as it is built.
        self.fingerprinting = False
        #: Where built parts are kept between runs, if anywhere.
        self.store: PartStore | None = None

    @property
    def settings(self) -> tuple[Version | None, str | None, str | None, tuple[str, ...], int]:
        """What the context was built with: the Django version setting, the release tags, the `--diff` base,
        the `python-path` folders and the size limit."""
        return (self.django_version_setting, self._release_tags, self._since, self.python_path, self.max_file_size)

    @property
    def search_path(self) -> tuple[str, ...]:
        """Where installed apps are looked for: the `python-path` folders, then `sys.path`, less the
        folder Python put first for what started it (see `_started_from`)."""
        path = sys.path[1:] if sys.path and sys.path[0] in _started_from() else sys.path
        return (*self.python_path, *path)

    @classmethod
    def empty(cls, *, django_version: Version | None = None) -> ProjectContext:
        return cls(sources={}, django_version=django_version)

    @classmethod
    def from_sources(
        cls, sources: Mapping[str, str], *, django_version: Version | None = None, releases: Releases | None = None
    ) -> ProjectContext:
        """A project held in memory: relative path -> text (examples and tests); may hold
        `requirements.txt`, `pyproject.toml` and the like besides Python files."""
        return cls(sources=sources, django_version=django_version, releases=releases)

    @classmethod
    def for_path(cls, path: Path) -> ProjectContext:
        """The project holding `path`, read from disk around it."""
        return cls(root=find_project_root(path))

    @cached_property
    def paths(self) -> tuple[str, ...]:
        """The project's Python files, relative to its root, with forward slashes."""
        if self._sources is not None:
            return tuple(sorted(p for p in self._sources if p.endswith(".py")))
        assert self.root is not None
        return tuple(walk_python_files(self.root))

    def read(self, path: str) -> str | None:
        """The text of a project file, or None when it cannot be read as text."""
        if self._sources is not None:
            return self._sources.get(path)
        assert self.root is not None
        return read_text(self.root / path, self.max_file_size)

    def sources(self, wanted: re.Pattern[str] | None = None) -> Iterator[tuple[str, str]]:
        """(path, text) of each readable project file, or only those whose path matches `wanted`."""
        for path in self.paths:
            if wanted is None or wanted.search(path):
                text = self.read(path)
                if text is not None:
                    yield path, text

    @part
    def function_names(self) -> Names:
        """Names of the functions and methods the project defines outside migrations (its quota guards)."""
        return Names.of((path, _functions_defined(path, text)) for path, text in self.sources())

    @part
    def method_names(self) -> Names:
        """Names of the functions the project defines inside a class or function (indented `def`)."""
        return Names.of((path, frozenset(_METHOD.findall(text))) for path, text in self.sources())

    # The parts below are computed on first use (one cached property each).

    # -- the Django version (RP101 and every rule whose premise depends on it) --

    @part
    def django_version(self) -> DjangoVersion | None:
        """The Django release the project runs on: the `django-version` setting, else what the project
        declares (at its root, else in the folders above up to the repository's top), else the
        installed `django` (on-disk projects only). None when unknown: rules then assume any release."""
        return self.known_django_version

    @cached_property
    def known_django_version(self) -> DjangoVersion | None:
        """`django_version`, read without recording a use (the model index and the context cache read it)."""
        if self.django_version_setting is not None:
            return DjangoVersion(self.django_version_setting, "django-version setting")
        if self._sources is not None:
            return declared_django_version(self._sources, self._sources.get)
        assert self.root is not None
        for folder in _declaring_folders(self.root):
            names = _declaration_files(folder)
            found = declared_django_version(names, functools.partial(_read_in, folder))
            if found is not None:
                if folder != self.root:
                    prefix = os.path.relpath(folder, self.root)
                    found = DjangoVersion(found.version, f"{prefix}/{found.source}")
                return found
        return installed_django_version()

    # -- rows locked by callers (RP103) --

    @part
    def locked_rows(self) -> frozenset[tuple[str, str, str]]:
        """(class or "", function, parameter or `self`) holding a row a caller locked with `select_for_update()`."""
        from review_patterns.project.locking import locked_by_callers

        return locked_by_callers(self.sources())

    # -- migration history (RP2xx) --

    @part
    def releases(self) -> Releases:
        """The release each migration first shipped in, from git (unknown without git or release tags).
        Kept between runs under the repository's state (`KEYED`): a new commit or tag, a moved tag or
        another `--diff` base changes it, not the files."""
        from review_patterns.project.releases import Releases

        if self.root is None:
            return Releases()
        return Releases.read(self.root, self._release_tags, self._since)

    @cached_property
    def release_state(self) -> str | None:
        """What the releases depend on, read cheaply from git; None when git cannot tell."""
        from review_patterns.project import releases

        return None if self.root is None else releases.state(self.root, self._release_tags, self._since)

    @part
    def migration_files(self) -> MigrationHistory:
        """Every migrations package of the project, ordered and replayed (read with `ast`, never imported)."""
        from review_patterns.project.migrations import MigrationHistory

        return MigrationHistory.from_sources(self.sources(), self.read)

    @property
    def migrations(self) -> MigrationHistory:
        """The migration history, each migration with the release it first shipped in."""
        history = self.migration_files
        history.apply_releases(self.releases)
        return history

    # -- model index (RP4xx) --

    @cached_property
    def warnings(self) -> tuple[str, ...]:
        """What the context cannot know and the user can fix: apps whose models were not found."""
        from review_patterns.project.settings import unresolved_apps

        missing = unresolved_apps(self.paths, self.read, self.search_path)
        if not missing:
            return ()
        where = f" of {self.root.as_posix()}" if self.root is not None else ""
        return (
            f"INSTALLED_APPS{where} names {len(missing)} app{'s' * (len(missing) > 1)} whose models were not "
            f"found: {', '.join(missing)}; relations to their models are not followed (an N+1 through them is "
            "missed). Run review-patterns in the project's environment (where these apps are installed, e.g. "
            "pre-commit's `additional_dependencies`), or name the folder holding them in the `python-path` "
            "setting of [tool.review-patterns].",
        )

    @cached_property
    def contrib_version(self) -> str:
        """The Django release whose shipped contrib models stand in when Django is not importable."""
        known = self.known_django_version
        return contrib_version(known.version if known is not None else None)

    @part
    def models(self) -> ModelIndex:
        """Every model of the project and of the installed apps it uses, read statically: installed
        apps along `search_path`, Django's contrib apps from the shipped description of `contrib_version`
        when Django is not importable."""
        from review_patterns.project.models import ModelIndex

        return ModelIndex(self.paths, self.read, search=self.search_path, contrib=self.contrib_version)

    # -- exception classes (RP302) --

    @part
    def exceptions(self) -> ExceptionIndex:
        """The project's classes and their bases: which exceptions reach clients, which are its own."""
        from review_patterns.project.exceptions import ExceptionIndex

        return ExceptionIndex(self.sources(), self.read)

    @part
    def served_fields(self) -> ServedFields:
        """The model fields the project's DRF model serializers expose (RP302: text stored there reaches clients)."""
        from review_patterns.project.serializers import ServedFields

        return ServedFields(self.sources(), self.models)

    # -- quota guards and clients (RP5xx) --

    @part
    def redis_clients(self) -> ProjectClients:
        """Module-level Redis clients, Django caches and factories returning them, by qualified name."""
        from review_patterns.project.clients import index_clients

        return index_clients(self.sources())

    @part
    def traceback_loggers(self) -> frozenset[str]:
        """The project's functions that log the traceback of the exception being handled (RP304)."""
        from review_patterns.project.tracebacks import traceback_loggers

        return traceback_loggers(self.sources())

    @part
    def patched_http(self) -> frozenset[str]:
        """HTTP libraries the project gives a default timeout by replacing their send method (RP509)."""
        from review_patterns.project.http import patched_libraries

        return patched_libraries(self.sources())

    @index
    def quota_index(self) -> QuotaIndex:
        """The quota guards the project defines and the API clients guarded functions call (RP504)."""
        from review_patterns.project.quota import QuotaIndex

        return QuotaIndex(self)

    @index
    def instantiations(self) -> Instantiations:
        """Where the project makes instances of its classes on each call (RP507: a breaker kept per instance)."""
        from review_patterns.project.instances import Instantiations

        return Instantiations(self.sources(), lambda qualified: self.record("per_call", qualified))

    # -- endpoints and the paid calls they reach (RP6xx) --

    @index
    def endpoints(self) -> EndpointIndex:
        """The project's views, who may call them, and the paid calls they reach (RP601, RP602)."""
        from review_patterns.project.endpoints import EndpointIndex

        return EndpointIndex(self)

    # -- kept between runs (the context cache) --

    #: Parts that can be kept between runs: name -> (hints from the built part, whether a file with
    #: this path and text may change it). The quota guards, read from every file and the rules'
    #: settings, are not kept; neither is the Django version (read outside Python files). The releases
    #: are kept under another key (`KEYED`).
    KEPT: Mapping[str, tuple[Callable[[Any], Any], Callable[[ProjectContext, Any, str, str], bool]]] = {
        "models": (
            lambda index: (sorted(index.by_name), sorted(index.read_modules)),
            lambda context, hints, path, text: _may_change_models(
                path, text, frozenset(hints[0]), frozenset(hints[1]) | context.module_names
            ),
        ),
        "migration_files": (
            lambda history: None,
            lambda context, _, path, text: (
                _looks_like_migration(text)
                or "AUTH_USER_MODEL" in text
                or path.rsplit("/", 1)[-1] in ("apps.py", "__init__.py")  # an app's label (`AppConfig.label`)
                or "RunPython" in text  # the project's own RunPython subclasses
            ),
        ),
        "redis_clients": (lambda clients: None, lambda context, _, path, text: _may_bind_clients(text)),
        "exceptions": (
            lambda index: sorted(index.handler_paths),
            lambda context, hints, path, text: _may_change_exceptions(path, text, frozenset(hints)),
        ),
        # The serializers' fields, checked against the model index (`DEPENDS`): a serializer may change it.
        "served_fields": (lambda served: None, lambda context, _, path, text: "Serializer" in text and "Meta" in text),
        "method_names": (lambda names: None, lambda context, _, path, text: _METHOD.search(text) is not None),
        "function_names": (lambda names: None, lambda context, _, path, text: _DEF.search(text) is not None),
        # A module may define a logger only with the words of one; one that did may no longer.
        "traceback_loggers": (
            lambda loggers: sorted({name.rpartition(".")[0] for name in loggers}),
            lambda context, hints, path, text: may_log_tracebacks(text) or module_name(path) in hints,
        ),
        # Rows are followed from `select_for_update()` through the functions called, found by name.
        "locked_rows": (
            lambda rows: None,
            lambda context, _, path, text: "select_for_update" in text or "def " in text,
        ),
    }

    #: Parts kept between runs that depend on something other than the project's files: name -> the
    #: state they were built in, read cheaply (None: not kept). The part is reused while it is the same.
    KEYED: Mapping[str, Callable[[ProjectContext], str | None]] = {
        "releases": lambda context: context.release_state,
    }

    #: Of the parts kept, those that can tell whether they still hold after a file that may matter
    #: changed: (the stored part, the file's path, its new text) -> True when the part says the same.
    HOLDS: Mapping[str, Callable[[Any, str, str], bool]] = {
        "exceptions": lambda index, path, text: bool(index.holds(path, text)),
        "function_names": lambda names, path, text: bool(names.holds(path, _functions_defined(path, text))),
        "method_names": lambda names, path, text: bool(names.holds(path, frozenset(_METHOD.findall(text)))),
        "served_fields": lambda served, path, text: bool(served.holds(path, text)),
        "models": lambda index, path, text: bool(index.holds(path, text)),
        "redis_clients": lambda clients, path, text: bool(clients.holds(path, text)),
        "traceback_loggers": lambda loggers, path, text: (
            module_loggers(path, text) == {name for name in loggers if name.rpartition(".")[0] == module_name(path)}
        ),
    }

    #: Of the parts kept, those built from another part: name -> the parts it reads. A kept part holds
    #: only while what it read says the same (the same fingerprint).
    DEPENDS: Mapping[str, tuple[str, ...]] = {"served_fields": ("models",)}

    #: The answers of the parts that depend on the rules' options or on the question, recorded as read:
    #: "<name> <JSON arguments>" -> the answer.
    #: Their fingerprints are kept until any project file changes; then an answer that says the same
    #: leaves the results that read it valid.
    DERIVED: Mapping[str, Callable[[ProjectContext, Any], Any]] = {
        "quota_facts": lambda context, guards: context.quota_index.facts(tuple(guards)),
        "module_endpoints": lambda context, arguments: context.endpoints.module_endpoints(
            _paid_options(arguments[0]), arguments[1]
        ),
        "paid_calls": lambda context, arguments: context.endpoints.module_paid_calls(
            _paid_options(arguments[0]), arguments[1]
        ),
        "unversioned_route": lambda context, _: context.endpoints.unversioned_route,
        "per_call": lambda context, qualified: context.instantiations.per_call(qualified),
    }

    def built_parts(self) -> list[tuple[str, Any, str | None]]:
        """(name, value, fingerprint or None) of each part built so far: what another process adopts."""
        return [(name, value, self._fingerprints.get(name)) for name, value in self._parts.items()]

    def adopt(self, name: str, value: Any, fingerprint: str | None) -> None:
        """Takes a part another process built from the same project, unless this context has built it."""
        if name not in self._parts:
            self._parts[name] = value
            if fingerprint is not None:
                self._fingerprints.setdefault(name, fingerprint)

    def record(self, name: str, arguments: Any) -> None:
        """Records that a rule read the answer `name` (of `DERIVED`) for `arguments` (plain JSON data)."""
        self.touched.add(f"{name} {json.dumps(arguments, separators=(',', ':'))}")

    @cached_property
    def module_names(self) -> frozenset[str]:
        """The dotted names of the project's modules."""
        return frozenset(module_name(path) for path in self.paths)

    def stats(self) -> dict[str, tuple[int, int]]:
        """Size and modification time of every project file, by path."""
        assert self.root is not None
        found = {}
        root = str(self.root)
        for path in self.paths:
            try:
                stat = os.stat(os.path.join(root, path))
            except OSError:
                continue
            found[path] = (stat.st_size, stat.st_mtime_ns)
        return found

    # -- fingerprints (the result cache) --

    def fingerprint(self, name: str) -> str:
        """A digest of what the part `name` knows, equal across runs while the project says the same."""
        if name not in self._fingerprints and name not in self._parts and self.store is not None:
            known = self.store.fingerprint(self, name)
            if known is not None:
                self._fingerprints[name] = known
        if name not in self._fingerprints:
            touched = set(self.touched)
            self._fingerprints[name] = stable_digest(self._fingerprint_data(name))
            self.touched = touched  # computing a fingerprint is not a use by a rule
            if self.store is not None and name.partition(" ")[0] in self.DERIVED:
                self.store.remember(self, name, self._fingerprints[name])
        return self._fingerprints[name]

    def _fingerprint_data(self, name: str) -> Any:
        kind, _, arguments = name.partition(" ")
        if kind in self.DERIVED:
            return self.DERIVED[kind](self, json.loads(arguments))
        if name == "method_names":
            return self.method_names
        if name == "function_names":
            return self.function_names
        if name == "redis_clients":
            return self.redis_clients
        if name == "models":
            index = self.models
            return (index.models, index.app_labels, index.installed_apps, index.auth_user_model, index.use_tz)
        if name == "migration_files":
            # The operations are read from the sources; labels and dependencies say how they are ordered.
            history = self.migration_files
            return (
                history.user_app,
                [(m.path, m.app, m.name, m.dependencies, m.replaces, m.run_before, m.source) for m in history.order],
                sorted(history.run_python),  # the project's RunPython subclasses, read elsewhere
            )
        if name == "exceptions":
            return self.exceptions.facts()
        if name == "served_fields":
            return sorted(self.served_fields.fields)
        if name == "releases":
            return (sorted(self.releases.by_path.items()), self.releases.default)
        if name == "locked_rows":
            return self.locked_rows
        if name == "patched_http":
            return self.patched_http
        if name == "traceback_loggers":
            return self.traceback_loggers
        if name == "django_version":
            return self.django_version
        raise KeyError(name)
