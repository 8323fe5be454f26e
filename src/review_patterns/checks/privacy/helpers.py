"""What the privacy and error-handling rules (RP3xx) share: logger calls and exception handlers.

`HandlerAwareRule` follows, during the one traversal, which names are loggers in each scope
and which `except` handlers enclose the current node, and tells its subclasses about logger
calls, handlers, `raise` and `return` through hooks.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.project.tracebacks import TRACEBACK_CALLS
from review_patterns.syntax import traversal
from review_patterns.syntax.files import SourceFile, attribute_pattern
from review_patterns.syntax.names import bound_names, call_name, dotted_name, string_value
from review_patterns.syntax.semantic import Binding, BindingKind, SemanticModel

LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
#: `.info`, `.error`...: how a call to one of the `LOG_METHODS` is written.
_LOG_METHOD_ATTRIBUTE = attribute_pattern(LOG_METHODS)
_EXCEPT = re.compile(r"except\b(?<=\bexcept)")  # the word found first: twenty times faster than `\bexcept\b`


def may_call_a_log_method(source: str) -> bool:
    """Whether `source` may hold a call such as `logger.info(...)`: a logger call's method is an
    attribute named after one of the `LOG_METHODS` (False: no logger call can be there)."""
    return _LOG_METHOD_ATTRIBUTE.search(source) is not None


#: Names used for loggers by convention: a logger when nothing in the file says otherwise.
CONVENTIONAL_LOGGERS = frozenset({"logger", "log", "LOGGER", "_logger", "_log"})
#: Calls that return a logger (qualified names).
LOGGER_FACTORIES = frozenset(
    {
        "logging.getLogger",
        "logging.LoggerAdapter",
        "structlog.get_logger",
        "structlog.getLogger",
        "structlog.stdlib.get_logger",
        "structlog.wrap_logger",
        "celery.utils.log.get_task_logger",
    }
)
#: Methods of a logger that return a logger (structlog's bound loggers, stdlib children).
_DERIVED_LOGGER = frozenset({"bind", "new", "unbind", "try_unbind", "getChild", "opt"})
#: Keywords of a stdlib logger call that are not part of the message.
_CALL_OPTIONS = frozenset({"exc_info", "stack_info", "stacklevel"})
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARN": 30, "WARNING": 30, "ERROR": 40, "FATAL": 50, "CRITICAL": 50}
_METHOD_LEVELS = {
    "debug": 10,
    "info": 20,
    "warning": 30,
    "warn": 30,
    "error": 40,
    "exception": 40,
    "critical": 50,
    "fatal": 50,
}
_FALSY = ("False", "None")


@dataclass
class LoggerCall:
    """A call of a logger method, taken apart into what ends up in the log record."""

    node: cst.Call
    method: str  #: "info", "exception", "log", ...
    level: int | None  #: 10 (debug) .. 50 (critical); None when `.log()`'s level is not known
    #: The format string and its arguments: positional arguments (after `.log()`'s level).
    args: tuple[cst.BaseExpression, ...]
    #: Named values: structlog's keywords and the entries of `extra={...}` (and `.bind(...)` before the call).
    named: tuple[tuple[str, cst.BaseExpression], ...]
    #: Values whose names are not known: `extra=context`, `**kwargs`.
    unnamed: tuple[cst.BaseExpression, ...]
    exc_info: cst.BaseExpression | None

    @property
    def parts(self) -> Iterator[cst.BaseExpression]:
        """Every expression whose value reaches the log record's message or fields."""
        yield from self.args
        yield from (value for _, value in self.named)
        yield from self.unnamed

    @property
    def logs_traceback(self) -> bool:
        """`logger.exception(...)` or `exc_info=` anything but False or None."""
        if self.exc_info is not None:
            return not (isinstance(self.exc_info, cst.Name) and self.exc_info.value in _FALSY)
        return self.method == "exception"


@dataclass(eq=False)
class Handler:
    """An `except` clause enclosing the current node, and what its body does so far."""

    node: cst.ExceptHandler | cst.ExceptStarHandler
    name: str | None  #: the `as` name
    types: tuple[str, ...]  #: qualified names of the caught classes; () for a bare `except:`
    known: bool  #: every caught class is spelled out (not a variable holding a tuple)
    raises: bool = False  #: a `raise` statement in the body (not in a nested function)
    reraises: bool = False  #: a bare `raise` of this handler's own exception
    exits: bool = False  #: a call that ends the process (`sys.exit()`, `os._exit()`)
    logs_traceback: bool = False  #: a logger call with a traceback, or a traceback printed or reported
    answers_404: bool = False  #: raises Http404/NotFound or builds a 404 response
    #: the exception object is passed on: an argument of a (non-logger) call, returned, stored, `sys.exc_info()`
    hands_on: bool = False
    name_live: bool = True  #: the `as` name still holds the exception (not rebound in the body)

    @property
    def bare(self) -> bool:
        return self.node.type is None

    def catches(self, names: frozenset[str]) -> bool:
        """Whether one of the caught classes is in `names` (qualified, or builtin as written)."""
        return any(t in names for t in self.types)


@dataclass(eq=False)
class Frame:
    """A scope: the module, a class body or a function, with its names and open handlers."""

    kind: str  #: "module", "class" or "function"
    node: cst.CSTNode | None = None
    handlers: list[Handler] = field(default_factory=list)
    #: class frames: attributes of `self`/`cls` bound to a logger
    logger_attrs: set[str] = field(default_factory=set)
    state: dict[str, Any] = field(default_factory=dict)  #: what a rule keeps per scope


