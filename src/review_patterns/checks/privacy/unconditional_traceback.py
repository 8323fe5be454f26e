"""RP305: a traceback logged on every network or upstream error."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.privacy.helpers import (
    HandlerAwareRule,
    LoggerCall,
    circuit_open_logged_as_error,
    is_network_error,
    is_parsing_error,
    logs_traceback_always,
)
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.syntax.names import keyword, with_keyword


class UnconditionalTraceback(HandlerAwareRule):
    """## What it does
    Flags `exc_info=True` and `logger.exception(...)` in a handler for network or upstream
    errors: the exceptions of `requests`, `httpx`, `aiohttp`, `urllib`, `urllib3` and `socket`,
    `ConnectionError` and `TimeoutError`. Parsing errors (`ValueError`, `KeyError`, `TypeError`,
    `JSONDecodeError`) are bugs worth a traceback every time and are not flagged. When one
    handler catches both, the message says to split it: `exc_info=settings.DEBUG` alone would
    drop the parsing errors' tracebacks. Where RP306 flags a call (an open circuit logged as an
    error), RP305 does not.

    ## Why is this bad?
    An upstream outage raises the same exception thousands of times a minute; each traceback
    fills the logs, costs money at the log vendor and buries the one line that matters. The
    team's rule is `exc_info=settings.DEBUG`: the traceback in development, one line in
    production.

    Measured precision: 11 of 11 on 15 real projects (benchmarks/precision).
    """

    code = "RP305"
    name = "unconditional-traceback"
    message = "traceback logged on every {caught}; {advice}"
    severity = Severity.SUGGESTION
    dimension = Dimension.SECURITY
    at_logger_calls = True
    requires = ("except",)
    in_handlers = True
    fixes = (
        "Unsafe: the fix passes `exc_info=settings.DEBUG` (turning `logger.exception` into `logger.error`) and "
        "imports `django.conf.settings`: production logs lose the traceback, which is the point."
    )
    examples = (
        Bad("""
            import logging
            import requests

            logger = logging.getLogger(__name__)

            def fetch_rates():
                try:
                    return requests.get(RATES_URL, timeout=5).json()
                except requests.RequestException:
                    logger.exception("rates service unavailable")  # RP305
                except ValueError:
                    logger.error("rates service sent garbage", exc_info=True)
                return None
            """),
        Bad("""
            import json
            import logging

            import requests

            logger = logging.getLogger(__name__)

            def fetch_rates():
                try:
                    return json.loads(requests.get(RATES_URL, timeout=5).text)
                except (requests.ConnectionError, json.JSONDecodeError):
                    logger.exception("rates unavailable")  # RP305
                return None
            """),
        Good("""
            import logging
            import requests
            from django.conf import settings

            logger = logging.getLogger(__name__)

            def fetch_rates():
                try:
                    return requests.get(RATES_URL, timeout=5).json()
                except requests.RequestException:
                    logger.warning("rates service unavailable", exc_info=settings.DEBUG)
                return None
            """),
    )

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        handler = self.handler
        if log is None or handler is None or self.debug_only or circuit_open_logged_as_error(handler, log):
            return
        caught = [t for t in handler.types if is_network_error(t)]
        if caught and logs_traceback_always(log, handler.name, self.semantic):
            parsing = [t for t in handler.types if is_parsing_error(t)]
            advice = (
                f"split the handler: `{caught[0]}` with `exc_info=settings.DEBUG`, `{parsing[0]}` with the traceback"
                if parsing
                else "use `exc_info=settings.DEBUG`"
            )
            # a mixed handler is to be split by hand; a network-only one is fixed with DEBUG
            self.report(node, None if parsing else _debug_only(node), caught=caught[0], advice=advice)


def _debug_only(call: cst.Call) -> Rewrite:
    """The fix: the traceback only where DEBUG is on (`logger.exception` becomes `logger.error`)."""
    fixed = with_keyword(call, "exc_info", cst.parse_expression("settings.DEBUG"))
    if keyword(call, "exc_info") is None and isinstance(call.func, cst.Attribute):
        fixed = fixed.with_changes(func=call.func.with_changes(attr=cst.Name("error")))
    return Rewrite(
        safe=False,
        replace=((call, fixed),),
        imports=("from django.conf import settings",),
        description="log the traceback only with `settings.DEBUG`",
    )
