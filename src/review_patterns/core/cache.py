"""The result cache: a file's findings are kept until something they depend on changes.

An entry is keyed, like ruff's, on the file's content and path, the tool's version (and its code),
the rule set and the configuration that applies to the file. It also records the fingerprint of
each part of the project knowledge its rules read (`ProjectContext.touched`): an entry whose
file read the model index is stale once the models say something else, and one that read
nothing of the project stays valid whatever else changes.

Entries are small JSON files, written through a temporary file and renamed, so that concurrent
runs never see half an entry; one that cannot be read or belongs to another version is a miss.
Each command also leaves a record of its last run (`run-*.json`): every file's size, times, inode
and content digest, and the entries it used. Its next run reads neither a file whose state is
unchanged (as git's index, and with its care for files changed just before) nor an entry file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import sys
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from review_patterns.core import version
from review_patterns.core.config import Config, selected_under
from review_patterns.core.model import Bonus, Dimension, Edit, FileChange, FileResult, Finding, Fix, Severity
from review_patterns.core.replay import ENVIRONMENT, FOLDER_NAME, RACY_NS
from review_patterns.core.rule_info import RuleInfo
from review_patterns.project.context import ProjectContext
from review_patterns.syntax.files import NotRead, read_regular_file

FORMAT = 1  #: bumped when the layout of an entry changes
MAX_ENTRIES = 20_000  #: beyond this many entries, the least recently used fifth is removed
#: The same for the context cache's files: its parts with their summaries, and the answers kept per
#: question asked (`context-*.json`), which modules renamed and options changed since leave behind.
MAX_CONTEXT_FILES = 2_000


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


def _rule_id(rule: RuleInfo) -> str:
    return f"{rule.import_path}:{rule.code or rule.name}"


class ResultCache:
    """The entries of one folder, for one configuration and rule set. Small enough to send to workers."""

    def __init__(self, folder: Path, config: Config, rules: Sequence[RuleInfo]) -> None:
        self.folder = folder
        self.writable = True
        self._config = config
        self._rules = rules
        self._selections: dict[frozenset[str], str] = {}  # what a file ignores -> the rules that run on it
        self._started = time.time_ns()
        # The last run of the same command: each file's state and content digest, and its entries.
        self._last: dict[str, Any] = {"files": {}, "entries": {}}
        self._files: dict[str, list[Any]] = {}  # the files of this run: real path -> state and digest
        self._entries: dict[str, Any] = {}  # the entries this run used or stored, by key
        self._read = False  # whether a file's content was read (not recalled)
        self._run: Path | None = None
        self._base = _digest(
            FORMAT,
            code_digest(),
            [_rule_id(r) for r in rules],
            sorted((code, severity.value) for code, severity in config.severity.items()),
            sorted(config.penalty.items()),
            sorted((code, sorted(values.items())) for code, values in config.options.items()),
            config.ignore_noqa,
        )

    def __getstate__(self) -> dict[str, Any]:
        """What a worker needs: neither the last run nor this one's records, which stay with the parent."""
        return {**vars(self), "_last": {"files": {}, "entries": {}}, "_files": {}, "_entries": {}}

    def recall(self, paths: Sequence[str], cwd: str, shard: tuple[int, int] | None = None) -> None:
        """Reads the record of the last run of the same command (settings, folder, paths, shard), if any."""
        self._run = self.folder / f"run-{_digest(self._base, cwd, sorted(paths), shard)}.json"
        try:
            last = json.loads(self._run.read_bytes())
            if (
                last["format"] == FORMAT
                and isinstance(last["started"], int)
                and isinstance(last["files"], dict)
                and isinstance(last["entries"], dict)
            ):
                self._last = last
        except Exception:  # none yet, unreadable or foreign: every file is read and looked up
            pass

    def content_digest(self, path: Path, real: str, max_size: int) -> str | None:
        """The digest of the file's content; None when it cannot be read (it is then checked uncached).

        Like git's index, the digest is taken from the last run while the file's size, times and inode
        are those it had then, unless it changed so close to that run's start that a later write in
        the same tick of the file system's clock would leave them equal (`RACY_NS`): then it is read."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        state = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
        last = self._last["files"].get(real)
        if isinstance(last, list) and len(last) == 5 and last[:4] == state and info.st_size <= max_size:
            if max(info.st_mtime_ns, info.st_ctime_ns) < self._last["started"] - RACY_NS:
                self._files[real] = last
                return str(last[4])
        try:
            digest = hashlib.blake2b(read_regular_file(path, max_size)).hexdigest()
        except (OSError, NotRead, MemoryError):
            return None
        self._files[real] = [*state, digest]  # the state read before the content: a later write changes it
        self._read = True
        return digest

    def key(self, digest: str, display: str, project_path: str | None, ignored: frozenset[str]) -> str:
        """The entry's name for a file: its content's digest, its paths, and what it ignores (so the rules selected for it)."""
        return _digest(self._base, digest, display, project_path, self._selection(ignored))

    def _selection(self, ignored: frozenset[str]) -> str:
        """The rules that run where `ignored` is ignored, and those ignored names (a bonus ignored is
        dropped, not the rule awarding it): the same for most files, so worked out once."""
        if ignored not in self._selections:
            selected = selected_under(self._config, self._rules, ignored)
            self._selections[ignored] = _digest([_rule_id(r) for r in selected], sorted(ignored))
        return self._selections[ignored]

    def get(self, key: str, context: ProjectContext) -> FileResult | None:
        """The stored result, or None when there is none, it is unreadable, or the project changed under it."""
        path = self.folder / f"{key}.json"
        try:
            entry = self._last["entries"].get(key)
            if entry is None:
                entry = json.loads(path.read_bytes())
                _touch(path)
            if entry["format"] != FORMAT or entry["key"] != key:
                return None
            for name, fingerprint in entry["parts"].items():
                if context.fingerprint(name) != fingerprint:
                    return None
            result = _result_from(entry["result"])
        except Exception:  # unreadable or foreign, or a part that fails to build (checking the file reports it)
            return None
        self._entries[key] = entry
        return result

    def record_run(self, keys: Sequence[str | None], checked: bool) -> None:
        """Writes the record of this run for the next run of the same command: `keys` are its files'
        entries, `checked` whether it checked any file (then it stored entries, read back from the
        folder when workers stored them). Nothing is written when the last record still says it all."""
        if not self.writable or self._run is None:
            return
        if not checked and not self._read and self._files.keys() == self._last["files"].keys():
            _touch(self._run)
            return
        entries = {}
        for key in keys:
            if key is not None and key not in entries:
                with contextlib.suppress(Exception):  # an entry not stored (a part that failed) is left out
                    entries[key] = self._entries.get(key) or json.loads((self.folder / f"{key}.json").read_bytes())
        record = {"format": FORMAT, "started": self._started, "files": self._files, "entries": entries}
        try:
            prepare(self.folder)
            write_atomically(self._run, json.dumps(record, separators=(",", ":")).encode())
        except OSError:
            self.writable = False

    def put(self, key: str, context: ProjectContext, result: FileResult) -> None:
        """Stores `result` with the fingerprints of the parts `context` records as read; never raises
        for a folder that cannot be written (the run goes on without storing)."""
        if not self.writable:
            return
        try:
            parts = {name: context.fingerprint(name) for name in sorted(context.touched)}
        except Exception:  # a part that failed to build (reported as RP002): nothing to key the result on
            return
        entry = {"format": FORMAT, "key": key, "parts": parts, "result": _result_to(result)}
        self._entries[key] = entry
        try:
            prepare(self.folder)
            write_atomically(self.folder / f"{key}.json", json.dumps(entry, separators=(",", ":")).encode())
        except OSError:
            self.writable = False

    def prune(self, limit: int = MAX_ENTRIES, context_limit: int = MAX_CONTEXT_FILES) -> None:
        """Keeps the folder bounded: past `limit` result entries, or `context_limit` files of the
        context cache, removes the least recently used of them down to 80%."""
        entries: list[tuple[int, str]] = []
        context: list[tuple[int, str]] = []
        try:
            with os.scandir(self.folder) as listing:
                for e in listing:
                    if e.name.endswith((".json", ".pickle")):
                        kept = context if e.name.startswith("context-") else entries
                        kept.append((e.stat().st_mtime_ns, e.path))
        except OSError:
            return
        for files, bound in ((entries, limit), (context, context_limit)):
            if len(files) > bound:
                files.sort()
                for _, path in files[: len(files) - bound * 4 // 5]:
                    with contextlib.suppress(OSError):
                        os.unlink(path)


def _touch(path: Path) -> None:
    """Marks a cache file as recently used: `prune` keeps it."""
    with contextlib.suppress(OSError):
        os.utime(path)


def prepare(folder: Path) -> None:
    """Creates the folder, with a `.gitignore` that keeps it out of version control."""
    if not (folder / ".gitignore").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitignore").write_text("# Created by review-patterns.\n*\n", encoding="utf-8")
        (folder / "CACHEDIR.TAG").write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# The result cache of review-patterns.\n",
            encoding="utf-8",
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Writes through a temporary file renamed into place: readers see the old file or the new one."""
    import tempfile  # here: a run of cached files writes nothing

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class ContextCache:
    """Keeps the built parts of a project's context (model index, migration history, clients) between runs.

    Each part is stored with the size and time of every project file and the list of those it
    depends on. It is reused while no file was added or removed, and every file touched since is
    one the part neither read nor would read now (`ProjectContext.KEPT`): editing a view keeps the
    model index, editing a model rebuilds it. A part built from another (the served fields, from the
    model index) is stored with that part's fingerprint, and reused while it is the same
    (`ProjectContext.DEPENDS`). A different tool or Python rebuilds everything. A part that depends
    on something else (the releases, on git) is stored with the state it was built in, and reused
    while the context reads the same state (`ProjectContext.KEYED`).

    It also keeps the fingerprints of the answers of option-dependent parts (`ProjectContext.DERIVED`:
    the endpoints of a module, the quota facts for some guard names) while no project file changed.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writable = True
        self._stats: dict[ProjectContext, dict[str, tuple[int, int]]] = {}
        self._summaries: dict[tuple[ProjectContext, str], dict[str, Any] | None] = {}
        self._loaded: dict[tuple[ProjectContext, str], tuple[Any, str] | None] = {}
        self._states: dict[ProjectContext, str] = {}

    def _file(self, context: ProjectContext, name: str) -> Path:
        return self.folder / f"context-{_digest(str(context.root), name)}.pickle"

    @staticmethod
    def _key(context: ProjectContext) -> str:
        """What every stored part depends on beyond the project's files: the tool, the Python, where
        installed apps are found and the release of the shipped contrib models."""
        return _digest(
            FORMAT, code_digest(), os.path.realpath(sys.executable), context.search_path, context.contrib_version
        )

    def _stats_of(self, context: ProjectContext) -> dict[str, tuple[int, int]]:
        if context not in self._stats:
            self._stats[context] = context.stats()
        return self._stats[context]

    def _summary(self, context: ProjectContext, name: str) -> dict[str, Any] | None:
        """The stored part's summary when the part still holds for the project as it is now."""
        if (context, name) not in self._summaries:
            self._summaries[context, name] = self._valid_summary(context, name)
        return self._summaries[context, name]

    def _valid_summary(self, context: ProjectContext, name: str) -> dict[str, Any] | None:
        """The summary, with `changed`: the files that may matter to the part and changed since, which
        the stored part must say it still holds for (`ProjectContext.HOLDS`) before it is used."""
        if name not in context.KEPT and name not in context.KEYED:
            return None
        try:
            summary = json.loads(self._file(context, name).with_suffix(".json").read_bytes())
            if summary["key"] != self._key(context) or not isinstance(summary["fingerprint"], str):
                return None
            if any(context.fingerprint(read) != kept for read, kept in summary["depends"].items()):
                return None
            if name in context.KEYED:
                state = context.KEYED[name](context)
                return {**summary, "changed": {}} if state is not None and summary["state"] == state else None
            then: dict[str, list[int]] = summary["stats"]
            relevant = set(summary["relevant"])
            now = self._stats_of(context)
            if now.keys() != then.keys():
                return None  # a file added or removed: module names and lookups may change
            _, may_matter = context.KEPT[name]
            changed = {}
            touched = False
            for path, stat in now.items():
                if list(stat) != then[path]:
                    touched = True
                    text = context.read(path)
                    if text is None or (name not in context.HOLDS and path in relevant):
                        return None
                    if path in relevant or may_matter(context, summary["hints"], path, text):
                        changed[path] = text
            if changed and name not in context.HOLDS:
                return None
            if touched and not changed:  # files that cannot matter to the part: not read again next time,
                settled = time.time_ns() - RACY_NS  # unless so recent that a second write may not show
                stats = {path: list(stat) if stat[1] < settled else then[path] for path, stat in now.items()}
                if stats != then:
                    self._write_summary(context, name, {**summary, "stats": stats})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        _touch(self._file(context, name))
        _touch(self._file(context, name).with_suffix(".json"))
        return {**summary, "changed": changed}

    def _state(self, context: ProjectContext) -> str:
        """A digest of the size and time of every project file."""
        if context not in self._states:
            self._states[context] = _digest(self._key(context), sorted(self._stats_of(context).items()))
        return self._states[context]

    def remember(self, context: ProjectContext, name: str, fingerprint: str) -> None:
        if not self.writable or name in context.KEPT or self.fingerprint(context, name) == fingerprint:
            return
        kept = {"state": self._state(context), "fingerprint": fingerprint}
        try:
            prepare(self.folder)
            write_atomically(self._file(context, name).with_suffix(".json"), json.dumps(kept).encode())
        except OSError:
            self.writable = False

    def _recalled(self, context: ProjectContext, name: str) -> str | None:
        """The fingerprint of an answer kept while the project's files are as they were then."""
        path = self._file(context, name).with_suffix(".json")
        try:
            kept = json.loads(path.read_bytes())
            if kept["state"] == self._state(context) and isinstance(kept["fingerprint"], str):
                _touch(path)
                return kept["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def fingerprint(self, context: ProjectContext, name: str) -> str | None:
        if name not in context.KEPT and name not in context.KEYED:
            return self._recalled(context, name)
        summary = self._summary(context, name)
        if summary is None:
            return None
        if summary["changed"] and self.load(context, name) is None:  # the part must say it still holds
            return None
        return str(summary["fingerprint"])

    def load(self, context: ProjectContext, name: str) -> tuple[Any, str] | None:
        if (context, name) in self._loaded:
            return self._loaded[context, name]
        self._loaded[context, name] = loaded = self._load(context, name)
        return loaded

    def _load(self, context: ProjectContext, name: str) -> tuple[Any, str] | None:
        summary = self._summary(context, name)
        if summary is None:
            return None
        try:
            data = self._file(context, name).read_bytes()
            fingerprint, value = ContextUnpickler(io.BytesIO(data), context).load()
        except Exception:  # unreadable, truncated, foreign: built again
            return None
        if fingerprint != summary["fingerprint"]:
            return None
        if summary["changed"]:
            holds = context.HOLDS[name]
            if not all(holds(value, path, text) for path, text in summary["changed"].items()):
                return None
            self._write_summary(context, name, {**summary, "stats": self._stats_of(context)})  # next time, at once
        return value, fingerprint

    def save(self, context: ProjectContext, name: str, value: Any, fingerprint: str) -> None:
        if not self.writable or name not in {*context.KEPT, *context.KEYED}:
            return
        if self.fingerprint(context, name) == fingerprint:
            return
        summary: dict[str, Any] = {
            "key": self._key(context),
            "fingerprint": fingerprint,
            "depends": {read: context.fingerprint(read) for read in context.DEPENDS.get(name, ())},
        }
        if name in context.KEYED:
            summary["state"] = context.KEYED[name](context)
            if summary["state"] is None:
                return
        else:
            hints_of, may_matter = context.KEPT[name]
            summary["hints"] = hints = hints_of(value)
            summary["stats"] = stats = self._stats_of(context)
            summary["relevant"] = sorted(
                p for p in stats if (text := context.read(p)) is not None and may_matter(context, hints, p, text)
            )
        out = io.BytesIO()
        try:
            ContextPickler(out, context).dump((fingerprint, value))
        except Exception:  # a part that cannot be pickled is built again next time
            return
        try:
            prepare(self.folder)
            write_atomically(self._file(context, name), out.getvalue())
        except OSError:
            self.writable = False
        self._write_summary(context, name, summary)

    def _write_summary(self, context: ProjectContext, name: str, summary: dict[str, Any]) -> None:
        """Writes the part's summary (after the part itself: a summary never names a part not yet written)."""
        if not self.writable:
            return
        kept = {key: value for key, value in summary.items() if key != "changed"}
        try:
            write_atomically(self._file(context, name).with_suffix(".json"), json.dumps(kept).encode())
        except OSError:
            self.writable = False


class ContextPickler(pickle.Pickler):
    """Stores references to the context (parts keep its `read`) as placeholders."""

    def __init__(self, out: io.BytesIO, context: ProjectContext) -> None:
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.context = context

    def persistent_id(self, obj: Any) -> Any:
        if obj is self.context:
            return "context"
        if getattr(obj, "__self__", None) is self.context and hasattr(obj, "__name__"):
            return ("method", obj.__name__)
        return None


class ContextUnpickler(pickle.Unpickler):
    """Puts the context of this run where the stored parts referred to theirs."""

    def __init__(self, data: io.BytesIO, context: ProjectContext) -> None:
        super().__init__(data)
        self.context = context

    def persistent_load(self, pid: Any) -> Any:
        if pid == "context":
            return self.context
        if isinstance(pid, tuple) and pid[0] == "method":
            return getattr(self.context, pid[1])
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(json.dumps(parts, default=str).encode(), digest_size=20).hexdigest()


def _fix_to(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "safe": fix.safe,
        "description": fix.description,
        "edits": [list(vars(e).values()) for e in fix.edits],
        "files": [list(vars(f).values()) for f in fix.files],
    }


def _fix_from(data: dict[str, Any] | None) -> Fix | None:
    if data is None:
        return None
    edits = tuple(Edit(*edit) for edit in data["edits"])
    return Fix(data["safe"], edits, data["description"], tuple(FileChange(*f) for f in data.get("files", ())))


def _result_to(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "findings": [
            {**vars(f), "severity": f.severity.value, "dimension": f.dimension.value, "fix": _fix_to(f.fix)}
            for f in result.findings
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
        Finding(
            **{
                **f,
                "severity": Severity(f["severity"]),
                "dimension": Dimension(f["dimension"]),
                "fix": _fix_from(f["fix"]),
            }
        )
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
