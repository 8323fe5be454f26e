"""The shop's customer API: privacy and error handling (RP301-RP307).

Each anti-pattern appears once, marked with its code, next to the correct way to write it.
"""

import hashlib
import logging

import pybreaker
import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .models import Customer, Order

logger = logging.getLogger(__name__)
loyalty_breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)


def mask_email(email: str) -> str:
    """`jane@example.com` -> `j***@example.com`: enough to tell addresses apart in a log."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def hash_ip(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:12]


class CustomerViewSet(viewsets.ModelViewSet):
    queryset = Customer.objects.select_related("user")

    def perform_update(self, serializer):
        customer = serializer.save()
        logger.info("Customer %s changed email to %s", customer.pk, customer.email)  # RP301
        logger.info("Customer %s changed email to %s", customer.pk, mask_email(customer.email))
        logger.info("Update from %s", hash_ip(self.request.META["REMOTE_ADDR"]))

    @action(detail=True, methods=["post"])
    def redeem(self, request, pk=None):
        customer = self.get_object()
        try:
            points = redeem_points(customer, int(request.data["points"]))
        except ValidationError as e:
            # Django's validation messages are written for users: they may be shown.
            return Response({"errors": e.messages}, status=status.HTTP_400_BAD_REQUEST)
        except (KeyError, ValueError) as e:
            # The client's own input was wrong: the message describes that input.
            return Response({"error": f"invalid points: {e}"}, status=status.HTTP_400_BAD_REQUEST)
        except LookupError as e:
            logger.warning("Redeem failed for customer %s: %s", customer.pk, type(e).__name__)
            return Response({"error": "The points could not be redeemed."}, status=status.HTTP_400_BAD_REQUEST)
        except Exception as e:
            logger.error("Redeem failed for customer %s: %s", customer.pk, e, exc_info=settings.DEBUG)  # RP307
            return Response({"error": str(e)}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)  # RP302
        return Response({"points": points})


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Order.objects.select_related("customer")

    @action(detail=True, methods=["post"])
    def refresh_status(self, request, pk=None):
        order = self.get_object()
        try:
            order.status = fetch_carrier_status(order)
        except:  # RP303
            pass
        try:
            order.status = fetch_carrier_status(order)
        except Exception:  # RP304
            order.status = "unknown"
        try:
            order.status = fetch_carrier_status(order)
        except (requests.RequestException, ValueError):
            logger.warning("Carrier status unavailable for order %s", order.pk, exc_info=settings.DEBUG)
        order.save(update_fields=["status"])
        return Response({"status": order.status})


def fetch_carrier_status(order: Order) -> str:
    try:
        response = requests.get(settings.CARRIER_URL, params={"order": order.pk}, timeout=5)
        response.raise_for_status()
    except requests.RequestException:
        logger.exception("Carrier API failed for order %s", order.pk)  # RP305
        raise
    return response.json()["status"]


def loyalty_balance(customer: Customer) -> int | None:
    try:
        return loyalty_breaker.call(fetch_loyalty_balance, customer)
    except pybreaker.CircuitBreakerError:
        logger.error("Loyalty service circuit open")  # RP306
        return None


def loyalty_balance_or_cached(customer: Customer) -> int:
    try:
        return loyalty_breaker.call(fetch_loyalty_balance, customer)
    except pybreaker.CircuitBreakerError:
        logger.warning("Loyalty service circuit open; using the stored balance of customer %s", customer.pk)
        return customer.loyalty_points


def fetch_loyalty_balance(customer: Customer) -> int:
    response = requests.get(settings.LOYALTY_URL, params={"customer": customer.pk}, timeout=5)
    response.raise_for_status()
    return int(response.json()["points"])


def redeem_points(customer: Customer, points: int) -> int:
    updated = Customer.objects.filter(pk=customer.pk, loyalty_points__gte=points).update(
        loyalty_points=F("loyalty_points") - points
    )
    if not updated:
        raise ValidationError("You do not have that many points.")
    return points
