"""RP306: an open circuit breaker logged as an error."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.privacy.helpers import HandlerAwareRule, LoggerCall, circuit_open_logged_as_error
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good


class CircuitOpenLoggedAsError(HandlerAwareRule):
    """## What it does
    Flags a logger call at error, exception or critical level (also `.log(logging.ERROR, ...)`)
    in a handler of `pybreaker.CircuitBreakerError`, however it was imported. It takes
    precedence over RP305 at that call.

    ## Why is this bad?
    An open circuit is the breaker doing its job: an expected operational state, not a fault.
    Logged as an error it pages the on-call engineer once per rejected call and drowns the
    real errors that opened it. Log it at warning level, once, without a traceback.
    """

    code = "RP306"
    name = "circuit-open-logged-as-error"
    message = "an open circuit is an expected state; log `{caught}` at warning level, not {level}"
    severity = Severity.SUGGESTION
    dimension = Dimension.RELIABILITY
    requires = ("CircuitBreakerError", "pybreaker")
    in_handlers = True
    examples = (
        Bad("""
            import logging
            import pybreaker

            logger = logging.getLogger(__name__)
            payments_breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)

            def charge(order):
                try:
                    return payments_breaker.call(gateway.charge, order.total)
                except pybreaker.CircuitBreakerError:
                    logger.exception("payment gateway circuit open")  # RP306
                    logger.log(logging.ERROR, "payment gateway circuit open")  # RP306
                    return None
            """),
        Good("""
            import logging
            from pybreaker import CircuitBreakerError

            logger = logging.getLogger(__name__)

            def charge(order):
                try:
                    return payments_breaker.call(gateway.charge, order.total)
                except CircuitBreakerError:
                    logger.warning("payment gateway circuit open; order %s queued", order.pk)
                    return None
            """),
    )

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        if log is not None and circuit_open_logged_as_error(self.handler, log):
            level = "`.exception()`" if log.method == "exception" else "critical" if (log.level or 0) >= 50 else "error"
            self.report(node, caught="CircuitBreakerError", level=level)
