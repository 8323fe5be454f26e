"""Runs the engine over files and folders: finds the files, keeps and reuses results in the cache,
builds each project's context once per process, spreads the files over processes and grades them.

Nothing here imports LibCST or a rule: a run whose files are all cached never does. The engine is
imported when a file is analysed.
"""

from __future__ import annotations

import errno
import itertools
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from review_patterns.core import grading, stopping
from review_patterns.core.cache import ContextCache, ResultCache
from review_patterns.core.config import Config, ignored_here, path_matches, selected_rules
from review_patterns.core.model import FileResult, Finding, Report, Shard, printable
from review_patterns.core.rule_info import RuleInfo
from review_patterns.project.context import ProjectContext, find_project_root, is_skipped_dir
from review_patterns.syntax.files import SourceFile, read_text, special_kind

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor


def display_path(path: Path, cwd: Path) -> str:
    """Relative to `cwd` when below it, with forward slashes, printable (see `printable`)."""
    return _display(os.path.realpath(path), str(cwd))


def _display(real: str, cwd: str) -> str:
    """`display_path` of a path already resolved, below the resolved `cwd`."""
    return printable(_below(real, cwd) or real.replace(os.sep, "/"))


def _below(real: str, folder: str) -> str | None:
    """`real` relative to `folder` (both resolved), with forward slashes; None when it is not below it."""
    prefix = os.path.join(folder, "")
    return real[len(prefix) :].replace(os.sep, "/") if real.startswith(prefix) else None


def excluded(path: Path, config: Config) -> bool:
    """Whether `exclude` (globs relative to the config's folder) covers `path`."""
    return _exclusion(config)(os.path.realpath(path))


def _exclusion(config: Config) -> Callable[[str], bool]:
    """Whether `exclude` covers a real path (symbolic links resolved), with the config's folder resolved once."""
    if not config.exclude or config.root is None:
        return lambda real: False
    base = os.path.realpath(config.root)

    def covers(real: str) -> bool:
        relative = _below(real, base)
        if relative is None:
            return False
        return any(path_matches(relative, p) or path_matches(relative + "/", p) for p in config.exclude)

    return covers


def collect_files(paths: Iterable[Path], config: Config, notes: list[str] | None = None) -> Iterator[Path]:
    """The Python files named or found below the named folders, minus the excluded ones.

    A file named explicitly is always checked. Raises FileNotFoundError for a missing path.
    What is skipped for a reason the user should know (a FIFO or device, a symlink loop, an
    unreadable folder, a link out of the checked folders) is said in `notes`, one line each (the report's warnings).
    """
    for path, _, _ in _collect(paths, config, notes if notes is not None else []):
        yield path


def _collect(paths: Iterable[Path], config: Config, notes: list[str]) -> Iterator[tuple[Path, str, Path | None]]:
    """`collect_files`, with each file's real path (symbolic links resolved), by which a file found
    twice is checked once, and the real path of the folder named that holds it (None: a file named)."""
    paths = list(paths)
    roots = [os.path.realpath(p) for p in paths]
    exclude = _exclusion(config)
    seen: set[str] = set()
    for path, root in zip(paths, roots):
        kind = _kind(path, notes)
        if kind == "missing":
            raise FileNotFoundError(str(path))
        if kind == "file":
            found: Iterable[tuple[Path, str]] = [(path, root)]
        elif kind == "folder":
            found = _walk(path, root, exclude, roots, set(), notes)
        else:
            continue
        for file, real in found:
            if real not in seen:
                seen.add(real)
                yield file, real, Path(root) if kind == "folder" else None


def files_in_projects(
    paths: Iterable[Path], config: Config, notes: list[str] | None = None
) -> Iterator[tuple[Path, str, Path]]:
    """`_collect`'s files, each with the root of its project: the nearest folder at or above it holding
    a project marker (`manage.py`, `pyproject.toml`, ...), else the folder named that holds it, else
    (a file named alone) its own folder. The project markers are looked for once per folder."""
    roots: dict[str, Path] = {}  # folder -> project root
    marked: dict[str, str | None] = {}  # folder -> the nearest one at or above it with a project marker
    for path, resolved, named in _collect(paths, config, notes if notes is not None else []):
        folder = os.path.dirname(resolved)
        if folder not in roots:
            roots[folder] = find_project_root(Path(folder), marked, default=named)
        yield path, resolved, roots[folder]


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


def _within(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(os.path.join(root, "")) for root in roots)


