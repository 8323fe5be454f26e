"""Caching, counters and locks of the shop: each RP5xx anti-pattern once, beside the correct code."""

from django.core.cache import cache
from django_redis import get_redis_connection

from .models import Category, Product

POPULAR_TTL = 30 * 60  # bestsellers change during the day
STABLE_TTL = 24 * 60 * 60  # categories change a few times a year
REVIEW_QUOTA_WINDOW = 24 * 60 * 60
REVIEW_QUOTA = 20
IMPORT_LOCK_TTL = 10 * 60
IMPORT_LOCK_WAIT = 5


def bestseller_ids() -> list[int]:
    """Correct: the timeout is a named constant."""
    return cache.get_or_set("bestsellers", _compute_bestsellers, POPULAR_TTL)


def category_names() -> dict[int, str]:
    """RP505: how stale may this be? The number does not say."""
    return cache.get_or_set("category-names", _category_names, 86400)


def record_review(customer_id: int) -> bool:
    """Correct: the daily quota counter gets its expiry on the first increment."""
    redis = get_redis_connection("default")
    key = f"review-quota:{customer_id}"
    count = redis.incr(key)
    if count == 1:
        redis.expire(key, REVIEW_QUOTA_WINDOW)
    return count <= REVIEW_QUOTA


def record_review_forever(customer_id: int) -> bool:
    """RP501: without an expiry the customer is locked out for good after 20 reviews."""
    redis = get_redis_connection("default")
    return redis.incr(f"review-quota:{customer_id}") <= REVIEW_QUOTA


def count_view(product_id: int) -> None:
    """Correct: `add` then `incr` never loses a view."""
    key = f"views:{product_id}"
    if not cache.add(key, 1, POPULAR_TTL):
        cache.incr(key)


def count_view_racy(product_id: int) -> None:
    """RP502: two requests read 41 and both write 42."""
    key = f"views:{product_id}"
    views = cache.get(key) or 0
    cache.set(key, views + 1, POPULAR_TTL)


def import_catalogue(supplier_id: int) -> None:
    """Correct: the lock expires if the worker dies, and waiting for it is bounded."""
    redis = get_redis_connection("default")
    lock = redis.lock(f"import:{supplier_id}", timeout=IMPORT_LOCK_TTL, blocking_timeout=IMPORT_LOCK_WAIT)
    if not lock.acquire():
        return
    try:
        _import(supplier_id)
    finally:
        lock.release()


def import_catalogue_unsafe(supplier_id: int) -> None:
    """RP508: a worker killed during the import holds the lock forever."""
    redis = get_redis_connection("default")
    with redis.lock(f"import:{supplier_id}"):
        _import(supplier_id)


def _compute_bestsellers() -> list[int]:
    return list(Product.objects.order_by("-view_count").values_list("pk", flat=True)[:10])


def _category_names() -> dict[int, str]:
    return dict(Category.objects.values_list("pk", "name"))


def _import(supplier_id: int) -> None:
    ...