#: Calls that raise: `sys.exit()` raises SystemExit, `self.fail()` AssertionError, `pytest.fail()` Failed.
_EXITING_CALLS = frozenset({"sys.exit", "exit", "quit", "os._exit"})
_RAISING_CALLS = _EXITING_CALLS | {"pytest.fail", "pytest.skip", "pytest.exit"}
_RAISING_METHODS = frozenset({"fail", "skipTest"})
_EXC_INFO = frozenset({"sys.exc_info", "sys.exception"})
#: Calls that only look at an exception (or print it like a log line without traceback): not passing it on.
_INSPECTING = frozenset(
    {
        "type",
        "str",
        "repr",
        "format",
        "isinstance",
        "issubclass",
        "getattr",
        "hasattr",
        "len",
        "id",
        "print",
        "warnings.warn",
        "vars",
        "dir",
    }
)
#: Error reporters (Sentry, Rollbar, a project's `report_error`): they send the traceback on, by called name.
#: `handleError` is what a `logging.Handler` calls when it fails to emit: it prints the traceback.
ERROR_REPORTERS = frozenset(
    {"capture_exception", "captureException", "report_exc_info", "report_error", "report_exception", "handleError"}
)
_NOT_FOUND = frozenset(
    {
        "django.http.Http404",
        "Http404",
        "rest_framework.exceptions.NotFound",
        "NotFound",
        "django.http.HttpResponseNotFound",
        "HttpResponseNotFound",
    }
)


def _qualified_literal_level(name: str) -> int | None:
    last = name.rsplit(".", 1)[-1]
    if name.startswith("logging.") or name == last:
        return _LEVELS.get(last)
    return None


def is_404(node: cst.BaseExpression) -> bool:
    """`404`, `status.HTTP_404_NOT_FOUND`, `HTTPStatus.NOT_FOUND`."""
    if isinstance(node, cst.Integer):
        return node.value == "404"
    name = dotted_name(node) or ""
    return name.endswith(("HTTP_404_NOT_FOUND", "HTTPStatus.NOT_FOUND"))


