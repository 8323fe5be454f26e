"""What kind of module a file is: tests, fixtures, a migration, a management command, settings,
models, services, a script (decided here only, from the path; rules declare the kinds they skip)."""

from __future__ import annotations

import io
import os
import re
import stat
import tokenize
from collections.abc import Iterable
from enum import Enum
from functools import cached_property
from pathlib import Path

#: Default of the `max-file-size` setting: generated modules beyond it take minutes and gigabytes.
MAX_FILE_SIZE = 2_000_000


class NotRead(Exception):
    """A file that is not read: not a regular file, or larger than the limit. The message says which."""


def special_kind(mode: int) -> str | None:
    """What a special file is ("a FIFO", "a device", "a socket"); None for a regular file or a folder."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def read_regular_file(path: Path, max_size: int | None = MAX_FILE_SIZE) -> bytes:
    """The bytes of a regular file (through symlinks); raises OSError, or NotRead for a FIFO, a device,
    a socket or a file over `max_size` bytes, without blocking on the FIFO or reading the device."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotRead(f"{special_kind(info.st_mode) or 'not a regular file'}, not a Python file; not read")
        if max_size is not None and info.st_size > max_size:
            raise NotRead(too_large(info.st_size, max_size))
        chunks = []
        size = 0
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if max_size is not None and size > max_size:  # grew while being read
                raise NotRead(too_large(size, max_size))
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def read_text(path: Path, max_size: int | None = MAX_FILE_SIZE) -> str | None:
    """The UTF-8 text of a regular file (newlines made `\\n`, as `Path.read_text` does), or None when it
    is special, over `max_size` bytes, unreadable or not UTF-8: what the project context reads with,
    so that a FIFO, a link to a device or a huge file in the project cannot hold the run."""
    try:
        data = read_regular_file(path, max_size)
        return data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, NotRead, MemoryError, UnicodeDecodeError):
        return None


def too_large(size: int, limit: int) -> str:
    return f"too large to analyse ({_size(size)}; max-file-size is {_size(limit)}); not analysed"


def _size(count: int) -> str:
    """`2.5 MB`, `32 kB`, `700 bytes`: as the `max-file-size` setting spells sizes."""
    if count >= 1_000_000:
        return f"{count / 1e6:.3g} MB"
    return f"{count / 1e3:.3g} kB" if count >= 1_000 else f"{count} bytes"


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
    # A pytest plugin (`pytest_plugin.py`, a package's `pytest11` entry point, a `pytest/` package such as
    # Sentry's `sentry/utils/pytest/`) holds fixtures, like `conftest.py`; a `testing/` package or
    # `testing.py` module holds test helpers (Django's `staticfiles/testing.py`, netbox's `utilities/testing/`),
    # and a module named for test data fills a database for tests (geonode's `populate_test_data.py`).
    (
        FileKind.TEST,
        re.compile(
            r"(^|/)(tests?/|testapps?/|testutils?/|test_?projects?/|tests?\.py$|test_[^/]*\.py$|[^/]*_tests?\.py$"
            r"|conftest\.py$|pytest_?plugins?\.py$|pytest/|testutils?\.py$|testing/|testing\.py$"
            r"|test_?data[^/]*\.py$|[^/]*_test_?data[^/]*\.py$)"
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
    # Build steps: setup.py's own commands (Sentry's `sentry/utils/distutils/commands/`) run at packaging time.
    (
        FileKind.SCRIPT,
        re.compile(r"(^|/)(scripts?|bin)/[^/]+\.py$|^(manage|setup|noxfile|fabfile)\.py$|(^|/)distutils/"),
    ),
)


def file_kinds(path: str) -> frozenset[FileKind]:
    """The kinds of the module at `path` (relative to the project, forward slashes)."""
    return frozenset(kind for kind, pattern in _KINDS if pattern.search(path))


def module_name(path: str) -> str:
    """`blog/views.py` -> `blog.views`; `blog/models/__init__.py` -> `blog.models`."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(p for p in parts if p not in ("", "."))


def attribute_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """Finds in source text an attribute named one of `names` (`.set`, `. info`), with whatever may come
    between the dot and the name: spaces, line breaks, comments, backslash continuations. A rule whose
    every report is at such an attribute has nothing to check in a file without one. Each alternative
    starts with its own character, so a long run of `#` cannot be split many ways (no backtracking blow-up)."""
    return re.compile(r"\.(?:[ \t\f\r\n]|\\[\r\n]|#[^\r\n]*[\r\n])*(?:" + "|".join(sorted(names)) + r")\b")


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
        return module_name(self.path)

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


def read_source(path: Path, max_size: int | None = MAX_FILE_SIZE) -> tuple[str | None, str | None, int]:
    """(text, None, 0), or (None, why it cannot be read, line) for unreadable, special, too large, binary
    or badly encoded files."""
    try:
        data = read_regular_file(path, max_size)
    except NotRead as error:
        return None, str(error), 1
    except OSError as error:
        return None, f"cannot read: {error.strerror or error}", 1
    except MemoryError:
        return None, "too large to analyse (out of memory while reading)", 1
    if b"\0" in data:
        return None, "binary file, not Python source", 1
    return decode_source(data)


def decode_source(data: bytes) -> tuple[str | None, str | None, int]:
    """`data` decoded as its PEP 263 declaration (or UTF-8) says, as `read_source` returns it."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing encoding" in str(error.msg):
            encoding = "utf-8"  # no declaration; the bytes themselves are not UTF-8: said below, with where
        else:
            return None, f"bad encoding declaration: {error.msg}", getattr(error, "lineno", None) or 1
    try:
        return data.decode(encoding).removeprefix("\ufeff"), None, 0
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, f"not valid {encoding}: {error.reason} at byte {error.start}", line
    except LookupError:
        return None, f"unknown encoding {encoding!r}", 1
