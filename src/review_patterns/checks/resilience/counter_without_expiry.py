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
    increments: list[tuple[cst.Call, Kind, str]] = field(default_factory=list)  #: with the key as written
    expires: bool = False
    expired: list[str | None] = field(default_factory=list)  #: the keys given an expiry (None: not known)
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
    An expiry set in the function counts for its counters, whatever their keys, except when the
    function increments several keys and expires some of them: a counter whose key (as written,
    a local name read through its value) is given no expiry there is then flagged too. A call to a
    helper whose name mentions `expire` or `ttl` counts, for its first argument's key. A fixed key (a string literal or an `UPPER_CASE` constant)
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
    message = "`{call}` increments a counter but nothing in `{function}()` sets its expiry{other}: it never resets"
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
        Bad(
            """
            from django.http import HttpResponse
            from django_redis import get_redis_connection

            def allow_translation(request):
                redis = get_redis_connection("default")
                minute = f"rl:min:{request.user.pk}"
                per_minute = redis.incr(minute)
                if per_minute == 1:
                    redis.expire(minute, 60)
                per_day = redis.incr(f"rl:day:{request.user.pk}")  # RP501
                if per_minute > 10 or per_day > 1000:
                    return HttpResponse(status=429)
                return None
            """,
            path="translate/limits.py",
        ),
        Good(
            """
            from django_redis import get_redis_connection

            def allow_translation(user_id):
                redis = get_redis_connection("default")
                minute, day = f"rl:min:{user_id}", f"rl:day:{user_id}"
                pipe = redis.pipeline()
                pipe.incr(minute)
                pipe.expire(minute, 60)
                pipe.incr(f"rl:day:{user_id}")
                pipe.expire(day, 86400)
                per_minute, _, per_day, _ = pipe.execute()
                return per_minute <= 10 and per_day <= 1000

            def count_both(user_id):
                redis = get_redis_connection("default")
                key = f"rl:{user_id}"
                redis.incr(key)
                redis.incr(f"seen:{user_id}")
                _refresh_ttls(user_id)  # a helper: which keys it expires is not known here
            """,
            path="translate/limits.py",
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
                self.report(call, call=code(call.func, one_line=True), function=function, other="")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(_Function())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        function = self._functions.pop()
        owner = self._classes[-1] if self._classes and self.semantic.method_of is not None else None
        if owner is not None and function.cache_expires:
            owner.cache_expires = True
        if original_node.name.value in INCREMENTS[Kind.REDIS]:
            return  # a wrapper such as `def incr(self, key): return self.cache.incr(key)`
        name = original_node.name.value
        other = ""
        increments = function.increments
        if function.expires:
            increments = _unexpired(function)
            other = f" (only `{'`, `'.join(dict.fromkeys(k for k in function.expired if k))}` gets one)"
        for call, kind, _ in increments:
            if kind is Kind.CACHE and owner is not None and not other:
                # Django's `incr` cannot create a key: another method stores it, maybe with a timeout.
                owner.pending.append((call, name))
            else:
                self.report(call, call=code(call.func, one_line=True), function=name, other=other)

    def visit_Call(self, node: cst.Call) -> None:
        if not self._functions:
            return
        function = self._functions[-1]
        func = node.func
        method = (
            func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        )
        key = node.args[0].value if node.args and not node.args[0].star and node.args[0].keyword is None else None
        if "expir" in method.lower() or "ttl" in method.lower():
            function.expires = True  # a helper such as `self._set_ttl(key)`
            function.expired.append(self._key(key))
            return
        if not isinstance(func, cst.Attribute):
            return
        kind = self.kind_of(func.value)
        if kind is None:
            return
        if method in INCREMENTS.get(kind, ()):
            if key is not None and not fixed_key(key):
                function.increments.append((node, kind, self._key(key) or ""))
        elif sets_expiry(kind, method, node):
            if kind is Kind.CACHE:
                function.cache_expires = True
            function.expires = True
            function.expired.append(self._key(key) if method != "set_many" else None)

    def _key(self, node: cst.BaseExpression | None) -> str | None:
        """A key as written, a local name read through the value it was given; None when no key is
        given, "" for a name whose value is not known here (a parameter, an unpacked tuple)."""
        if node is None:
            return None
        if isinstance(node, cst.Name):
            binding = self.semantic.lookup(node.value)
            if binding is None or binding.value is None or binding.scope is not self.semantic.scope:
                return ""
            node = binding.value
        return code(node, one_line=True)


def _unexpired(function: _Function) -> list[tuple[cst.Call, Kind, str]]:
    """The increments of a function that sets expiries, whose key gets none: only when every expiry's
    key is known and one of them is an incremented key (the keys are written alike)."""
    expired = set(function.expired)
    if None in expired or "" in expired or not any(k in expired for _, _, k in function.increments):
        return []
    return [i for i in function.increments if i[2] and i[2] not in expired]
