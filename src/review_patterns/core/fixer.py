"""Applying the fixes findings offer: in rounds until nothing changes, never leaving a broken file.

Safe fixes keep behaviour and are applied by `--fix`; unsafe ones change it on purpose and need
`--unsafe-fixes` as well (ruff's split). Fixes that overlap are applied in later rounds. A round
whose result CPython cannot parse is dropped, and so are the rounds after it.
"""

from __future__ import annotations

import codecs
import io
import os
import tempfile
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from review_patterns.core.config import Config
from review_patterns.core.edits import apply_fixes
from review_patterns.core.engine import lint, project_relative
from review_patterns.core.model import FileChange, FileResult, Fix
from review_patterns.core.rule_info import RuleInfo
from review_patterns.core.runner import OverBudget, configured_context, display_path, files_in_projects, time_budget
from review_patterns.project.context import ProjectContext
from review_patterns.syntax.files import read_source
from review_patterns.syntax.parsing import parses

#: Rounds of fixing one file at most: each round re-checks the file and applies what it offers.
MAX_ROUNDS = 8


@dataclass(frozen=True)
class FixOutcome:
    """What fixing one file did."""

    path: str  #: as displayed, relative to the working folder
    original: str
    fixed: str
    applied: int  #: fixes applied over all rounds
    result: FileResult  #: the findings left after fixing
    files: tuple[FileChange, ...] = ()  #: other files the fixes write (paths as displayed)

    @property
    def changed(self) -> bool:
        return self.fixed != self.original or bool(self.files)


def wanted(fix: Fix | None, unsafe: bool) -> bool:
    """Whether `fix` is applied: safe ones always, unsafe ones only when asked for."""
    return fix is not None and bool(fix.edits) and (fix.safe or unsafe)


def fix_source(
    source: str,
    path: str,
    context: ProjectContext | None,
    config: Config,
    *,
    rules: Sequence[RuleInfo],
    unsafe: bool = False,
    project_path: str | None = None,
    files: list[FileChange] | None = None,
) -> tuple[str, int, FileResult]:
    """`source` with its fixes applied, the number applied, and the findings that remain.

    Fixes that write other files too (a migration split) are applied only when `files` is given,
    one a round, after the others; the other files they write are added to `files`.
    """
    result = lint(source, path, context, config, rules=rules, project_path=project_path)
    applied = 0
    for _ in range(MAX_ROUNDS):
        offered = [f.fix for f in result.findings if f.fix is not None and wanted(f.fix, unsafe)]
        fixes = [fix for fix in offered if not fix.files]
        if not fixes and files is not None:
            claimed = {key for change in files for key in _claims(change)}
            fixes = [f for f in offered if f.files and not claimed & {k for c in f.files for k in _claims(c)}][:1]
        candidate, count = apply_fixes(source, fixes)
        if not count or candidate == source or not parses(candidate):
            break
        source, applied = candidate, applied + count
        if files is not None:
            files.extend(change for fix in fixes for change in fix.files)
        result = lint(source, path, context, config, rules=rules, project_path=project_path)
    if files:  # the context does not see the files yet: a finding they fix is offered again
        claimed = {change.path for change in files}
        left = [f for f in result.findings if not (f.fix and f.fix.files and {c.path for c in f.fix.files} <= claimed)]
        result = replace(result, findings=tuple(left))
    return source, applied, result


def _claims(change: FileChange) -> set[str]:
    """What writing `change` takes: its path and, for a new file, its folder. Two fixes that each add
    files to one folder (migrations) could each end a chain of their own: the second waits for the
    next run, which sees the first's files."""
    return {change.path, change.path.rpartition("/")[0] + "/"} if change.before is None else {change.path}


def fix_paths(
    paths: Iterable[Path],
    config: Config,
    *,
    rules: Sequence[RuleInfo],
    unsafe: bool = False,
    write: bool = True,
    cwd: Path | None = None,
) -> list[FixOutcome]:
    """Fixes the files under `paths`, writing each changed file atomically when `write` is set."""
    cwd = (cwd or Path.cwd()).resolve()
    contexts: dict[Path, ProjectContext] = {}
    outcomes = []
    for path, _, root in files_in_projects(paths, config):
        source, _, _ = read_source(path, config.max_file_size)
        if source is None:
            continue  # the check reports it as RP001
        context = contexts.get(root) or contexts.setdefault(root, configured_context(root, config))
        display = display_path(path, cwd)
        relative = project_relative(path, context)
        files: list[FileChange] = []
        try:
            with time_budget():
                fixed, applied, result = fix_source(
                    source, display, context, config, rules=rules, unsafe=unsafe, project_path=relative, files=files
                )
                if files and not all(_still(root / change.path, change.before) for change in files):
                    # another file changed since the fix was computed: only the fixes of this file alone
                    files = []
                    fixed, applied, result = fix_source(
                        source, display, context, config, rules=rules, unsafe=unsafe, project_path=relative
                    )
        except OverBudget:  # left as it is; the check reports it as RP001
            contexts.pop(root, None)  # the alarm may have cut the context's construction short
            continue
        if write:
            for change in files:
                write_source(root / change.path, change.after)
            if fixed != source:
                write_source(path, fixed)
        shown = tuple(FileChange(display_path(root / c.path, cwd), c.before, c.after) for c in files)
        outcomes.append(FixOutcome(display, source, fixed, applied, result, shown))
    return outcomes


def _still(path: Path, text: str | None) -> bool:
    """Whether `path` holds `text` (None: does not exist)."""
    if text is None:
        return not path.exists()
    current, _, _ = read_source(path)
    return current == text


def write_source(path: Path, text: str) -> None:
    """Writes `text` to `path` in the file's own encoding, keeping a BOM, the mode and symlinks;
    a new file is UTF-8 with the mode the umask gives.

    The new content goes to a temporary file beside the target, which then replaces it in one
    rename: an interrupted write never leaves a half-written file.
    """
    target = path.resolve()
    if target.exists():
        data = target.read_bytes()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
        encoded = bom + text.encode("utf-8" if encoding == "utf-8-sig" else encoding)
        mode = target.stat().st_mode & 0o7777
    else:
        encoded = text.encode("utf-8")
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(encoded)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
