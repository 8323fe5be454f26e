"""RP601 and RP602 on small projects: what the settings, the URLconf, the permission classes and
the call graph across modules say about a view that reaches a paid call."""

from __future__ import annotations

import textwrap

from review_patterns import Config, ProjectContext, lint
from review_patterns.checks.api.helpers import EXAMPLE_FILES
from review_patterns.checks.api.paid_endpoint_without_auth import PaidEndpointWithoutAuth
from review_patterns.checks.api.paid_endpoint_without_throttle import PaidEndpointWithoutThrottle
from review_patterns.project.api_settings import read_api_settings

RULES = (PaidEndpointWithoutAuth, PaidEndpointWithoutThrottle)


def dedent(files: dict[str, str]) -> dict[str, str]:
    return {path: textwrap.dedent(text).strip("\n") + "\n" for path, text in files.items()}


def findings(view: str, files: dict[str, str], path: str = "geo/views.py", **options: object) -> list[tuple[int, str]]:
    sources = dedent({**EXAMPLE_FILES, **files, path: view})
    config = Config(options={rule.code: dict(options) for rule in RULES} if options else {})
    result = lint(sources[path], path, ProjectContext.from_sources(sources), config, rules=RULES)
    return [(f.line, f.code) for f in result.findings]


DRF_VIEW = """
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from geo.services import Geocoder

    class GeocodeView(APIView):
        def get(self, request):
            return Response(Geocoder().locate(request.query_params["address"]))
    """


def test_settings_that_cannot_be_read_are_assumed_to_protect() -> None:
    settings = {"shop/settings.py": "REST_FRAMEWORK = build_rest_framework_settings()\n"}
    assert findings(DRF_VIEW, settings) == []


def test_one_settings_module_that_requires_a_user_protects_the_views() -> None:
    settings = {
        "shop/settings/dev.py": 'REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]}\n',
        "shop/settings/prod.py": """
            from .dev import *

            REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = ["rest_framework.permissions.IsAuthenticated"]
            REST_FRAMEWORK.update({"DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"]})
            """,
    }
    assert findings(DRF_VIEW, settings) == []
    read = read_api_settings(dedent(settings).items())
    assert read.given("DEFAULT_PERMISSION_CLASSES") == [
        ("rest_framework.permissions.AllowAny",),
        ("rest_framework.permissions.IsAuthenticated",),
    ]


def test_defaults_that_let_anyone_in_are_reported_at_the_class() -> None:
    settings = {
        "shop/settings.py": """
            REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ("rest_framework.permissions.AllowAny",)}
            """
    }
    assert findings(DRF_VIEW, settings) == [(6, "RP601"), (6, "RP602")]


def test_permission_operators_follow_drf() -> None:
    view = """
        from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
        from rest_framework.views import APIView

        from geo.services import Geocoder

        class EitherView(APIView):
            permission_classes = [IsAuthenticated | AllowAny]
            throttle_classes = []

            def get(self, request):
                return Geocoder().locate(request.GET["address"])

        class BothView(APIView):
            permission_classes = [IsAdminUser & AllowAny]

            def get(self, request):
                return Geocoder().locate(request.GET["address"])
        """
    assert findings(view, {"shop/settings.py": "DEBUG = False\n"}) == [(6, "RP601"), (6, "RP602"), (13, "RP602")]


def test_login_required_middleware_protects_every_view_but_the_exempt_ones() -> None:
    view = """
        from django.contrib.auth.decorators import login_not_required
        from django.http import JsonResponse

        from geo.services import Geocoder

        def geocode_page(request):
            return JsonResponse(Geocoder().locate(request.GET["address"]))

        @login_not_required
        def public_geocode_page(request):
            return JsonResponse(Geocoder().locate(request.GET["address"]))
        """
    settings = {"shop/settings.py": 'MIDDLEWARE = ["django.contrib.auth.middleware.LoginRequiredMiddleware"]\n'}
    assert findings(view, settings) == [(6, "RP602"), (10, "RP601"), (10, "RP602")]


