"""RP304: `except Exception` that swallows the error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from review_patterns.checks.privacy.helpers import BROAD, Handler, HandlerAwareRule, LoggerCall
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax import traversal
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import call_name, dotted_name


class BroadExcept(HandlerAwareRule):
    """## What it does
    Flags `except Exception` or `except BaseException` (alone or in a tuple) whose handler
    neither raises (`raise`, `raise X from e`, also `sys.exit()` and a test's `self.fail()`) nor
    logs the traceback (`logger.exception(...)`, `exc_info=` anything but `False`,
    `traceback.print_exc()`, an error reporter such as `sentry_sdk.capture_exception()`,
    `rollbar.report_exc_info()` or a function named `report_error`/`report_exception`, and the
    `error-reporters` of the configuration). A handler that passes the
    exception object on (to a function other than a logger, `return e`, `self.error = e`,
    `sys.exc_info()`) hands the error to code that deals with it and is not flagged either, nor
    is a handler that retries the operation of its `try` another way (`try: json.loads(a)` /
    `except Exception: json.loads(b)`, or the same variable computed again from the same input
    by another call): the second failure propagates. It is reported at the `except` line. Test
    modules are not checked.

    ## Why is this bad?
    Every error, including the bugs nobody anticipated, is silently swallowed: the request
    succeeds with wrong data, the task reports success, and nobody gets a traceback to fix
    it. Catch the exceptions you expect, or keep the traceback.

    Measured precision: 20 of 30 on 9 real projects (benchmarks/precision): documented deliberate catch-alls and handlers that report the error as text are still flagged.
    """

    code = "RP304"
    name = "broad-except"
    message = "`except {caught}` swallows every error; catch what you expect, re-raise, or log the traceback"
    severity = Severity.WARNING
    dimension = Dimension.CODE_CLARITY
    requires = ("Exception",)
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    options = {"error-reporters": ()}
    examples = (
        Bad("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except Exception:  # RP304
                    return False
                return True
            """),
        Good("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except Exception:
                    logger.exception("stock sync failed for product %s", product.pk)
                    return False
                return True
            """),
        Good("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except (WarehouseError, Exception) as e:
                    raise SyncFailed("stock sync failed") from e
            """),
        Good("""
            def send_all(receivers, order):
                failures = []
                for receiver in receivers:
                    try:
                        receiver(order)
                    except Exception as error:
                        failures.append((receiver, error))
                return failures
            """),
        Good(
            """
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except Exception:
                    notify_ops("stock sync failed")
            """,
            options={"error-reporters": ["notify_ops"]},
        ),
        Good("""
            def read_payload(raw):
                try:
                    return json.loads(raw)
                except Exception:
                    return json.loads(raw.decode("latin-1"))
            """),
        Good("""
            def decode_path(path):
                try:
                    path = base64.urlsafe_b64decode(path.encode()).decode()
                except Exception:
                    path = unquote(path)
                return path
            """),
        Bad("""
            def read_payload(raw):
                try:
                    return json.loads(raw)
                except Exception:  # RP304
                    try:
                        return json.loads(raw.decode("latin-1"))
                    except ValueError:
                        return {}
            """),
        Bad("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except (WarehouseError, BaseException) as e:  # RP304
                    logger.warning("stock sync failed: %s", type(e).__name__)
            """),
    )

    def setup(self) -> None:
        super().setup()
        #: for each enclosing `try`: what its body does
        self.tries: list[tuple[cst.Try | cst.TryStar, _Body]] = []
        self.retrying: set[Handler] = set()

    def visit_Try(self, node: cst.Try) -> None:
        self.tries.append((node, _Body.of(node.body)))

    def leave_Try(self, original_node: cst.Try) -> None:
        self.tries.pop()

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self.tries.append((node, _Body.of(node.body)))

    def leave_TryStar(self, original_node: cst.TryStar) -> None:
        self.tries.pop()

    def _own_try(self) -> _Body | None:
        """What the `try` of the innermost handler does, when no other `try` was opened inside the handler."""
        handler = self.handler
        if handler is None or not self.tries:
            return None
        statement, body = self.tries[-1]
        return body if handler.node in statement.handlers else None

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        if call_name(node) in self.settings["error-reporters"]:
            for handler in self.handlers:
                handler.logs_traceback = True
        body = self._own_try()
        if log is None and body is not None and _operation(node) in body.calls and self.handler is not None:
            self.retrying.add(self.handler)  # the same operation again: its failure propagates

    def on_assign(
        self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode
    ) -> None:
        body = self._own_try()
        if body is None or value is None or self.handler is None or not _Reads.calls(value):
            return
        reads = _Reads.of(value)
        for target in targets:
            if isinstance(target, cst.Name) and body.assigned.get(target.value, frozenset()) & reads:
                self.retrying.add(self.handler)  # the same value computed another way, from the same input

    def after_handler(self, handler: Handler) -> None:
        caught = [t for t in handler.types if t in BROAD]
        if caught and not (handler.raises or handler.logs_traceback or handler.hands_on or handler in self.retrying):
            self.report(handler.node, caught=caught[0])


#: Calls too common to say that two places do the same thing.
_TRIVIAL = frozenset(
    {"str", "repr", "len", "print", "isinstance", "type", "getattr", "hasattr", "bool", "list", "dict"}
)


def _operation(node: cst.Call) -> str | None:
    """`json.loads`, `self.client.get`: what a call does, by its dotted callee."""
    name = dotted_name(node.func)
    return None if name in _TRIVIAL else name


class _Reads(cst.CSTVisitor):
    """The names an expression reads, and whether it calls anything."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.called = False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        self.called = True

    @classmethod
    def of(cls, node: cst.CSTNode) -> frozenset[str]:
        reads = cls()
        traversal.visit(node, reads)
        return frozenset(reads.names)

    @classmethod
    def calls(cls, node: cst.CSTNode) -> bool:
        reads = cls()
        traversal.visit(node, reads)
        return reads.called


@dataclass(frozen=True)
class _Body:
    """What a `try` body does: the operations it calls, and the names it assigns from what."""

    calls: frozenset[str]
    assigned: dict[str, frozenset[str]]

    @classmethod
    def of(cls, body: cst.BaseSuite) -> _Body:
        calls: set[str] = set()
        assigned: dict[str, frozenset[str]] = {}

        class Visitor(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                operation = _operation(node)
                if operation is not None:
                    calls.add(operation)

            def visit_Assign(self, node: cst.Assign) -> None:
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        assigned[target.target.value] = _Reads.of(node.value)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

        traversal.visit(body, Visitor())
        return cls(frozenset(calls), assigned)
