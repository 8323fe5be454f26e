"""The engine: source text (plus the project context) in, graded findings out.

Each file is parsed once and every selected rule runs in one batched traversal. Positions
are costly in LibCST (as much as the parse), so they are found only for the reported nodes
(`syntax/positions.py`), printing the file no further than the last of them.
"""

from __future__ import annotations

import errno
import io
import itertools
import os
import re
import signal
import stat
import sys
import threading
import tokenize
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, TypeVar

import libcst as cst
from libcst.metadata import CodeRange

from review_patterns.core import grading, stopping
from review_patterns.core.cache import ContextCache, ResultCache
from review_patterns.core.config import Config
from review_patterns.core.edits import fix_of, module_names
from review_patterns.core.internal_error import InternalError
from review_patterns.core.model import Bonus, FileResult, Finding, Fix, Report, Shard, printable
from review_patterns.core.parse_error import ParseError
from review_patterns.core.rule import Rule
from review_patterns.project.context import ProjectContext, find_project_root, is_skipped_dir
from review_patterns.syntax import traversal
from review_patterns.syntax.files import MAX_FILE_SIZE, NotRead, SourceFile, read_regular_file, special_kind
from review_patterns.syntax.parsing import Rejected, checked_depth
from review_patterns.syntax.positions import positions_of
from review_patterns.syntax.semantic import SemanticModel

DEFAULT_CONFIG = Config()
T = TypeVar("T")
_NOQA = re.compile(r"#\s*noqa(?::\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def matches(selector: str, rule: type[Rule]) -> bool:
    """Whether a config selector (a code or a prefix; a bonus check's name) names this rule."""
    return rule.code.startswith(selector) if rule.code else selector == rule.name


def _path_matches(path: str, pattern: str) -> bool:
    return fnmatch(path, pattern) or fnmatch(path, f"*/{pattern}")


def ignored_here(config: Config, path: str) -> set[str]:
    """The selectors and bonus names ignored for `path`: `ignore` plus matching `per-file-ignores`."""
    ignored = set(config.ignore)
    for pattern, codes in config.per_file_ignores.items():
        if _path_matches(path, pattern):
            ignored.update(codes)
    return ignored


def selected_rules(config: Config, rules: Sequence[type[Rule]], *paths: str) -> list[type[Rule]]:
    """Those of `rules` that run on a file known by `paths` under `config`, in registry order.

    Ignoring a bonus that a rule awards drops the bonus, not the rule (see `lint`).
    """
    ignored = set().union(*(ignored_here(config, path) for path in paths))
    return [
        rule
        for rule in rules
        if (not config.select or not rule.code or any(matches(s, rule) for s in config.select))
        and not any(matches(s, rule) for s in ignored)
        and rule not in (ParseError, InternalError)
    ]


def _describe(error: Exception) -> str:
    """`KeyError: 'x' (module.py:12)`: the error and where it was raised."""
    where = traceback.extract_tb(error.__traceback__)[-1]
    return f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})"


