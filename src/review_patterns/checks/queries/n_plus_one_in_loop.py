"""RP401 n-plus-one-in-loop: a loop over a queryset reaches a relation of each row that was not loaded."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from review_patterns.checks.queries.helpers import (
    CACHED_METHODS,
    CERTAIN_METHODS,
    COUNT_METHODS,
    READ_METHODS,
    WRITE_METHODS,
    Instance,
    Loop,
    QueryTracker,
    attribute_path,
    exits,
    inner_attributes,
    receivers,
)
from review_patterns.checks.queries.loading import load_in_queryset
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import dotted_name
from review_patterns.syntax.semantic import BindingKind

MODELS = {
    "blog/models.py": """
        from django.conf import settings
        from django.db import models

        class Topic(models.Model):
            title = models.CharField(max_length=200)

        class Post(models.Model):
            author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
            topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="posts")
            title = models.CharField(max_length=200)

        class Comment(models.Model):
            post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
            body = models.TextField()
        """,
}


#: Related-manager calls that select some rows of each parent: per-row work when the loop writes.
_RESOURCES = """
from django.conf import settings
from django.db import models

class ResourceBase(models.Model):
    title = models.CharField(max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)

class Dataset(ResourceBase):
    store = models.CharField(max_length=255)
"""
_FILTERS = frozenset({"filter", "exclude"})
_WRITES = frozenset({"save", "delete", "update", "create", "get_or_create", "update_or_create", "bulk_create"})
#: Related-manager calls that return a lazy queryset.
_LAZY = frozenset({"all", "filter", "exclude", "order_by"})
_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class Access:
    """A relation reached from a row: its path from the row, and how it is used."""

    path: tuple[str, ...]
    lookups: tuple[str, ...]  #: the path in query names, for `Count()`
    kind: str  #: "forward", "many", "count" or "requery"
    method: str | None
    generic: bool = False


class NPlusOneInLoop(QueryTracker):
    """## What it does
    Flags a loop (or comprehension) over a queryset whose body reaches a relation of each row
    that the queryset did not load up front: a foreign key not in `select_related`, a reverse
    or many-to-many manager not in `prefetch_related`, also inside nested loops over related
    managers and inside helper functions of the same module that receive the row. Tests and
    migrations are not checked, nor a data migration's body written elsewhere (a function that
    takes the migration's `apps` and reads models with `apps.get_model`): it runs once, alone.
    A related manager's queryset that is not run in the loop is not flagged: handed to a function
    of the project, or combined with another (`products = products | category.products.all()`),
    which runs once, later.

    ## Why is this bad?
    Each row then costs one more query: a page of 100 posts runs 101 queries instead of 2,
    500 ms instead of 50 ms, and it grows with the data. Runtime tools only see the code paths
    that tests happen to run.

    ## Known problems
    Only what is visible in the module is followed: rows passed to other modules, serializers
    and templates are not. A loop over a queryset whose lookups are not literal strings is
    assumed to load what it uses. When the model is not in the index, only calls of manager
    methods on an attribute of the row (`row.items.all()`) and `*_set` accessors are flagged.
    A module is read only when it names a manager of a model already in the index (`objects`,
    the project's own managers), a view's queryset, `get_object` or `request.user`: a loop whose
    only queryset comes from a custom manager of an installed app's model is not seen.

    Measured precision: 47 of 48 on 15 real projects; on three held-out projects 28 of
    30 sampled (43 found) as found, 30 of 30 (39 found) after the fix (benchmarks/precision).
    """

    code = "RP401"
    name = "n-plus-one-in-loop"
    message = "`{expr}` runs one query per row of the loop over `{model}`: {fix}"
    severity = Severity.BLOCKER
    dimension = Dimension.PERFORMANCE
    penalty = 4
    requires = ("for ",)
    fixes = (
        "Unsafe: where the function builds the loop's queryset (in the loop or in its one assignment), "
        "the fix adds the relation to its `select_related(...)`/`prefetch_related(...)`, or adds that "
        "call to the chain (before a slice, `list()` or `iterator()`). It changes the queries the "
        "queryset runs, for every use of it. Counts (`annotate(Count(...))`), filtered prefetches, "
        "manager calls no prefetch serves (`values_list()`, `filter()`, `get()`: the message says to "
        "fetch once for the whole loop) and querysets built elsewhere are left to you."
    )
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION})
    examples = (
        Bad(
            """
            from blog.models import Post

            def post_list(request):
                rows = []
                for post in Post.objects.filter(published=True):
                    rows.append((post.title, post.author.username))  # RP401
                    rows.append(post.comments.count())  # RP401
                return rows
            """,
            path="blog/views.py",
            files=MODELS,
        ),
        Good(
            """
            from django.db.models import Count
            from blog.models import Post

            def post_list(request):
                posts = Post.objects.select_related("author").annotate(n_comments=Count("comments"))
                return [(post.title, post.author.username, post.n_comments, post.author_id) for post in posts]
            """,
            path="blog/views.py",
            files=MODELS,
        ),
        Bad(
            """
            from blog.models import Post

            def titles():
                return [p.topic.title for p in Post.objects.all()]  # RP401
            """,
            path="blog/services.py",
            files=MODELS,
        ),
        Good(
            """
            from maps.models import Dataset

            def resources():
                # A multi-table child's link to its parent: the parent is built from the child's row.
                return [layer.resourcebase_ptr for layer in Dataset.objects.all()]
            """,
            path="maps/services.py",
            files={"maps/models.py": _RESOURCES},
        ),
        Bad(
            """
            from maps.models import Dataset

            def owners():
                return [layer.resourcebase_ptr.owner for layer in Dataset.objects.all()]  # RP401
            """,
            path="maps/services.py",
            files={"maps/models.py": _RESOURCES},
        ),
        Bad(
            """
            from blog.models import Topic

            def describe(post):
                return f"{post.title} by {post.author}"  # RP401

            def export(topic_id):
                topic = Topic.objects.get(pk=topic_id)
                for post in topic.posts.all():
                    describe(post)
                    for comment in post.comments.all():  # RP401
                        print(comment.body)
            """,
            path="blog/export.py",
            files=MODELS,
        ),
        Good(
            """
            from django.db.models import Prefetch
            from blog.models import Comment, Post

            def export():
                posts = Post.objects.prefetch_related(
                    Prefetch("comments", queryset=Comment.objects.order_by("-id"), to_attr="latest")
                ).select_related("topic")
                for post in posts:
                    print(post.topic.title, post.topic_id, [c.body for c in post.latest])
                for row in Post.objects.values("title", "author__username"):
                    print(row["title"])
            """,
            path="blog/export.py",
            files=MODELS,
        ),
        Bad(
            """
            from legacy.models import Invoice

            def totals():
                for invoice in Invoice.objects.all():
                    print(invoice.customer.name, invoice.items.count())  # RP401
            """,
            path="billing/views.py",
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.handled: set[cst.CSTNode] = set()
        self.calls: list[tuple[tuple[str, str], str | int, Instance, Loop]] = []
        self.summaries: dict[
            tuple[str, str], tuple[list[str], list[tuple[str, list[str], cst.Call | None, cst.CSTNode]], set[str]]
        ] = {}
        self.reported_nodes: set[tuple[int, str]] = set()
        self.writes: set[cst.Call] = set()  #: `row.items.filter(...)` calls whose result is then written to
        self.filtered: set[int] = set()  #: ids of calls whose result is filtered further
        self.passed_on: set[int] = set()  #: ids of expressions passed as arguments to a call that is not a builtin
        self.guards: list[frozenset[str]] = []  #: dotted names read by the enclosing `if` tests
        #: (function, variable) -> foreign keys already reached on the rows of the queryset the variable
        #: holds: a queryset evaluates once, and its rows keep what they fetched for the next loop over it
        self.fetched: dict[tuple[int, str], set[str]] = {}
        #: id of a loop's row -> the row and the expression that builds its queryset in this function
        self.querysets: dict[int, tuple[Instance, cst.BaseExpression | None]] = {}

    # -- loops --

    def visit_For(self, node: cst.For) -> None:
        loop = Loop(
            {}, source=node.iter.value if isinstance(node.iter, cst.Name) else None, in_migration=self.in_migration
        )
        if not exits(node.body, loop=True):
            self.bind(node.target, node.iter, loop)
            self._built_by(loop, node.iter)
        self.loops.append(loop)

    def leave_For(self, original_node: cst.For) -> None:
        self._leave_loop()

    def _comprehension(self, node: cst.BaseComp | cst.DictComp) -> None:
        first = node.for_in
        source = first.iter.value if first.inner_for_in is None and isinstance(first.iter, cst.Name) else None
        loop = Loop({}, source=source, in_migration=self.in_migration)
        self.loops.append(loop)
        comp: cst.CompFor | None = node.for_in
        while comp is not None:
            self.bind(comp.target, comp.iter, loop)
            self._built_by(loop, comp.iter)
            comp = comp.inner_for_in

    def _built_by(self, loop: Loop, iterable: cst.BaseExpression) -> None:
        """Remembers the expression that builds the queryset of the rows `loop` has just bound: the
        loop's iterable, or the one assignment of its name in this function."""
        if (
            isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Name)
            and iterable.func.value == "enumerate"
        ):
            iterable = iterable.args[0].value if iterable.args else iterable
        built: cst.BaseExpression | None = iterable
        if isinstance(iterable, cst.Name):
            binding = self.semantic.lookup(iterable.value)
            function = self.semantic.function
            built = None
            if (
                binding is not None
                and binding.kind is BindingKind.ASSIGNMENT
                and function is not None
                and binding.scope.node is function
                and len(binding.scope.bindings[iterable.value]) == 1
            ):
                built = binding.value
        for row in loop.rows.values():
            self.querysets.setdefault(id(row), (row, built))

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._comprehension(node)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self._leave_loop()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._comprehension(node)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self._leave_loop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._comprehension(node)

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self._leave_loop()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._comprehension(node)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self._leave_loop()

    # -- accesses --

    def visit_If(self, node: cst.If) -> None:
        self.guards.append(frozenset(dotted_names(node.test)))

    def leave_If(self, original_node: cst.If) -> None:
        self.guards.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.handled.update(inner_attributes(target.target))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            if isinstance(target.target, cst.Name):  # another queryset (or rows) from now on
                self.fetched.pop((self._scope(), target.target.value), None)
            found = attribute_path(target.target) if isinstance(target.target, cst.Attribute) else None
            row = self.row(found[0]) if found is not None and len(found[1]) == 1 else None
            if found is not None and row is not None:
                # `post.author = user` fills the cache: reading it afterwards runs no query.
                loop, instance = row
                loop.reported.add("__".join((*instance.path, found[1][0])))
        super().leave_Assign(original_node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.handled.update(inner_attributes(node.target))

    def visit_Del(self, node: cst.Del) -> None:
        self.handled.update(inner_attributes(node.target))

    def _leave_loop(self) -> None:
        loop = self.loops.pop()
        if not loop.wrote:
            for node, values in loop.pending:
                self.report(node, **values)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, (cst.BitOr, cst.BitAnd)):
            # `products | descendant.products.all()`: querysets combined into one, run later as one query
            self.passed_on.update((id(node.left), id(node.right)))

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _WRITES:
            for loop in self.loops:
                loop.wrote = True
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _FILTERS:
            self.filtered.add(id(node.func.value))  # `row.items.all().filter(...)`
        if isinstance(node.func, cst.Name) and node.func.value not in _BUILTINS:
            # `start_job(update_counters, project.tasks.all())`: a queryset handed on, not read here
            self.passed_on.update(id(arg.value) for arg in node.args)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in WRITE_METHODS:
            self.writes.update(receivers(node.func.value))
        self._helper_call(node)
        if isinstance(node.func, cst.Attribute):
            self.handled.update(inner_attributes(node.func))
            found = attribute_path(node.func)
            if found is not None and node not in self.writes:
                self._access(found[0], found[1], node, node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node in self.handled:
            return
        self.handled.update(inner_attributes(node))
        found = attribute_path(node)
        if found is not None:
            self._access(found[0], found[1], None, node)

    def _access(self, root: str, segments: list[str], call: cst.Call | None, node: cst.CSTNode) -> None:
        if any(f"{root}.{segments[0]}_id" in guard for guard in self.guards):
            return  # `if last_id != row.event_id: row.event...` fetches once per distinct event, not per row
        row = self.row(root)
        if row is not None:
            self._check(row[0], root, row[1], segments, call, node)
            return
        function = self.functions[-1] if self.functions else None
        if function is not None and function.key is not None and root in function.params:
            function.accesses.append((root, segments, call, node))

    def _helper_call(self, node: cst.Call) -> None:
        if not self.loops:
            return
        func = node.func
        if isinstance(func, cst.Name):
            key = ("", func.value)
        elif (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and self.classes
        ):
            key = (self.classes[-1].name, func.attr.value)
        else:
            return
        position = 0
        for arg in node.args:
            where: str | int | None = None
            if arg.keyword is not None:
                where = arg.keyword.value
            elif not arg.star:
                where = position
                position += 1
            row = self.row(arg.value.value) if where is not None and isinstance(arg.value, cst.Name) else None
            if where is not None and row is not None:
                self.calls.append((key, where, row[1], row[0]))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        function = self.functions[-1]
        if function.key is not None:
            self.summaries[function.key] = (function.params, function.accesses, function.rebound)
        super().leave_FunctionDef(original_node)

    def leave_Module(self, original_node: cst.Module) -> None:
        for key, where, row, loop in self.calls:
            summary = self.summaries.get(key)
            if summary is None:
                continue
            params, accesses, rebound = summary
            if isinstance(where, int):
                if where >= len(params):
                    continue
                where = params[where]
            if where not in params or where in rebound:
                continue
            for root, segments, call, node in accesses:
                if root == where:
                    self._check(loop, root, row, segments, call, node)

    # -- the check --

    def _check(
        self, loop: Loop, root: str, row: Instance, segments: list[str], call: cst.Call | None, node: cst.CSTNode
    ) -> None:
        if row.list_of or loop.in_migration:
            return
        access = self._walk(row, segments, call)
        if access is None:
            return
        full = "__".join((*row.path, *access.path))
        if access.kind == "forward" and loop.source is not None:
            fetched = self.fetched.setdefault((self._scope(), loop.source), set())
            if full in fetched:
                return  # an earlier loop over the same rows fetched it: cached on each row
            fetched.add(full)
        if any(done == full or done.startswith(full + "__") for done in loop.reported):
            return
        if (id(node), full) in self.reported_nodes:
            return
        loop.reported.add(full)
        self.reported_nodes.add((id(node), full))
        expr = ".".join((root, *segments[: len(access.path) + (1 if access.method else 0)]))
        if call is not None and access.method == segments[-1]:
            expr += "(...)" if call.args else "()"
        if access.method in _LAZY and id(node) in self.passed_on:
            return  # a lazy queryset handed on or combined with another: not run here
        values = {"expr": expr, "model": row.model_name or "?", "fix": self._fix(access, full, bool(row.path))}
        rewrite = self._loading(row, access, full)
        if (access.method in _FILTERS or id(node) in self.filtered) and loop in self.loops:
            # `category.thread_set.filter(weight=0)` feeding moves and deletes is per-row work
            # that no prefetch serves: decided when the loop is left, once its writes are known.
            loop.pending.append((node, values))
            return
        self.report(node, rewrite, **values)

    def _loading(self, row: Instance, access: Access, full: str) -> Rewrite | None:
        """The queryset built in this function loading what the loop reaches (the advice of `_fix`)."""
        kept, built = self.querysets.get(id(row), (None, None))
        if kept is not row or built is None or row.path or access.kind not in ("forward", "many"):
            return None
        if access.kind == "many" and access.method not in CACHED_METHODS:
            return None  # a prefetch would not serve it (see `_fix`)
        method = "select_related" if access.kind == "forward" and not access.generic else "prefetch_related"
        return load_in_queryset(built, method, full)

    def _scope(self) -> int:
        return id(self.functions[-1]) if self.functions else 0

    def _fix(self, access: Access, full: str, via_prefetch: bool) -> str:
        if access.kind == "count" and not via_prefetch:
            return f'count with `annotate(Count("{"__".join(access.lookups)}"))` on the queryset instead'
        if access.kind == "many" and access.method not in CACHED_METHODS:
            # `post.tags.values_list(...)` queries per row whether or not `tags` is prefetched
            return (
                f"`.{access.method}()` queries again even on prefetched rows; fetch them once for the "
                "whole loop (one query filtered by the loop's rows, or a `Prefetch` with a `queryset=`)"
            )
        if access.kind == "requery":
            return (
                f"`.{access.method}()` on the prefetched `{access.path[-1]}` queries again; "
                f'filter in `Prefetch("{full}", queryset=..., to_attr=...)` instead'
            )
        if access.kind == "forward" and not via_prefetch and not access.generic:
            return f'add `select_related("{full}")` to the queryset'
        return f'add `prefetch_related("{full}")` to the queryset'

    def _walk(self, row: Instance, segments: list[str], call: cst.Call | None) -> Access | None:
        """The relation an attribute chain on a row reaches without it being loaded, if any."""
        model = row.model
        loaded = row.loaded
        path: list[str] = []
        lookups: list[str] = []
        missing = False
        generic = False
        for i, segment in enumerate(segments):
            following = segments[i + 1] if i + 1 < len(segments) else None
            if not path and segment in loaded.attrs:
                return None
            relation = self.index.relation(model, segment) if model is not None else None
            many: bool
            if relation is not None:
                many = relation.many
            elif model is not None and self.index.has_field(model, segment):
                break
            elif self._certain_manager(segment, following, call, i + 2 == len(segments)):
                many = True
            else:
                break
            path.append(segment)
            lookups.append(relation.lookup if relation is not None else segment.removesuffix("_set"))
            key = "__".join(path)
            if not many:
                if not loaded.covers(key, True) and not (relation is not None and relation.parent_link):
                    missing = True
                    generic = generic or (relation is not None and relation.field == "GenericForeignKey")
                model = self.index.get(relation.target) if relation is not None else None
                continue
            if following is None or following not in READ_METHODS or (i + 2 == len(segments) and call is None):
                path.pop()  # a manager passed on, written to, or `post.comments.all` without a call
                lookups.pop()
                break  # `post.comments.all` without a call
            if not loaded.covers(key, False):
                kind = "count" if following in COUNT_METHODS else "many"
                return Access(tuple(path), tuple(lookups), kind, following)
            if following not in CACHED_METHODS or (i + 2 < len(segments) and segments[i + 2] in READ_METHODS):
                return Access(tuple(path), tuple(lookups), "requery", following)
            path.pop()
            lookups.pop()
            break
        if missing:
            return Access(tuple(path), tuple(lookups), "forward", None, generic)
        return None

    def _certain_manager(self, segment: str, following: str | None, call: cst.Call | None, last: bool) -> bool:
        """An attribute that can only be a related manager: `row.items.all()`, `row.tag_set`."""
        if following is None:
            return False
        if segment.endswith("_set") and following in READ_METHODS:
            return True
        # `list.count(x)` takes an argument; a manager's `count()` never does.
        return following in CERTAIN_METHODS and not (
            last and call is not None and following in ("count", "all") and call.args
        )


def dotted_names(node: cst.BaseExpression) -> Iterator[str]:
    """The dotted names an `if` test reads: `last != row.event_id and x` -> row.event_id, last, x."""
    if isinstance(node, (cst.Name, cst.Attribute)):
        name = dotted_name(node)
        if name is not None:
            yield name
    elif isinstance(node, cst.Comparison):
        yield from dotted_names(node.left)
        for target in node.comparisons:
            yield from dotted_names(target.comparator)
    elif isinstance(node, cst.BooleanOperation):
        yield from dotted_names(node.left)
        yield from dotted_names(node.right)
    elif isinstance(node, cst.UnaryOperation):
        yield from dotted_names(node.expression)
