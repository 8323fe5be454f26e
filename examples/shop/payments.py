"""Payments: the card provider and the fraud-scoring API, each anti-pattern of RP5xx next to the right way.

The fraud-scoring API is paid per call (a monthly quota), so every call checks the quota first and
counts only after success. RP504 looks at service modules (`services.py`, `services/`) and, as
the fraud API is called with plain `requests`, needs its host: to see it here, configure
`[tool.review-patterns.rp504]` with `service-modules = ["shop/payments.py"]` and
`paid-hosts = ["fraud.example.com"]` (calls through a circuit breaker count as paid as well).
"""

import datetime as dt
import logging
from datetime import datetime

import requests
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django_redis import get_redis_connection
from pybreaker import CircuitBreaker

from .models import Order

logger = logging.getLogger(__name__)

PROVIDER_URL = "https://payments.example.com/v1"
FRAUD_URL = "https://fraud.example.com/v2/score"
API_TIMEOUT = (3.05, 10)
QUOTA_LIMIT = 10_000
QUOTA_WINDOW = 31 * 24 * 60 * 60  # seconds: the provider counts per month
WARN_RATIO = 0.8

provider_breaker = CircuitBreaker(fail_max=5, reset_timeout=60)  # one per process: it can open


class FraudQuota:
    """Earns the quota-manager bonus: check first, atomic count, expiry on the first count, warning."""

    key = "quota:fraud"

    def __init__(self):
        self.redis = get_redis_connection("default")

    def has_quota(self):
        return int(self.redis.get(self.key) or 0) < QUOTA_LIMIT

    def increment_usage(self):
        count = self.redis.incr(self.key)
        if count == 1:
            self.redis.expire(self.key, QUOTA_WINDOW)
        if count >= QUOTA_LIMIT * WARN_RATIO:
            logger.warning("fraud quota at %s of %s", count, QUOTA_LIMIT)
        return count


fraud_quota = FraudQuota()


def score_order(order):
    if not fraud_quota.has_quota():
        return None
    response = requests.post(FRAUD_URL, json={"order": order.pk}, timeout=API_TIMEOUT)
    response.raise_for_status()
    fraud_quota.increment_usage()  # after success: a failed call costs nothing
    return response.json()["score"]


def score_order_eagerly(order):
    if not fraud_quota.has_quota():
        return None
    fraud_quota.increment_usage()  # RP503
    return requests.post(FRAUD_URL, json={"order": order.pk}, timeout=API_TIMEOUT).json()["score"]


def rescore_order(order):
    # RP504 when configured as the module docstring says: the quota is never checked.
    return requests.post(FRAUD_URL, json={"order": order.pk}, timeout=API_TIMEOUT).json()["score"]


def capture(order):
    return provider_breaker.call(
        requests.post, f"{PROVIDER_URL}/captures", json={"order": order.pk}, timeout=API_TIMEOUT
    )


def refund(order):
    breaker = CircuitBreaker(fail_max=5, reset_timeout=60)  # RP507
    return breaker.call(requests.post, f"{PROVIDER_URL}/refunds", json={"order": order.pk}, timeout=API_TIMEOUT)


def payment_status(order):
    return requests.get(f"{PROVIDER_URL}/payments/{order.pk}").json()  # RP509


def payment_status_bounded(order):
    return requests.get(f"{PROVIDER_URL}/payments/{order.pk}", timeout=API_TIMEOUT).json()


def capture_expired(order):
    return datetime.now() - order.created > dt.timedelta(days=7)  # RP510


def capture_expired_aware(order):
    return timezone.now() - order.created > dt.timedelta(days=7)


@receiver(post_save)
def order_paid(sender, instance, **kwargs):
    if hasattr(instance, "status"):  # RP506
        logger.info("order %s is %s", instance.pk, instance.status)


@receiver(post_save)
def order_paid_typed(sender, instance, **kwargs):
    if isinstance(instance, Order) and instance.status == "paid":
        logger.info("order %s is paid", instance.pk)