def _guarded(rule: Rule, failures: dict[type[Rule], str]) -> cst.BatchableCSTVisitor:
    """Wraps a rule's visitor methods so that a crash stops that rule only."""

    def guard(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def run(node: cst.CSTNode) -> Any:
            if type(rule) in failures:
                return None
            try:
                return method(node)
            except RecursionError as error:
                if sys.getrecursionlimit() < DEEP_RECURSION_LIMIT:
                    raise  # perhaps only deep code: `guard_file` retries with room to recurse
                failures[type(rule)] = _describe(error)  # with room, the rule's own runaway
                return None
            except MemoryError:
                raise
            except Exception as error:
                failures[type(rule)] = _describe(error)
                return None

        return run

    class Guarded(cst.BatchableCSTVisitor):
        def get_visitors(self) -> Any:
            return {name: guard(method) for name, method in rule.get_visitors().items()}

    return Guarded()


def _finding(
    rule: type[Rule], path: str, where: CodeRange, message: str, config: Config, fix: Fix | None = None
) -> Finding:
    return Finding(
        path=path,
        line=where.start.line,
        column=where.start.column + 1,
        end_line=where.end.line,
        end_column=where.end.column + 1,
        code=rule.code,
        name=rule.name,
        message=printable(message),
        severity=config.severity.get(rule.code, rule.severity),
        dimension=rule.dimension,
        penalty=config.penalty.get(rule.code, rule.default_penalty()),
        fix=fix,
    )


def _at(line: int, column: int = 0) -> CodeRange:
    return CodeRange((line, column), (line, column))


def _suppressed(finding: Finding, lines: Sequence[str]) -> bool:
    if not 0 < finding.line <= len(lines):
        return False
    match = _NOQA.search(lines[finding.line - 1])
    if match is None:
        return False
    codes = match.group("codes")
    return codes is None or any(finding.code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c)


def _error_result(
    path: str, source_lines: int, where: CodeRange, message: str, config: Config, rule: type[Rule] = ParseError
) -> FileResult:
    finding = _finding(rule, path, where, message, config)
    return FileResult(path, (finding,), lines=source_lines, error=finding.message)


def _parse_failure(error: Exception) -> tuple[int, int, str]:
    """Where and why LibCST rejects a file that CPython accepts."""
    if isinstance(error, cst.ParserSyntaxError):
        return error.editor_line, error.editor_column - 1, f"cannot parse: {error.message}"
    return 1, 0, f"cannot parse: {type(error).__name__}: {error}"


def lint(
    source: str,
    path: str,
    context: ProjectContext | None = None,
    config: Config | None = None,
    *,
    rules: Sequence[type[Rule]],
    project_path: str | None = None,
) -> FileResult:
    """Checks one file's source with `rules`. Never raises: parse and rule failures become findings.

    Findings carry `path`; rules see `project_path` (relative to the context's root) when given,
    so that they can find their own file in the project context wherever the run started.
    """
    config = config or DEFAULT_CONFIG
    lines = sum(1 for line in source.splitlines() if line.strip())
    depth = checked_depth(source, deep=with_deep_stack)  # before LibCST, whose native parser can crash the process
    if isinstance(depth, Rejected):
        return _error_result(path, lines, _at(depth.line, depth.column), depth.reason, config)

    def analyse() -> FileResult:
        return _analyse(source, path, context, config, rules, project_path, lines)

    if depth > DEEP_NESTING:  # straight to room to recurse: LibCST's codegen (positions) unwinds slowly
        return guard_file(lambda: with_deep_stack(analyse), path, lines, config)
    return guard_file(analyse, path, lines, config)


def guard_file(analyse: Callable[[], FileResult], path: str, lines: int, config: Config) -> FileResult:
    """`analyse()`, with whatever escapes it turned into RP001 or RP002 for this file alone.

    Deep but valid code that exhausts the recursion limit is retried once with room to recurse.
    """
    rule: type[Rule]
    try:
        try:
            return analyse()
        except RecursionError:
            return with_deep_stack(analyse)
    except RecursionError:
        reason, rule = "too deeply nested to analyse", ParseError
    except MemoryError:
        reason, rule = "too large to analyse (out of memory)", ParseError
    except Exception as error:
        reason, rule = f"review-patterns failed on this file: {_describe(error)}", InternalError
    return _error_result(path, lines, _at(1), reason, config, rule)


#: The stack and recursion limit of the retry for deep code. LibCST recurses through C as well as
#: Python, so the limit is raised only in a thread whose stack is sized for it. Measured on
#: CPython 3.11: the deepest code `MAX_NESTING` lets through needs under 8,000 frames, and
#: 40,000 frames that each re-enter C fit in 16 MB; the stack is reserved, not used, memory.
DEEP_STACK_BYTES = 256 * 1024 * 1024
#: Nesting past which a file is analysed with room to recurse from the start (real code stays below 40).
DEEP_NESTING = 100
DEEP_RECURSION_LIMIT = 20_000


def with_deep_stack(work: Callable[[], T]) -> T:
    """`work()` in a thread with a large stack and a raised recursion limit; its result or its exception.

    The calling thread keeps waiting in short joins so that Ctrl-C and alarms still reach it;
    if one does, the limit drops back and the work stops with a RecursionError at its next call.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # handed to the caller
            failure.append(error)

    try:
        previous_stack = threading.stack_size(DEEP_STACK_BYTES)
    except (ValueError, RuntimeError):  # a platform that cannot size thread stacks: too deep, then
        raise RecursionError("no room to recurse") from None
    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous_limit, DEEP_RECURSION_LIMIT))
    try:
        thread = threading.Thread(target=run, name="review-patterns-deep", daemon=True)
        thread.start()
        threading.stack_size(previous_stack)
        while thread.is_alive():
            thread.join(0.05)
            stopping.check()
    finally:
        threading.stack_size(previous_stack)
        sys.setrecursionlimit(previous_limit)
    if failure:
        raise failure[0]
    return outcome[0]


def _analyse(
    source: str,
    path: str,
    context: ProjectContext | None,
    config: Config,
    rules: Sequence[type[Rule]],
    project_path: str | None,
    lines: int,
) -> FileResult:
    """Parses once, runs the rules in one traversal and places their reports (see `lint`)."""
    file = SourceFile(project_path or path, source)
    try:
        module = cst.parse_module(source)
    except (RecursionError, MemoryError):
        raise
    except Exception as error:
        line, column, message = _parse_failure(error)
        return _error_result(path, lines, _at(line, column), message, config)

    semantic = SemanticModel(file)
    context = context if context is not None else ProjectContext.empty(django_version=config.django_version)
    failures: dict[type[Rule], str] = {}  # a crashing rule is reported as RP002, never raised
    visitors: list[Rule] = []
    for rule_class in selected_rules(config, rules, path, file.path):
        try:
            if rule_class.applies_to(file):
                visitors.append(rule_class(file, context, config.options.get(rule_class.code), semantic))
        except (RecursionError, MemoryError):
            raise
        except Exception as error:
            failures[rule_class] = _describe(error)
    ignored = ignored_here(config, path) | ignored_here(config, file.path)
    if visitors:
        # The semantic model enters a node before the rules and leaves it after them.
        batch = [semantic.entering, *(_guarded(r, failures) for r in visitors)]
        traversal.visit_batched(module, [*batch, semantic.leaving])

    reported = [(type(rule), report) for rule in visitors for report in rule.reports]
    positions = positions_of(module, {report.node for _, report in reported if report.node is not module})
    positions[module] = _at(1)  # whole-file reports need no positions
    findings: list[Finding] = []
    bonuses: list[Bonus] = []
    printed: str | None = None  # the module's code, printed once for all its fixes
    for rule_class, report in reported:
        where = positions[report.node]
        if report.bonus is not None:
            if report.bonus in ignored:
                continue
            line = where.start.line
            bonuses.append(
                Bonus(path, line, report.bonus, report.points, rule_class.dimension, printable(report.message))
            )
        else:
            fix = None
            if report.rewrite is not None:
                printed = module.code if printed is None else printed
                fix = fix_of(report.rewrite, module, semantic.module_scope, module_names(module), printed)
            findings.append(_finding(rule_class, path, where, report.message, config, fix))
    for rule_class, why in failures.items():
        message = f"rule {rule_class.code or rule_class.name} ({rule_class.__name__}) failed: {why}"
        findings.append(_finding(InternalError, path, _at(1), message, config))

    kept = [f for f in findings if config.ignore_noqa or not _suppressed(f, file.lines)]
    kept.sort(key=lambda f: (f.line, f.column, f.code))
    return FileResult(
        path,
        tuple(kept),
        tuple(bonuses),
        lines=lines,
        suppressed=len(findings) - len(kept),
        score=grading.score(kept, bonuses),
        dimensions=grading.dimension_scores(kept, bonuses),
    )


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


def lint_file(
    path: Path, display: str, context: ProjectContext, config: Config, rules: Sequence[type[Rule]]
) -> FileResult:
    """Reads and checks one file on disk."""
    source, error, line = read_source(path, config.max_file_size)
    if source is None:
        assert error is not None
        return _error_result(display, 0, _at(line), error, config)
    return lint(source, display, context, config, rules=rules, project_path=project_relative(path, context))


def project_relative(path: Path, context: ProjectContext) -> str | None:
    """`path` relative to the context's root, with forward slashes, when it lies below it."""
    if context.root is None:
        return None
    try:
        return path.resolve().relative_to(context.root.resolve()).as_posix()
    except ValueError:
        return None


def display_path(path: Path, cwd: Path) -> str:
    """Relative to `cwd` when below it, with forward slashes, printable (see `printable`)."""
    resolved = path.resolve()
    try:
        return printable(resolved.relative_to(cwd).as_posix())
    except ValueError:
        return printable(resolved.as_posix())


def excluded(path: Path, config: Config) -> bool:
    """Whether `exclude` (globs relative to the config's folder) covers `path`."""
    if not config.exclude or config.root is None:
        return False
    try:
        relative = path.resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return False
    return any(_path_matches(relative, p) or _path_matches(relative + "/", p) for p in config.exclude)


def collect_files(paths: Iterable[Path], config: Config, notes: list[str] | None = None) -> Iterator[Path]:
    """The Python files named or found below the named folders, minus the excluded ones.

    A file named explicitly is always checked. Raises FileNotFoundError for a missing path.
    What is skipped for a reason the user should know (a FIFO or device, a symlink loop, an
    unreadable folder, a link out of the checked folders) is said in `notes`, one line each (the report's warnings).
    """
    paths = list(paths)
    notes = notes if notes is not None else []
    roots = [Path(os.path.realpath(p)) for p in paths]
    seen: set[Path] = set()
    for path in paths:
        kind = _kind(path, notes)
        if kind == "missing":
            raise FileNotFoundError(str(path))
        found: Iterable[Path] = [path] if kind == "file" else _walk(path, config, roots, set(), notes)
        if kind not in ("file", "folder"):
            continue
        for file in found:
            key = Path(os.path.realpath(file))
            if key not in seen:
                seen.add(key)
                yield file


def _kind(path: Path, notes: list[str]) -> str:
    """ "file", "folder", "missing", or "skipped" (with a note saying why)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not path.is_symlink():
            return "missing"
        notes.append(f"skipped {path}: a symbolic link to nothing")
        return "skipped"
    except OSError as error:
        if error.errno == errno.ELOOP:
            notes.append(f"skipped {path}: a symbolic link loop")
            return "skipped"
        return "file"  # unreadable: reading it says why, as RP001
    if stat.S_ISDIR(mode):
        return "folder"
    special = special_kind(mode)
    if special is not None:
        notes.append(f"skipped {path}: {special}, not a Python file")
        return "skipped"
    return "file"


def _within(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _walk(top: Path, config: Config, roots: Sequence[Path], visited: set[Path], notes: list[str]) -> Iterator[Path]:
    real = Path(os.path.realpath(top))
    if real in visited:  # a link back up the tree
        return
    visited.add(real)
    try:
        children = sorted(top.iterdir())
    except OSError as error:
        notes.append(f"skipped folder {top}: cannot read it ({error.strerror or error})")
        return
    for child in children:
        python = child.suffix == ".py"
        if child.is_symlink() and not _within(Path(os.path.realpath(child)), roots):
            if python or child.is_dir():
                notes.append(f"skipped {child}: a symbolic link out of the checked folders")
            continue
        kind = _kind(child, notes if python else [])
        if kind == "folder":
            if not is_skipped_dir(child) and not excluded(child, config):
                yield from _walk(child, config, roots, visited, notes)
        elif kind == "file" and python and not excluded(child, config):
            yield child


_WORKER_CONTEXTS: dict[Path, ProjectContext] = {}
#: With `jobs` left to the engine, fewer files than this are checked in one process: starting workers,
#: each building the project context, costs more than it saves.
AUTO_PARALLEL_MIN_FILES = 40

#: (file, display path, project root, config, rules, result cache, cache key, the `--diff` base)
_Task = tuple[Path, str, Path, Config, tuple[type[Rule], ...], "ResultCache | None", "str | None", "str | None"]


def _context(
    root: Path, contexts: dict[Path, ProjectContext], store: ResultCache | None, config: Config, since: str | None
) -> ProjectContext:
    """The context of the project at `root`, built once per process; kept between runs with the cache.
    `since` is the commit a review of a change compares with (`--diff`): its additions are one release."""
    context = configured_context(root, config, since)
    if root not in contexts or contexts[root].settings != context.settings:
        contexts[root] = context
        if store is not None:
            contexts[root].store = ContextCache(store.folder)
            contexts[root].fingerprinting = True
    return contexts[root]


def configured_context(root: Path, config: Config, since: str | None = None) -> ProjectContext:
    """The context of the project at `root` under the settings that shape it."""
    return ProjectContext(
        root=root,
        django_version=config.django_version,
        release_tags=config.release_tags,
        since=since,
        python_path=config.python_path,
        max_file_size=config.max_file_size,
    )


def _run_task(task: _Task, contexts: dict[Path, ProjectContext]) -> FileResult:
    """Checks one file with its project's context from `contexts`, storing the result when cached."""
    path, display, root, config, rules, store, key, since = task
    context = _context(root, contexts, store, config, since)
    if store is None or key is None:
        return lint_file(path, display, context, config, rules)
    context.fingerprinting = True
    context.touched.clear()
    result = lint_file(path, display, context, config, rules)
    store.put(key, context, result)
    return result


#: Seconds one file may take before it is reported as not analysed (with any `jobs`).
FILE_TIME_BUDGET = 120.0


class OverBudget(BaseException):
    """Raised by the alarm when a file has used up its time budget."""


def _on_alarm(signum: int, frame: object) -> None:
    raise OverBudget


@contextmanager
def time_budget(seconds: float | None = None) -> Iterator[None]:
    """Raises `OverBudget` inside the block once `seconds` (default `FILE_TIME_BUDGET`) have passed
    (an interval timer's SIGALRM).

    No budget where there is no timer (Windows), outside the main thread (signals reach only it), or
    when a timer is already running (the caller's own, such as a test timeout): it is left alone.
    """
    armed = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )
    if not armed:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, FILE_TIME_BUDGET if seconds is None else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _lint_in_budget(task: _Task, contexts: dict[Path, ProjectContext]) -> FileResult:
    """`_run_task` within `FILE_TIME_BUDGET`: a file that runs over it is reported (RP001) instead of
    holding the run. The alarm may cut a context's construction short, so that context is dropped."""
    try:
        with time_budget():
            return _run_task(task, contexts)
    except OverBudget:
        contexts.pop(task[2], None)
        return _error_result(task[1], 0, _at(1), over_budget(), task[3])


