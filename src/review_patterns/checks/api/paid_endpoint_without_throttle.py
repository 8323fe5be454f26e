"""RP602 paid-endpoint-without-throttle: a view that reaches a paid API with no rate limit."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.api.helpers import EXAMPLE_FILES, EndpointRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.endpoints import RATE_LIMITERS, Endpoint
from review_patterns.project.http import GUARD_NAMES


class PaidEndpointWithoutThrottle(EndpointRule):
    """## What it does
    Flags a view that reaches a paid external API, whoever may call it, with no rate limit: a DRF
    view with no `throttle_classes` (or an empty one) while the settings set neither
    `DEFAULT_THROTTLE_CLASSES` nor `DEFAULT_THROTTLE_RATES`; a view of any kind with no
    rate-limit decorator (django-ratelimit's `@ratelimit`, or one named in the options, applied
    with `@` or in the URLconf: `ratelimit(key="ip", rate="10/m")(views.geocode)`), no
    rate-limiting middleware, and no permission class that limits a rate. The view reaches the
    paid call, and what is paid, exactly as for RP601.

    ## Why is this bad?
    Authentication says who calls, not how often: one logged-in user's runaway script, or one
    stolen account, spends the whole quota. A per-user rate (say 100 an hour, 10 in DEBUG) keeps
    each user's share bounded and the API available to the others.

    ## Known problems
    A view whose `get_throttles` is overridden, and settings that cannot be read statically, are
    assumed to throttle. An OAuth callback (a function view comparing a `...state` with the
    session) is not flagged: each call needs a new round trip through the provider. A limit enforced in front of Django (nginx, an API gateway) is not seen:
    silence the finding with `# noqa: RP602`.

    ## Options
    - `guard-names`, `paid-hosts`, `paid-calls`: what is paid (as RP601's).
    - `rate-limit-decorators`: names (globs) of the decorators that rate-limit a view.

    Measured precision: 2 of 2 on the seven pinned real projects it was run on, with the paid API
    configured as their users would (pretix, dj-stripe: `paid-calls = ["stripe.*"]`): pretix's
    Stripe return pages call Stripe on every request of an order link's holder, with no rate limit
    (benchmarks/precision). An OAuth callback found there at first is no longer flagged.
    """

    code = "RP602"
    name = "paid-endpoint-without-throttle"
    message = "`{view}` reaches a paid API ({paid}) with no rate limit: {why}"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    options = {"guard-names": GUARD_NAMES, "paid-hosts": (), "paid-calls": (), "rate-limit-decorators": RATE_LIMITERS}
    _SETTINGS = """
        REST_FRAMEWORK = {
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        }
        """
    examples = (
        Bad(
            """
            from django.contrib.auth.decorators import login_required
            from django.http import JsonResponse
            from rest_framework.response import Response
            from rest_framework.views import APIView

            from geo.services import Geocoder

            class GeocodeView(APIView):  # RP602
                def get(self, request):
                    return Response(Geocoder().locate(request.query_params["address"]))

            @login_required
            def geocode_page(request):  # RP602
                return JsonResponse(Geocoder().locate(request.GET["address"]))
            """,
            path="geo/views.py",
            files={**EXAMPLE_FILES, "shop/settings.py": _SETTINGS},
        ),
        Good(
            """
            from django.contrib.auth.decorators import login_required
            from django.http import JsonResponse
            from django_ratelimit.decorators import ratelimit
            from rest_framework.response import Response
            from rest_framework.throttling import UserRateThrottle
            from rest_framework.views import APIView

            from geo.services import Geocoder, slugify_address

            class GeocodeView(APIView):
                throttle_classes = [UserRateThrottle]

                def get(self, request):
                    return Response(Geocoder().locate(request.query_params["address"]))

            class SlugView(APIView):  # a free call
                def get(self, request):
                    return Response(slugify_address(request.query_params["address"]))

            @login_required
            @ratelimit(key="user", rate="100/h")
            def geocode_page(request):
                return JsonResponse(Geocoder().locate(request.GET["address"]))
            """,
            path="geo/views.py",
            files={**EXAMPLE_FILES, "shop/settings.py": _SETTINGS},
        ),
        Good(
            """
            from rest_framework import viewsets

            from geo.services import Geocoder

            class StoreViewSet(viewsets.ModelViewSet):  # the settings' default throttles every view
                def perform_create(self, serializer):
                    serializer.save(location=Geocoder().locate(serializer.validated_data["address"]))
            """,
            path="stores/views.py",
            files={
                **EXAMPLE_FILES,
                "shop/settings/base.py": """
                    REST_FRAMEWORK = {
                        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
                        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
                        "DEFAULT_THROTTLE_RATES": {"user": "10/hour" if DEBUG else "100/hour"},
                    }
                    """,
            },
        ),
        Bad(
            """
            from rest_framework import viewsets

            from geo.services import Geocoder

            class StoreViewSet(viewsets.ModelViewSet):  # RP602
                throttle_classes = []

                def perform_create(self, serializer):
                    serializer.save(location=Geocoder().locate(serializer.validated_data["address"]))
            """,
            path="stores/views.py",
            files={
                **EXAMPLE_FILES,
                "shop/settings/base.py": """
                    REST_FRAMEWORK = {
                        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
                        "DEFAULT_THROTTLE_RATES": {"user": "100/hour"},
                    }
                    """,
            },
        ),
    )

    def check(self, name: cst.Name, endpoint: Endpoint) -> None:
        if endpoint.unthrottled is not None:
            self.report(name, view=name.value, paid=endpoint.paid, why=endpoint.unthrottled)