def test_views_the_urlconf_wraps_in_login_required_are_protected() -> None:
    view = """
        from django.http import JsonResponse
        from django.views import View

        from geo.services import Geocoder

        def geocode_page(request):
            return JsonResponse(Geocoder().locate(request.GET["address"]))

        class GeocodeFormView(View):
            def post(self, request):
                return JsonResponse(Geocoder().locate(request.POST["address"]))

        class StaffGeocodeView(StaffRequiredMixin, View):
            def post(self, request):
                return JsonResponse(Geocoder().locate(request.POST["address"]))
        """
    urls = {
        "shop/urls.py": """
            from django.contrib.auth.decorators import login_required
            from django.urls import path

            from geo import views

            urlpatterns = [
                path("geocode/", login_required(views.geocode_page)),
                path("geocode/form/", views.GeocodeFormView.as_view()),
            ]
            """
    }
    assert [f for f in findings(view, urls) if f[1] == "RP601"] == [(9, "RP601")]


def test_views_the_urlconf_wraps_in_a_configured_rate_limiter_are_throttled() -> None:
    """`ratelimit(key="ip", rate="10/m")(view)`: a decorator built by a call, applied in the URLconf."""
    view = """
        from django.http import JsonResponse

        from geo.services import Geocoder

        def geocode_page(request):
            return JsonResponse(Geocoder().locate(request.GET["address"]))

        def reverse_page(request):
            return JsonResponse(Geocoder().locate(request.GET["point"]))
        """
    urls = {
        "shop/urls.py": """
            from django.contrib.auth.decorators import user_passes_test
            from django.urls import path
            from django_ratelimit.decorators import ratelimit

            from geo import views

            urlpatterns = [
                path("geocode/", ratelimit(key="ip", rate="10/m")(views.geocode_page)),
                path("reverse/", user_passes_test(lambda u: u.is_staff)(views.reverse_page)),
            ]
            """
    }
    assert findings(view, urls) == [(5, "RP601"), (8, "RP602")]


def test_nothing_is_paid_without_a_quota_guard_or_configured_paid_calls() -> None:
    files = {k: v for k, v in EXAMPLE_FILES.items() if k != "quota/manager.py"}
    sources = dedent({**files, "quota/manager.py": "", "geo/views.py": DRF_VIEW})
    context = ProjectContext.from_sources(sources)
    result = lint(sources["geo/views.py"], "geo/views.py", context, Config(), rules=RULES)
    assert not result.findings
    assert "endpoints" not in context.touched  # not even read


def test_paid_hosts_reach_through_helpers_and_cycles_across_modules() -> None:
    files = {
        "quota/manager.py": "",
        "weather/client.py": """
            import requests

            FORECAST_URL = "https://api.weather.example/v2/forecast"

            def forecast(city, retries=1):
                if retries:
                    return forecast_again(city, retries - 1)
                return requests.get(FORECAST_URL, params={"city": city}, timeout=5).json()

            def forecast_again(city, retries):
                return forecast(city, retries)
            """,
    }
    view = """
        from django.http import JsonResponse

        from weather import client

        def forecast_page(request):
            return JsonResponse(client.forecast(request.GET["city"]))

        def health(request):
            return JsonResponse({"ok": True})
        """
    assert findings(view, files, **{"paid-hosts": ["weather.example"]}) == [(5, "RP601"), (5, "RP602")]
    assert findings(view, files, **{"paid-hosts": ["maps.example"]}) == []


PAYMENT_VIEWS = """
    from django.http import Http404, JsonResponse
    from django.shortcuts import redirect
    from django.views import View

    from shop.models import Order

    def stripe_oauth_return(request):
        import stripe  # a lazy import names the SDK all the same

        if request.GET.get("state") != request.session["stripe_oauth_token"]:
            return redirect("dashboard")
        return JsonResponse({"account": stripe.Account.retrieve(request.GET["account"]).id})

    class OrderPaymentView(View):
        def dispatch(self, request, *args, **kwargs):
            try:
                self.order = Order.objects.get_with_secret_check(kwargs["code"], received_secret=kwargs["secret"])
            except Order.DoesNotExist:
                raise Http404("Unknown order")
            return super().dispatch(request, *args, **kwargs)

        def get(self, request, *args, **kwargs):
            import stripe

            return JsonResponse({"status": stripe.PaymentIntent.retrieve(self.order.intent_id).status})

    def checkout_status(request, intent_id):
        import stripe

        return JsonResponse({"status": stripe.PaymentIntent.retrieve(intent_id).status})
    """


