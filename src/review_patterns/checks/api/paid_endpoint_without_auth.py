"""RP601 paid-endpoint-without-auth: a view that reaches a paid API and lets anonymous users in."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.api.helpers import EXAMPLE_FILES, EndpointRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.endpoints import Endpoint


class PaidEndpointWithoutAuth(EndpointRule):
    """## What it does
    Flags a view that reaches a paid external API and lets anonymous users call it: a DRF view
    (an `APIView` or `ViewSet` subclass, an `@api_view` function) whose `permission_classes` is
    empty or `AllowAny`, or that sets none while the settings' `DEFAULT_PERMISSION_CLASSES` is
    absent (DRF's default is `AllowAny`) or lets anyone in; a Django view without
    `login_required`, `LoginRequiredMixin` or `permission_required`. A project permission class
    protects when its `has_permission` checks the user (`is_authenticated`, `is_staff`, an API
    key header) or a rate; one that does not override `has_permission` lets anyone in. A Django
    view that checks its caller itself (`request.user.is_authenticated` in a function view, the
    user or a secret in `dispatch`) protects too: a secret is a signed link or an order's secret
    from the URL (`received_secret=kwargs["hash"]`, `compare_digest`), or an OAuth callback's
    `state` compared with the session's `..._token`.

    The view reaches the paid call when a handler makes it, or calls the project's functions and
    methods that do, in any module (module functions, `self.` methods, methods of module-level or
    local instances, Celery tasks sent with `.delay()`). What is paid is what RP504 knows: once
    the project defines a quota guard, calls through a circuit breaker and calls to the clients
    that a guarded function uses; and the configured `paid-calls` (imported functions, methods of
    constructed clients, and the project's own functions and methods, such as its wrapper of the
    paid API) and `paid-hosts`. Imports inside functions (`import stripe` in a view) count.

    ## Why is this bad?
    Every anonymous request spends the quota: a scraper or a loop in someone's script empties a
    monthly budget in an hour, and the bill or the outage lands on the paying users. Requiring an
    account (or an API key) ties each call to someone who can be rate-limited and blocked.

    ## Known problems
    `IsAuthenticatedOrReadOnly` and `DjangoModelPermissionsOrAnonReadOnly` let anonymous users in
    when a read handler (`get`, `head`, `list`, `retrieve`, an `@api_view` serving `GET`) reaches
    the paid call; a `ViewSet`'s paid call reached only from a custom `@action` is not taken for a
    read. A view whose
    `get_permissions` is overridden, a permission class of another package, and settings that
    cannot be read statically (`REST_FRAMEWORK = build()`) are assumed to protect. Calls through
    functions passed as values (callbacks, `getattr`) are not followed.

    ## Options
    - `guard-names`: names (globs) of the project's quota guards (as RP504's).
    - `paid-hosts`: hosts of paid APIs (`"maps.googleapis.com"`).
    - `paid-calls`: qualified names (globs) of paid calls (`"googlemaps.Client.*"`, `"openai.*"`).

    Measured precision: no finding on the seven pinned real projects it was run on. With the
    defaults nothing is paid on any (none defines a quota guard); with the paid API configured as
    their users would (pretix, dj-stripe: `paid-calls = ["stripe.*"]`, benchmarks/precision) the
    three views first found on pretix were false alarms, now read right: a lazy `import stripe`,
    an order's secret checked in `dispatch`, an OAuth callback comparing its state with the session.
    """

    code = "RP601"
    name = "paid-endpoint-without-auth"
    message = "`{view}` reaches a paid API ({paid}) and lets anonymous users in: {why}"
    severity = Severity.BLOCKER
    dimension = Dimension.SECURITY
    examples = (
        Bad(
            """
            from rest_framework.permissions import AllowAny
            from rest_framework.response import Response
            from rest_framework.views import APIView

            from geo.services import Geocoder

            class GeocodeView(APIView):  # RP601
                permission_classes = [AllowAny]

                def get(self, request):
                    return Response(Geocoder().locate(request.query_params["address"]))
            """,
            path="geo/views.py",
            files=EXAMPLE_FILES,
        ),
        Good(
            """
            from rest_framework.permissions import AllowAny, IsAuthenticated
            from rest_framework.response import Response
            from rest_framework.views import APIView

            from geo.services import Geocoder, slugify_address

            class GeocodeView(APIView):
                permission_classes = [IsAuthenticated]

                def get(self, request):
                    return Response(Geocoder().locate(request.query_params["address"]))

            class SlugView(APIView):
                permission_classes = [AllowAny]  # a free call

                def get(self, request):
                    return Response(slugify_address(request.query_params["address"]))
            """,
            path="geo/views.py",
            files=EXAMPLE_FILES,
        ),
        Bad(
            """
            from django.http import JsonResponse
            from rest_framework.decorators import api_view
            from rest_framework.response import Response

            from geo.services import Geocoder

            geocoder = Geocoder()

            @api_view(["GET"])
            def geocode(request):  # RP601
                return Response(geocoder.locate(request.GET["address"]))

            def geocode_page(request):  # RP601
                return JsonResponse(geocoder.locate(request.GET["address"]))
            """,
            path="geo/views.py",
            files={**EXAMPLE_FILES, "shop/settings.py": 'REST_FRAMEWORK = {"PAGE_SIZE": 50}\n'},
        ),
        Good(
            """
            from django.contrib.auth.decorators import login_required
            from django.http import JsonResponse
            from rest_framework.decorators import api_view, permission_classes
            from rest_framework.response import Response

            from geo.permissions import HasApiKey
            from geo.services import Geocoder

            geocoder = Geocoder()

            @api_view(["GET"])
            def geocode(request):  # the settings' default requires a user
                return Response(geocoder.locate(request.GET["address"]))

            @api_view(["GET"])
            @permission_classes([HasApiKey])
            def partner_geocode(request):
                return Response(geocoder.locate(request.GET["address"]))

            @login_required
            def geocode_page(request):
                return JsonResponse(geocoder.locate(request.GET["address"]))
            """,
            path="geo/views.py",
            files={
                **EXAMPLE_FILES,
                "shop/settings.py": """
                    REST_FRAMEWORK = {
                        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
                    }
                    """,
                "geo/permissions.py": """
                    from rest_framework.permissions import BasePermission

                    class HasApiKey(BasePermission):
                        def has_permission(self, request, view):
                            return request.headers.get("X-Api-Key") in PARTNER_KEYS
                    """,
            },
        ),
        Bad(
            """
            from rest_framework import viewsets
            from rest_framework.response import Response

            from geo.permissions import IsOwner
            from geo.services import Geocoder

            class StoreViewSet(viewsets.ModelViewSet):  # RP601
                permission_classes = [IsOwner]

                def perform_create(self, serializer):
                    location = Geocoder().locate(serializer.validated_data["address"])
                    serializer.save(location=location)
            """,
            path="stores/views.py",
            files={
                **EXAMPLE_FILES,
                "geo/permissions.py": """
                    from rest_framework.permissions import BasePermission

                    class IsOwner(BasePermission):
                        def has_object_permission(self, request, view, obj):
                            return obj.owner == request.user
                    """,
            },
        ),
        Bad(
            """
            from rest_framework.decorators import api_view, permission_classes
            from rest_framework.permissions import IsAuthenticatedOrReadOnly
            from rest_framework.response import Response
            from rest_framework.views import APIView

            from geo.services import Geocoder

            class StoreMapView(APIView):  # RP601
                permission_classes = [IsAuthenticatedOrReadOnly]

                def get(self, request):
                    return Response(Geocoder().locate(request.query_params["address"]))

            @api_view()
            @permission_classes([IsAuthenticatedOrReadOnly])
            def nearest_store(request):  # RP601
                return Response(Geocoder().locate(request.GET["address"]))
            """,
            path="stores/views.py",
            files=EXAMPLE_FILES,
        ),
        Good(
            """
            from rest_framework.decorators import api_view, permission_classes
            from rest_framework.permissions import IsAuthenticatedOrReadOnly
            from rest_framework.response import Response
            from rest_framework.views import APIView

            from geo.services import Geocoder

            class StoreView(APIView):
                permission_classes = [IsAuthenticatedOrReadOnly]

                def get(self, request):
                    return Response(STORES)  # reading is free

                def post(self, request):  # only a user may write, and writing is paid
                    return Response(Geocoder().locate(request.data["address"]))

            @api_view(["POST"])
            @permission_classes([IsAuthenticatedOrReadOnly])
            def add_store(request):
                return Response(Geocoder().locate(request.data["address"]))
            """,
            path="stores/views.py",
            files=EXAMPLE_FILES,
        ),
    )

    def check(self, name: cst.Name, endpoint: Endpoint) -> None:
        if endpoint.anonymous is not None:
            self.report(name, view=name.value, paid=endpoint.paid, why=endpoint.anonymous)
