"""The project's own functions that log the traceback of the exception being handled.

A project often logs failures through a helper of its own (`log_trace()` calling
`traceback.format_exc()`, `report_failure()` calling `logger.exception()`): a handler calling one
keeps the traceback as surely as a handler calling the logger itself (RP304).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from review_patterns.syntax.ast_names import AstImportTable, ast_dotted_name
from review_patterns.syntax.files import FileKind, SourceFile, file_kinds
from review_patterns.syntax.parsing import UNREADABLE, parse_python

#: Calls that format, print or send the traceback of the exception being handled, by qualified name.
TRACEBACK_CALLS = frozenset(
    {
        "traceback.print_exc",
        "traceback.print_exception",
        "traceback.format_exc",
        "traceback.format_exception",
        "sentry_sdk.capture_exception",
    }
)
#: A module can define such a helper only if it holds one of these (plain substrings, fast).
_WORTH_READING = ("format_exc", "print_exc", "capture_exception", "exc_info", ".exception(")


def may_log_tracebacks(text: str) -> bool:
    """Whether a module may define a function that logs the current traceback (`traceback_loggers` reads it)."""
    return any(word in text for word in _WORTH_READING)


def traceback_loggers(sources: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Qualified names of the module-level functions (outside tests) whose body logs the traceback of
    the exception being handled, and of the module's names bound to them (`trace = log_trace`)."""
    return frozenset(name for path, text in sources for name in module_loggers(path, text))


def module_loggers(path: str, text: str) -> frozenset[str]:
    """`traceback_loggers` of one module: what it says of a file edited since (`ProjectContext.HOLDS`)."""
    if not may_log_tracebacks(text) or file_kinds(path) & {FileKind.TEST, FileKind.FIXTURE}:
        return frozenset()
    try:
        tree = parse_python(text)
    except UNREADABLE:
        return frozenset()
    source = SourceFile(path, text)
    imports = AstImportTable.of_module(tree, source.package)
    names = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _logs_traceback(node, imports)
    }
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names:
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(f"{source.module_name}.{name}" for name in names)


def _logs_traceback(function: ast.FunctionDef | ast.AsyncFunctionDef, imports: AstImportTable) -> bool:
    """Whether the function formats, prints or reports the traceback its caller is handling, or logs
    with it (`logger.exception(...)`, `exc_info=` anything but False or None): outside handlers of
    its own, whose traceback would be that of their own failure."""
    for node in _own_statements(function):
        if not isinstance(node, ast.Call):
            continue
        if imports.resolve(node.func) in TRACEBACK_CALLS:
            return True
        if any(k.arg == "exc_info" and not _false_or_none(k.value) for k in node.keywords):
            return True
        if isinstance(node.func, ast.Attribute) and node.func.attr == "exception":
            receiver = (ast_dotted_name(node.func.value) or "").rsplit(".", 1)[-1].lower()
            if "log" in receiver:
                return True
    return False


def _own_statements(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """The nodes of the function's body, not those of its `except` handlers nor of nested definitions."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.ExceptHandler, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))


def _false_or_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in (False, None)


def is_traceback_logger(qualified: str, loggers: frozenset[str]) -> bool:
    """Whether a called name is one of `loggers`, also when the project's modules are read from below a
    source folder (`src.shop.logs.log_failure` called as `shop.logs.log_failure`)."""
    return qualified in loggers or ("." in qualified and any(name.endswith("." + qualified) for name in loggers))