def _walk(
    top: Path, real: str, exclude: Callable[[str], bool], roots: Sequence[str], visited: set[str], notes: list[str]
) -> Iterator[tuple[Path, str]]:
    """The Python files below `top` (whose real path is `real`), in name order, each with its real path.
    One `scandir` per folder: a plain file or folder needs no further call; links and special files
    are looked at closely (`_kind`)."""
    if real in visited:  # a link back up the tree
        return
    visited.add(real)
    try:
        with os.scandir(top) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        notes.append(f"skipped folder {top}: cannot read it ({error.strerror or error})")
        return
    for entry in entries:
        python = entry.name.endswith(".py") and entry.name != ".py"
        if entry.is_symlink():
            child_real = os.path.realpath(entry.path)
            if not _within(child_real, roots):
                if python or Path(entry.path).is_dir():  # False for a link to nowhere or in a loop
                    notes.append(f"skipped {top / entry.name}: a symbolic link out of the checked folders")
                continue
            kind = _kind(top / entry.name, notes if python else [])
        elif entry.is_dir(follow_symlinks=False):
            child_real, kind = os.path.join(real, entry.name), "folder"
        elif not python:
            continue  # a plain file that is not Python (d_type tells; a special one is noted only when .py)
        else:
            child_real = os.path.join(real, entry.name)
            kind = "file" if entry.is_file(follow_symlinks=False) else _kind(top / entry.name, notes)
        if kind == "folder":
            if not is_skipped_dir(entry.path) and not exclude(child_real):
                yield from _walk(top / entry.name, child_real, exclude, roots, visited, notes)
        elif kind == "file" and python and not exclude(child_real):
            yield top / entry.name, child_real


_WORKER_CONTEXTS: dict[Path, ProjectContext] = {}
#: With `jobs` left to the engine, fewer files than this are checked in one process: starting workers,
#: each building the project context, costs more than it saves.
AUTO_PARALLEL_MIN_FILES = 40

#: (file, display path, project root, config, rules, result cache, cache key, the `--diff` base)
_Task = tuple[Path, str, Path, Config, tuple[RuleInfo, ...], "ResultCache | None", "str | None", "str | None"]


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
    from review_patterns.core.engine import lint_file  # LibCST, only once a file is analysed

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
        return _not_analysed(task[1], over_budget(), task[3])


def over_budget() -> str:
    """The finding's message for a file that ran over `FILE_TIME_BUDGET`."""
    return f"took longer than {FILE_TIME_BUDGET:g} s to analyse; not analysed"


def _lint_in_worker(indices: Sequence[int]) -> list[FileResult]:
    """A few of the run's files in a worker process; each worker builds a project's context once."""
    return [_lint_in_budget(_WORKER_TASKS[index], _WORKER_CONTEXTS) for index in indices]


