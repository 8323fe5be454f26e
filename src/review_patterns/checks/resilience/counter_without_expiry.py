"""RP501 counter-without-expiry: a Redis or cache counter incremented with no expiry set on it."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.checks.resilience.redis import ClientRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.clients import Kind
from review_patterns.syntax.names import code, dotted_name, given, string_value

INCREMENTS = {
    Kind.REDIS: frozenset({"incr", "incrby", "incrbyfloat", "hincrby", "hincrbyfloat"}),
    Kind.PIPELINE: frozenset({"incr", "incrby", "incrbyfloat", "hincrby", "hincrbyfloat"}),
    Kind.CACHE: frozenset({"incr"}),
}
#: Redis commands that set (or deliberately keep or drop) a key's time to live.
REDIS_EXPIRY = frozenset(
    {
        "expire",
        "expireat",
        "pexpire",
        "pexpireat",
        "setex",
        "psetex",
        "persist",
        "hexpire",
        "hpexpire",
        "hexpireat",
        "hpexpireat",
    }
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


def fixed_key(node: cst.BaseExpression) -> bool:
    """A literal key or an UPPER_CASE constant: one global total or sequence, meant to last."""
    if string_value(node) is not None:
        return True
    name = dotted_name(node)
    return name is not None and name.rsplit(".", 1)[-1].isupper()


@dataclass
class _Function:
    increments: list[tuple[cst.Call, Kind]] = field(default_factory=list)
    expires: bool = False
    cache_expires: bool = False  #: a Django cache key stored with a timeout


@dataclass
class _Class:
    cache_expires: bool = False
    pending: list[tuple[cst.Call, str]] = field(default_factory=list)  #: Django cache increments, function


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
    name mentions `expire` or `ttl`. A fixed key (a string literal or an `UPPER_CASE` constant)
    is taken for a global total or a sequence, meant to last, and a method named like the
    increment (`def incr(...)`) for a wrapper whose callers own the expiry. On Django's cache,
    `incr` cannot create a key, so a `set`/`add` in the same function or in another method of
    the same class counts, even without a timeout (the default one applies) or with an explicit
    `None` (a deliberate choice). Test modules are not checked.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    code = "RP501"
    name = "counter-without-expiry"
    message = "`{call}` increments a counter but nothing in `{function}()` sets its expiry: it never resets"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    requires = ("incr",)
    examples = (
        Bad(
            """
            from django_redis import get_redis_connection

            def consume_quota(customer_id: int) -> int:
                redis = get_redis_connection("default")
                return redis.incr(f"quota:{customer_id}")  # RP501
            """,
            path="shop/services.py",
        ),
        Good(
            """
            from django_redis import get_redis_connection

            QUOTA_WINDOW = 24 * 60 * 60

            def consume_quota(customer_id: int) -> int:
                redis = get_redis_connection("default")
                key = f"quota:{customer_id}"
                count = redis.incr(key)
                if count == 1:
                    redis.expire(key, QUOTA_WINDOW)
                return count
            """,
            path="shop/services.py",
        ),
        Bad(
            """
            import redis
            from django.core.cache import cache

            client = redis.Redis.from_url("redis://localhost")

            class Throttle:
                def hit(self, day, user_id):
                    pipe = client.pipeline()
                    pipe.hincrby(f"hits:{day}", user_id)  # RP501
                    pipe.execute()

                def views(self, product_id):
                    cache.incr(f"views:{product_id}")  # RP501
            """,
            path="shop/throttle.py",
        ),
        Good(
            """
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
            """,
            path="shop/throttle.py",
        ),
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
            import redis
            from django.core.cache import cache

            STATS_KEY = "shop:stats"
            client = redis.Redis()

            def next_invoice_number():
                return client.incr("invoice-number")  # a sequence: a fixed key, meant to last

            def count_sale(product_id):
                client.hincrby(STATS_KEY, product_id)

            class RateLimit:
                def __init__(self, key, window):
                    self.key = key
                    cache.add(key, 0, window)

                def hit(self):
                    return cache.incr(self.key)  # Django's incr cannot create the key

            class PrefixedCache:
                def incr(self, key, by=1):
                    return cache.incr(f"shop:{key}", by)  # a wrapper: its callers own the expiry
            """),
        Good(
            """
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
            """,
            path="shop/stats.py",
        ),
    )

    def setup(self) -> None:
        super().setup()
        self._functions: list[_Function] = []
        self._classes: list[_Class] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(_Class())

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        owner = self._classes.pop()
        if not owner.cache_expires:
            for call, function in owner.pending:
                self.report(call, call=code(call.func, one_line=True), function=function)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(_Function())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        function = self._functions.pop()
        owner = self._classes[-1] if self._classes and self.semantic.method_of is not None else None
        if owner is not None and function.cache_expires:
            owner.cache_expires = True
        if function.expires or original_node.name.value in INCREMENTS[Kind.REDIS]:
            return  # expiry set, or a wrapper such as `def incr(self, key): return self.cache.incr(key)`
        for call, kind in function.increments:
            if kind is Kind.CACHE and owner is not None:
                # Django's `incr` cannot create a key: another method stores it, maybe with a timeout.
                owner.pending.append((call, original_node.name.value))
            else:
                self.report(call, call=code(call.func, one_line=True), function=original_node.name.value)

    def visit_Call(self, node: cst.Call) -> None:
        if not self._functions:
            return
        function = self._functions[-1]
        func = node.func
        method = (
            func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        )
        if "expir" in method.lower() or "ttl" in method.lower():
            function.expires = True  # a helper such as `self._set_ttl(key)`
            return
        if not isinstance(func, cst.Attribute):
            return
        kind = self.kind_of(func.value)
        if kind is None:
            return
        if method in INCREMENTS.get(kind, ()):
            key = node.args[0].value if node.args and not node.args[0].star and node.args[0].keyword is None else None
            if key is not None and not fixed_key(key):
                function.increments.append((node, kind))
        elif sets_expiry(kind, method, node):
            if kind is Kind.CACHE:
                function.cache_expires = True
            function.expires = True
