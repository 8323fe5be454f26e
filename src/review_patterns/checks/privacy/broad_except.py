"""RP304: `except Exception` that swallows the error."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.privacy.helpers import Handler, HandlerAwareRule, LoggerCall
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax.names import call_name

_BROAD = frozenset({"Exception", "BaseException"})


class BroadExcept(HandlerAwareRule):
    """## What it does
    Flags `except Exception` or `except BaseException` (alone or in a tuple) whose handler
    neither raises (`raise`, `raise X from e`, also `sys.exit()` and a test's `self.fail()`) nor
    logs the traceback (`logger.exception(...)`, `exc_info=` anything but `False`,
    `traceback.print_exc()`, an error reporter such as `sentry_sdk.capture_exception()`,
    `rollbar.report_exc_info()` or a function named `report_error`/`report_exception`, and the
    `error-reporters` of the configuration). A handler that passes the
    exception object on (to a function other than a logger, `return e`, `self.error = e`,
    `sys.exc_info()`) hands the error to code that deals with it and is not flagged either.
    It is reported at the `except` line.

    ## Why is this bad?
    Every error, including the bugs nobody anticipated, is silently swallowed: the request
    succeeds with wrong data, the task reports success, and nobody gets a traceback to fix
    it. Catch the exceptions you expect, or keep the traceback.
    """

    code = "RP304"
    name = "broad-except"
    message = "`except {caught}` swallows every error; catch what you expect, re-raise, or log the traceback"
    severity = Severity.WARNING
    dimension = Dimension.CODE_CLARITY
    requires = ("Exception",)
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
        Bad("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except (WarehouseError, BaseException) as e:  # RP304
                    logger.warning("stock sync failed: %s", type(e).__name__)
            """),
    )

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        if call_name(node) in self.settings["error-reporters"]:
            for handler in self.handlers:
                handler.logs_traceback = True

    def after_handler(self, handler: Handler) -> None:
        caught = [t for t in handler.types if t in _BROAD]
        if caught and not (handler.raises or handler.logs_traceback or handler.hands_on):
            self.report(handler.node, caught=caught[0])
