"""RP502 non-atomic-counter: a cache or Redis counter read, incremented in Python and written back."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.checks.resilience.redis import ClientRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.clients import Kind
from review_patterns.syntax import traversal
from review_patterns.syntax.files import SourceFile, attribute_pattern
from review_patterns.syntax.names import argument, code, dotted_name
from review_patterns.syntax.semantic import SemanticModel

_CLIENTS = (Kind.REDIS, Kind.PIPELINE, Kind.CACHE)
_REDIS = (Kind.REDIS, Kind.PIPELINE)
#: Write method -> (number of key arguments, position of the value).
_WRITES = {"set": (1, 1), "hset": (2, 2), "setex": (1, 2), "psetex": (1, 2)}
#: Where the rule reports: a call to one of the `_WRITES`.
_WRITE_ATTRIBUTE = attribute_pattern(_WRITES)
#: Calls whose value is new at every call: a key built from one has a single writer.
_UNIQUE_CALLS = frozenset(
    {"uuid.uuid1", "uuid.uuid4", "secrets.token_hex", "secrets.token_urlsafe", "secrets.token_bytes"}
)
#: Names that hold the id of the current request or task by convention.
_UNIQUE_NAMES = frozenset({"request_id", "task_id", "job_id"})


@dataclass(frozen=True)
class _Read:
    key: str  #: the key's source text
    numeric: bool  #: read as a number: `int(...)`, `or 0`, a `0` default
    bumped: bool = False  #: already changed by arithmetic (`n += 1`, `m = n + 1`)


@dataclass
class _Function:
    reads: dict[str, _Read] = field(default_factory=dict)
    writes: list[tuple[cst.Call, str]] = field(default_factory=list)
    guarded: bool = False  #: under a lock or WATCH: the read-modify-write is safe
    unique: set[str] = field(default_factory=set)  #: names holding a value unique to this call (a UUID)


def _number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))


class NonAtomicCounter(ClientRule):
    """## What it does
    Flags a counter that is read from Django's cache or Redis, changed in Python and written
    back: `n = cache.get(key) or 0` then `cache.set(key, n + 1)`, or the same with a Redis
    client's `get`/`set` or `hget`/`hset`.

    ## Why is this bad?
    Two requests read the same value and both write back `n + 1`: one increment is lost. Under
    load, view counts, quotas and rate limits drift low, and a quota can be exceeded. `incr`
    (`cache.incr`, `redis.incr`, `hincrby`) does the read and the write in one atomic step.

    ## Known problems
    The read and the write must name the same key expression in one function. A function that
    holds a Redis lock or uses `WATCH` on a pipeline is not flagged, nor a key unique to one
    request or task (built from `uuid4()`, a `*_uuid`, `task_id` or a Celery task's own
    `self.request.id`): it has no concurrent writers. Test modules are not checked.

    Measured precision: no finding on the 15 real projects pinned in benchmarks/precision, so no
    false alarm to explain.
    """

    code = "RP502"
    name = "non-atomic-counter"
    message = "counter `{key}` is read and written back with `{write}`: concurrent requests lose updates; use `incr`"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    requires = ("set",)
    examples = (
        Bad("""
            from django.core.cache import cache

            def record_view(product_id: int) -> None:
                key = f"views:{product_id}"
                views = cache.get(key) or 0
                cache.set(key, views + 1, timeout=VIEWS_TTL)  # RP502
            """),
        Good("""
            from django.core.cache import cache

            def record_view(product_id: int) -> None:
                key = f"views:{product_id}"
                if not cache.add(key, 1, timeout=VIEWS_TTL):
                    cache.incr(key)
            """),
        Bad("""
            import redis
            from django.core.cache import caches

            r = redis.Redis()

            def spend(customer_id, amount):
                used = int(r.get(f"spend:{customer_id}") or 0)
                used += amount
                r.set(f"spend:{customer_id}", used)  # RP502

            def vote(review_id):
                votes = caches["default"]
                votes.set(review_id, votes.get(review_id, 0) + 1)  # RP502

            def hit(page):
                n = int(r.hget("hits", page) or 0)
                r.hset("hits", page, n + 1)  # RP502
            """),
        Good("""
            import redis
            from django.core.cache import cache

            r = redis.Redis()

            def remember_total(order):
                total = cache.get("total") or 0
                cache.set("grand-total", total + order.total)  # another key

            def append_recent(product_id):
                recent = cache.get("recent") or []
                cache.set("recent", recent + [product_id])  # not a counter

            def spend_watched(key):
                with r.pipeline() as pipe:
                    pipe.watch(key)
                    used = int(pipe.get(key) or 0)
                    pipe.multi()
                    pipe.set(key, used + 1)
                    pipe.execute()

            def spend_locked(key):
                with r.lock(f"lock:{key}", timeout=LOCK_TTL):
                    used = int(r.get(key) or 0)
                    r.set(key, used + 1)

            def local_dict(counts, key):
                n = counts.get(key) or 0
                counts.set(key, n + 1)
            """),
        Good(
            """
            import uuid

            from celery import shared_task
            from django.core.cache import cache

            def import_rows(rows):
                key = f"import-progress:{uuid.uuid4()}"  # this import's own key: one writer
                for row in rows:
                    save_row(row)
                    done = cache.get(key) or 0
                    cache.set(key, done + 1, timeout=PROGRESS_TTL)
                return key

            @shared_task(bind=True)
            def export_project(self, project_id):
                key = f"export:{self.request.id}:pages"
                for page in pages_of(project_id):
                    render(page)
                    cache.set(key, (cache.get(key) or 0) + 1, timeout=PROGRESS_TTL)

            def track_upload(upload_uuid, size):
                total = cache.get(f"upload:{upload_uuid}") or 0
                cache.set(f"upload:{upload_uuid}", total + size, timeout=PROGRESS_TTL)
            """,
            path="imports/tasks.py",
        ),
        Bad(
            """
            from django.core.cache import cache

            def record_download(document):
                key = f"downloads:{document.pk}"  # every request for this document writes it
                n = cache.get(key) or 0
                cache.set(key, n + 1, timeout=DOWNLOADS_TTL)  # RP502
            """,
            path="documents/views.py",
        ),
        Bad(
            """
            from django.core.cache import cache

            def record_view(product_id):
                views = cache.get(f"views:{product_id}") or 0
                (cache  # RP502
                    .set(f"views:{product_id}", views + 1, timeout=VIEWS_TTL))
            """,
            path="catalog/views.py",
        ),
        Good(
            """
            from django.conf import settings
            from django.core.cache import cache

            def record_view(product_id):  # `set` only in other words: the file is not parsed
                cache.incr(f"views:{product_id}")
                queryset = Product.objects.filter(pk=product_id)
                return settings.VIEWS_LIMIT, queryset, set()
            """,
            path="catalog/views.py",
        ),
    )

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        return super().applies_to(file) and _WRITE_ATTRIBUTE.search(file.source) is not None

    def setup(self) -> None:
        super().setup()
        self._functions: list[_Function] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(_Function())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        function = self._functions.pop()
        if not function.guarded:
            for call, key in function.writes:
                self.report(call, key=key, write=code(call.func, one_line=True))

    def _read(self, node: cst.BaseExpression) -> _Read | None:
        """The counter read that `node` evaluates, if any."""
        if isinstance(node, cst.Name) and self._functions:
            return self._functions[-1].reads.get(node.value)
        if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or) and _number(node.right):
            read = self._read(node.left)
            return _Read(read.key, True, read.bumped) if read is not None else None
        if not isinstance(node, cst.Call):
            return None
        func = node.func
        if isinstance(func, cst.Name) and func.value in ("int", "float") and len(node.args) == 1:
            if not self.semantic.imported(func):
                read = self._read(node.args[0].value)
                return _Read(read.key, True, read.bumped) if read is not None else None
            return None
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("get", "get_or_set", "hget"):
            return None
        kind = self.kind_of(func.value)
        method = func.attr.value
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if ((method == "get" and kind in _CLIENTS) or (method == "get_or_set" and kind is Kind.CACHE)) and positional:
            default = argument(node, "default", 1)
            numeric = kind is Kind.CACHE and default is not None and _number(default.value)
            return _Read(code(positional[0].value, one_line=True), numeric)
        if method == "hget" and kind in _REDIS and len(positional) >= 2:
            return _Read(
                f"{code(positional[0].value, one_line=True)}, {code(positional[1].value, one_line=True)}", False
            )
        return None

    def _changed(self, node: cst.BaseExpression) -> _Read | None:
        """The counter read that `node` changes by arithmetic (`n + 1`), or a name already changed."""
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                read = self._read(side)
                if read is not None and (read.numeric or _number(other)):
                    return _Read(read.key, True, True)
            return None
        read = self._read(node) if isinstance(node, cst.Name) else None
        return read if read is not None and read.bumped else None

    def _unique(self, node: cst.BaseExpression) -> bool:
        """Whether `node` is built from a value unique to this request or task: `uuid4()`, a name
        bound to one, `*_uuid`, `task_id`, or a Celery task's own `self.request.id`."""
        finder = _FindUnique(self._functions[-1].unique if self._functions else set(), self.semantic)
        traversal.visit(node, finder)
        return finder.found

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._functions and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            reads = self._functions[-1].reads
            name = node.targets[0].target.value
            if self._unique(node.value):
                self._functions[-1].unique.add(name)
            else:
                self._functions[-1].unique.discard(name)
            read = self._changed(node.value) or self._read(node.value)
            if read is not None:
                reads[name] = read
            else:
                reads.pop(name, None)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not self._functions or not isinstance(node.target, cst.Name):
            return
        reads = self._functions[-1].reads
        read = reads.get(node.target.value)
        if read is not None and isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
            if read.numeric or _number(node.value):
                reads[node.target.value] = _Read(read.key, True, True)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if self._functions and self.kind_of(node.item) is Kind.LOCK:
            self._functions[-1].guarded = True

    def visit_Call(self, node: cst.Call) -> None:
        if not self._functions or not isinstance(node.func, cst.Attribute):
            return
        function = self._functions[-1]
        method = node.func.attr.value
        kind = self.kind_of(node.func.value)
        if kind is None:
            return
        if (method == "watch" and kind in _REDIS) or (method == "acquire" and kind is Kind.LOCK):
            function.guarded = True
            return
        if method not in _WRITES or (kind is Kind.CACHE and method != "set"):
            return
        keys, position = _WRITES[method]
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if len(positional) <= max(keys - 1, position) and not (method == "set" and argument(node, "value")):
            return
        value = argument(node, "value", position)
        if value is None:
            return
        key = ", ".join(code(a.value, one_line=True) for a in positional[:keys])
        read = self._changed(value.value)
        if read is not None and read.key == key and not self._unique(positional[0].value):
            function.writes.append((node, key))


class _FindUnique(cst.CSTVisitor):
    """Finds a value unique to this request or task in an expression (see `NonAtomicCounter._unique`)."""

    def __init__(self, unique: set[str], semantic: SemanticModel) -> None:
        super().__init__()
        self.unique = unique
        self.semantic = semantic
        self.found = False

    def visit_Call(self, call: cst.Call) -> None:
        if self.semantic.imported(call.func) in _UNIQUE_CALLS:
            self.found = True

    def visit_Name(self, name: cst.Name) -> None:
        value = name.value
        if value in self.unique or value in _UNIQUE_NAMES or value.lower().endswith("uuid"):
            self.found = True

    def visit_Attribute(self, attribute: cst.Attribute) -> None:
        if dotted_name(attribute) == "self.request.id" or attribute.attr.value.lower().endswith("uuid"):
            self.found = True