def _chunk_size(files: int, jobs: int) -> int:
    """Files handed to a worker at a time: a few, which spares the parent a round trip per file,
    as long as every worker gets eight hands or more (so that the last ones end together)."""
    return max(1, min(MAX_CHUNK, files // (jobs * 8)))


#: Most files handed to a worker at a time (see `_chunk_size`).
MAX_CHUNK = 4


#: The run's tasks, handed to each worker once (inherited when forked), so that a file is sent as its index.
_WORKER_TASKS: list[_Task] = []


def _start_worker(tasks: Sequence[_Task]) -> None:
    """Takes the run's tasks. Workers leave Ctrl-C to the parent, which stops them: no traceback from each of them."""
    _WORKER_TASKS[:] = tasks
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
    try:
        prepare_workers(tasks, jobs)
        while todo:
            chunk = _chunk_size(len(todo), jobs)
            undone = _run_batch(tasks, todo, jobs, results, done, chunk)
            # the pool hands out chunks in order, one more than it has workers: the dead worker's file
            # is among the first undone
            suspects, todo = undone[: (2 * jobs + 1) * chunk], undone[(2 * jobs + 1) * chunk :]
            for index in suspects:
                if _run_batch(tasks, [index], 1, results, done):
                    reason = "the process checking this file died (a crash or out of memory); not analysed"
                    results[index] = _not_analysed(tasks[index][1], reason, tasks[index][3])
    finally:
        _WORKER_CONTEXTS.clear()  # built here for this run's workers: a later run reads the project again
    return [results[index] for index in range(len(tasks))]


def prepare_workers(tasks: Sequence[_Task], jobs: int = 1) -> None:
    """What forked workers inherit instead of each doing it again: the engine (LibCST) and the selected
    rules imported (a third of a second of CPU per worker), and each project's context with the parts
    (`Rule.reads`) built that the rules read which run on one of its files (their kinds and words, as
    the catalogue says; the files are read until each such rule has found one), over `jobs` processes.
    The imports are made while the first project's parts are being built by helper processes.

    A part that fails or runs over the time budget is left for each worker to build, as without this.
    """
    import multiprocessing

    if not tasks or multiprocessing.get_start_method() != "fork":
        return
    configs: dict[int, tuple[Config, Sequence[RuleInfo]]] = {}
    projects: dict[tuple[Path, int, str | None], list[_Task]] = {}  # (root, config, since) -> its tasks
    for task in tasks:
        configs[id(task[3])] = (task[3], task[4])
        projects.setdefault((task[2], id(task[3]), task[7]), []).append(task)

    def load_rules() -> None:  # once: later calls cost nothing
        from review_patterns.core import engine  # noqa: F401

        for config, rules in configs.values():
            for rule in selected_rules(config, rules):
                rule.load()

    for project in projects.values():
        _, _, root, config, rules, store, _, since = project[0]
        parts = _parts_read(project, [rule for rule in selected_rules(config, rules) if rule.reads])
        if parts:
            _build_parts(_context(root, _WORKER_CONTEXTS, store, config, since), parts, root, jobs, load_rules)
    load_rules()  # raises here what importing a rule raises


def _parts_read(tasks: Sequence[_Task], rules: Sequence[RuleInfo]) -> list[str]:
    """The parts read by those of `rules` that run on one of the tasks' files (the files are read until
    every part a rule reads is known to be wanted, or none is left to read)."""
    parts: set[str] = set()
    waiting = list(rules)
    for path, _, root, config, *_ in tasks:
        if not waiting:
            break
        source = read_text(path, config.max_file_size)
        if source is None:
            continue
        file = SourceFile(_below(os.path.realpath(path), str(root)) or path.name, source)
        parts.update(part for rule in waiting if _applies(rule, file) for part in rule.reads)
        waiting = [rule for rule in waiting if not parts.issuperset(rule.reads)]  # all it reads is built already
    return sorted(parts)


def _applies(rule: RuleInfo, file: SourceFile) -> bool:
    """`rule.applies_to(file)`; False when it fails (the worker reports that failure, RP002)."""
    try:
        return rule.applies_to(file)
    except Exception:
        return False


def _build_parts(
    context: ProjectContext, parts: Sequence[str], root: Path, jobs: int, meanwhile: Callable[[], None]
) -> None:
    from review_patterns.core.prebuild import build_parts

    try:
        with time_budget():
            build_parts(context, parts, jobs, meanwhile)
    except (OverBudget, Exception):  # the workers build it, each within a file's budget, as they would
        _WORKER_CONTEXTS.pop(root, None)
    context.touched.clear()


def _run_batch(
    tasks: Sequence[_Task],
    indices: list[int],
    jobs: int,
    results: dict[int, FileResult],
    done: Callable[[], None] = lambda: None,
    chunk: int = 1,
) -> list[int]:
    """Checks `indices` of `tasks` in one pool, `chunk` files at a time, into `results`; returns those
    left undone by a dead worker."""
    from concurrent.futures import ProcessPoolExecutor  # with its logging and multiprocessing: only for a pool
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=min(jobs, len(indices)), initializer=_start_worker, initargs=(tasks,))
    try:
        with stopping.polled():
            hands = [tuple(indices[at : at + chunk]) for at in range(0, len(indices), chunk)]
            futures = {pool.submit(_lint_in_worker, hand): hand for hand in hands}
            for future in _as_completed(futures):
                hand = futures[future]
                try:
                    for index, result in zip(hand, future.result()):
                        results[index] = result
                        done()
                except BrokenProcessPool:
                    pass
                except Exception as error:  # the worker's own failure, outside `lint`'s guard
                    if len(hand) > 1:
                        continue  # left undone: each of its files is checked again alone
                    reason = f"review-patterns failed on this file: {type(error).__name__}: {error}"
                    results[hand[0]] = _not_analysed(tasks[hand[0]][1], reason, tasks[hand[0]][3], internal=True)
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown()
    return [index for index in indices if index not in results]


def _as_completed(futures: Iterable[Future[list[FileResult]]]) -> Iterator[Future[list[FileResult]]]:
    """`futures` as they complete, checking a few times a second whether the run must stop."""
    from concurrent.futures import FIRST_COMPLETED, wait

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


def _cache_key(store: ResultCache, path: Path, real: str, display: str, root: Path, config: Config) -> str | None:
    """The file's cache key, None when it cannot be read (then it is checked, and reported, uncached).
    `real` is its path with links resolved, `root` its project's (resolved) root."""
    digest = store.content_digest(path, real, config.max_file_size)
    if digest is None:
        return None
    project_path = _below(real, str(root))
    paths = (display, project_path) if project_path else (display,)
    return store.key(digest, display, project_path, frozenset().union(*(ignored_here(config, p) for p in paths)))


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
    rules: Sequence[RuleInfo],
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
    paths = list(paths)
    notes: list[str] = []
    found = list(files_in_projects(paths, config, notes))
    part = None
    if shard is not None:
        positions = share([_size(path) for path, _, _ in found], *shard)
        part = Shard(*shard, total=len(found), positions=tuple(positions))
        found = [found[p] for p in positions]
    store = ResultCache(cache, config, rules) if cache is not None else None
    if store is not None:
        store.recall([str(path) for path in paths], str(cwd), shard)
    contexts: dict[Path, ProjectContext] = {}
    results: list[FileResult | None] = [None] * len(found)
    pending: list[tuple[int, _Task]] = []
    keys: list[str | None] = []
    for index, (path, real, root) in enumerate(found):
        display = _display(real, str(cwd))
        key = None
        if store is not None:
            key = _cache_key(store, path, real, display, root, config)
            keys.append(key)
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
    if store is not None:
        store.record_run(keys, checked=bool(pending))
        if pending:
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


def _not_analysed(display: str, reason: str, config: Config, *, internal: bool = False) -> FileResult:
    from review_patterns.core.engine import not_analysed

    return not_analysed(display, reason, config, internal=internal)
