"""RP402 repeated-count-queries: several counts of one model in a function that differ only in their filters."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from review_patterns.checks.queries.helpers import QuerySet, QueryTracker, exits
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax.files import FileKind, SourceFile, attribute_pattern
from review_patterns.syntax.names import code, truth_tested

MODELS = {
    "shop/models.py": """
        from django.db import models

        class Order(models.Model):
            status = models.CharField(max_length=20)
            paid = models.BooleanField(default=False)
        """,
}
AGGREGATES = frozenset({"count", "exists", "aggregate"})
#: Calls that change rows: counts before one and after it see different tables.
WRITES = frozenset(
    {"update", "delete", "save", "create", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
)


@dataclass(frozen=True)
class CountCall:
    node: cst.Call
    model: str  #: the model's label, or its class name when not in the index
    shape: tuple[str, ...]
    branches: tuple[tuple[int, str], ...]  #: (if statement, "body"/"else") around the call
    order: int
    name: str  #: the model's class name, for the message
    method: str
    receiver: str  #: the code of the queryset counted
    assigned: frozenset[str]  #: names the statement holding the call assigns
    depth: int = 0  #: loops around the call: a count per iteration does not pair with one outside
    writes: int = 0  #: writes seen before it in the function: a write between two counts separates them


#: The calls the rule pairs: a file with fewer than two of them has nothing for it.
_COUNTING = attribute_pattern({"count", "exists", "aggregate"})


class RepeatedCountQueries(QueryTracker):
    """## What it does
    Flags a function that runs two or more `.count()`, `.exists()` or `.aggregate()` queries on
    querysets of the same model that differ only in their filters. Tests and migrations are not
    checked, nor a data migration's body written elsewhere (a function that takes the migration's
    `apps` and reads models with `apps.get_model`).

    ## Why is this bad?
    Each call is a round trip that scans the same rows. One
    `aggregate(total=Count("id"), paid=Count("id", filter=Q(paid=True)))` computes them all in a
    single query; a dashboard with six such counts runs one query instead of six.

    ## Known problems
    Counts pair only at the same loop depth and with no write (`update`, `delete`, `save`,
    `create`) between them; `count() > 0`, `count() == 0` and a `count()` tested for truth
    (`if qs.count():`) are existence guards like `.exists()`.
    The same queryset counted twice (or counted and tested) gets "count once and reuse the number";
    distinct querysets get `Count("id", distinct=True)`; querysets distinct on fields
    (`distinct("user", "kind")`, PostgreSQL's DISTINCT ON) pair only when they are the very same,
    since `aggregate()` refuses them and `Count(distinct=True)` would count other rows. Before Django 2.0 (the project's version, as RP101 reads it),
    aggregates take no `filter=`: the advice is `Count(Case(When(Q(...), then="id")))`.
    Calls in the two branches of one `if` (or after a branch that returns or continues), and a fallback
    under an `if` that tests the first result, are taken to exclude each other. An `.exists()`
    guard counts only together with a count of the very same queryset: guards on different
    filters (`if User.objects.filter(email=e).exists()`) are left alone. As for RP401, a module
    that names no manager known to the model index, view queryset or `request.user` is not read.

    Measured precision: 16 of 16 on 15 real projects; on three held-out projects 3 of 4
    as found, 3 of 3 after the fix (benchmarks/precision).
    """

    reads = (*QueryTracker.reads, "django_version")

    code = "RP402"
    name = "repeated-count-queries"
    message = (
        "{count} `count`/`exists`/`aggregate` queries on `{model}` in `{function}` differ only in their filters: {fix}"
    )
    severity = Severity.IMPORTANT
    dimension = Dimension.PERFORMANCE
    requires = (".count(", ".exists(", ".aggregate(")
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION})
    examples = (
        Bad(
            """
            from shop.models import Order

            def dashboard(request):
                total = Order.objects.count()  # RP402
                paid = Order.objects.filter(paid=True).count()
                open_ = Order.objects.filter(status="open").count()
                return {"total": total, "paid": paid, "open": open_}
            """,
            path="shop/views.py",
            files=MODELS,
        ),
        Good(
            """
            from django.db.models import Count, Q
            from shop.models import Order

            def dashboard(request):
                return Order.objects.aggregate(
                    total=Count("id"),
                    paid=Count("id", filter=Q(paid=True)),
                    open=Count("id", filter=Q(status="open")),
                )
            """,
            path="shop/views.py",
            files=MODELS,
        ),
        Bad(
            """
            from shop.models import Order

            def stats(customer):
                orders = Order.objects.filter(customer=customer)
                if orders.exists():  # RP402
                    return {"paid": orders.filter(paid=True).count(), "all": orders.count()}
                return {}
            """,
            path="shop/services.py",
            files=MODELS,
        ),
        Bad(
            """
            from shop.models import Order

            def dashboard(request):
                total = Order.objects.count()  # RP402
                paid = Order.objects.filter(paid=True).count()
                return {"total": total, "paid": paid}
            """,
            path="shop/views.py",
            files={**MODELS, "requirements.txt": "Django>=1.11,<2\n"},
        ),
        Bad(
            """
            from shop.models import Order

            def report(stdout):
                unpaid = Order.objects.filter(paid=False)
                stdout.write(f"{unpaid.count()} unpaid orders")  # RP402
                if unpaid.count():
                    stdout.write("run `remind_unpaid` to send reminders")
            """,
            path="shop/management/commands/unpaid.py",
            files=MODELS,
        ),
        Good(
            """
            from django.contrib.auth.models import Group

            def add_default_groups(user):
                if Group.objects.filter(name="contributors").count():
                    user.groups.add(Group.objects.get(name="contributors"))
                if not Group.objects.filter(name="reviewers").count():
                    return
                user.groups.add(Group.objects.get(name="reviewers"))
            """,
            path="accounts/signals.py",
        ),
        Good(
            """
            from shop.models import Order

            def badge(request, paid):
                if paid:
                    return Order.objects.filter(paid=True).count()
                return Order.objects.filter(status="open").count()
            """,
            path="shop/views.py",
            files=MODELS,
        ),
    )

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        return super().applies_to(file) and len(list(itertools.islice(_COUNTING.finditer(file.source), 2))) == 2

    def setup(self) -> None:
        super().setup()
        self.counts: list[list[CountCall]] = []
        self.branches: list[tuple[int, str]] = []
        self.branch_of: dict[int, tuple[int, str]] = {}
        self.exiting: set[tuple[int, str]] = set()
        self.tests: dict[int, frozenset[str]] = {}  #: names read by each `if` test
        self.assigning: list[frozenset[str]] = []
        self.order = 0
        self.depth = 0  #: loops around the current node
        self.writes = 0  #: write calls seen so far
        self.guards: set[int] = set()  #: `count()` calls compared with 0 or 1
        version = self.context.django_version
        self.filter_argument = version is None or version.at_least(2, 0)  #: `Count(..., filter=Q(...))`

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self.counts.append([])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        calls = self.counts.pop()
        if self.in_migration:  # a data migration's body: it runs once, alone
            calls = []
        by_model: dict[str, list[CountCall]] = {}
        for call in calls:
            by_model.setdefault(call.model, []).append(call)
        for group in by_model.values():
            # An `.exists()` guard (or `count() > 0`) joins only a count of the very same queryset.
            group = [
                c
                for c in group
                if c.method != "exists" or any(o.method != "exists" and o.receiver == c.receiver for o in group)
            ]
            together = [a for a in group if any(b is not a and self._paired(a, b) for b in group)]
            if len(together) >= 2:
                first = min(together, key=lambda c: c.order)
                self.report(
                    first.node,
                    count=len(together),
                    model=first.name,
                    function=original_node.name.value,
                    fix=_fix(together, self.filter_argument),
                )
        super().leave_FunctionDef(original_node)

    def _paired(self, a: CountCall, b: CountCall) -> bool:
        """Whether two counts run together on the same table: same shape, same loop depth, no write between.
        Counts of a `distinct(*fields)` queryset (PostgreSQL's DISTINCT ON) pair only with the very same
        queryset: `aggregate()` refuses them, and `Count("id", distinct=True)` counts rows, not the distinct fields."""
        if any(_distinct_on(step) for step in a.shape) and a.receiver != b.receiver:
            return False
        return a.shape == b.shape and a.depth == b.depth and a.writes == b.writes and not self._exclusive(a, b)

    def _exclusive(self, a: CountCall, b: CountCall) -> bool:
        """Whether at most one of two calls runs: other branches of one `if`, or after a branch that returns."""
        ifs_a = dict(a.branches)
        for if_id, branch in b.branches:
            if if_id in ifs_a and ifs_a[if_id] != branch:
                return True
        first, second = (a, b) if a.order < b.order else (b, a)
        inside_second = {i for i, _ in second.branches}
        if any(first.assigned & self.tests.get(i, frozenset()) for i in inside_second):
            return True  # a fallback that runs only on what the first one found
        return any(branch in self.exiting and branch[0] not in inside_second for branch in first.branches)

    # -- branches --

    def visit_Assign(self, node: cst.Assign) -> None:
        self.assigning.append(frozenset(t.target.value for t in node.targets if isinstance(t.target, cst.Name)))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.assigning.pop()
        super().leave_Assign(original_node)

    def visit_If(self, node: cst.If) -> None:
        self._enter(node)
        self._guard(node.test)
        self.tests[id(node)] = frozenset(names(node.test))
        self.branch_of[id(node.body)] = (id(node), "body")
        if node.orelse is not None:
            self.branch_of[id(node.orelse)] = (id(node), "else")
        if exits(node.body):
            self.exiting.add((id(node), "body"))
        if isinstance(node.orelse, cst.Else) and exits(node.orelse.body):
            self.exiting.add((id(node), "else"))

    def leave_If(self, original_node: cst.If) -> None:
        self._leave(original_node)

    def _enter(self, node: cst.CSTNode) -> None:
        branch = self.branch_of.get(id(node))
        if branch is not None:
            self.branches.append(branch)

    def _leave(self, node: cst.CSTNode) -> None:
        branch = self.branch_of.get(id(node))
        if branch is not None and self.branches and self.branches[-1] == branch:
            self.branches.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave(original_node)

    def visit_Else(self, node: cst.Else) -> None:
        self._enter(node)

    def leave_Else(self, original_node: cst.Else) -> None:
        self._leave(original_node)

    # -- counts --

    def visit_For(self, node: cst.For) -> None:
        self.depth += 1

    def leave_For(self, original_node: cst.For) -> None:
        self.depth -= 1

    def visit_While(self, node: cst.While) -> None:
        self.depth += 1
        self._guard(node.test)

    def leave_While(self, original_node: cst.While) -> None:
        self.depth -= 1

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self.depth += 1

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self.depth -= 1

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self.depth += 1

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self.depth -= 1

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self.depth += 1

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self.depth -= 1

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.depth += 1

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.depth -= 1

    def visit_Comparison(self, node: cst.Comparison) -> None:
        """`qs.count() > 0`, `qs.count() == 0`, `qs.count() >= 1`: an existence guard, like `.exists()`."""
        if (
            isinstance(node.left, cst.Call)
            and len(node.comparisons) == 1
            and isinstance(node.comparisons[0].comparator, cst.Integer)
            and node.comparisons[0].comparator.value in ("0", "1")
        ):
            self.guards.add(id(node.left))

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._guard(node.test)

    def _guard(self, test: cst.BaseExpression) -> None:
        """A `count()` tested for truth (`if qs.count():`, `not qs.count()`) tests existence, like `.exists()`."""
        self.guards.update(id(call) for call in truth_tested(test))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.counts and isinstance(func, cst.Attribute) and func.attr.value in WRITES:
            self.writes += 1
        if not self.counts or not isinstance(func, cst.Attribute) or func.attr.value not in AGGREGATES:
            return
        if func.attr.value != "aggregate" and node.args:
            return
        queryset = self.value(func.value)
        if not isinstance(queryset, QuerySet) or not queryset.shape:
            return
        model = queryset.model.label if queryset.model is not None else queryset.model_name
        self.order += 1
        self.counts[-1].append(
            CountCall(
                node,
                model,
                queryset.shape,
                tuple(self.branches),
                self.order,
                queryset.model_name,
                "exists" if id(node) in self.guards else func.attr.value,
                code(func.value),
                self.assigning[-1] if self.assigning else frozenset(),
                self.depth,
                self.writes,
            )
        )


def _fix(counts: list[CountCall], filter_argument: bool = True) -> str:
    """The same queryset counted again: reuse the number; distinct counts: `Count(..., distinct=True)`;
    before Django 2.0, which has no `filter=` on aggregates, a conditional expression."""
    methods = {c.method for c in counts}
    if len({c.receiver for c in counts}) == 1 and "count" in methods and methods <= {"count", "exists"}:
        return "it is the same queryset counted again: count once and reuse the number"
    distinct = ", distinct=True" if any("distinct" in step for c in counts for step in c.shape) else ""
    if not filter_argument:
        return (
            f'compute them in one `aggregate(total=Count("id"{distinct}), done=Count(Case(When(Q(...), then="id")){distinct}))`'
            " (Django < 2.0 has no `filter=`)"
        )
    return f'compute them in one `aggregate(total=Count("id"{distinct}), done=Count("id"{distinct}, filter=Q(...)))`'


def _distinct_on(step: str) -> bool:
    """A `distinct("user", "kind")` step of a queryset's shape: distinct on fields, not `distinct()`."""
    return step.startswith("distinct(") and step.replace(" ", "") != "distinct()"


def names(node: cst.BaseExpression) -> Iterator[str]:
    """The plain names an `if` test reads (`result["total"] < 100` -> result)."""
    if isinstance(node, cst.Name):
        yield node.value
    elif isinstance(node, (cst.Attribute, cst.Subscript)):
        yield from names(node.value)
    elif isinstance(node, cst.Comparison):
        yield from names(node.left)
        for target in node.comparisons:
            yield from names(target.comparator)
    elif isinstance(node, cst.BooleanOperation):
        yield from names(node.left)
        yield from names(node.right)
    elif isinstance(node, cst.UnaryOperation):
        yield from names(node.expression)
