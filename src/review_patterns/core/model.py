"""The values that cross module boundaries: findings, bonuses, per-file results, the report."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    char = ord(match.group())
    return "\ufffd" if 0xD800 <= char <= 0xDFFF else f"\\x{char:02x}"


def printable(text: str) -> str:
    """`text` on one line and safe in every report format (XML 1.0 included): line breaks shown
    as `\\n`, other control characters as `\\x1b`, undecodable bytes of a file name as U+FFFD."""
    text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return _UNPRINTABLE.sub(_escape, text)


class Severity(str, Enum):
    """How bad a finding is; blockers fail the gate whatever the grade."""

    BLOCKER = "blocker"
    IMPORTANT = "important"
    WARNING = "warning"
    SUGGESTION = "suggestion"


class Dimension(str, Enum):
    """The review dimension a finding or bonus counts against."""

    SECURITY = "security"
    DATA_INTEGRITY = "data-integrity"
    PERFORMANCE = "performance"
    RELIABILITY = "reliability"
    CODE_CLARITY = "code-clarity"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()


@dataclass(frozen=True)
class Edit:
    """Replace the text between two 1-based positions (end exclusive) with `content`; equal ends insert."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class FileChange:
    """Another file a fix writes whole: a new migration, or one whose dependencies it changes.

    `path` is relative to the project root (to the working folder once a fix is applied); `before`
    is the file's text the fix was computed from, None for a file that must not exist yet. The
    change is written only while the file still holds `before`.
    """

    path: str
    before: str | None
    after: str


@dataclass(frozen=True)
class Fix:
    """The rewrite a finding offers, as text edits (ruff's split: safe keeps behaviour, unsafe changes it)."""

    safe: bool
    edits: tuple[Edit, ...]
    description: str = ""
    files: tuple[FileChange, ...] = ()  #: other files written with the edits

    @property
    def applicability(self) -> str:
        return "safe" if self.safe else "unsafe"


@dataclass(frozen=True)
class Finding:
    """One reported problem, located in 1-based lines and columns (end column exclusive)."""

    path: str  #: relative to the working directory, forward slashes
    line: int
    column: int
    end_line: int
    end_column: int
    code: str  #: "RP101"
    name: str  #: "f-expression-without-refresh"
    message: str
    severity: Severity
    dimension: Dimension
    penalty: int
    fix: Fix | None = None  #: what `--fix` (safe) or `--unsafe-fixes` would rewrite


@dataclass(frozen=True)
class Bonus:
    """A positive finding: an exemplary pattern, worth `points`."""

    path: str
    line: int
    name: str  #: "three-step-migration"
    points: int
    dimension: Dimension
    message: str


@dataclass(frozen=True)
class FileResult:
    """Everything the engine says about one file."""

    path: str
    findings: tuple[Finding, ...] = ()
    bonuses: tuple[Bonus, ...] = ()
    lines: int = 0  #: non-blank lines: the file's weight in the overall score
    error: str | None = None  #: why the file could not be checked; such a file gets no score
    suppressed: int = 0  #: findings silenced by noqa comments
    score: float | None = None
    dimensions: Mapping[Dimension, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """The graded result of one run."""

    files: tuple[FileResult, ...]
    score: float
    grade: str
    dimensions: Mapping[Dimension, float]
    min_grade: str
    passed: bool  #: no blocker and the overall grade at least `min_grade`
    review: bool = False  #: graded as one change set (`--diff`, `--staged`, `--review`), not file by file
    warnings: tuple[str, ...] = ()  #: what the run could not know (apps whose models were not found)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.files for f in r.findings)

    @property
    def bonuses(self) -> tuple[Bonus, ...]:
        return tuple(b for r in self.files for b in r.bonuses)

    @property
    def blockers(self) -> int:
        return sum(f.severity is Severity.BLOCKER for f in self.findings)
