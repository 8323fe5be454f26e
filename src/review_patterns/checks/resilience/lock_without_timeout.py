"""RP508 lock-without-timeout: a distributed lock created or acquired without bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.checks.resilience.redis import Client, ClientRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.project.clients import LOCK_CLASSES, Kind
from review_patterns.syntax.names import argument, code, given, is_none, with_argument

#: Position of `timeout` in `client.lock(name, timeout, ...)`: redis-py, and django-redis's `cache.lock(key, version, timeout)`.
_LOCK_METHOD_TIMEOUT = {Kind.REDIS: 1, Kind.CACHE: 2}
_ENTER = frozenset({"__enter__", "__aenter__"})


def _false(arg: cst.Arg | None) -> bool:
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "False"


#: The module constant the fix adds, unless the module already has one of that name.
LOCK_CONSTANT = "LOCK_TIMEOUT = 60  # seconds before the lock of a crashed holder expires"


def _with_expiry(call: cst.Call, param: str, position: int) -> Rewrite | None:
    """`call` passing `param=LOCK_TIMEOUT` (or that value where it passes None by position)."""
    fixed = with_argument(call, param, position, cst.Name(LOCK_CONSTANT.split()[0]))
    if fixed is None:
        return None
    return Rewrite(
        safe=False, replace=((call, fixed),), constants=(LOCK_CONSTANT,), description=f"pass `{param}=LOCK_TIMEOUT`"
    )


@dataclass
class _Function:
    name: str
    acquires: list[tuple[cst.Call, str, list[str]]] = field(default_factory=list)  # call, receiver, problems
    finally_depth: int = 0
    released_in_finally: set[str] = field(default_factory=set)
    released_elsewhere: set[str] = field(default_factory=set)


class LockWithoutTimeout(ClientRule):
    """## What it does
    Flags a distributed lock without bounds: `redis_lock.Lock(...)` without `expire`,
    `client.lock(name)` without `timeout` (on a Redis client or django-redis's cache),
    `lock.acquire()` that blocks with no timeout, and an acquired lock released outside a
    `finally` block.

    ## Why is this bad?
    A worker that crashes, is killed by a deploy or times out while holding a lock without an
    expiry holds it forever: every later job waits or fails until someone deletes the key by
    hand. A blocking acquire without a timeout hangs the worker behind a stuck holder, and a
    release skipped by an exception leaves the lock held until it expires. Give every lock a
    `timeout`/`expire`, acquire with `blocking_timeout` (or `blocking=False`), and release in
    `finally` or with a `with` block.

    ## Known problems
    An acquire with no `release()` at all in the same function (released elsewhere, or held
    on purpose until it expires) is only checked for its timeout. `threading` and
    `multiprocessing` locks are not distributed locks and are never flagged. Test modules are
    not checked.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    code = "RP508"
    name = "lock-without-timeout"
    message = "{problem}"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    requires = ("lock", "Lock")
    fixes = (
        "Unsafe: for a lock created without an expiry, the fix passes `timeout=LOCK_TIMEOUT` "
        "(`expire=` for `redis_lock.Lock`) and adds `LOCK_TIMEOUT = 60` to the module (or uses its "
        "own `LOCK_TIMEOUT`): a holder that runs longer than that loses the lock, so choose the value "
        "before applying it. An acquire without a wait bound and a release outside `finally` are "
        "left to you."
    )
    examples = (
        Bad(
            """
            from celery import shared_task
            from django_redis import get_redis_connection

            @shared_task
            def sync_inventory(shop_id: int) -> None:
                redis = get_redis_connection("default")
                with redis.lock(f"sync:{shop_id}"):  # RP508
                    pull_inventory(shop_id)
            """,
            path="shop/tasks.py",
        ),
        Good(
            """
            from celery import shared_task
            from django_redis import get_redis_connection

            SYNC_LOCK_TTL = 10 * 60

            @shared_task
            def sync_inventory(shop_id: int) -> None:
                redis = get_redis_connection("default")
                with redis.lock(f"sync:{shop_id}", timeout=SYNC_LOCK_TTL, blocking_timeout=5):
                    pull_inventory(shop_id)
            """,
            path="shop/tasks.py",
        ),
        Bad(
            """
            import redis
            import redis_lock
            from django.core.cache import cache

            conn = redis.Redis()

            def export(report_id):
                lock = redis_lock.Lock(conn, f"export:{report_id}")  # RP508
                lock.acquire()  # RP508
                try:
                    build(report_id)
                finally:
                    lock.release()

            def charge(order_id):
                lock = conn.lock(f"charge:{order_id}", timeout=30)
                if lock.acquire(blocking_timeout=5):  # RP508
                    charge_card(order_id)
                    lock.release()

            def rebuild():
                with cache.lock("rebuild", timeout=None):  # RP508
                    rebuild_index()
            """,
            path="shop/jobs.py",
        ),
        Good(
            """
            import threading

            import redis
            import redis_lock

            conn = redis.Redis()
            local_lock = threading.Lock()

            class Exporter:
                def __init__(self):
                    self.lock = conn.lock("export", timeout=60, blocking_timeout=10)
                    self.guard = threading.RLock()

                def run(self):
                    self.guard.acquire()
                    if not self.lock.acquire():
                        return
                    try:
                        build()
                    finally:
                        self.lock.release()
                        self.guard.release()

            def export(report_id):
                lock = redis_lock.Lock(conn, f"export:{report_id}", expire=60)
                if lock.acquire(blocking=False):
                    try:
                        build(report_id)
                    finally:
                        lock.release()

            def once_a_minute(key):
                # held until it expires, on purpose: at most one run a minute
                return conn.lock(key, timeout=60).acquire(blocking=False)

            def threads():
                local_lock.acquire()
                build()
                local_lock.release()
            """,
            path="shop/jobs.py",
        ),
    )

    def setup(self) -> None:
        super().setup()
        self._functions: list[_Function] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(_Function(node.name.value))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        function = self._functions.pop()
        for call, receiver, problems in function.acquires:
            if (
                function.name not in _ENTER
                and receiver in function.released_elsewhere
                and receiver not in function.released_in_finally
            ):
                problems.append(f"`{receiver}` is released outside `finally`: an exception leaves the lock held")
            if problems:
                self.report(call, problem="; ".join(problems))

    def visit_Finally(self, node: cst.Finally) -> None:
        if self._functions:
            self._functions[-1].finally_depth += 1

    def leave_Finally(self, original_node: cst.Finally) -> None:
        if self._functions:
            self._functions[-1].finally_depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value == "lock") or self.semantic.imported(func):
            binding = self.client_of(node)
            if binding is not None and binding.kind is Kind.LOCK and binding.origin is node:
                self._check_creation(node)
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method == "release" and self._functions:
            function = self._functions[-1]
            released = function.released_in_finally if function.finally_depth else function.released_elsewhere
            released.add(code(func.value, one_line=True))
        elif method == "acquire":
            lock = self.client_of(func.value)
            if lock is None or lock.kind is not Kind.LOCK:
                return
            problems = (
                []
                if self._bounded(node, lock)
                else [
                    f"`{code(func, one_line=True)}()` waits forever for the lock: pass `blocking_timeout=` or `blocking=False`"
                ]
            )
            if self._functions:
                self._functions[-1].acquires.append((node, code(func.value, one_line=True), problems))
            elif problems:
                self.report(node, problem=problems[0])

    def _check_creation(self, node: cst.Call) -> None:
        func = node.func
        name = self.semantic.imported(func)
        if name is not None and name in LOCK_CLASSES:
            param, position = LOCK_CLASSES[name]
        elif isinstance(func, cst.Attribute):
            receiver = self.kind_of(func.value)
            if receiver not in _LOCK_METHOD_TIMEOUT:
                return
            param, position = "timeout", _LOCK_METHOD_TIMEOUT[receiver]
        else:
            return
        if not given(node, param, position):
            self.report(
                node,
                _with_expiry(node, param, position),
                problem=f"`{code(func, one_line=True)}(...)` creates a lock with no `{param}`: a crashed holder keeps it forever",
            )

    @staticmethod
    def _bounded(call: cst.Call, lock: Client) -> bool:
        """Whether an acquire gives up: non-blocking, or a timeout here or on the lock."""
        if _false(argument(call, "blocking", 0)):
            return True
        if given(call, "blocking_timeout") or given(call, "timeout") or given(call, "blocking_timeout", 1):
            return True
        origin = lock.origin
        if origin is not None:
            wait = argument(origin, "blocking_timeout")
            return (wait is not None and not is_none(wait.value)) or _false(argument(origin, "blocking"))
        return False
