"""Shop services: counters on reviews, products and customers, done wrong and done right."""

import requests
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from .models import Customer, Order, Product, Review
from .payments import API_TIMEOUT, PROVIDER_URL, fraud_quota, provider_breaker


def upvote_review(review_id: int) -> dict:
    """Bad: the returned data still holds the F() expression, not the new count (RP101)."""
    review = Review.objects.get(pk=review_id)
    review.upvotes = F("upvotes") + 1
    review.save(update_fields=["upvotes"])
    return {"id": review.pk, "upvotes": review.upvotes}


def upvote_review_safely(review_id: int) -> dict:
    review = Review.objects.get(pk=review_id)
    review.upvotes = F("upvotes") + 1
    review.save(update_fields=["upvotes"])
    review.refresh_from_db(fields=["upvotes"])
    return {"id": review.pk, "upvotes": review.upvotes}


def count_product_view(product_id: int) -> None:
    """Good: the database adds one and nothing reads the counter afterwards."""
    Product.objects.filter(pk=product_id).update(view_count=F("view_count") + 1)


def reload_product(product: Product) -> Product:
    """Bad: Django has no `refresh_from_database()` (RP102)."""
    product.refresh_from_database()
    return product


def reload_product_correctly(product: Product) -> Product:
    product.refresh_from_db()
    return product


def add_loyalty_points(customer_id: int, points: int) -> None:
    """Bad: two orders at once read the same balance and one award is lost (RP103)."""
    customer = Customer.objects.get(pk=customer_id)
    customer.loyalty_points += points
    customer.save(update_fields=["loyalty_points"])


def add_loyalty_points_atomically(customer_id: int, points: int) -> None:
    Customer.objects.filter(pk=customer_id).update(loyalty_points=F("loyalty_points") + points)


def reserve_stock(product_id: int, quantity: int) -> int:
    """Good: the row is locked, so reading and writing `stock` in Python is safe."""
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product_id)
        product.stock = max(0, product.stock - quantity)
        product.save(update_fields=["stock"])
    return product.stock


def release_stock(product_id: int, quantity: int) -> None:
    Product.objects.filter(pk=product_id).update(stock=Greatest(F("stock") + quantity, 0))


def capture_payment(order: Order) -> dict:
    """Bad: a paid provider call that never asks the quota guard first (RP504)."""
    response = provider_breaker.call(
        requests.post, f"{PROVIDER_URL}/captures", json={"order": order.pk}, timeout=API_TIMEOUT
    )
    return response.json()


def capture_payment_within_quota(order: Order) -> dict | None:
    if not fraud_quota.has_quota():
        return None
    response = provider_breaker.call(
        requests.post, f"{PROVIDER_URL}/captures", json={"order": order.pk}, timeout=API_TIMEOUT
    )
    fraud_quota.increment_usage()
    return response.json()
