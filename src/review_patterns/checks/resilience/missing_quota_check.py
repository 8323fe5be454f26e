"""RP504 missing-quota-check: a paid external API called from a service without the quota guard."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch

import libcst as cst

from review_patterns.checks.resilience.http import HttpRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.http import GUARD_NAMES, NEW, looks_like_class, matches_any, on_host
from review_patterns.project.quota import QuotaFacts
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import call_name, dotted_name
from review_patterns.syntax.semantic import BindingKind

_SERVICES = ("services.py", "services/*")


@dataclass
class _Function:
    name: str
    guarded: bool  #: decorated with a guard, or has called one so far
    paid: list[tuple[cst.Call, str]] = field(default_factory=list)  #: unguarded paid calls
    calls: list[tuple[str, bool]] = field(default_factory=list)  #: same-module calls: (name, after a guard)


class MissingQuotaCheck(HttpRule):
    """## What it does
    Flags a call to a paid external API, in a service module, made by a function that has not
    called the project's quota guard first. It runs when the project defines a guard (a function
    or method named like `can_call_api`, `check_quota`, `has_quota`) or paid calls are configured.
    Paid calls are, by default, calls through a circuit breaker (`breaker.call(...)`) and calls
    to the same API client that a guarded function of the project uses (an HTTP session, an
    instance of a `...Client` class, a name ending in `client` or `_api`); configured hosts
    and call names add to them.

    ## Why is this bad?
    The guard is what keeps a monthly quota from running out mid-month: one service that
    skips it (a new feature, a retry loop, a management command's helper) spends the quota
    behind everyone's back, and when it runs out every user of the API gets errors.

    ## Known problems
    A function whose every caller in the same module checks the guard first is not flagged.
    A guard checked in another module's caller is not seen; silence such a call with `# noqa`.
    Every call through a circuit breaker counts as paid once the rule runs, including breakers
    in front of free APIs; and clients are told apart by name (where they are bound, and their
    class), so two modules' different objects under one imported name are one client.

    ## Options
    - `guard-names`: names (globs) of the quota guard functions.
    - `service-modules`: path globs of the modules checked (default: `services.py` files and
      `services` packages).
    - `paid-hosts`: hosts of paid APIs, such as `"maps.googleapis.com"`: an HTTP call to a
      literal or module-constant URL on one of them is paid.
    - `paid-calls`: qualified names (globs) of paid calls, such as `"googlemaps.Client.*"`,
      `"openai.*"`.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    reads = ("quota_index", "function_names")

    code = "RP504"
    name = "missing-quota-check"
    message = "`{call}` calls a paid API without checking the quota first (`{guard}()`)"
    severity = Severity.IMPORTANT
    penalty = 4
    dimension = Dimension.RELIABILITY
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    options = {"guard-names": GUARD_NAMES, "service-modules": _SERVICES, "paid-hosts": (), "paid-calls": ()}
    _QUOTA = """
        from django_redis import get_redis_connection

        class QuotaManager:
            def check_quota(self, api):
                return int(get_redis_connection().get(f"quota:{api}") or 0) < LIMITS[api]
        """
    _CLIENT = """
        import pybreaker
        import requests

        maps_breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)

        class MapsClient:
            def geocode(self, address):
                return requests.get(GEOCODE_URL, params={"address": address}, timeout=5).json()

        maps_client = MapsClient()
        """
    examples = (
        Bad(
            """
            from integrations.maps import maps_client
            from quota.manager import QuotaManager

            quota = QuotaManager()

            def geocode_store(store):
                if not quota.check_quota("maps"):
                    raise QuotaExceeded("maps")
                store.location = maps_client.geocode(store.address)

            def geocode_customer(customer):
                customer.location = maps_client.geocode(customer.address)  # RP504
            """,
            path="stores/services.py",
            files={"quota/manager.py": _QUOTA, "integrations/maps.py": _CLIENT},
        ),
        Good(
            """
            from integrations.maps import maps_client
            from quota.manager import QuotaManager

            quota = QuotaManager()

            def geocode_store(store):
                if not quota.check_quota("maps"):
                    raise QuotaExceeded("maps")
                store.location = maps_client.geocode(store.address)

            def geocode_customer(customer):
                if not quota.check_quota("maps"):
                    raise QuotaExceeded("maps")
                customer.location = maps_client.geocode(customer.address)
            """,
            path="stores/services.py",
            files={"quota/manager.py": _QUOTA, "integrations/maps.py": _CLIENT},
        ),
        Bad(
            """
            import requests

            from integrations.maps import maps_breaker

            class RoutingService:
                def __init__(self):
                    self.session = requests.Session()

                def route(self, a, b):
                    return maps_breaker.call(self._fetch_route, a, b)  # RP504

                def _fetch_route(self, a, b):
                    return self.session.get(ROUTE_URL, params={"from": a, "to": b}, timeout=5)

                def eta(self, a, b):
                    if self.quota.has_quota("routing"):
                        return self._fetch_eta(a, b)

                def _fetch_eta(self, a, b):
                    return self.session.get(ETA_URL, params={"from": a, "to": b}, timeout=5)

                def distance(self, a, b):
                    return self.session.get(DIST_URL, params={"from": a, "to": b}, timeout=5)  # RP504
            """,
            path="routing/services/routes.py",
            files={"quota/manager.py": _QUOTA, "integrations/maps.py": _CLIENT},
        ),
        Bad(
            """
            import requests

            GEO_URL = "https://maps.googleapis.com/maps/api/geocode/json"

            def geocode(address):
                return requests.get(GEO_URL, params={"address": address}, timeout=5)  # RP504

            def reverse(lat, lng):
                url = f"https://maps.googleapis.com/maps/api/geocode/json?latlng={lat},{lng}"
                return requests.get(url, timeout=5)

            def weather(city):
                return requests.get(f"https://api.weather.example/{city}", timeout=5)

            def directions(a, b):
                return requests.get(f"https://maps.googleapis.com/maps/api/directions/json?origin={a}", timeout=5)  # RP504
            """,
            path="geo/api.py",
            options={"paid-hosts": ["maps.googleapis.com"], "service-modules": ["geo/*"]},
        ),
        Good(
            """
            from integrations.maps import maps_breaker, maps_client

            def geocode(address):
                return maps_client.geocode(address)  # the project has no quota guard

            def route(a, b):
                return maps_breaker.call(fetch_route, a, b)
            """,
            path="stores/services.py",
            files={"integrations/maps.py": _CLIENT},
        ),
        Good(
            """
            from integrations.maps import maps_client

            def geocode_customer(customer):
                customer.location = maps_client.geocode(customer.address)  # not a service module
            """,
            path="stores/views.py",
            files={"quota/manager.py": _QUOTA, "integrations/maps.py": _CLIENT},
        ),
        Good(
            """
            from integrations.maps import maps_client
            from quota.manager import QuotaManager

            quota = QuotaManager()

            class StoreService:
                def __init__(self, stripe_client):
                    self.stripe_client = stripe_client

                def geocode(self, store):
                    if quota.check_quota("maps"):
                        return self._lookup(store.address)

                def _lookup(self, address):
                    return maps_client.geocode(address)  # every caller checked the quota

                def charge(self, store):
                    return self.stripe_client.charge(store.owner)  # not a client a guarded function uses
            """,
            path="stores/services.py",
            files={"quota/manager.py": _QUOTA, "integrations/maps.py": _CLIENT},
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.guards: tuple[str, ...] = tuple(self.settings["guard-names"])
        self.functions: list[_Function] = []
        self.stack: list[_Function] = []
        self.facts: QuotaFacts | None = None
        self.passed: set[str] = set()  # functions handed to a paid call
        services = self.settings["service-modules"]
        configured = bool(self.settings["paid-hosts"] or self.settings["paid-calls"])
        if any(fnmatch(self.file.path, p) or fnmatch(self.file.path, f"*/{p}") for p in services):
            facts = self.context.quota_index.facts(self.guards)
            if facts.guards or configured:
                self.facts = facts
        self.active = self.facts is not None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        guarded = any(
            matches_any(
                (call_name(d.decorator) if isinstance(d.decorator, cst.Call) else dotted_name(d.decorator) or "") or "",
                self.guards,
            )
            or matches_any((dotted_name(d.decorator) or "").rsplit(".", 1)[-1], self.guards)
            for d in node.decorators
        )
        function = _Function(node.name.value, guarded)
        self.stack.append(function)
        self.functions.append(function)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if self.facts is None or not self.stack:
            return
        function = self.stack[-1]
        name = call_name(node)
        if name is not None and matches_any(name, self.guards):
            function.guarded = True
            return
        if isinstance(node.func, cst.Name) or (
            isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) in ("self", "cls")
        ):
            function.calls.append(
                (node.func.value if isinstance(node.func, cst.Name) else name or "", function.guarded)
            )
        if function.guarded:
            return
        paid = self._paid(node)
        if paid is not None:
            function.paid.append((node, paid))
            # `breaker.call(self._fetch, ...)`: reported here, so not again inside `_fetch`
            for arg in node.args:
                target = dotted_name(arg.value)
                if target is not None:
                    self.passed.add(target.rsplit(".", 1)[-1])

    def _paid(self, node: cst.Call) -> str | None:
        """How to name `node` when it calls a paid API, else None."""
        assert self.facts is not None
        call = self.http_call(node)
        if call is not None and call.library == "breaker":
            return call.label
        label = dotted_name(node.func) or call_name(node) or "call"
        if self.call_client_keys(node) & self.facts.clients:
            return label
        paid_calls = self.settings["paid-calls"]
        if paid_calls and not looks_like_class(label):  # building a client sends nothing
            qualified = self.place(label) if dotted_name(node.func) else None
            if qualified is not None and matches_any(qualified, paid_calls):
                return label
            func = node.func
            kind = self.bound_kind(func.value) if isinstance(func, cst.Attribute) else None
            if isinstance(func, cst.Attribute) and kind is not None and kind.startswith(NEW):
                ctor = kind[len(NEW) :]  # `client = googlemaps.Client(...)`: `googlemaps.Client.geocode`
                if looks_like_class(ctor) and matches_any(f"{ctor}.{func.attr.value}", paid_calls):
                    return label
        hosts = self.settings["paid-hosts"]
        if hosts and call is not None and call.library != "breaker":
            url = self._url(node, call.label)
            if url is not None and any(on_host(url, host) for host in hosts):
                return call.label
        return None

    def _url(self, node: cst.Call, label: str) -> str | None:
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        index = 1 if label.endswith(".request") else 0
        url_arg = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "url"), None)
        value = url_arg if url_arg is not None else positional[index] if len(positional) > index else None
        if isinstance(value, cst.Name):  # `GEO_URL = "https://..."`, as the model binds the name here
            binding = self.semantic.lookup(value.value)
            value = binding.value if binding is not None and binding.kind is BindingKind.ASSIGNMENT else None
            if not isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                return None
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            text = value.evaluated_value
            return text if isinstance(text, str) else None
        if isinstance(value, cst.FormattedString):
            return "".join(p.value for p in _leading_text(value))
        return None

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.facts is None:
            return
        # A helper whose every same-module caller checked the guard first is covered by them.
        by_name: dict[str, list[_Function]] = {}
        for function in self.functions:
            by_name.setdefault(function.name, []).append(function)
        covered: set[str] = set(self.passed)
        changed = True
        while changed:
            changed = False
            for name in by_name:
                if name in covered:
                    continue
                sites = [(f, after) for f in self.functions for callee, after in f.calls if callee == name]
                if sites and all(after or f.name in covered for f, after in sites):
                    covered.add(name)
                    changed = True
        guard = min(self.facts.guards) if self.facts.guards else self.guards[0] if self.guards else "check_quota"
        for function in self.functions:
            if function.name not in covered:
                for node, label in function.paid:
                    self.report(node, call=label, guard=guard)


def _leading_text(node: cst.FormattedString) -> list[cst.FormattedStringText]:
    """The literal text of an f-string up to its first placeholder."""
    parts = []
    for part in node.parts:
        if not isinstance(part, cst.FormattedStringText):
            break
        parts.append(part)
    return parts
