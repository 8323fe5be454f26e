"""RP604 cache-stampede: a cache-aside path in front of a paid call, without a lock and a re-check."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.checks.api.helpers import EXAMPLE_FILES, paid_options
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.project.endpoints import paid_known
from review_patterns.project.http import GUARD_NAMES
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import called_name, dotted_name

_SETS = frozenset({"set", "setex", "set_many", "add", "hset"})
#: Exceptions whose handler lets a request go on when Redis is unreachable.
_REDIS_DOWN = frozenset({"ConnectionError", "RedisError", "LockError", "TimeoutError", "Exception", "BaseException"})
_LOCAL_LOCKS = ("threading.", "multiprocessing.", "asyncio.")
_NO_LOCK = "no lock around the miss, so concurrent misses each pay for the call (a cache stampede)"
_NO_RECHECK = "no second cache check after acquiring the lock, so the requests that waited for it pay again"
_NO_FALLBACK = "no handler for Redis connection errors around the lock, so a Redis outage fails the request"


@dataclass
class _Event:
    kind: str  #: get, set, paid, lock
    node: cst.CSTNode
    detail: str = ""  #: the cache's name, or the paid call
    locked: bool = False  #: made while a lock is held
    guarded: bool = False  #: (a lock) inside a `try` that handles Redis being down
    bounded: bool = False  #: (a lock) with an expiry and a bounded wait


@dataclass
class _Frame:
    node: cst.FunctionDef
    paid: dict[str, str]  #: calls as written -> the paid call they make or reach
    events: list[_Event] = field(default_factory=list)
    held: int = 0  #: `with` locks entered
    acquired: bool = False  #: a lock `.acquire()`d and not yet released
    released_in_finally: bool = True


class CacheStampede(Rule):
    """## What it does
    Flags a cache-aside path in front of a paid call (`cached = cache.get(key)`; on a miss the
    paid call, then `cache.set(key, ...)`) that takes no lock around the miss, at the
    `cache.get`; and, at the lock, one that takes a lock but does not check the cache again
    once it holds it, or that has no handler for Redis connection errors around the lock (no
    way to go on when Redis is down). What is paid, and which calls reach it through the
    project's functions, is what RP601 knows.

    It also awards the **stampede-protection** bonus to a function with the whole pattern: the
    cache check, a lock with an expiry and a bounded wait, the re-check under the lock, the
    paid call, the cache set, the lock released by a context manager or in `finally`, and a
    handler for Redis being down.

    ## Why is this bad?
    When a popular key expires, every request that misses at that moment makes the paid call:
    ten concurrent requests for one image cost ten calls instead of one. A lock lets one
    request refill the cache; the others must look again once they hold the lock, or they pay
    anyway. And a lock server that is down must not take the endpoint with it.

    ## Known problems
    The cache is recognised by name (`cache`, `caches["x"]`, `...cache`, `...redis`), the lock by
    its call (`.lock(...)`, `Lock(...)`, `.acquire()`); thread and process locks are ignored. Only
    a function's own statements are read: a lock taken by a caller is not seen, nor a cache-aside
    spread over several methods (the `get` in one, the paid call and the `set` in others). The paid
    call may be written as a function, a method of a client or of an instance made on the spot
    (`Geocoder().locate(...)`).

    ## Options
    - `guard-names`, `paid-hosts`, `paid-calls`: what is paid (as RP601's).

    Measured precision: no finding on label-studio, misago and pretalx (defaults: nothing paid),
    nor on pretix and dj-stripe with `paid-calls = ["stripe.*"]` and weblate's machinery with its
    translation downloads paid (benchmarks/precision). Weblate's translation cache is read and
    written in different methods, which this rule does not follow.
    """

    reads = ("endpoints", "function_names")

    code = "RP604"
    name = "cache-stampede"
    message = "cache-aside path in front of a paid call ({paid}): {problem}"
    severity = Severity.IMPORTANT
    dimension = Dimension.PERFORMANCE
    bonuses = {"stampede-protection": 2}
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION})
    requires = (".get(",)
    options = {"guard-names": GUARD_NAMES, "paid-hosts": (), "paid-calls": ()}
    examples = (
        Bad(
            """
            from django.core.cache import cache

            from geo.services import Geocoder

            geocoder = Geocoder()

            def locate(address):
                cached = cache.get(f"geo:{address}")  # RP604
                if cached is not None:
                    return cached
                location = geocoder.locate(address)
                cache.set(f"geo:{address}", location, GEO_TTL)
                return location
            """,
            path="geo/lookups.py",
            files=EXAMPLE_FILES,
        ),
        Bad(
            """
            from django.core.cache import cache

            from geo.services import Geocoder

            geocoder = Geocoder()

            def locate(address):
                key = f"geo:{address}"
                cached = cache.get(key)
                if cached is not None:
                    return cached
                with cache.lock(f"lock:{key}", timeout=30, blocking_timeout=15):  # RP604
                    location = geocoder.locate(address)
                    cache.set(key, location, GEO_TTL)
                return location
            """,
            path="geo/lookups.py",
            files=EXAMPLE_FILES,
        ),
        Good(
            """
            from django.core.cache import cache
            from redis.exceptions import ConnectionError as RedisDown

            from geo.services import Geocoder, slugify_address

            geocoder = Geocoder()

            def locate(address):
                key = f"geo:{address}"
                cached = cache.get(key)
                if cached is not None:
                    return cached
                try:
                    with cache.lock(f"lock:{key}", timeout=30, blocking_timeout=15):
                        cached = cache.get(key)
                        if cached is None:
                            cached = geocoder.locate(address)
                            cache.set(key, cached, GEO_TTL)
                except RedisDown:
                    cached = geocoder.locate(address)  # degrade: pay once rather than fail
                return cached

            def slug(address):
                cached = cache.get(f"slug:{address}")  # a free call: no lock needed
                if cached is None:
                    cached = slugify_address(address)
                    cache.set(f"slug:{address}", cached, SLUG_TTL)
                return cached
            """,
            path="geo/lookups.py",
            files=EXAMPLE_FILES,
        ),
    )

    def setup(self) -> None:
        self.classes: list[str] = []
        self.frames: list[_Frame] = []
        self.tries: list[tuple[bool, bool]] = []  # (handles Redis down, still in its body)
        self.finally_depth = 0
        self.paid = paid_options({**self.settings, "rate-limit-decorators": ()})
        self.options_known = paid_known(self.context.function_names, self.paid)
        # no function of this module reaches a paid call: no path to judge
        self.active = self.options_known and self.context.endpoints.module_pays(self.paid, self.file.module_name)

    # -- where we are --

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        paid: dict[str, str] = {}
        if self.options_known and not self.frames and len(self.classes) <= 1:
            key = ".".join([self.file.module_name, *self.classes, node.name.value])
            paid = self.context.endpoints.paid_calls(self.paid, self.file.module_name, key)
        self.frames.append(_Frame(node, paid))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._judge(self.frames.pop())

    def visit_Try(self, node: cst.Try) -> None:
        handles = any(self._handles_redis_down(h) for h in node.handlers)
        self.tries.append((handles, True))

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if self.tries and self.tries[-1][1]:
            self.tries[-1] = (self.tries[-1][0], False)

    def leave_Try(self, original_node: cst.Try) -> None:
        self.tries.pop()

    def visit_Finally(self, node: cst.Finally) -> None:
        self.finally_depth += 1
        if self.tries and self.tries[-1][1]:
            self.tries[-1] = (self.tries[-1][0], False)

    def leave_Finally(self, original_node: cst.Finally) -> None:
        self.finally_depth -= 1

    # -- what happens --

    def visit_With(self, node: cst.With) -> None:
        if not self.frames:
            return
        frame = self.frames[-1]
        for item in node.items:
            if self._is_lock(item.item):
                assert isinstance(item.item, cst.Call)
                self._lock(frame, item.item, _bounded(item.item))
                frame.held += 1

    def leave_With(self, original_node: cst.With) -> None:
        if self.frames:
            frame = self.frames[-1]
            frame.held -= sum(1 for item in original_node.items if self._is_lock(item.item))

    def visit_Call(self, node: cst.Call) -> None:
        if not self.frames or not self.frames[-1].paid:
            return  # nothing paid here: no path to judge
        frame = self.frames[-1]
        locked = frame.held > 0 or frame.acquired
        func = node.func
        text = called_name(func)
        if text is not None and text in frame.paid:
            frame.events.append(_Event("paid", node, frame.paid[text], locked))
            return
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method == "get" and _is_cache(func.value):
            frame.events.append(_Event("get", node, _cache_name(func.value), locked))
        elif method in _SETS and _is_cache(func.value):
            frame.events.append(_Event("set", node, _cache_name(func.value), locked))
        elif method == "acquire" and "lock" in (dotted_name(func.value) or "").lower():
            created = self._created_lock(func.value)
            timed = any(a.keyword is not None and a.keyword.value in ("timeout", "blocking") for a in node.args)
            self._lock(frame, node, timed and (created is None or _bounded(created, wait=False)))
            frame.acquired = True
        elif method == "release" and "lock" in (dotted_name(func.value) or "").lower():
            frame.acquired = False
            frame.released_in_finally = frame.released_in_finally and self.finally_depth > 0

    def _lock(self, frame: _Frame, node: cst.Call, bounded: bool) -> None:
        guarded = any(handles and in_body for handles, in_body in self.tries)
        frame.events.append(_Event("lock", node, guarded=guarded, bounded=bounded))

    def _is_lock(self, node: cst.BaseExpression) -> bool:
        """`cache.lock(...)`, `redis_lock.Lock(conn, ...)`: a distributed lock, not a thread's."""
        if not isinstance(node, cst.Call):
            return False
        name = dotted_name(node.func) or ""
        if name.rsplit(".", 1)[-1] not in ("lock", "Lock"):
            return False
        qualified = self.semantic.qualified_name(node.func) or name
        return not qualified.startswith(_LOCAL_LOCKS)

    def _created_lock(self, node: cst.BaseExpression) -> cst.Call | None:
        binding = self.semantic.binding_of(node)
        value = getattr(binding, "value", None) if binding is not None else None
        return value if isinstance(value, cst.Call) and self._is_lock(value) else None

    def _handles_redis_down(self, handler: cst.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        kinds = handler.type.elements if isinstance(handler.type, cst.Tuple) else None
        types = [e.value for e in kinds] if kinds is not None else [handler.type]
        names = [self.semantic.qualified_name(t) or dotted_name(t) or "" for t in types]
        return any(n.rsplit(".", 1)[-1] in _REDIS_DOWN for n in names)

    # -- the verdict, once the function is read --

    def _judge(self, frame: _Frame) -> None:
        events = frame.events
        gets = [i for i, e in enumerate(events) if e.kind == "get"]
        if not gets:
            return
        first = gets[0]
        cache = events[first].detail
        paid = [i for i, e in enumerate(events) if e.kind == "paid" and i > first]
        if not paid or not any(e.kind == "set" and e.detail == cache for e in events[paid[0] :]):
            return
        label = events[paid[0]].detail
        locked_paid = [i for i in paid if events[i].locked]
        locks = [i for i, e in enumerate(events) if e.kind == "lock" and i < (locked_paid or [0])[0]]
        if not locked_paid or not locks:
            self.report(events[first].node, paid=label, problem=_NO_LOCK)
            return
        lock = events[locks[-1]]
        rechecked = any(e.kind == "get" and e.detail == cache and e.locked for e in events[locks[-1] : locked_paid[0]])
        if not rechecked:
            self.report(lock.node, paid=label, problem=_NO_RECHECK)
        elif not lock.guarded:
            self.report(lock.node, paid=label, problem=_NO_FALLBACK)
        elif lock.bounded and frame.released_in_finally:
            self.award(
                frame.node.name,
                "stampede-protection",
                f"`{frame.node.name.value}` refills the cache of a paid call under a bounded lock, "
                "checks it again once locked, and goes on when Redis is down",
            )


def _is_cache(node: cst.BaseExpression) -> bool:
    """`cache`, `caches["default"]`, `self.redis`, `geo_cache`: a cache or Redis client, by its name."""
    if isinstance(node, cst.Subscript):
        return (dotted_name(node.value) or "").endswith("caches")
    last = (dotted_name(node) or "").rsplit(".", 1)[-1].lower()
    return last.endswith(("cache", "redis")) or "redis" in last


def _cache_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Subscript):
        return dotted_name(node.value) or "caches"
    return dotted_name(node) or ""


def _bounded(call: cst.Call, wait: bool = True) -> bool:
    """A lock created with an expiry (`timeout=`/`expire=`) and, when `wait`, a bounded wait
    (`blocking_timeout=`, or python-redis-lock's `expire=` with `auto_renewal`)."""
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    expires = bool(keywords & {"timeout", "expire"})
    return expires and (not wait or bool(keywords & {"blocking_timeout", "auto_renewal", "blocking"}))