def test_views_checking_a_secret_of_the_caller_let_no_anonymous_user_in() -> None:
    """An OAuth callback comparing its `state` with the session's token, and a view whose `dispatch`
    checks the order's secret from the URL, identify their caller (no RP601). The order's page still
    makes a paid call per request with no rate limit (RP602); the callback is not looped (each call
    needs a new round trip through the provider). A view checking nothing is flagged by both."""
    found = findings(PAYMENT_VIEWS, {"quota/manager.py": ""}, path="payments/views.py", **{"paid-calls": ["stripe.*"]})
    assert found == [(14, "RP602"), (27, "RP601"), (27, "RP602")]


def test_a_project_method_named_in_paid_calls_is_paid_where_it_is_called() -> None:
    """`paid-calls` may name the project's own wrapper of a paid API (`machinery.*.request`), reached
    through `self.` calls of a service class made in the view."""
    files = {
        "quota/manager.py": "",
        "machinery/deepl.py": """
            class DeepLTranslation:
                def request(self, method, url, **kwargs):
                    return fetch_url(method, url, **kwargs)

                def translate(self, text):
                    return self.request("post", self.api_url, json={"text": [text]})
            """,
    }
    view = """
        from django.http import JsonResponse

        from machinery.deepl import DeepLTranslation

        def suggest(request):
            return JsonResponse(DeepLTranslation().translate(request.GET["text"]))
        """
    options = {"paid-calls": ["machinery.*.request"]}
    assert findings(view, files, path="machinery/views.py", **options) == [(5, "RP601"), (5, "RP602")]
    assert findings(view, files, path="machinery/views.py", **{"paid-calls": ["machinery.*.search"]}) == []


LOOKUP = """
    from django.core.cache import cache
    from redis.exceptions import ConnectionError as RedisDown
    from redis_lock import Lock

    from geo.services import Geocoder

    geocoder = Geocoder()

    def locate(address):
        key = f"geo:{address}"
        cached = cache.get(key)
        if cached is not None:
            return cached
        lock = Lock(REDIS, f"lock:{key}", expire=30, auto_renewal=True)
        try:
            if lock.acquire(timeout=15):
                try:
                    cached = cache.get(key)
                    if cached is None:
                        cached = geocoder.locate(address)
                        cache.set(key, cached, GEO_TTL)
                finally:
                    lock.release()
        except RedisDown:
            cached = geocoder.locate(address)
        return cached
    """


def stampede(source: str) -> tuple[list[tuple[int, str]], list[str]]:
    from review_patterns.checks.api.cache_stampede import CacheStampede

    sources = dedent({**EXAMPLE_FILES, "geo/lookups.py": source})
    context = ProjectContext.from_sources(sources)
    result = lint(sources["geo/lookups.py"], "geo/lookups.py", context, Config(), rules=(CacheStampede,))
    return [(f.line, f.message.rpartition(": ")[2][:20]) for f in result.findings], [b.name for b in result.bonuses]


def test_python_redis_lock_with_recheck_and_fallback_earns_the_bonus() -> None:
    assert stampede(LOOKUP) == ([], ["stampede-protection"])


def test_a_lock_without_a_redis_down_handler_is_flagged_at_the_lock() -> None:
    source = LOOKUP.replace(
        "        except RedisDown:\n            cached = geocoder.locate(address)\n",
        "        finally:\n            pass\n",
    )
    assert stampede(source) == ([(16, "no handler for Redis")], [])


def test_a_release_outside_finally_earns_no_bonus() -> None:
    source = LOOKUP.replace(
        "                finally:\n                    lock.release()\n",
        "                except KeyError:\n                    pass\n                lock.release()\n",
    )
    assert stampede(source) == ([], [])


def test_a_paid_method_of_an_instance_made_on_the_spot_is_the_paid_call() -> None:
    """`Geocoder().locate(...)`: the receiver is a call, the method is paid all the same; a free method
    of the same class in the same shape is not."""
    source = """
        from django.core.cache import cache

        from geo.services import Geocoder

        def locate(address):
            cached = cache.get(f"geo:{address}")
            if cached is None:
                cached = Geocoder().locate(address)
                cache.set(f"geo:{address}", cached, GEO_TTL)
            return cached

        def describe(address):
            described = cache.get(f"describe:{address}")
            if described is None:
                described = Geocoder().describe(address)
                cache.set(f"describe:{address}", described, GEO_TTL)
            return described
        """
    found, bonuses = stampede(source)
    assert [line for line, _ in found] == [6] and bonuses == []
