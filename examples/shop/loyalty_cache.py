"""Loyalty balances cached in front of the paid loyalty API: a stampede (RP604) and its cure (bonus)."""

from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisUnavailable

from .api import loyalty_balance
from .models import Customer

BALANCE_TTL = 300  # seconds: a balance may be five minutes old
LOCK_EXPIRY = 30  # seconds: a crashed worker's lock frees itself
LOCK_WAIT = 15  # seconds: how long a request waits for the one refilling the cache


def cached_balance(customer: Customer) -> int | None:
    key = f"loyalty:{customer.pk}"
    balance = cache.get(key)  # RP604
    if balance is None:
        balance = loyalty_balance(customer)
        cache.set(key, balance, BALANCE_TTL)
    return balance


def cached_balance_once(customer: Customer) -> int | None:
    key = f"loyalty:{customer.pk}"
    balance = cache.get(key)
    if balance is not None:
        return balance
    try:
        with cache.lock(f"lock:{key}", timeout=LOCK_EXPIRY, blocking_timeout=LOCK_WAIT):
            balance = cache.get(key)
            if balance is None:
                balance = loyalty_balance(customer)
                cache.set(key, balance, BALANCE_TTL)
    except RedisUnavailable:
        balance = loyalty_balance(customer)  # Redis is down: pay once rather than fail
    return balance
