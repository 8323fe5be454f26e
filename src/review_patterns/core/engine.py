"""The engine: source text (plus the project context) in, graded findings out.

Each file is parsed once and every selected rule runs in one batched traversal. Positions
are costly in LibCST (as much as the parse), so they are found only for the reported nodes
(`syntax/positions.py`), printing the file no further than the last of them.
"""

from __future__ import annotations

import re
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import libcst as cst
from libcst.metadata import CodeRange

from review_patterns.core import collector, grading, stopping
from review_patterns.core.config import Config, ignored_here, selected_rules
from review_patterns.core.edits import fix_of, module_names
from review_patterns.core.internal_error import InternalError
from review_patterns.core.model import Bonus, FileResult, Finding, Fix, printable
from review_patterns.core.parse_error import ParseError
from review_patterns.core.rule import Rule
from review_patterns.core.rule_info import RuleInfo
from review_patterns.project.context import ProjectContext
from review_patterns.syntax import traversal
from review_patterns.syntax.files import SourceFile, read_source
from review_patterns.syntax.parsing import Rejected, checked_depth, parse_module
from review_patterns.syntax.positions import positions_of
from review_patterns.syntax.semantic import SemanticModel

DEFAULT_CONFIG = Config()
T = TypeVar("T")
_NOQA = re.compile(r"#\s*noqa(?::\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


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

    return _Guarded({name: guard(method) for name, method in rule.get_visitors().items()})


class _Guarded(cst.BatchableCSTVisitor):
    """A rule's visitor methods, each wrapped by `_guarded` (one class for every rule and file)."""

    def __init__(self, visitors: dict[str, Callable[[Any], Any]]) -> None:
        super().__init__()
        self.visitors = visitors

    def get_visitors(self) -> Any:
        return self.visitors


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
    rules: Sequence[RuleInfo],
    project_path: str | None = None,
) -> FileResult:
    """Checks one file's source with `rules`. Never raises: parse and rule failures become findings.

    Findings carry `path`; rules see `project_path` (relative to the context's root) when given,
    so that they can find their own file in the project context wherever the run started.
    """
    config = config or DEFAULT_CONFIG
    lines = sum(1 for line in source.splitlines() if line.strip())
    with collector.paused():  # not once per few thousand nodes over the file's trees: once after the file
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
    rules: Sequence[RuleInfo],
    project_path: str | None,
    lines: int,
) -> FileResult:
    """Parses once, runs the rules in one traversal and places their reports (see `lint`).

    A file that no selected rule applies to, or whose rules all find in `setup` that they have
    nothing to check in it (`Rule.active`), is not parsed by LibCST (CPython's parser, in `lint`,
    has already said whether it is Python).
    """
    file = SourceFile(project_path or path, source)
    semantic = SemanticModel(file)
    context = context if context is not None else ProjectContext.empty(django_version=config.django_version)
    failures: dict[type[Rule], str] = {}  # a crashing rule is reported as RP002, never raised
    visitors: list[Rule] = []
    for selected in selected_rules(config, rules, path, file.path):
        if not selected.applies_to(file):  # the catalogue's kinds and words
            continue
        rule_class = selected.load()  # its module is imported once a file needs it
        try:
            if rule_class is not selected and not rule_class.applies_to(file):  # the class's own pre-check
                continue
            visitor = rule_class(file, context, config.options.get(rule_class.code), semantic)
            if visitor.active:
                visitors.append(visitor)
        except (RecursionError, MemoryError):
            raise
        except Exception as error:
            failures[rule_class] = _describe(error)
    ignored = ignored_here(config, path) | ignored_here(config, file.path)
    module = _UNREAD
    if visitors:
        try:
            module = parse_module(source)
        except (RecursionError, MemoryError):
            raise
        except Exception as error:
            line, column, message = _parse_failure(error)
            return _error_result(path, lines, _at(line, column), message, config)
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


#: Stands for the tree of a file that no rule reads.
_UNREAD = cst.Module(body=())


def not_analysed(path: str, reason: str, config: Config, *, internal: bool = False) -> FileResult:
    """A file reported at its first line as not analysed: RP001, or RP002 when the tool failed."""
    return _error_result(path, 0, _at(1), reason, config, InternalError if internal else ParseError)


def lint_file(
    path: Path, display: str, context: ProjectContext, config: Config, rules: Sequence[RuleInfo]
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