class HandlerAwareRule(Rule):
    """A rule that knows loggers and the enclosing `except` handlers.

    Subclasses override the hooks `on_call`, `on_handler`, `after_handler`, `on_raise`,
    `on_return` and `on_assign`; the visit methods here keep the scopes and must not be overridden.
    """

    #: The rule reports at logger calls only: a file where none can be written is not parsed for it.
    at_logger_calls: ClassVar[bool] = False
    #: The rule reports in `except` handlers only: a file without the word `except` (`exception` is
    #: another word) is not parsed for it.
    in_handlers: ClassVar[bool] = False

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        return (
            super().applies_to(file)
            and (not cls.in_handlers or _EXCEPT.search(file.source) is not None)
            and (not cls.at_logger_calls or may_call_a_log_method(file.source))
        )

    def setup(self) -> None:
        self.frames: list[Frame] = [Frame("module")]
        #: Whether a binding holds a logger: True, False, or None (unknown: decided by convention).
        #: Filled when the traversal passes the binding, or on first use for one not passed yet.
        self._loggers: dict[Binding, bool | None] = {}
        self._in_log = 0  # depth of logger calls around the current node
        self._calls: list[bool] = []  # for each enclosing call: is it a logger call?
        self._debug_blocks: list[bool] = []  # for each enclosing `if` block: does it run only under DEBUG?
        #: for each enclosing `if` block: the handler whose exception its test narrows, and to which classes
        self._narrowings: list[tuple[Handler, tuple[str, ...]] | None] = []
        #: What every handler-aware rule of the file decides alike at a node, decided by the first of them:
        #: the logger call a call is, whether an assigned value is a logger, a class's logger attributes.
        self._decided: dict[tuple[str, cst.CSTNode], Any] = self.semantic.shared.setdefault(HandlerAwareRule, {})

    # -- hooks --

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        """Every call; `log` is set when it is a logger call."""

    def on_handler(self, handler: Handler) -> None:
        """Entering an `except` clause (already on `self.handlers`)."""

    def after_handler(self, handler: Handler) -> None:
        """Leaving an `except` clause, its body seen (still on `self.handlers`)."""

    def on_raise(self, node: cst.Raise) -> None:
        """A `raise` statement."""

    def on_return(self, node: cst.Return) -> None:
        """A `return` statement."""

    def on_assign(
        self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode
    ) -> None:
        """An assignment (`=`, annotated, augmented or `:=`) of `value` to `targets`."""

    # -- queries --

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    @property
    def function(self) -> cst.FunctionDef | cst.Lambda | None:
        """The innermost enclosing function, if any."""
        return self.semantic.function

    @property
    def handlers(self) -> list[Handler]:
        """The `except` clauses enclosing the current node in the current scope, outermost first."""
        return self.frame.handlers

    @property
    def handler(self) -> Handler | None:
        """The innermost enclosing `except` clause in the current scope."""
        return self.frame.handlers[-1] if self.frame.handlers else None

    @property
    def debug_only(self) -> bool:
        """Inside `if settings.DEBUG:` (or the `else` of `if not settings.DEBUG:`)."""
        return any(self._debug_blocks)

    @property
    def narrowed(self) -> dict[Handler, tuple[str, ...]]:
        """Handlers whose exception an enclosing `if isinstance(e, X):` (or `type(e) is X`, or the
        `else` of `if not isinstance(e, X):`) narrows to X."""
        return dict(filter(None, self._narrowings))

    def exception_names(self) -> dict[str, Handler]:
        """Names that hold a caught exception here: each handler's live `as` name, innermost wins."""
        return {h.name: h for h in self.handlers if h.name is not None and h.name_live}

    def _class_frame(self) -> Frame | None:
        for frame in reversed(self.frames):
            if frame.kind == "class":
                return frame
        return None

    def _binding_is_logger(self, binding: Binding) -> bool | None:
        if binding in self._loggers:
            return self._loggers[binding]
        self._loggers[binding] = None  # while deciding: `log = log.bind(...)` must not loop
        found: bool | None = None
        if binding.kind is BindingKind.PARAMETER and isinstance(binding.node, cst.Param):
            found = _param_is_logger(binding.node) if isinstance(binding.scope.node, cst.FunctionDef) else None
        elif binding.kind is BindingKind.ASSIGNMENT and binding.value is not None:
            found = self._is_logger_value(binding.value)
        elif binding.kind in (BindingKind.ASSIGNMENT, BindingKind.FUNCTION, BindingKind.CLASS):
            found = False if not isinstance(binding.node, (cst.AnnAssign, cst.AugAssign)) else None
        elif binding.kind in (BindingKind.LOOP, BindingKind.WITH):
            found = False
        self._loggers[binding] = found
        return found

    def is_logger(self, node: cst.BaseExpression) -> bool:
        """Whether an expression evaluates to a logger (or is the `logging` module)."""
        if isinstance(node, cst.Name):
            binding = self.semantic.lookup(node.value)
            if binding is not None and binding.kind is BindingKind.IMPORT and binding.qualified is not None:
                return _imported_logger(binding.qualified)
            value = self._binding_is_logger(binding) if binding is not None else None
            return value if value is not None else node.value in CONVENTIONAL_LOGGERS
        if isinstance(node, cst.Attribute):
            owner = node.value
            if isinstance(owner, cst.Name) and self._is_self(owner.value):
                cls = self._class_frame()
                return cls is not None and node.attr.value in cls.logger_attrs
            if self.semantic.imported_or_written(node) in ("logging.root",):
                return True
            return node.attr.value in CONVENTIONAL_LOGGERS and dotted_name(owner) is not None
        if isinstance(node, cst.Call):
            if self.semantic.imported_or_written(node.func) in LOGGER_FACTORIES:
                return True
            func = node.func
            return isinstance(func, cst.Attribute) and func.attr.value in _DERIVED_LOGGER and self.is_logger(func.value)
        return False

    def _is_logger_value(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.BooleanOperation):
            return self._is_logger_value(node.left) or self._is_logger_value(node.right)
        if isinstance(node, cst.IfExp):
            return self._is_logger_value(node.body) or self._is_logger_value(node.orelse)
        if isinstance(node, cst.Name) and self.semantic.imported_or_written(node) in ("logging", "structlog"):
            return False  # `log = logging` is rare; calls on the module are handled anyway
        return self.is_logger(node)

    def _is_self(self, name: str) -> bool:
        """`self`, `cls`, or the first parameter of the enclosing `def`."""
        if name in ("self", "cls"):
            return True
        function = self.function
        if not isinstance(function, cst.FunctionDef):
            return False
        first = [*function.params.posonly_params, *function.params.params][:1]
        return bool(first) and first[0].name.value == name

    def logger_call(self, node: cst.Call) -> LoggerCall | None:
        """The logger call `node` is, taken apart; None when it is not one."""
        key = ("call", node)
        if key not in self._decided:
            self._decided[key] = self._logger_call(node)
        found: LoggerCall | None = self._decided[key]
        return found

    def _logger_call(self, node: cst.Call) -> LoggerCall | None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in LOG_METHODS:
            return None
        receiver = func.value
        if not self.is_logger(receiver):
            return None
        method = func.attr.value
        positional = [a.value for a in node.args if a.keyword is None and a.star != "**"]
        level: int | None = _METHOD_LEVELS.get(method)
        if method == "log":
            level = self._level(positional[0]) if positional else None
            positional = positional[1:]
        named: list[tuple[str, cst.BaseExpression]] = []
        unnamed: list[cst.BaseExpression] = [a.value for a in node.args if a.star == "**"]
        exc_info = None
        for arg in node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key == "exc_info":
                exc_info = arg.value
            elif key == "extra" and isinstance(arg.value, cst.Dict):
                named += _dict_entries(arg.value, unnamed)
            elif key == "extra":
                unnamed.append(arg.value)
            elif key not in _CALL_OPTIONS:
                named.append((key, arg.value))
        # structlog: `log.bind(email=...).info(...)` puts the bound values in this event too
        while isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):
            if receiver.func.attr.value in ("bind", "new"):
                named += [(a.keyword.value, a.value) for a in receiver.args if a.keyword is not None]
            receiver = receiver.func.value
        return LoggerCall(node, method, level, tuple(positional), tuple(named), tuple(unnamed), exc_info)

    def _level(self, node: cst.BaseExpression) -> int | None:
        if isinstance(node, cst.Integer):
            return int(node.value)
        name = self.semantic.imported_or_written(node)
        return _qualified_literal_level(name) if name else None

    def handler_types(self, node: cst.ExceptHandler | cst.ExceptStarHandler) -> tuple[tuple[str, ...], bool]:
        """The qualified names of the classes an `except` clause catches, and whether all are known."""
        if node.type is None:
            return (), True
        elements = [e.value for e in node.type.elements] if isinstance(node.type, cst.Tuple) else [node.type]
        names = [self.semantic.imported_or_written(e) for e in elements]
        known = [n.removeprefix("builtins.") for n in names if n is not None]
        return tuple(known), len(known) == len(elements)

    # -- traversal --

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name.value)
        frame = Frame("class", node)
        self.frames.append(frame)
        key = ("class", node)
        if key not in self._decided:
            self._decided[key] = self._logger_attributes(node)
        frame.logger_attrs.update(self._decided[key])

    def _logger_attributes(self, node: cst.ClassDef) -> set[str]:
        """The class body's `logger = ...` and its methods' `self.logger = ...`, as the model read them."""
        scope = self.semantic.scope_of(node)
        if scope is None:
            return set()
        return {
            binding.name
            for bindings in (*scope.bindings.values(), *scope.attributes.values())
            for binding in bindings
            if binding.kind in (BindingKind.ASSIGNMENT, BindingKind.ATTRIBUTE) and self._holds_logger(binding)
        }

    def _holds_logger(self, binding: Binding) -> bool:
        """Whether `binding` gives its name a logger: made by a logger factory, or a method's `logger` parameter."""
        value = binding.value
        if value is None:
            return False
        if isinstance(value, cst.Name) and value.value in CONVENTIONAL_LOGGERS and binding.method is not None:
            params = binding.method.params
            if value.value in {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}:
                return True
        return self._is_logger_value(value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.frames.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind(node.name.value)
        self.frames.append(Frame("function", node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.frames.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.frames.append(Frame("function", node))

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.frames.pop()

    def _bind(self, name: str) -> None:
        """A name is rebound: a handler's `as` name no longer holds its exception."""
        for handler in self.frame.handlers:
            if handler.name == name:
                handler.name_live = False

    def _bind_targets(
        self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode
    ) -> None:
        key = ("assigned", node)
        if key not in self._decided:
            self._decided[key] = value is not None and self._is_logger_value(value)
        is_logger: bool = self._decided[key]
        for binding in self.semantic.bound_by(node):
            self._loggers[binding] = is_logger  # decided here, before the name is rebound
        for target in targets:
            for name in bound_names(target):
                self._bind(name)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._hand_on([node.value])
        targets = [t.target for t in node.targets]
        self.on_assign(targets, node.value, node)
        self._bind_targets(targets, node.value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._hand_on([node.value])
        self.on_assign([node.target], node.value, node)
        if node.value is not None:
            self._bind_targets([node.target], node.value, node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._hand_on([node.value])
        self.on_assign([node.target], node.value, node)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.on_assign([node.target], node.value, node)
        self._bind_targets([node.target], node.value, node)

    def visit_For(self, node: cst.For) -> None:
        self._bind_targets([node.target], None, node)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_targets([node.asname.name], None, node)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._enter_handler(node)

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self._leave_handler()

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._enter_handler(node)

    def leave_ExceptStarHandler(self, original_node: cst.ExceptStarHandler) -> None:
        self._leave_handler()

    def _enter_handler(self, node: cst.ExceptHandler | cst.ExceptStarHandler) -> None:
        name = node.name.name.value if node.name is not None and isinstance(node.name.name, cst.Name) else None
        types, known = self.handler_types(node)
        handler = Handler(node, name, types, known)
        self.frame.handlers.append(handler)
        self.on_handler(handler)

    def _leave_handler(self) -> None:
        handler = self.frame.handlers[-1]
        self.after_handler(handler)
        self.frame.handlers.pop()

    def visit_If_body(self, node: cst.If) -> None:
        self._debug_blocks.append(debug_test(node.test) is True)
        self._narrowings.append(self._narrowing(node.test))

    def leave_If_body(self, node: cst.If) -> None:
        self._debug_blocks.pop()
        self._narrowings.pop()

    def visit_If_orelse(self, node: cst.If) -> None:
        self._debug_blocks.append(debug_test(node.test) is False)
        test = node.test  # the `else` of `if not isinstance(e, X):` holds an X
        negated = (
            test.expression if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) else None
        )
        self._narrowings.append(self._narrowing(negated) if negated is not None else None)

    def leave_If_orelse(self, node: cst.If) -> None:
        self._debug_blocks.pop()
        self._narrowings.pop()

    def _narrowing(self, test: cst.BaseExpression) -> tuple[Handler, tuple[str, ...]] | None:
        """The caught exception and the classes a test narrows it to, when all of them are known."""
        found = narrowing_test(test)
        if found is None:
            return None
        name, classes = found
        handler = self.exception_names().get(name)
        qualified = [self.semantic.imported_or_written(c) for c in classes]
        if handler is None or any(q is None for q in qualified):
            return None
        return handler, tuple(q.removeprefix("builtins.") for q in qualified if q is not None)

    def visit_Raise(self, node: cst.Raise) -> None:
        for enclosing in self.handlers:
            enclosing.raises = True
        handler = self.handler
        if handler is not None and (
            node.exc is None or (isinstance(node.exc, cst.Name) and node.exc.value == handler.name)
        ):
            handler.reraises = True  # a bare `raise` re-raises the innermost handler's exception
        exc = node.exc
        target = exc.func if isinstance(exc, cst.Call) else exc
        if target is not None and self.semantic.imported_or_written(target) in _NOT_FOUND and self.handler is not None:
            self.handler.answers_404 = True
        self.on_raise(node)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._hand_on([node.value])
        self.on_return(node)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            self._hand_on([node.value])

    def _hand_on(self, values: list[cst.BaseExpression]) -> None:
        """Marks the handlers whose exception, or its text (`str(e)`, `f"{e}"`, `e.args`), is in `values`."""
        live = {h.name for h in self.handlers if h.name is not None and h.name_live}
        if not live:
            return
        carried: set[str] = set()
        for value in values:
            carried |= _CarriedException.of(value, live)
        for handler in self.handlers:
            if handler.name in carried and handler.name_live:
                handler.hands_on = True

    def visit_Call(self, node: cst.Call) -> None:
        log = self.logger_call(node)
        handler = self.handler
        if handler is not None:
            qualified = self.semantic.imported_or_written(node.func)
            if (
                (log is not None and log.logs_traceback)
                or qualified in TRACEBACK_CALLS
                or call_name(node) in ERROR_REPORTERS
            ):
                for enclosing in self.handlers:
                    enclosing.logs_traceback = True
            if qualified in _RAISING_CALLS or (
                isinstance(node.func, cst.Attribute)
                and node.func.attr.value in _RAISING_METHODS
                and dotted_name(node.func.value) in ("self", "cls")
            ):
                for enclosing in self.handlers:
                    enclosing.raises = True
                    enclosing.exits = enclosing.exits or qualified in _EXITING_CALLS
            if qualified in _EXC_INFO:
                for enclosing in self.handlers:
                    enclosing.hands_on = True
            elif log is None and not self._in_log and qualified not in _INSPECTING:
                self._hand_on([a.value for a in node.args])
            if qualified in _NOT_FOUND or any(
                a.keyword is not None and a.keyword.value in ("status", "status_code") and is_404(a.value)
                for a in node.args
            ):
                handler.answers_404 = True
        self._calls.append(log is not None)
        self._in_log += log is not None
        self.on_call(node, log)

    def leave_Call(self, original_node: cst.Call) -> None:
        self._in_log -= self._calls.pop()


#: Calls that say only what kind of exception it is, not what it says.
_KIND_ONLY = frozenset({"type", "isinstance", "issubclass", "hasattr", "id", "callable"})
#: Attributes of an exception that hold its text.
_TEXT_ATTRIBUTES = frozenset({"args", "message", "messages", "detail", "strerror"})


class _CarriedException(cst.CSTVisitor):
    """The exception names whose object or text an expression carries (not `type(e)`, not `e.code`)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.found: set[str] = set()

    @classmethod
    def of(cls, node: cst.CSTNode, names: set[str]) -> set[str]:
        visitor = cls(names)
        traversal.visit(node, visitor)
        return visitor.found

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.found.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Name) and node.value.value in self.names:
            if node.attr.value in _TEXT_ATTRIBUTES:
                self.found.add(node.value.value)
            return False
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        return call_name(node) not in _KIND_ONLY

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _imported_logger(qualified: str) -> bool:
    """`from loguru import logger`, `from .log import log`; not `from math import log`."""
    module, _, last = qualified.rpartition(".")
    if qualified == "logging" or last in ("logger", "LOGGER", "_logger"):
        return True
    return last in CONVENTIONAL_LOGGERS and "log" in module


def debug_test(test: cst.BaseExpression) -> bool | None:
    """True for `settings.DEBUG`, False for `not settings.DEBUG`, None for any other condition."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = debug_test(test.expression)
        return None if inner is None else not inner
    name = dotted_name(test)
    return True if name is not None and (name == "DEBUG" or name.endswith(".DEBUG")) else None


def narrowing_test(test: cst.BaseExpression) -> tuple[str, list[cst.BaseExpression]] | None:
    """`isinstance(e, X)`, `isinstance(e, (X, Y))`, `type(e) is X`, `type(e) == X`, `type(e) in (X, Y)`:
    the name tested and the class expressions it is narrowed to; None for any other test."""
    if isinstance(test, cst.Call) and dotted_name(test.func) == "isinstance" and len(test.args) == 2:
        subject, classes = test.args[0].value, test.args[1].value
    elif (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, (cst.Is, cst.Equal, cst.In))
        and isinstance(test.left, cst.Call)
        and dotted_name(test.left.func) == "type"
        and len(test.left.args) == 1
    ):
        subject, classes = test.left.args[0].value, test.comparisons[0].comparator
        if isinstance(test.comparisons[0].operator, cst.In) and not isinstance(classes, (cst.Tuple, cst.List, cst.Set)):
            return None
    else:
        return None
    if not isinstance(subject, cst.Name):
        return None
    if isinstance(classes, (cst.Tuple, cst.List, cst.Set)):
        return subject.value, [element.value for element in classes.elements]
    return subject.value, [classes]


def _param_is_logger(param: cst.Param) -> bool | None:
    """A parameter named like a logger is one, unless its annotation says otherwise."""
    if param.name.value not in CONVENTIONAL_LOGGERS:
        return False
    if param.annotation is None:
        return None
    annotation = cst.Module([]).code_for_node(param.annotation.annotation)
    return "logger" in annotation.lower() or "log" == annotation.strip("\"'")


def _dict_entries(node: cst.Dict, unnamed: list[cst.BaseExpression]) -> list[tuple[str, cst.BaseExpression]]:
    entries: list[tuple[str, cst.BaseExpression]] = []
    for element in node.elements:
        if isinstance(element, cst.DictElement):
            key = string_value(element.key)
            if key is not None:
                entries.append((key, element.value))
            else:
                unnamed.append(element.value)
        else:
            unnamed.append(element.value)
    return entries


#: Modules whose exceptions are network or upstream errors.
_NETWORK_MODULES = ("requests.", "httpx.", "aiohttp.", "urllib.", "urllib3.", "socket.")
_NETWORK_BUILTINS = frozenset(
    {
        "ConnectionError",
        "TimeoutError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "BrokenPipeError",
        "asyncio.TimeoutError",
        "concurrent.futures.TimeoutError",
    }
)
CIRCUIT_BREAKER_ERRORS = frozenset({"pybreaker.CircuitBreakerError"})


def is_network_error(name: str) -> bool:
    """An exception of requests, httpx, aiohttp, urllib, socket, or a connection or timeout error."""
    if name.endswith("JSONDecodeError"):
        return False  # `requests.JSONDecodeError` is a parsing error
    return name.startswith(_NETWORK_MODULES) or name in _NETWORK_BUILTINS


_PARSING_ERRORS = frozenset({"ValueError", "KeyError", "TypeError", "IndexError", "UnicodeDecodeError"})


def is_parsing_error(name: str) -> bool:
    """`ValueError`, `KeyError`, `TypeError`, a `JSONDecodeError`: a bug worth a traceback every time."""
    return name in _PARSING_ERRORS or name.endswith("JSONDecodeError")


def circuit_open_logged_as_error(handler: Handler | None, log: LoggerCall) -> bool:
    """An error-level logger call in a handler of `pybreaker.CircuitBreakerError` (RP306)."""
    return (
        handler is not None
        and handler.catches(CIRCUIT_BREAKER_ERRORS)
        and ((log.level is not None and log.level >= 40) or log.method == "exception")
    )


def logs_traceback_always(log: LoggerCall, exception: str | None, semantic: SemanticModel) -> bool:
    """`logger.exception(...)`, `exc_info=True` (or the exception, or `sys.exc_info()`): not only under DEBUG."""
    value = log.exc_info
    if value is None:
        return log.method == "exception"
    if isinstance(value, cst.Name):
        return value.value == "True" or value.value == exception
    if isinstance(value, cst.Integer):
        return value.value != "0"
    return isinstance(value, cst.Call) and semantic.imported(value.func) == "sys.exc_info"


# -- what an exception's text is --

BROAD = frozenset({"Exception", "BaseException"})
_BUILTINS = frozenset(n for n in dir(builtins) if isinstance(getattr(builtins, n), type))
#: Builtin errors whose text carries internals: paths, hosts, commands.
_OS_ERRORS = frozenset(
    {
        "OSError",
        "IOError",
        "EnvironmentError",
        "FileNotFoundError",
        "FileExistsError",
        "PermissionError",
        "IsADirectoryError",
        "NotADirectoryError",
        "BlockingIOError",
        "ChildProcessError",
        "InterruptedError",
        "ProcessLookupError",
    }
)
#: Modules whose errors carry internals: databases and their drivers, caches, clouds, mail, processes.
_INTERNAL_MODULES = (
    "django.db.",
    "psycopg2.",
    "psycopg.",
    "MySQLdb.",
    "pymysql.",
    "sqlite3.",
    "cx_Oracle.",
    "oracledb.",
    "redis.",
    "django_redis.",
    "pymongo.",
    "sqlalchemy.",
    "elasticsearch.",
    "botocore.",
    "boto3.",
    "google.api_core.",
    "google.cloud.",
    "azure.core.",
    "smtplib.",
    "ssl.",
    "subprocess.",
    "kombu.",
    "ldap.",
)
#: Errors raised while reading the user's own input: their text describes that input.
_INPUT_ERRORS = frozenset(
    {
        "ValueError",
        "TypeError",
        "KeyError",
        "IndexError",
        "LookupError",
        "UnicodeError",
        "UnicodeDecodeError",
        "UnicodeEncodeError",
        "OverflowError",
        "decimal.InvalidOperation",
        "binascii.Error",
    }
)
#: Exceptions of Django and DRF whose text is written for the user.
#: A parser's errors, about the document it was given (`PdfReadError`, `xml...ParseError`, `jwt.DecodeError`,
#: netaddr's `AddrFormatError`).
_INPUT_ERROR_SUFFIXES = ("ValidationError", "DecodeError", "ParseError", "ReadError", "FormatError")
_USER_FACING = frozenset({"ValidationError", "PermissionDenied", "Http404", "NotFound", "SuspiciousOperation"})
#: Django's exceptions whose text is only what the code asked for: the template's name.
_NAMED_BY_THE_CODE = frozenset({"TemplateDoesNotExist"})
_NOT_FOUND_ERRORS = frozenset({"DoesNotExist", "ObjectDoesNotExist"})


class Origin(str, Enum):
    """Where the text of a caught exception comes from, for deciding who may read it."""

    INTERNAL = "internal"  #: a broad catch, a database, driver, network or file-system error
    LIBRARY = "library"  #: another library's (or the standard library's) exception
    USER = "user"  #: the user's own input, or the project's own exception written for the user


def exception_origin(qualified: str, rule: Rule) -> Origin:
    """What a caught class (qualified as imported, builtins bare) says about its text."""
    last = qualified.rpartition(".")[2]
    if qualified in BROAD or qualified in _OS_ERRORS or is_network_error(qualified):
        return Origin.INTERNAL
    if qualified.startswith(_INTERNAL_MODULES) and last.endswith("Error"):
        return Origin.INTERNAL
    if qualified in _INPUT_ERRORS or last.endswith(_INPUT_ERROR_SUFFIXES):
        return Origin.USER
    if last in _USER_FACING and (qualified == last or qualified.startswith(("django.", "rest_framework."))):
        return Origin.USER
    if last in _NAMED_BY_THE_CODE and qualified.startswith("django."):
        return Origin.USER
    if qualified in _BUILTINS:
        return Origin.LIBRARY
    exceptions = rule.context.exceptions
    if "." not in qualified:  # not imported: defined in this file, or unknown
        return Origin.USER
    if last in _NOT_FOUND_ERRORS or qualified.endswith(".MultipleObjectsReturned"):
        return Origin.LIBRARY
    if exceptions.is_project_class(qualified) or exceptions.is_project_module(qualified.rpartition(".")[0]):
        return Origin.USER
    return Origin.LIBRARY


# -- following the text of a caught exception --

TRACEBACK_TEXT = frozenset({"traceback.format_exc", "traceback.format_exception", "traceback.format_exception_only"})
_RESPONSES = frozenset({"Response", "JsonResponse", "StreamingHttpResponse"})
#: A function that cleans the text before it leaves (weblate's `cleanup_error_message` drops paths).
_CLEANERS = re.compile(r"^(clean_?up|sanitiz|sanitis|redact|scrub|mask_|anonymi)", re.IGNORECASE)


def is_response(node: cst.Call) -> bool:
    """`Response(...)`, `JsonResponse(...)`, `HttpResponse*(...)`."""
    name = call_name(node) or ""
    return name in _RESPONSES or name.startswith("HttpResponse")


class ExceptionTextRule(HandlerAwareRule):
    """A rule about where the text of a caught exception goes (`str(e)`, `f"{e}"`, `e.args`, ...).

    It follows the text through the variables of a scope; a subclass calls `sink()` where the text
    arrives, and `judge()` is called once the handlers involved have been seen whole.
    """

    def setup(self) -> None:
        super().setup()
        self.pending: list[tuple[cst.CSTNode, set[Handler], str, dict[Handler, tuple[str, ...]]]] = []
        #: while judging: the sources an `if isinstance(e, X):` around the sink narrowed (see `caught`)
        self.narrowing: dict[Handler, tuple[str, ...]] = {}

    def judge(self, node: cst.CSTNode, sources: set[Handler], sink: str) -> None:
        """The text of the exceptions of `sources` reaches `sink` at `node`: report it or not."""

    def caught(self, handler: Handler) -> tuple[str, ...]:
        """The classes the exception can be where its text arrived: those the handler catches, or
        those an enclosing `if isinstance(e, X):` narrowed it to (`except Exception as e:` then
        `if type(e) is AbortScript:` holds an AbortScript)."""
        return self.narrowing.get(handler, handler.types)

    def catches_anything(self, handler: Handler) -> bool:
        """A bare `except:` whose exception no test narrowed where its text arrived."""
        return handler.bare and handler not in self.narrowing

    def describe(self, handler: Handler) -> str:
        return f"the text of `{handler.name}`" if handler.name else "the traceback"

    def sink(self, node: cst.CSTNode, sources: set[Handler], sink: str) -> None:
        if not sources or self.debug_only:
            return
        narrowed = {h: types for h, types in self.narrowed.items() if h in sources}
        if self.handlers:
            self.pending.append((node, sources, sink, narrowed))
        else:
            self._judge(node, sources, sink, narrowed)

    def after_handler(self, handler: Handler) -> None:
        if len(self.handlers) == 1:  # leaving the outermost handler of this scope
            pending, self.pending = self.pending, []
            for node, sources, sink, narrowed in pending:
                self._judge(node, sources, sink, narrowed)

    def _judge(
        self, node: cst.CSTNode, sources: set[Handler], sink: str, narrowed: dict[Handler, tuple[str, ...]]
    ) -> None:
        self.narrowing = narrowed
        try:
            self.judge(node, sources, sink)
        finally:
            self.narrowing = {}

    # -- variables holding the text --

    def _taints(self) -> dict[str, set[Handler]]:
        """Variables of the current scope holding the text of a caught exception."""
        taints: dict[str, set[Handler]] = self.frame.state.setdefault("taints", {})
        return taints

    def on_handler(self, handler: Handler) -> None:
        if handler.name is not None:
            self._taints().pop(handler.name, None)  # the name now holds the new exception

    def on_assign(
        self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode
    ) -> None:
        # A response stored in a variable is reported where it is built, not again where it is returned.
        sources = self.leaks(value, skip_responses=True) if value is not None else set()
        taints = self._taints()
        for target in targets:
            if isinstance(target, cst.Subscript):  # `context["error"] = str(e)`: the whole dict carries it
                base: cst.BaseExpression = target.value
                while isinstance(base, cst.Subscript):
                    base = base.value
                # `form.errors["x"] = ...` taints `form.errors`, not `form.cleaned_data`
                held = dotted_name(base)
                if held is not None and sources:
                    taints.setdefault(held, set()).update(sources)
                continue
            names = [dotted_name(target)] if isinstance(target, cst.Attribute) else list(bound_names(target))
            for name in filter(None, names):
                if isinstance(node, cst.AugAssign):
                    taints.setdefault(name, set()).update(sources)
                elif sources:
                    taints[name] = set(sources)
                else:
                    taints.pop(name, None)

    # -- what carries the text --

    def leaks_all(self, nodes: Iterable[cst.BaseExpression], skip_responses: bool = False) -> set[Handler]:
        found: set[Handler] = set()
        for node in nodes:
            found |= self.leaks(node, skip_responses)
        return found

    def shown_elsewhere(self, node: cst.Call) -> bool:
        """A call reported as a sink itself: the text inside it is not reported again where it goes."""
        return is_response(node)

    def leaks(self, node: cst.BaseExpression, skip_responses: bool = False) -> set[Handler]:
        """The handlers whose exception text `node` carries."""
        names = self.exception_names()
        taints = self._taints()
        if not names and not taints and not self.handlers:
            return set()
        return _Text(self, names, taints, skip_responses).of(node)

    def logged_text(self, log: LoggerCall) -> set[Handler]:
        """The handlers whose exception text a logger call writes (also `e` itself as an argument)."""
        sources = self.leaks_all(log.parts)
        names = self.exception_names()
        for arg in log.args:
            if isinstance(arg, cst.Name) and arg.value in names:
                sources.add(names[arg.value])
        return sources


class _Text:
    """Finds the text of caught exceptions in one expression."""

    def __init__(
        self,
        rule: ExceptionTextRule,
        names: dict[str, Handler],
        taints: dict[str, set[Handler]],
        skip_responses: bool,
    ) -> None:
        self.rule = rule
        self.names = names
        self.taints = taints
        self.skip_responses = skip_responses

    def exception(self, node: cst.BaseExpression) -> Handler | None:
        """The handler whose exception this bare name is."""
        return self.names.get(node.value) if isinstance(node, cst.Name) else None

    def of(self, node: cst.BaseExpression) -> set[Handler]:
        if isinstance(node, cst.Name):
            return set(self.taints.get(node.value, ()))
        if isinstance(node, cst.Attribute):
            handler = self.exception(node.value)
            if handler is not None and node.attr.value in ("args", "message"):
                return {handler}
            held = self.taints.get(dotted_name(node) or "")
            return set(held) if held else self.of(node.value)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.FormattedString):
            found: set[Handler] = set()
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    handler = self.exception(part.expression)
                    found |= {handler} if handler is not None else self.of(part.expression)
            return found
        if isinstance(node, cst.BinaryOperation):
            found = self.of(node.left) | self.of(node.right)
            if isinstance(node.operator, cst.Modulo):
                right = node.right
                values = [e.value for e in right.elements] if isinstance(right, (cst.Tuple, cst.Dict)) else [right]
                found |= {h for h in map(self.exception, values) if h is not None}
            return found
        if isinstance(node, (cst.ConcatenatedString, cst.BooleanOperation)):
            return self.of(node.left) | self.of(node.right)
        if isinstance(node, cst.IfExp):
            debug = debug_test(node.test)
            return (set() if debug is True else self.of(node.body)) | (
                set() if debug is False else self.of(node.orelse)
            )
        if isinstance(node, cst.Subscript):
            return self.of(node.value)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set, cst.Dict)):
            return self._all(e.value for e in node.elements)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self._comprehension(node)
        if isinstance(node, cst.Await):
            return self.of(node.expression)
        return set()

    def _all(self, nodes: Iterable[cst.BaseExpression]) -> set[Handler]:
        found: set[Handler] = set()
        for node in nodes:
            found |= self.of(node)
        return found

    def _call(self, node: cst.Call) -> set[Handler]:
        qualified = self.rule.semantic.imported_or_written(node.func)
        if qualified in TRACEBACK_TEXT:
            return {self.rule.handlers[-1]} if self.rule.handlers else set()
        if self.skip_responses and self.rule.shown_elsewhere(node):
            return set()  # reported at the response itself
        if _CLEANERS.match(call_name(node) or ""):
            return set()
        found: set[Handler] = set()
        args = [a.value for a in node.args]
        if qualified in ("str", "repr") or call_name(node) == "format":
            found |= {h for h in map(self.exception, args) if h is not None}
        if isinstance(node.func, cst.Attribute):
            found |= self.of(node.func.value)
        return found | self._all(args)

    def _comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp) -> set[Handler]:
        shadowed: set[str] = set()
        loop: cst.CompFor | None = node.for_in
        iterables: list[cst.BaseExpression] = []
        while loop is not None:
            shadowed.update(bound_names(loop.target))
            iterables.append(loop.iter)
            loop = loop.inner_for_in
        inner = _Text(
            self.rule,
            {k: v for k, v in self.names.items() if k not in shadowed},
            {k: v for k, v in self.taints.items() if k not in shadowed},
            self.skip_responses,
        )
        parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
        return inner._all(parts) | self._all(iterables)
