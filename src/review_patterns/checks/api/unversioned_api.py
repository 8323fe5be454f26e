"""RP603 unversioned-api: a DRF API routed under `api/` with no version in its URLs nor its settings."""

from __future__ import annotations

import libcst as cst

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import string_value


class UnversionedApi(Rule):
    """## What it does
    Flags a project whose URLconf routes its API under an `api/` prefix with no version segment
    (`api/v1/`, `<version>`) while DRF is installed and the settings set no
    `DEFAULT_VERSIONING_CLASS`. It is reported once per project, at the first such route
    (`path("api/", include(router.urls))`), never per view. A project that versions some of
    its `api/` routes is not flagged: unversioned ones are then legacy routes kept for old clients.

    ## Why is this bad?
    Without a version in the URL (or in a header DRF reads), a change to a response's shape
    breaks every client at once, mobile apps that cannot be updated in a day included.
    `/api/v1/...` with `NamespaceVersioning` (and `v1` as the default) lets `v2` ship beside
    it, and the old routes stay while clients migrate.

    ## Known problems
    A version given below (`path("api/", include("x.urls"))` whose routes start with `v1/`, or
    a router's `register("v1/...")`, there or in the URLconfs it includes in turn, three levels
    down) is followed when each include names the module as a string; through a router object
    passed between modules, it is not. Settings that cannot be read statically are assumed to version. The
    test suite's settings (`tests/settings.py`) are not read: a reusable app that installs DRF only
    there (Wagtail's admin API, used by its own front end) has no deployed API to version.

    Measured precision: 1 of 1 on the seven pinned real projects it was run on (label-studio,
    whose API is unversioned; misago, pretalx, djangorestframework, django-oscar, pretix and
    dj-stripe have none to report) (benchmarks/precision).
    """

    reads = ("endpoints",)

    code = "RP603"
    name = "unversioned-api"
    message = "the API is routed under `{route}` with no version segment, and no `DEFAULT_VERSIONING_CLASS` is set"
    severity = Severity.SUGGESTION
    dimension = Dimension.CODE_CLARITY
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    requires = ("api",)
    _SETTINGS = 'INSTALLED_APPS = ["django.contrib.auth", "rest_framework", "shop"]\n'
    examples = (
        Bad(
            """
            from django.urls import include, path
            from rest_framework.routers import DefaultRouter

            from shop import views

            router = DefaultRouter()
            router.register("orders", views.OrderViewSet)

            urlpatterns = [
                path("api/", include(router.urls)),  # RP603
                path("api/health/", views.HealthView.as_view()),
            ]
            """,
            path="shop/urls.py",
            files={"shop/settings.py": _SETTINGS},
        ),
        Good(
            """
            from django.urls import include, path

            urlpatterns = [
                path("api/v1/", include(("shop.api_urls", "shop"), namespace="v1")),
                path("api/orders/", include("shop.legacy_urls")),  # kept while clients migrate
            ]
            """,
            path="shop/urls.py",
            files={"shop/settings.py": _SETTINGS},
        ),
        Good(
            """
            from django.urls import include, path

            urlpatterns = [path("api/", include("shop.api.urls"))]  # the version is one level down
            """,
            path="shop/urls.py",
            files={
                "shop/settings.py": _SETTINGS,
                "shop/api/urls.py": """
                    from django.urls import include, path

                    urlpatterns = [
                        path("v1/", include(("shop.api.v1_urls", "v1"))),
                        path("v2/", include(("shop.api.v2_urls", "v2"))),
                    ]
                    """,
            },
        ),
        Good(
            """
            from django.urls import include, re_path

            urlpatterns = [re_path(r"^api/", include("shop.api_urls"))]
            """,
            path="shop/urls.py",
            files={
                "shop/settings.py": _SETTINGS,
                # The frontend's own routes are unversioned; the public API is versioned two levels down.
                "shop/api_urls.py": """
                    from django.urls import include, re_path

                    urlpatterns = [
                        re_path(r"^orders/", include("shop.orders.api_urls")),
                        re_path(r"^public/", include("shop.public.api_urls")),
                    ]
                    """,
                "shop/public/api_urls.py": """
                    from django.urls import include, re_path
                    from rest_framework import routers

                    from shop.public import api

                    router = routers.SimpleRouter()
                    router.register(r"v1/catalogue", api.CatalogueViewSet, basename="catalogue")
                    urlpatterns = [re_path(r"^", include(router.urls))]
                    """,
            },
        ),
        Bad(
            """
            from django.urls import include, re_path

            urlpatterns = [re_path(r"^api/", include("shop.api_urls"))]  # RP603
            """,
            path="shop/urls.py",
            files={
                "shop/settings.py": _SETTINGS,
                "shop/api_urls.py": """
                    from django.urls import include, re_path

                    urlpatterns = [re_path(r"^public/", include("shop.public.api_urls"))]
                    """,
                "shop/public/api_urls.py": """
                    from django.urls import include, re_path
                    from rest_framework import routers

                    from shop.public import api

                    router = routers.SimpleRouter()
                    router.register(r"catalogue", api.CatalogueViewSet, basename="catalogue")
                    urlpatterns = [re_path(r"^", include(router.urls))]
                    """,
            },
        ),
        Good(
            """
            from django.urls import include, path

            urlpatterns = [path("api/", include("shop.api_urls"))]
            """,
            path="shop/urls.py",
            files={
                "shop/settings.py": _SETTINGS
                + 'REST_FRAMEWORK = {"DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.AcceptHeaderVersioning"}\\n'
            },
        ),
        Good(
            """
            from django.urls import path

            from shop import views

            urlpatterns = [path("api/orders/", views.order_list)]  # a project without DRF
            """,
            path="shop/urls.py",
            files={"shop/settings.py": 'INSTALLED_APPS = ["django.contrib.auth", "shop"]\\n'},
        ),
        Good(
            """
            from django.urls import include, path

            from cms.admin import api_urls

            urlpatterns = [path("api/", include(api_urls))]  # a reusable app: DRF is set up by its tests only
            """,
            path="cms/admin/urls.py",
            files={"cms/test/settings.py": _SETTINGS},
        ),
    )

    def setup(self) -> None:
        self.route: str | None = None  # the project's first unversioned route, when it is in this file
        if "urls" in self.file.path:  # a URLconf: others never read the project's routes
            first = self.context.endpoints.unversioned_route
            if first is not None and first[0] == self.file.path:
                self.route = first[1]
        self.active = self.route is not None

    def visit_Call(self, node: cst.Call) -> None:
        if self.route is None or not node.args:
            return
        if string_value(node.args[0].value) == self.route:  # the first in source order is the first line
            self.report(node, route=self.route)
            self.route = None
