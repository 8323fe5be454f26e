"""Baselines: today's findings recorded by rule, path and a fingerprint of the code (not the line),
so that a legacy project gates only the new ones and sees those that were fixed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from review_patterns.core.model import Finding, Report
from review_patterns.report.fingerprint import Sources, code_fingerprint

VERSION = 1


class BaselineError(Exception):
    """A baseline file that cannot be read; the message names it."""


@dataclass(frozen=True)
class Entry:
    """One recorded finding. `line` and `message` are for people; matching ignores them."""

    code: str
    path: str  #: relative to the baseline file's folder, forward slashes
    fingerprint: str
    line: int = 0
    message: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.code, self.path, self.fingerprint


def _relative(path: str, sources: Sources, folder: Path) -> str:
    absolute = (sources.root / path).resolve()
    try:
        return absolute.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def entries(findings: Iterable[Finding], sources: Sources, folder: Path) -> list[Entry]:
    """The baseline entries of `findings`, paths made relative to `folder`."""
    return [
        Entry(f.code, _relative(f.path, sources, folder), code_fingerprint(f, sources), f.line, f.message)
        for f in findings
    ]


def write(path: Path, report: Report, sources: Sources, kept: Iterable[Entry] = ()) -> str:
    """The baseline of every finding in `report` plus the `kept` records, as the file's text
    (sorted, so diffs stay small)."""
    found = sorted(
        [*entries(report.findings, sources, path.parent), *kept], key=lambda e: (e.path, e.line, e.code, e.fingerprint)
    )
    document = {"version": VERSION, "tool": "review-patterns", "findings": [asdict(e) for e in found]}
    return json.dumps(document, indent=2) + "\n"


def kept_outside(path: Path, checked: Iterable[Path], sources: Sources) -> list[Entry]:
    """The records of an existing baseline for files outside the `checked` paths: rewriting the baseline
    of one folder must not forget the rest of the project."""
    if not path.is_file():
        return []
    folder = path.parent.resolve()
    tops = [(sources.root / p).resolve() for p in checked]

    def inside(entry: Entry) -> bool:
        where = (folder / entry.path).resolve()
        return any(where == top or top in where.parents for top in tops)

    return [entry for entry in load(path) if not inside(entry)]


def load(path: Path) -> list[Entry]:
    """The entries of a baseline file; raises BaselineError for a missing or malformed file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BaselineError(f"cannot read baseline {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise BaselineError(f"baseline {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise BaselineError(f"baseline {path} is not a review-patterns baseline (version {VERSION})")
    try:
        entries = [Entry(**item) for item in document["findings"]]
    except (KeyError, TypeError) as error:
        raise BaselineError(f"baseline {path} has a malformed entry: {error}") from None
    for entry in entries:
        if not all(isinstance(getattr(entry, name), str) for name in ("code", "path", "fingerprint", "message")) or (
            isinstance(entry.line, bool) or not isinstance(entry.line, int)
        ):
            raise BaselineError(f"baseline {path} has a malformed entry: {entry}")
    return entries


@dataclass(frozen=True)
class Comparison:
    new: Counter[Finding]  #: findings not in the baseline
    known: int  #: findings matched by the baseline
    fixed: tuple[Entry, ...]  #: recorded findings of the checked files that are gone


def compare(report: Report, baseline: list[Entry], sources: Sources, folder: Path) -> Comparison:
    """Matches each finding with a recorded one of the same rule, path and code, once each."""
    remaining = Counter(e.key for e in baseline)
    new: Counter[Finding] = Counter()
    findings = report.findings
    for finding, entry in zip(findings, entries(findings, sources, folder)):
        if remaining[entry.key] > 0:
            remaining[entry.key] -= 1
        else:
            new[finding] += 1
    checked = {_relative(r.path, sources, folder) for r in report.files}
    fixed = []
    for entry in baseline:
        gone = not (folder / entry.path).exists()
        if remaining[entry.key] > 0 and (entry.path in checked or gone):
            remaining[entry.key] -= 1
            fixed.append(entry)
    return Comparison(new, len(findings) - sum(new.values()), tuple(fixed))
