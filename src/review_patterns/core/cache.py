"""The result cache: a file's findings are kept until something they depend on changes.

An entry is keyed, like ruff's, on the file's content and path, the tool's version (and its code),
the rule set and the configuration that applies to the file. It also records the fingerprint of
each part of the project knowledge its rules read (`ProjectContext.touched`): an entry whose
file read the model index is stale once the models say something else, and one that read
nothing of the project stays valid whatever else changes.

Entries are small JSON files, written through a temporary file and renamed, so that concurrent
runs never see half an entry; one that cannot be read or belongs to another version is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from review_patterns.core import version
from review_patterns.core.config import Config
from review_patterns.core.model import Bonus, Dimension, FileResult, Finding, Severity
from review_patterns.core.rule import Rule
from review_patterns.project.context import ProjectContext

FOLDER_NAME = ".review_patterns_cache"
ENVIRONMENT = "REVIEW_PATTERNS_CACHE_DIR"
FORMAT = 1  #: bumped when the layout of an entry changes
MAX_ENTRIES = 20_000  #: beyond this many entries, the least recently used fifth is removed


def cache_folder(config: Config, project_root: Path) -> Path:
    """Where the cache lives: `$REVIEW_PATTERNS_CACHE_DIR`, else the `cache-dir` setting (relative to
    the configuration file), else `.review_patterns_cache/` under the project root."""
    from_environment = os.environ.get(ENVIRONMENT)
    if from_environment:
        return Path(from_environment)
    if config.cache_dir is not None:
        return (config.root or project_root) / config.cache_dir
    return (config.root or project_root) / FOLDER_NAME


def code_digest() -> str:
    """The version plus the size and time of every module of the tool: an edited rule is a new tool."""
    return _code_digest(version.__version__)


@cache
def _code_digest(release: str) -> str:
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(release.encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package).as_posix()}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def _rule_id(rule: type[Rule]) -> str:
    return f"{rule.__module__}.{rule.__qualname__}:{rule.code or rule.name}"


class ResultCache:
    """The entries of one folder, for one configuration and rule set. Small enough to send to workers."""

    def __init__(self, folder: Path, config: Config, rules: Sequence[type[Rule]]) -> None:
        self.folder = folder
        self.writable = True
        self._base = _digest(
            FORMAT,
            code_digest(),
            [_rule_id(r) for r in rules],
            sorted((code, severity.value) for code, severity in config.severity.items()),
            sorted(config.penalty.items()),
            sorted((code, sorted(values.items())) for code, values in config.options.items()),
            config.ignore_noqa,
        )

    def key(
        self, content: bytes, display: str, project_path: str | None, selected: Sequence[type[Rule]], ignored: set[str]
    ) -> str:
        """The entry's name for a file: its content, its paths, the rules selected for it and what it ignores."""
        return _digest(
            self._base,
            hashlib.blake2b(content).hexdigest(),
            display,
            project_path,
            [_rule_id(r) for r in selected],
            sorted(ignored),
        )

    def get(self, key: str, context: ProjectContext) -> FileResult | None:
        """The stored result, or None when there is none, it is unreadable, or the project changed under it."""
        path = self.folder / f"{key}.json"
        try:
            entry = json.loads(path.read_bytes())
            if entry["format"] != FORMAT or entry["key"] != key:
                return None
            for name, fingerprint in entry["parts"].items():
                if context.fingerprint(name) != fingerprint:
                    return None
            result = _result_from(entry["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept by `prune`
        return result

    def put(self, key: str, context: ProjectContext, result: FileResult) -> None:
        """Stores `result` with the fingerprints of the parts `context` records as read; never raises
        for a folder that cannot be written (the run goes on without storing)."""
        if not self.writable:
            return
        entry = {
            "format": FORMAT,
            "key": key,
            "parts": {name: context.fingerprint(name) for name in sorted(context.touched)},
            "result": _result_to(result),
        }
        try:
            self.prepare()
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(entry, out, separators=(",", ":"))
                os.replace(temporary, self.folder / f"{key}.json")
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError:
            self.writable = False

    def prepare(self) -> None:
        """Creates the folder, with a `.gitignore` that keeps it out of version control."""
        if not (self.folder / ".gitignore").exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / ".gitignore").write_text("# Created by review-patterns.\n*\n", encoding="utf-8")
            (self.folder / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n# The result cache of review-patterns.\n",
                encoding="utf-8",
            )

    def prune(self, limit: int = MAX_ENTRIES) -> None:
        """Keeps the folder bounded: past `limit` entries, removes the least recently used down to 80%."""
        try:
            entries = [(e.stat().st_mtime_ns, e.path) for e in os.scandir(self.folder) if e.name.endswith(".json")]
        except OSError:
            return
        if len(entries) <= limit:
            return
        entries.sort()
        for _, path in entries[: len(entries) - limit * 4 // 5]:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(json.dumps(parts, default=str).encode(), digest_size=20).hexdigest()


def _result_to(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "findings": [
            {**vars(f), "severity": f.severity.value, "dimension": f.dimension.value} for f in result.findings
        ],
        "bonuses": [{**vars(b), "dimension": b.dimension.value} for b in result.bonuses],
        "lines": result.lines,
        "error": result.error,
        "suppressed": result.suppressed,
        "score": result.score,
        "dimensions": {d.value: s for d, s in result.dimensions.items()},
    }


def _result_from(data: dict[str, Any]) -> FileResult:
    findings = tuple(
        Finding(**{**f, "severity": Severity(f["severity"]), "dimension": Dimension(f["dimension"])})
        for f in data["findings"]
    )
    bonuses = tuple(Bonus(**{**b, "dimension": Dimension(b["dimension"])}) for b in data["bonuses"])
    return FileResult(
        data["path"],
        findings,
        bonuses,
        lines=data["lines"],
        error=data["error"],
        suppressed=data["suppressed"],
        score=data["score"],
        dimensions={Dimension(d): s for d, s in data["dimensions"].items()},
    )
