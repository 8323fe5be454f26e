"""RP503 quota-incremented-before-call: quota spent before the external call it pays for."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.checks.resilience.http import HttpRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.http import INCREMENT_NAMES, REFUND_NAMES, matches_any, may_occur
from review_patterns.syntax.names import call_name, dotted_name

_EXITS = (cst.Return, cst.Raise, cst.Continue, cst.Break)


@dataclass
class _Function:
    increments: list[tuple[cst.Call, str, cst.IndentedBlock | None]] = field(default_factory=list)
    refunded: bool = False
    reported: set[int] = field(default_factory=set)


def _exits(block: cst.IndentedBlock) -> bool:
    """Whether a block ends by leaving it: `return`, `raise`, `continue`, `break`."""
    if not block.body:
        return False
    last = block.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, _EXITS) for s in last.body)


class QuotaIncrementedBeforeCall(HttpRule):
    """## What it does
    Flags a quota or usage counter incremented (a call named like `increment_usage`,
    `increment_quota`, `record_usage`, `consume`) before, in the same function, the external
    call it pays for: a `requests`/`httpx`/`aiohttp` call, a session's request, a circuit
    breaker's `call(...)`, or a configured call.

    ## Why is this bad?
    When the call fails (timeout, 5xx, open breaker) the quota is already spent: a bad hour of
    the upstream burns the day's allowance and locks users out. Increment after the call
    succeeded.

    ## Known problems
    An increment given back on failure in the same function (a `refund`, `decrement`,
    `release` call: a reservation) and an increment in a branch that returns before the call
    are not flagged.

    ## Options
    - `increment-calls`: names (globs) of the calls that spend quota.
    - `external-calls`: qualified names (globs) of more external calls, such as `"stripe.*"`.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    code = "RP503"
    name = "quota-incremented-before-call"
    message = "`{increment}` spends quota before `{call}`: a failed call still counts; increment after success"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    options = {"increment-calls": INCREMENT_NAMES, "external-calls": ()}
    examples = (
        Bad(
            """
            import requests

            from .quota import quota

            def geocode(address):
                quota.increment_usage("maps")  # RP503
                response = requests.get(GEOCODE_URL, params={"address": address}, timeout=5)
                response.raise_for_status()
                return response.json()
            """,
            path="geo/services.py",
        ),
        Good(
            """
            import requests

            from .quota import quota

            def geocode(address):
                if not quota.check_quota("maps"):
                    raise QuotaExceeded("maps")
                response = requests.get(GEOCODE_URL, params={"address": address}, timeout=5)
                response.raise_for_status()
                quota.increment_usage("maps")
                return response.json()
            """,
            path="geo/services.py",
        ),
        Bad(
            """
            import httpx
            from pybreaker import CircuitBreaker

            translate_breaker = CircuitBreaker(fail_max=5)

            class Translator:
                def __init__(self):
                    self.http = httpx.Client(timeout=10)

                def translate(self, text):
                    self.usage.record_usage(len(text))  # RP503
                    return self.http.post(TRANSLATE_URL, json={"q": text}).json()

                def detect(self, text):
                    self.usage.record_api_usage(1)  # RP503
                    return translate_breaker.call(self._detect, text)
            """,
            path="translation/services.py",
        ),
        Bad(
            """
            import stripe

            def charge(customer, amount):
                spend_credits(customer, amount)  # RP503
                return stripe.PaymentIntent.create(customer=customer.stripe_id, amount=amount)
            """,
            path="billing/services.py",
            options={"increment-calls": ["spend_credits"], "external-calls": ["stripe.*"]},
        ),
        Good(
            """
            import requests

            def geocode(address):
                if address in CACHE:
                    quota.record_usage("maps-cache")
                    return CACHE[address]
                response = requests.get(GEOCODE_URL, params={"address": address}, timeout=5)
                quota.record_usage("maps")
                return response.json()

            def reserve_then_call(address):
                quota.increment_usage("maps")
                try:
                    return requests.get(GEOCODE_URL, params={"address": address}, timeout=5).json()
                except requests.RequestException:
                    quota.refund("maps")
                    raise

            def local_work(queue):
                queue.consume()
                return client.fetch()  # not an HTTP call we know
            """,
            path="geo/services.py",
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.active = may_occur(self.settings["increment-calls"], self.file.source)
        self.functions: list[_Function] = []
        self.blocks: list[cst.IndentedBlock] = []
        self.pending: list[tuple[cst.Call, str, str, _Function]] = []  # decided once refunds are known

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(_Function())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.blocks.append(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.blocks.pop()

    def _external(self, node: cst.Call) -> str | None:
        call = self.http_call(node)
        if call is not None:
            return call.label
        configured = self.settings["external-calls"]
        name = self.semantic.imported(node.func) if configured else None
        if name is not None and matches_any(name, configured):
            return name
        return None

    def visit_Call(self, node: cst.Call) -> None:
        if not self.functions:
            return
        function = self.functions[-1]
        name = call_name(node)
        if name is None:
            return
        if matches_any(name, REFUND_NAMES):
            function.refunded = True
            return
        if matches_any(name, self.settings["increment-calls"]):
            exiting = next((b for b in reversed(self.blocks) if _exits(b)), None)
            function.increments.append((node, dotted_name(node.func) or name, exiting))
            return
        if not function.increments:
            return
        external = self._external(node)
        if external is None:
            return
        for increment, label, exiting in function.increments:
            if exiting is not None and not any(b is exiting for b in self.blocks):
                continue  # that branch returned before reaching this call
            if id(increment) not in function.reported:
                function.reported.add(id(increment))
                self.pending.append((increment, label, external, function))

    def leave_Module(self, original_node: cst.Module) -> None:
        for increment, label, external, function in self.pending:
            if not function.refunded:
                self.report(increment, increment=label, call=external)
