"""RP501, RP502, RP505, RP508: how Redis clients, Django's cache and locks are recognised.

Each case is a small project: the checked file's lines marked `# RPxxx` must be flagged by
that rule, and nothing else. The examples in the rules cover the common forms; these cover
bindings across scopes and modules, shadowing and the exemptions.
"""

from __future__ import annotations

import textwrap

import pytest
from conftest import flagged, markers, unmatched

from review_patterns import Config, ProjectContext, lint
from review_patterns.checks.resilience.magic_cache_ttl import duration
from review_patterns.project.clients import Kind, index_clients


def check(code: str, source: str, path: str = "shop/services.py", files: dict[str, str] | None = None) -> None:
    source = textwrap.dedent(source).strip("\n") + "\n"
    others = {p: textwrap.dedent(s).strip("\n") + "\n" for p, s in (files or {}).items()}
    context = ProjectContext.from_sources({**others, path: source})
    result = lint(source, path, context, Config(select=(code,)))
    assert flagged(result) == markers(source), [f"{f.line}: {f.message}" for f in result.findings]
    assert not unmatched(source, result), [f"{f.line}:{f.column}: {f.message}" for f in result.findings]


REDIS_MODULE = """
    import redis
    from django_redis import get_redis_connection

    client = redis.Redis.from_url("redis://cache:6379/0")
    _shared = None


    def connection():
        return get_redis_connection("default")


    def shared():
        global _shared
        if _shared is None:
            _shared = redis.StrictRedis()
        return _shared
    """


@pytest.mark.parametrize(
    ("path", "module"),
    [("shop/redis_clients.py", "shop.redis_clients"), ("src/shop/redis_clients.py", "shop.redis_clients")],
    ids=["flat", "src-layout"],
)
def test_clients_bound_in_another_module(path: str, module: str) -> None:
    check(
        "RP501",
        f"""
        from {module} import client, connection
        from .redis_clients import shared

        def record(user_id):
            client.incr(f"quota:{{user_id}}")  # RP501
            connection().incrby(f"quota:{{user_id}}", 2)  # RP501
            shared().hincrby(f"quota:{{user_id}}", "pdf")  # RP501
        """,
        path=path.replace("redis_clients", "services"),
        files={path: REDIS_MODULE},
    )


def test_index_reads_module_level_clients_and_factories() -> None:
    index = index_clients([("src/shop/redis_clients.py", textwrap.dedent(REDIS_MODULE)), ("shop/other.py", "x = 1\n")])
    assert index.value("shop.redis_clients.client") is Kind.REDIS
    assert index.value("shop.redis_clients._shared") is Kind.REDIS  # assigned under `global`
    assert index.factory("shop.redis_clients.connection") is Kind.REDIS
    assert index.value("shop.other.x") is None
    assert index.value("client") is None  # a bare name never matches a qualified one


def test_attributes_properties_and_method_factories() -> None:
    check(
        "RP501",
        """
        from functools import cached_property

        import redis
        from django.core.cache import caches
        from django_redis import get_redis_connection

        class Quotas:
            backend = caches["default"]

            def __init__(self):
                self.conn = get_redis_connection()

            @cached_property
            def redis(self):
                return redis.Redis()

            def _client(self):
                return get_redis_connection("quotas")

            def one(self, key):
                self.conn.incr(f"a:{key}")  # RP501
                self.redis.incr(f"b:{key}")  # RP501
                self._client().incr(f"c:{key}")  # RP501
                self.backend.incr(f"d:{key}")  # RP501
        """,
    )


def test_django_cache_counter_stored_by_another_method_of_the_class() -> None:
    check(
        "RP501",
        """
        from django.core.cache import cache

        class Window:
            def open(self, key):
                cache.add(key, 0, WINDOW)

            def hit(self, key):
                return cache.incr(f"w:{key}")

        class NoStore:
            def hit(self, key):
                return cache.incr(f"w:{key}")  # RP501
        """,
    )


def test_annotations_and_async_clients() -> None:
    check(
        "RP501",
        """
        from typing import Optional

        import redis.asyncio as aioredis
        from redis import Redis

        async def hit(key):
            r = aioredis.from_url("redis://")
            return await r.incr(f"hits:{key}")  # RP501

        def annotated(a: Redis, b: Optional[Redis], c: "Redis | None", d: int, key):
            a.incr(f"a:{key}")  # RP501
            b.incr(f"b:{key}")  # RP501
            c.incr(f"c:{key}")  # RP501
            d.incr(f"d:{key}")
        """,
    )


def test_shadowed_names_are_not_clients() -> None:
    check(
        "RP505",
        """
        import redis
        from django.core.cache import cache

        r = redis.Redis()

        def parameter(cache, r):
            cache.set("k", 1, 60)
            r.setex("k", 60, 1)

        def local():
            cache = LocalMemo()
            cache.set("k", 1, 60)

        def loop(backends):
            for cache in backends:
                cache.set("k", 1, 60)

        def unpacked():
            cache, other = make()
            cache.set("k", 1, 60)

        def still_django():
            cache.set("k", 1, 60)  # RP505
            r.expire("k", 60)  # RP505
        """,
    )


