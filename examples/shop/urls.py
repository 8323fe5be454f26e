"""The shop's URLconf: its API has no version in its URLs nor in its settings (RP603)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api, views

router = DefaultRouter()
router.register("customers", api.CustomerViewSet)
router.register("orders", api.OrderViewSet)

urlpatterns = [
    path("api/", include(router.urls)),  # RP603
    path("api/loyalty/", views.LoyaltyView.as_view()),
]
