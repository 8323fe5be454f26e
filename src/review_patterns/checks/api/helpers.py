"""What the API rules share: the endpoints of the checked module that reach a paid call (RP601, RP602).

The knowledge is the project's (`project/endpoints.py`); a rule here only finds the view's definition
in the module and reports there, on the class line or the `def`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst

from review_patterns.core.rule import Rule
from review_patterns.project.endpoints import RATE_LIMITERS, Endpoint, PaidOptions, paid_known
from review_patterns.project.http import GUARD_NAMES
from review_patterns.syntax.files import FileKind

#: The project around the examples: a quota guard, a paid maps API behind a breaker, a service.
EXAMPLE_FILES = {
    "quota/manager.py": """
        from django_redis import get_redis_connection

        def check_quota(api):
            return int(get_redis_connection().get(f"quota:{api}") or 0) < LIMITS[api]
        """,
    "integrations/maps.py": """
        import pybreaker
        import requests

        maps_breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)

        class MapsClient:
            def geocode(self, address):
                return requests.get(GEOCODE_URL, params={"address": address}, timeout=5).json()

        maps_client = MapsClient()
        """,
    "geo/services.py": """
        from integrations.maps import maps_breaker, maps_client

        class Geocoder:
            def locate(self, address):
                return maps_breaker.call(maps_client.geocode, address)

        def slugify_address(address):
            return address.lower().replace(" ", "-")
        """,
}


def paid_options(settings: Mapping[str, Any]) -> PaidOptions:
    """What a rule's options say is paid (and what rate-limits a view)."""
    return PaidOptions(
        tuple(settings["guard-names"]),
        tuple(settings["paid-hosts"]),
        tuple(settings["paid-calls"]),
        tuple(settings.get("rate-limit-decorators", RATE_LIMITERS)),
    )


class EndpointRule(Rule):
    """A rule about the views of the checked module that reach a paid call."""

    reads = ("endpoints", "function_names")

    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION})
    options = {"guard-names": GUARD_NAMES, "paid-hosts": (), "paid-calls": ()}
    #: A class-based view names its base (`APIView`, `ViewSet`, `View`); a function view takes `request`.
    #: Other files never read the endpoints, so editing them does not re-check every view (the cache).
    requires = ("View", "request")

    def setup(self) -> None:
        self.depth = 0  # classes and functions entered: only top-level ones are views
        self.found: dict[str, Endpoint] = {}
        options = paid_options(self.settings)
        if paid_known(self.context.function_names, options):  # else the endpoints are not even read
            self.found = self.context.endpoints.module_endpoints(options, self.file.module_name)
        self.active = bool(self.found)  # no view here reaches a paid call: nothing to judge

    def check(self, name: cst.Name, endpoint: Endpoint) -> None:
        """Reports the view named `name` if the rule finds fault with it."""
        raise NotImplementedError

    def _enter(self, name: cst.Name) -> None:
        if self.depth == 0 and name.value in self.found:
            self.check(name, self.found[name.value])
        self.depth += 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._enter(node.name)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter(node.name)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1
