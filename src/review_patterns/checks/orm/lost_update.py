"""RP103: a field read, changed in Python and saved back."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.checks.orm.helpers import (
    REFRESHES,
    SAVES,
    FlowRule,
    Frame,
    chain_calls,
    chain_head,
    method_receiver,
    refreshed_fields,
    saved_fields,
)
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import call_name, dotted_name

_ARITHMETIC = (cst.Add, cst.Subtract)
#: Literals that make `+` a concatenation of text or lists, not a counter.
_NOT_NUMBERS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.List,
    cst.Tuple,
    cst.Dict,
    cst.Set,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
)


@dataclass
class _Change:
    obj: str
    field: str
    node: cst.CSTNode


@dataclass
class _State:
    changes: list[_Change] = field(default_factory=list)
    #: (object, field) given a fresh value here: later increments recompute it, they do not read the row
    reset: set[tuple[str, str]] = field(default_factory=set)
    #: objects whose `pk`/`id` was set to None: their save inserts a copy nobody else has seen
    copies: set[str] = field(default_factory=set)


_TEXT_METHODS = frozenset({"join", "format", "strip", "lower", "upper", "replace"})
_NOT_COUNTS = frozenset({"timedelta", "relativedelta", "str", "gettext", "_", "pgettext", "format_html", "mark_safe"})


_SPANS = ("delta", "duration", "timedelta")


def _numeric_operand(node: cst.BaseExpression) -> bool:
    """Whether `node` may be a number: not text, a list or a time span (`x.s += "\\n" + y` is not a counter)."""
    if isinstance(node, _NOT_NUMBERS):
        return False
    name = dotted_name(node)
    if name is not None and name.rpartition(".")[2].lower().endswith(_SPANS):
        return False  # `event.date_from += days_delta`: a date moved by a time span
    if isinstance(node, cst.BinaryOperation):
        return _numeric_operand(node.left) and _numeric_operand(node.right)
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute):
            return func.attr.value not in _TEXT_METHODS and func.attr.value not in _NOT_COUNTS
        return not (isinstance(func, cst.Name) and func.value in _NOT_COUNTS)
    return True


def _read_modify(node: cst.BaseExpression, attribute: cst.Attribute) -> bool:
    """Whether `node` computes a new number from `attribute`: `x.n + 1`, `max(0, x.n - k)`."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, _ARITHMETIC):
        left, right = node.left, node.right
        if left.deep_equals(attribute) or _read_modify(left, attribute):
            return _numeric_operand(right)
        if isinstance(node.operator, cst.Add) and (right.deep_equals(attribute) or _read_modify(right, attribute)):
            return _numeric_operand(left)
        return False
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("max", "min"):
        return any(_read_modify(arg.value, attribute) for arg in node.args)
    return False