def over_budget() -> str:
    """The finding's message for a file that ran over `FILE_TIME_BUDGET`."""
    return f"took longer than {FILE_TIME_BUDGET:g} s to analyse; not analysed"


def _lint_in_worker(task: _Task) -> FileResult:
    """One file in a worker process; each worker builds a project's context once."""
    return _lint_in_budget(task, _WORKER_CONTEXTS)


def _start_worker() -> None:
    """Workers leave Ctrl-C to the parent, which stops them: no traceback from each of them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the handler the parent's front end installed


def run_in_pool(tasks: Sequence[_Task], jobs: int, done: Callable[[], None] = lambda: None) -> list[FileResult]:
    """The results of `tasks` checked in `jobs` worker processes, in order.

    A worker that dies (a crash, the out-of-memory killer) costs only its file: the files it may
    have been checking are rerun one by one to find that file, and the pool is rebuilt for the
    rest. On Ctrl-C, or any exception, the workers are stopped before it goes on.
    """
    results: dict[int, FileResult] = {}
    todo = list(range(len(tasks)))
    while todo:
        undone = _run_batch(tasks, todo, jobs, results, done)
        # the pool hands out files in order: the dead worker's file is among the first undone
        suspects, todo = undone[: 2 * jobs + 1], undone[2 * jobs + 1 :]
        for index in suspects:
            if _run_batch(tasks, [index], 1, results, done):
                reason = "the process checking this file died (a crash or out of memory); not analysed"
                results[index] = _error_result(tasks[index][1], 0, _at(1), reason, tasks[index][3])
    return [results[index] for index in range(len(tasks))]


def _run_batch(
    tasks: Sequence[_Task],
    indices: list[int],
    jobs: int,
    results: dict[int, FileResult],
    done: Callable[[], None] = lambda: None,
) -> list[int]:
    """Checks `indices` of `tasks` in one pool, into `results`; returns those left undone by a dead worker."""
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(indices)), initializer=_start_worker)
    try:
        with stopping.polled():
            futures = {pool.submit(_lint_in_worker, tasks[index]): index for index in indices}
            for future in _as_completed(futures):
                index = futures[future]
                try:
                    results[index] = future.result()
                    done()
                except BrokenProcessPool:
                    pass
                except Exception as error:  # the worker's own failure, outside `lint`'s guard
                    reason = f"review-patterns failed on this file: {type(error).__name__}: {error}"
                    results[index] = _error_result(tasks[index][1], 0, _at(1), reason, tasks[index][3], InternalError)
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown()
    return [index for index in indices if index not in results]


def _as_completed(futures: Iterable[Future[FileResult]]) -> Iterator[Future[FileResult]]:
    """`futures` as they complete, checking a few times a second whether the run must stop."""
    pending = set(futures)
    while pending:
        stopping.check()
        done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
        yield from done


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stops `pool`'s processes now (Ctrl-C, SIGTERM); further Ctrl-C presses wait for it to be done."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
    try:
        processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way to reach them
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
        pool.shutdown(wait=False, cancel_futures=True)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _cache_key(
    store: ResultCache, path: Path, display: str, root: Path, config: Config, rules: Sequence[type[Rule]]
) -> str | None:
    """The file's cache key, None when it cannot be read (then it is checked, and reported, uncached)."""
    try:
        content = read_regular_file(path, config.max_file_size)
    except (OSError, NotRead, MemoryError):
        return None
    try:
        project_path: str | None = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        project_path = None
    paths = (display, project_path) if project_path else (display,)
    ignored = set().union(*(ignored_here(config, p) for p in paths))
    return store.key(content, display, project_path, selected_rules(config, rules, *paths), ignored)


