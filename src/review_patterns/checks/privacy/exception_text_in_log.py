"""RP307: the text of a broadly caught exception formatted into a log message."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.privacy.helpers import (
    BROAD,
    ExceptionTextRule,
    Handler,
    LoggerCall,
    logs_traceback_always,
)
from review_patterns.checks.privacy.redaction import log_redaction
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax import traversal
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import dotted_name


class ExceptionTextInLog(ExceptionTextRule):
    """## What it does
    Flags a logger call, in a handler of `Exception`, `BaseException` or a bare `except:`, whose
    message or fields carry the text of the caught exception: `str(e)`, `repr(e)`, `f"{e}"`,
    `"%s" % e`, `e.args`, `e.message`, `e` itself as an argument, `traceback.format_exc()`, or a
    variable assigned from one of these.

    Not flagged: a handler that also logs the traceback unconditionally (`logger.exception`,
    `exc_info=True`): whether it should is RP305's business; text logged under
    `if settings.DEBUG:`; handlers of named exceptions (`except KeyError as e`, or a broad handler's
    branch `if isinstance(e, KeyError):` / `if type(e) is AbortScript:`, or the `else` of
    `if not isinstance(e, KeyError):`), whose text the handler's
    author knows; text passed through a cleaner (`cleanup*`, `sanitize*`, `redact*`,
    `scrub*`, `mask_*`, `anonymize*`); a `try` that is one call whose errors say only what its input
    was (`json.loads(raw)`, `float(value)`, `int()`, `os.makedirs(path)`, `socket.gethostbyname(host)`)
    when the log line shows that input already. Test modules are not checked.

    ## Why is this bad?
    A broad catch takes whatever went wrong, and its text with it: SQL with the failing row's
    values, file paths, host names, tokens in URLs. Logs are kept longer and read by more
    people than the data. Production logs carry `type(e).__name__`, and the traceback only
    with `exc_info=settings.DEBUG`.

    Measured precision: 30 of 30 sampled (67 findings) on 15 real projects (benchmarks/precision).
    """

    code = "RP307"
    name = "exception-text-in-log"
    message = "{text} in a log message; log `type({name}).__name__`, the traceback with `exc_info=settings.DEBUG`"
    severity = Severity.WARNING
    penalty = 1
    dimension = Dimension.SECURITY
    at_logger_calls = True
    requires = ("except",)
    in_handlers = True
    fixes = (
        "Safe: the fix writes `type(e).__name__` where the message or its arguments carry the "
        'exception\'s text (`str(e)`, `f"{e}"`, `e` as an argument, `traceback.format_exc()`); '
        "only the log's wording changes. Not offered when the text comes through a variable, or "
        "is the traceback of a handler without an `as` name."
    )
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    examples = (
        Bad("""
            import logging
            import traceback

            logger = logging.getLogger(__name__)

            def sync_catalogue(shop):
                try:
                    push_catalogue(shop)
                except Exception as e:
                    logger.error("catalogue sync failed for shop %s: %s", shop.pk, e)  # RP307
                    logger.warning(f"catalogue sync failed: {e}")  # RP307
                    return False
                return True

            def sync_prices(shop):
                try:
                    push_prices(shop)
                except:
                    logger.error("price sync failed: " + traceback.format_exc())  # RP307
                    raise
            """),
        Good("""
            import logging

            from django.conf import settings

            logger = logging.getLogger(__name__)

            def sync_catalogue(shop):
                try:
                    push_catalogue(shop)
                except Exception as e:
                    logger.error(
                        "catalogue sync failed for shop %s: %s", shop.pk, type(e).__name__,
                        exc_info=settings.DEBUG,
                    )
                    return False
                return True
            """),
        Good("""
            import logging

            logger = logging.getLogger(__name__)

            def sync_catalogue(shop):
                try:
                    push_catalogue(shop)
                except KeyError as e:
                    logger.warning("shop %s has no catalogue field %s", shop.pk, e)
                except Exception as e:
                    logger.exception("catalogue sync failed: %s", e)
            """),
        Bad("""
            import logging

            logger = logging.getLogger(__name__)

            class ChunkMissing(Exception):
                pass

            def download(transfer):
                try:
                    transfer.run()
                except Exception as e:
                    if not isinstance(e, ChunkMissing):
                        logger.error("download failed: %s", e)  # RP307
                        raise
                    else:
                        logger.warning("chunk file missing, starting over: %s", e)
                        transfer.reset()
            """),
    )

    def setup(self) -> None:
        super().setup()
        self.traceback_logged: set[Handler] = set()
        self.try_of: dict[int, cst.Try] = {}  # id of an `except` clause -> its `try`

    def visit_Try(self, node: cst.Try) -> None:
        self.try_of.update((id(handler), node) for handler in node.handlers)

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        if log is None:
            return
        handler = self.handler
        if handler is not None and logs_traceback_always(log, handler.name, self.semantic):
            self.traceback_logged.add(handler)
            return
        self.sink(node, self.logged_text(log), "a log message")

    def judge(self, node: cst.CSTNode, sources: set[Handler], sink: str) -> None:
        broad = [
            h
            for h in sources
            if (self.catches_anything(h) or any(t in BROAD for t in self.caught(h))) and h not in self.traceback_logged
        ]
        if broad and not all(self._repeats_the_input(h, node) for h in broad):
            handler = min(broad, key=lambda h: h.name or "")
            self.report(
                node,
                log_redaction(node, set(broad), self.semantic),
                text=self.describe(handler),
                name=handler.name or "e",
            )

    def _repeats_the_input(self, handler: Handler, log: cst.CSTNode) -> bool:
        """The `try` is one call whose errors say only what its input was (`json.loads(raw)`,
        `float(value)`, `os.makedirs(path)`), and the log line shows that input already."""
        statement = self.try_of.get(id(handler.node))
        body = statement.body.body if statement is not None and isinstance(statement.body, cst.IndentedBlock) else ()
        if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
            return False
        small = body[0].body[0]
        call = small.value if isinstance(small, (cst.Expr, cst.Assign, cst.Return)) else None
        if not isinstance(call, cst.Call) or self.semantic.imported_or_written(call.func) not in _INPUT_ONLY_ERRORS:
            return False
        logged = _DottedNames.of(log)
        for argument in call.args:
            value = argument.value
            if isinstance(value, (cst.BaseNumber, cst.BaseString)) or (
                isinstance(value, cst.Name) and value.value in ("True", "False", "None")
            ):
                continue  # a constant: `0o700`, `exist_ok=True`
            if dotted_name(value) not in logged:
                return False
        return True


#: Calls whose errors say only what their input was, and why it failed: a parse error's position,
#: the value that is not a number, the path and the system's reason, the host not found.
_INPUT_ONLY_ERRORS = frozenset(
    {
        "json.loads",
        "float",
        "int",
        "decimal.Decimal",
        "uuid.UUID",
        "ipaddress.ip_address",
        "os.makedirs",
        "os.mkdir",
        "os.remove",
        "os.unlink",
        "os.rmdir",
        "socket.gethostbyname",
    }
)


class _DottedNames(cst.CSTVisitor):
    """The names and dotted names (`self.path`) an expression reads."""

    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.found.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = dotted_name(node)
        if name is not None:
            self.found.add(name)

    @classmethod
    def of(cls, node: cst.CSTNode) -> set[str]:
        names = cls()
        traversal.visit(node, names)
        return names.found