def test_local_names_hiding_imported_callables() -> None:
    """`cache_page`, a lock class and `uuid4` are recognised through imports, not as spelled."""
    check(
        "RP505",
        """
        from django.views.decorators.cache import cache_page

        def per_tenant(view, cache_page):
            return cache_page(3600)(view)

        def site_wide(view):
            return cache_page(3600)(view)  # RP505:23 "1 hour"
        """,
    )
    check(
        "RP508",
        """
        import redis_lock
        from redis_lock import Lock

        def sync(conn, Lock):
            Lock(conn, "sync").acquire()

        def rebuild(conn):
            Lock(conn, "rebuild", expire=60).acquire()  # RP508
        """,
    )
    check(
        "RP502",
        """
        from django.core.cache import cache
        from uuid import uuid4

        def spend(customer_id, uuid4):
            key = f"spend:{uuid4()}"
            total = cache.get(key)
            cache.set(key, total + 1)  # RP502
        """,
    )


def test_optional_import_fallback_does_not_hide_the_import() -> None:
    check(
        "RP505",
        """
        try:
            import redis
            from django_redis import get_redis_connection
        except ImportError:
            redis = None
            get_redis_connection = None

        def store(key):
            redis.Redis().setex(key, 60, "1")  # RP505
            get_redis_connection().expire(key, 60)  # RP505

        def parameter_named_redis(redis, key):
            redis.Redis().setex(key, 60, "1")
        """,
    )


def test_cast_and_django_redis_raw_client() -> None:
    check(
        "RP508",
        """
        from typing import cast

        from django.core.cache import cache

        def rebuild():
            with cast("RedisCache", cache).lock("rebuild"):  # RP508
                run()
            raw = cache.client.get_client()
            with raw.lock("rebuild"):  # RP508
                run()
        """,
    )


def test_lock_bounded_by_its_creation_or_released_in_finally() -> None:
    check(
        "RP508",
        """
        import redis

        r = redis.Redis()

        class Job:
            def __init__(self):
                self.lock = r.lock("job", timeout=60, blocking_timeout=5)
                self.eternal = r.lock("eternal", timeout=60)

            def __enter__(self):
                self.eternal.acquire()  # RP508
                return self

            def run(self):
                if self.lock.acquire():
                    try:
                        work()
                    finally:
                        self.lock.release()

            def sloppy(self):
                self.lock.acquire()  # RP508
                work()
                self.lock.release()
        """,
    )


def test_module_level_lock_calls() -> None:
    check(
        "RP508",
        """
        import redis_lock
        from redis import StrictRedis

        conn = StrictRedis()
        startup = redis_lock.Lock(conn, "startup")  # RP508
        startup.acquire()  # RP508
        bounded = redis_lock.Lock(conn, "startup", expire=None)  # RP508
        """,
    )


def test_non_atomic_counter_through_aliases_and_derived_names() -> None:
    check(
        "RP502",
        """
        from django.core.cache import cache as default_cache

        def bump(key):
            current = default_cache.get(key, 0)
            new = current + 1
            default_cache.set(key, new)  # RP502

        def decrement(key):
            left = int(default_cache.get(key))
            default_cache.set(key, left - 1)  # RP502

        def different_key(key):
            n = default_cache.get(key, 0)
            default_cache.set(other(key), n + 1)

        def get_or_set(key):
            seen = default_cache.get_or_set(key, 0, SEEN_TTL)
            default_cache.set(key, seen + 1, SEEN_TTL)  # RP502

        def reset(key):
            n = default_cache.get(key, 0)
            n = 0
            default_cache.set(key, n + 1)
        """,
    )


def test_magic_ttl_units_and_shapes() -> None:
    check(
        "RP505",
        """
        import redis
        from django.core.cache import cache

        r = redis.Redis()

        def store(key, value):
            r.psetex(key, 1500, value)  # RP505
            r.pexpire(key, -1)
            cache.set(key, value, -1)
            cache.set(key, value, 3600.0)  # RP505
            cache.set(key, value, 60 * ONE_MINUTE)
            cache.set_many({key: value}, 3600)  # RP505
            cache.add(key, value, 1 / 0)
            cache.set(key, value, *TIMEOUTS)
            cache.set(key, value, **options)
        """,
    )


def test_lock_options_passed_through_are_taken_as_given() -> None:
    check(
        "RP508",
        """
        import redis

        r = redis.Redis()

        def run(name, **options):
            with r.lock(name, **options):
                work()
            with r.lock(name, *LOCK_ARGS):
                work()
            with r.lock(name):  # RP508
                work()
        """,
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (900, "15 minutes"),
        (86400, "1 day"),
        (3600 * 12, "12 hours"),
        (90, "90 seconds"),
        (1, "1 second"),
        (0.5, "500 ms"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_rules_skip_test_modules() -> None:
    check(
        "RP505",
        """
        from django.core.cache import cache

        def test_cached():
            cache.set("k", 1, 60)
        """,
        path="shop/tests.py",
    )


@pytest.mark.parametrize(
    ("source", "applies"),
    [
        ("from django.core.cache import cache\ncache.set('rates', rates, 3600)\n", True),
        (
            "from django.views.decorators.cache import cache_page as cached\n@cached(60 * 15)\ndef menu(request): ...\n",
            True,
        ),
        ("r = redis.Redis()\nr .\\\n    expire('k', 60)\n", True),
        # the words without a call the rule reports at: a cache read, Redis settings, a local cache dict
        ("from django.core.cache import cache\nrates = cache.get('rates')\nREDIS_URL = 'redis://'\n", False),
    ],
)
def test_rp505_runs_only_where_a_timeout_it_reports_can_be_written(source: str, applies: bool) -> None:
    from review_patterns.checks.resilience.magic_cache_ttl import MagicCacheTtl
    from review_patterns.syntax.files import SourceFile

    assert MagicCacheTtl.applies_to(SourceFile("shop/views.py", source)) is applies