def share(sizes: Sequence[int], index: int, count: int) -> list[int]:
    """The positions of shard `index` (from 1) of `count`: files dealt, largest first, each to the
    shard with the fewest bytes so far (ties to the lower shard), so the shares are balanced and
    every shard computes the same split from the same tree. In run order."""
    loads = [0] * count
    mine = []
    for position in sorted(range(len(sizes)), key=lambda p: (-sizes[p], p)):
        least = min(range(count), key=lambda k: (loads[k], k))
        loads[least] += sizes[position]
        if least == index - 1:
            mine.append(position)
    return sorted(mine)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def lint_paths(
    paths: Iterable[Path],
    config: Config,
    cwd: Path | None = None,
    jobs: int | None = 1,
    *,
    rules: Sequence[type[Rule]],
    cache: Path | None = None,
    since: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    shard: tuple[int, int] | None = None,
) -> Report:
    """Checks files and folders with `rules`, building each project's context once, and grades the result.

    With `jobs` > 1 the files are spread over that many processes; with 0 or None, over one per CPU
    when there are enough of them. With `cache` (a folder), results are kept there and reused
    while the file, the settings and the project knowledge its rules read are unchanged.
    `progress(done, total)` is called as files are done. `since` is the commit a review of a
    change (`--diff`) compares with: what was added after it ships as one release.
    `shard` (K, N) checks only the K-th of N balanced shares of the files (see `share`).
    """
    cwd = (cwd or Path.cwd()).resolve()
    roots: dict[Path, Path] = {}  # folder -> project root, to spare the file system
    found = []
    notes: list[str] = []
    for path in collect_files(paths, config, notes):
        folder = path.resolve().parent
        if folder not in roots:
            roots[folder] = find_project_root(folder)
        found.append((path, display_path(path, cwd), roots[folder]))
    part = None
    if shard is not None:
        positions = share([_size(path) for path, _, _ in found], *shard)
        part = Shard(*shard, total=len(found), positions=tuple(positions))
        found = [found[p] for p in positions]
    store = ResultCache(cache, config, rules) if cache is not None else None
    contexts: dict[Path, ProjectContext] = {}
    results: list[FileResult | None] = [None] * len(found)
    pending: list[tuple[int, _Task]] = []
    for index, (path, display, root) in enumerate(found):
        key = None
        if store is not None:
            key = _cache_key(store, path, display, root, config, rules)
            if key is not None:
                results[index] = store.get(key, _context(root, contexts, store, config, since))
                if results[index] is not None:
                    continue
        pending.append((index, (path, display, root, config, tuple(rules), store, key, since)))

    auto = not jobs
    jobs = jobs or os.cpu_count() or 1
    if auto and len(pending) < AUTO_PARALLEL_MIN_FILES:
        jobs = 1
    tasks = [task for _, task in pending]
    counter = itertools.count(len(found) - len(pending) + 1)

    def one_done() -> None:
        if progress is not None:
            progress(next(counter), len(found))

    if jobs > 1 and len(tasks) > 1:
        checked = run_in_pool(tasks, jobs, one_done)
    else:
        checked = []
        for task in tasks:
            checked.append(_lint_in_budget(task, contexts))
            one_done()
    for (index, _), result in zip(pending, checked):
        results[index] = result
    if store is not None and pending:
        store.prune()
    warnings = (*map(printable, notes), *project_warnings({root for _, _, root in found}, contexts, config))
    report = grading.grade_report([r for r in results if r is not None], config.min_grade, warnings=warnings)
    return replace(report, shard=part)


def project_warnings(roots: Iterable[Path], contexts: dict[Path, ProjectContext], config: Config) -> tuple[str, ...]:
    """What the context of each checked project could not know, once per run."""
    return tuple(w for root in sorted(roots) for w in (contexts.get(root) or configured_context(root, config)).warnings)


def filter_findings(report: Report, keep: Callable[[Finding], bool]) -> Report:
    """`report` with only the findings `keep` accepts, each file re-scored and the whole re-graded.

    Used by the reviews of a change (`--diff`) and of new findings only (`--baseline`).
    A file that could not be checked keeps its error.
    """
    files = []
    for result in report.files:
        if result.error is not None:
            files.append(result)
            continue
        kept = tuple(f for f in result.findings if keep(f))
        files.append(
            replace(
                result,
                findings=kept,
                score=grading.score(kept, result.bonuses),
                dimensions=grading.dimension_scores(kept, result.bonuses),
            )
        )
    return grading.regrade(report, files)


def with_overrides(config: Config, **changes: Any) -> Config:
    """`config` with the given fields replaced, skipping those left as None."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
