"""RP501 counter-without-expiry: a Redis or cache counter incremented with no expiry set on it."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from ..model import Dimension, Severity
from ..redis_clients import ClientRule, Kind, code, given
from ..rule import Bad, Good

INCREMENTS = {
    Kind.REDIS: frozenset({"incr", "incrby", "incrbyfloat", "hincrby", "hincrbyfloat"}),
    Kind.PIPELINE: frozenset({"incr", "incrby", "incrbyfloat", "hincrby", "hincrbyfloat"}),
    Kind.CACHE: frozenset({"incr"}),
}
#: Redis commands that set (or deliberately keep or drop) a key's time to live.
REDIS_EXPIRY = frozenset(
    {"expire", "expireat", "pexpire", "pexpireat", "setex", "psetex", "persist",
     "hexpire", "hpexpire", "hexpireat", "hpexpireat"}
)
#: Django cache methods that store a key with a timeout: the given one, the default one, or a deliberate `None`.
CACHE_EXPIRY = frozenset({"set", "add", "get_or_set", "set_many", "touch", "expire", "expire_at", "pexpire", "persist"})


def sets_expiry(kind: Kind, method: str, call: cst.Call) -> bool:
    """Whether a call on a recognised client sets the expiry of a key."""
    if kind is Kind.CACHE:
        return method in CACHE_EXPIRY
    if kind in (Kind.REDIS, Kind.PIPELINE):
        if method in REDIS_EXPIRY:
            return True
        if method in ("set", "getex"):
            return any(given(call, name) for name in ("ex", "px", "exat", "pxat", "keepttl", "persist")) or (
                method == "set" and (given(call, "ex", 2) or given(call, "px", 3))
            )
    return False


@dataclass
class _Function:
    increments: list[cst.Call] = field(default_factory=list)
    expires: bool = False


class CounterWithoutExpiry(ClientRule):
    """## What it does
    Flags a function that increments a Redis counter (`incr`, `incrby`, `hincrby` on a Redis
    client, a pipeline or a `django_redis` connection, or `incr` on Django's cache) and sets no
    expiry on it in the same function.

    ## Why is this bad?
    A quota or rate-limit counter without a time to live lives forever: a crash between the
    increment and a later `expire`, or a window that is never reset, leaves the user locked
    out of the quota for good, and the keys pile up in Redis. Set the expiry in the same
    function, on the first increment (`if count == 1: client.expire(key, WINDOW)`), in the same
    pipeline, or with `set(key, 0, nx=True, ex=WINDOW)` before incrementing.

    ## Known problems
    Any expiry set in the function counts, whatever its key; so does a call to a helper whose
    name mentions `expire` or `ttl`. On Django's cache, a `set`/`add` in the same function
    counts even without a timeout (the cache's default timeout applies) or with an explicit
    `None` (a deliberate choice). Test modules are not checked.
    """

    code = "RP501"
    name = "counter-without-expiry"
    message = "`{call}` increments a counter but nothing in `{function}()` sets its expiry: it never resets"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    requires = ("incr",)
    examples = (
        Bad("""
            from django_redis import get_redis_connection

            def consume_quota(customer_id: int) -> int:
                redis = get_redis_connection("default")
                return redis.incr(f"quota:{customer_id}")  # RP501
            """, path="shop/services.py"),
        Good("""
            from django_redis import get_redis_connection

            QUOTA_WINDOW = 24 * 60 * 60

            def consume_quota(customer_id: int) -> int:
                redis = get_redis_connection("default")
                key = f"quota:{customer_id}"
                count = redis.incr(key)
                if count == 1:
                    redis.expire(key, QUOTA_WINDOW)
                return count
            """, path="shop/services.py"),
        Bad("""
            import redis
            from django.core.cache import cache

            client = redis.Redis.from_url("redis://localhost")

            class Throttle:
                def hit(self, user_id):
                    pipe = client.pipeline()
                    pipe.hincrby("hits", user_id)  # RP501
                    pipe.execute()

                def views(self, product_id):
                    cache.incr(f"views:{product_id}")  # RP501
            """, path="shop/throttle.py"),
        Good("""
            import redis

            WINDOW = 60
            client = redis.Redis()

            def hit(key):
                pipe = client.pipeline()
                pipe.incr(key)
                pipe.expire(key, WINDOW)
                return pipe.execute()[0]

            def hit_chained(key):
                return client.pipeline().incr(key).expire(key, WINDOW).execute()[0]

            def start_window(key):
                client.set(key, 0, nx=True, ex=WINDOW)
                return client.incr(key)
            """, path="shop/throttle.py"),
        Good("""
            from django.core.cache import cache

            def count_view(product_id):
                key = f"views:{product_id}"
                try:
                    return cache.incr(key)
                except ValueError:
                    cache.set(key, 1, timeout=None)  # kept forever, on purpose
                    return 1
            """),
        Good("""
            from django.core.cache import cache

            class Counter:
                def incr(self, key):
                    ...

            stats = Counter()
            lookup = {}

            def track(key):
                stats.incr(key)
                lookup.incr(key)

            def track_with(counter: Counter, cache, key):
                counter.incr(key)
                cache.incr(key)
            """, path="shop/stats.py"),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._functions: list[_Function] = []

    def enter_function(self, node: cst.FunctionDef) -> None:
        self._functions.append(_Function())

    def exit_function(self, node: cst.FunctionDef) -> None:
        function = self._functions.pop()
        if not function.expires:
            for call in function.increments:
                self.report(call, call=code(call.func), function=node.name.value)

    def visit_Call(self, node: cst.Call) -> None:
        if not self._functions:
            return
        function = self._functions[-1]
        func = node.func
        method = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if "expir" in method.lower() or "ttl" in method.lower():
            function.expires = True  # a helper such as `self._set_ttl(key)`
            return
        if not isinstance(func, cst.Attribute):
            return
        kind = self.kind_of(func.value)
        if kind is None:
            return
        if method in INCREMENTS.get(kind, ()):
            function.increments.append(node)
        elif sets_expiry(kind, method, node):
            function.expires = True