class LostUpdate(FlowRule):
    """## What it does
    Flags a model field that is read, changed in Python and saved back in the same function:
    `obj.count += 1`, `obj.count -= 1`, `obj.count = obj.count + 1` or
    `max(0, obj.count - 1)`, followed by `obj.save()`.

    ## Why is this bad?
    Two requests read the same value, both add one and both save: one increment is lost.
    Let the database do the arithmetic with `F("count") + 1` (then refresh the object before
    using it, see RP101), or fetch the row with `select_for_update()` in a transaction.
    Several fields of one object changed and saved together are one race, reported once at the
    first change. Not flagged when the row is locked by a caller that fetched it with
    `select_for_update()` and passed it in (followed through the project's call sites, as `self`
    or a parameter), or when the object was fetched with `select_for_update()` in the function (also
    `row, created = ....select_for_update().get_or_create(...)`), was
    just created by it (`Product(...)`, `objects.create(...)`, `with ProgressReport(...) as pb`), when the field was first set to a fresh value in the function (a total
    recomputed in a loop), or when the field is not saved afterwards; nor in tests and migrations,
    which do not run concurrently with anything.

    ## Known problems
    Who else writes a row is not known: a row that only the process that created it ever
    writes is flagged in the methods it is written through (pulpcore's `ProgressReport.increase_by()`,
    a report each task creates for itself; `RepositoryVersion.add_content()`, on a version being
    built under the task's exclusive lock; `create_initial_version()`, called from `save()` while
    the row is being inserted).

    Measured precision: 13 of 13 on 15 real projects (benchmarks/precision); on three held-out
    projects 0 of 6 as found, 0 of 4 after the fixes (the 4 above).
    """

    reads = ("locked_rows",)

    code = "RP103"
    name = "lost-update"
    message = '`{target}` is read, changed in Python and saved: concurrent requests lose updates; use `F("{field}")` or `select_for_update()`'
    severity = Severity.IMPORTANT
    penalty = 3
    dimension = Dimension.DATA_INTEGRITY
    requires = ("save(",)  # also matches `asave(`
    #: Tests and data migrations run alone: nothing runs concurrently with them.
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION})
    examples = (
        Bad("""
            def upvote(request, pk):
                review = get_object_or_404(Review, pk=pk)
                review.upvotes += 1  # RP103
                review.save(update_fields=["upvotes"])
                return redirect(review.product)
            """),
        Good("""
            from django.db.models import F

            def upvote(request, pk):
                review = get_object_or_404(Review, pk=pk)
                review.upvotes = F("upvotes") + 1
                review.save(update_fields=["upvotes"])
                return redirect("product-detail", pk=review.product_id)
            """),
        Bad(
            """
            from celery import shared_task

            @shared_task
            def release_stock(line_id):
                line = OrderLine.objects.select_related("product").get(pk=line_id)
                product = line.product
                product.stock = product.stock + line.quantity  # RP103
                product.save()
            """,
            path="shop/tasks.py",
        ),
        Bad(
            """
            from django.db import models

            class Customer(models.Model):
                loyalty_points = models.IntegerField(default=0)

                def spend(self, points):
                    self.loyalty_points = max(0, self.loyalty_points - points)  # RP103
                    self.save(update_fields=["loyalty_points"])

                def refund(self, points):
                    self.loyalty_points -= points  # RP103
                    super().save()
            """,
            path="shop/models.py",
        ),
        Good("""
            from django.db import transaction

            def sell(product_id, quantity):
                with transaction.atomic():
                    product = Product.objects.select_for_update().get(pk=product_id)
                    product.stock -= quantity
                    product.save(update_fields=["stock"])
            """),
        Good("""
            from django.db import transaction

            def next_number(name):
                with transaction.atomic():
                    counter, created = Counter.objects.select_for_update().get_or_create(name=name)
                    counter.value += 1
                    counter.save(update_fields=["value"])
                return counter.value
            """),
        Bad("""
            def next_number(name):
                counter, created = Counter.objects.get_or_create(name=name)
                counter.value += 1  # RP103
                counter.save(update_fields=["value"])
                return counter.value
            """),
        Bad("""
            from django.db import transaction

            def next_number(name):
                with transaction.atomic():
                    created, counter = pair(Counter.objects.select_for_update().get_or_create(name=name))
                    counter.value += 1  # RP103
                    counter.save(update_fields=["value"])
            """),
        Good("""
            def total_stock(products):
                total = 0
                for product in products:
                    product.stock_seen = product.stock + 1
                    total += product.stock
                return total

            def preview(review):
                review.upvotes += 1  # shown, never saved
                return render_to_string("review.html", {"review": review})

            def rename(product, suffix):
                product.name = product.name + " (copy)"
                product.stock = product.reserved + 1
                product.save()
            """),
        Good(
            """
            from datetime import timedelta

            def add_vat_note(invoice, address):
                invoice.invoice_to += "\\n" + gettext("VAT-ID: %s") % address.vat_id
                invoice.additional_text += "<br />".join(address.notes)
                invoice.save()

            def extend(order, days):
                order.expires = order.expires + timedelta(days=days)
                order.save(update_fields=["expires"])

            def move(event, days_delta):
                event.date_from += days_delta
                event.save()

            def copy_phases(event, other, delta):
                for phase in other.review_phases.all():
                    phase.pk = None  # a copy: its save inserts a new row
                    phase.event = event
                    phase.start += 1
                    phase.save()
            """,
            path="shop/services.py",
        ),
        Good(
            """
            def test_total_changes(self):
                self.order.total += 10
                self.order.save()
                self.assertEqual(self.order.lines.count(), 1)
            """,
            path="shop/tests/test_orders.py",
        ),
        Good("""
            def add_view(product):
                product.view_count += 1
                product.save(update_fields=["name"])

            def import_product(row):
                product = Product(name=row["name"])
                product.stock += int(row["stock"])
                product.save()

            async def download_all(artifacts):
                async with ProgressReport(message="Downloading", code="download") as pb:
                    for artifact in artifacts:
                        pb.done += await download(artifact)
                        await pb.asave()
            """),
    )

    def setup(self) -> None:
        super().setup()
        self.states: list[_State] = [_State()]
        self.names: list[tuple[str, str]] = []  #: (class or "", function) being visited, innermost last
        self.classes: list[str] = []

    @property
    def state(self) -> _State:
        return self.states[-1]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self.states.append(_State())
        self.names.append((self.classes[-1] if self.classes else "", node.name.value))
        self.classes.append("")  # a class defined inside a function is not this function's

    def leave_frame(self, frame: Frame) -> None:
        self.states.pop()
        self.names.pop()
        self.classes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def forget(self, name: str) -> None:
        state = self.state
        state.changes = [c for c in state.changes if c.obj != name and not c.obj.startswith(name + ".")]
        state.reset = {(o, f) for o, f in state.reset if o != name and not o.startswith(name + ".")}
        state.copies.discard(name)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        target = original_node.target
        if (
            isinstance(target, cst.Attribute)
            and isinstance(original_node.operator, (cst.AddAssign, cst.SubtractAssign))
            and _numeric_operand(original_node.value)
        ):
            self.changed(target, original_node)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            if not isinstance(target.target, cst.Attribute):
                continue
            if _read_modify(original_node.value, target.target):
                self.changed(target.target, original_node)
            elif (obj := dotted_name(target.target.value)) is not None:
                self.state.reset.add((obj, target.target.attr.value))
                if target.target.attr.value in ("pk", "id") and _is_none(original_node.value):
                    self.state.copies.add(obj)
        super().leave_Assign(original_node)

    def changed(self, target: cst.Attribute, node: cst.CSTNode) -> None:
        obj = dotted_name(target.value)
        if obj is not None and (obj, target.attr.value) not in self.state.reset and not self.locked_or_new(obj):
            self.state.changes.append(_Change(obj, target.attr.value, node))

    def locked_or_new(self, obj: str) -> bool:
        """Fetched with `select_for_update()` (or from such a queryset), or created here."""
        kind, value = self.bound(obj) or ("other", None)
        if kind in ("assign", "with") and isinstance(value, cst.Call):
            name = call_name(value)
            # `Product(...)`, `Product.objects.create(...)` or `with ProgressReport(...) as pb` (a model
            # whose `__enter__` saves and returns itself): a row nobody else has seen yet
            if (name == "create" and kind == "assign") or (name is not None and name[:1].isupper()):
                return True
        return self.locked(obj)

    def locked(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        root = name.split(".")[0]
        if (
            self.names
            and self.is_parameter(root)
            and (root == name or root != "self")  # `self.stock`, not `self.product.stock`
            and (*self.names[-1], root) in self.context.locked_rows
        ):
            return True  # `self` or a parameter holding a row a caller locked (followed from its call sites)
        unpacked = self.unpacked(name)
        if unpacked is not None:  # `row, created = ....select_for_update().get_or_create(...)`
            source, place = unpacked
            return (
                place == 0
                and isinstance(source, cst.Call)
                and call_name(source) in _FETCH_OR_CREATE
                and "select_for_update" in chain_calls(source)
            )
        kind, value = self.bound(name) or ("other", None)
        if value is None or kind not in ("assign", "for"):
            return False
        if "select_for_update" in chain_calls(value):
            return True
        head = dotted_name(chain_head(value))
        return head is not None and head != name and head not in seen and self.locked(head, seen | {name})

    def leave_Call(self, original_node: cst.Call) -> None:
        name = call_name(original_node)
        if name not in SAVES and name not in REFRESHES:
            return
        obj = method_receiver(original_node)
        if obj is None:
            return
        state = self.state
        if name in REFRESHES:
            fields = refreshed_fields(original_node)
            state.changes = [c for c in state.changes if c.obj != obj or (fields is not None and c.field not in fields)]
            return
        fields = saved_fields(original_node)
        race = [c for c in state.changes if c.obj == obj and (fields is None or c.field in fields)]
        if obj in state.copies:  # `review_phase.pk = None; ...; review_phase.save()` inserts a new row
            state.changes = [c for c in state.changes if c not in race]
            return
        if not race:
            return
        # One save of several changed fields is one race: one finding, at the first change.
        state.changes = [c for c in state.changes if c not in race]
        names = sorted({c.field: None for c in race})
        target = f"{obj}.{names[0]}" if len(names) == 1 else f"{obj}.{{{', '.join(names)}}}"
        self.report(race[0].node, target=target, field=race[0].field)


#: Queryset methods returning `(row, created)`: the row is locked when the queryset was.
_FETCH_OR_CREATE = frozenset({"get_or_create", "update_or_create"})


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"
