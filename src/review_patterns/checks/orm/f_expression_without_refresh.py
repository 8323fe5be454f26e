"""RP101: an object used again after an F() update without `refresh_from_db()`."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from review_patterns.checks.orm.helpers import (
    REFRESHES,
    SAVES,
    FlowRule,
    Frame,
    Path,
    is_django_f,
    method_receiver,
    reachable,
    refreshed_fields,
)
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax.names import call_name, dotted_name

#: Calls that look at an object without reading its counters (`redirect` reads its URL).
_HARMLESS_CALLS = frozenset(
    {"isinstance", "issubclass", "type", "id", "hasattr", "callable", "getattr", "setattr", "redirect"}
)
_KEY_FIELDS = frozenset({"id", "pk"})


@dataclass
class _Stale:
    """A `save()` or queryset `update()` after which `key`'s `fields` are stale."""

    key: str
    fields: set[str]
    node: cst.Call
    path: Path
    update: bool  #: a queryset update (the object holds old values) rather than a save (it holds expressions)


@dataclass
class _State:
    #: key -> fields assigned an F() expression and not reloaded since
    expressions: dict[str, set[str]] = field(default_factory=dict)
    stale: list[_Stale] = field(default_factory=list)


class FExpressionWithoutRefresh(FlowRule):
    """## What it does
    Flags a `save()` of an object whose field was assigned an `F()` expression, or a queryset
    `update()` with `F()` filtered to an instance the function holds, when that object is used
    again without `refresh_from_db()`.

    ## Why is this bad?
    After `review.upvotes = F("upvotes") + 1; review.save()`, the in-memory attribute still
    holds the expression, not the new number: a serializer or template shows the expression or
    a stale value, and a second `save()` applies the increment twice. After
    `Review.objects.filter(pk=review.pk).update(upvotes=F("upvotes") + 1)` the instance still
    holds the old value. A use is a read of the updated field, passing the object to a call,
    putting it in a container, returning or yielding it, or saving it again. After a `save()`,
    `self`, parameters and objects reached through another one (`post = instance.post`, the
    instance `serializer.save()` returns) outlive the function and count as used. `refresh_from_db(fields=[...])` refreshes only the fields
    it names.

    ## Known problems
    The function is read in source order: a use in a later loop iteration is not seen. A
    queryset `update()` is flagged only when the function itself uses the instance afterwards,
    since `type(self).objects.filter(pk=self.pk).update(n=F("n") + 1)` is the usual way to
    count without touching the instance.
    """

    code = "RP101"
    name = "f-expression-without-refresh"
    message = "`{target}` still holds {held} after `{call}`; call `{obj}.refresh_from_db()` before using it again"
    severity = Severity.BLOCKER
    penalty = 5
    dimension = Dimension.DATA_INTEGRITY
    requires = ("django",)
    examples = (
        Bad("""
            from django.db.models import F
            from rest_framework.decorators import api_view
            from rest_framework.response import Response

            @api_view(["POST"])
            def upvote(request, pk):
                review = Review.objects.get(pk=pk)
                review.upvotes = F("upvotes") + 1
                review.save(update_fields=["upvotes"])  # RP101
                return Response(ReviewSerializer(review).data)
            """),
        Good("""
            from django.db.models import F
            from rest_framework.decorators import api_view
            from rest_framework.response import Response

            @api_view(["POST"])
            def upvote(request, pk):
                review = Review.objects.get(pk=pk)
                review.upvotes = F("upvotes") + 1
                review.save(update_fields=["upvotes"])
                review.refresh_from_db(fields=["upvotes"])
                return Response(ReviewSerializer(review).data)
            """),
        Bad("""
            from django.db.models import F as Fx

            def upvote(request, pk):
                review = Review.objects.get(pk=pk)
                review.upvotes = Fx("upvotes") + 1
                review.save()  # RP101
                review.refresh_from_db(fields=["body"])
                return JsonResponse({"upvotes": review.upvotes})
            """),
        Bad(
            """
            from django.db import models
            from django.db.models.functions import Greatest

            class Product(models.Model):
                stock = models.IntegerField(default=0)

                def sell(self, quantity):
                    self.stock = Greatest(models.F("stock") - quantity, 0)
                    self.save(update_fields=["stock"])  # RP101
            """,
            path="shop/models.py",
        ),
        Bad("""
            import django.db.models
            from django.db.models import Case, Value, When

            def reward(customer):
                customer.loyalty_points = Case(
                    When(is_vip=True, then=django.db.models.F("loyalty_points") + 10),
                    default=django.db.models.F("loyalty_points") + 1,
                )
                customer.save()  # RP101
            """),
        Bad(
            """
            from django.db.models import F
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            @receiver(post_save, sender=Comment)
            def count_comment(sender, instance, created, **kwargs):
                post = instance.post
                post.comment_count = F("comment_count") + 1
                post.save(update_fields=["comment_count"])  # RP101
            """,
            path="blog/signals.py",
        ),
        Bad("""
            from django.db.models import F
            from rest_framework.response import Response

            def upvote(request, pk):
                review = get_object_or_404(Review, pk=pk)
                Review.objects.filter(id=review.id).update(upvotes=F("upvotes") + 1)  # RP101
                return Response(ReviewSerializer(review).data)
            """),
        Bad("""
            from django.db.models import F

            def restock(product, quantity):
                product.stock = F("stock") + quantity
                product.save()  # RP101
                product.stock = F("stock") - 1
                product.save()  # RP101
            """),
        Good("""
            from django.db.models import F

            def count_view(pk):
                product = Product.objects.get(pk=pk)
                product.view_count = F("view_count") + 1
                product.save(update_fields=["view_count"])
            """),
        Good("""
            from django.db.models import F

            def count_view(request, pk):
                product = Product.objects.get(pk=pk)
                product.view_count = F("view_count") + 1
                product.save(update_fields=["view_count"])
                return redirect("product-detail", pk=product.pk)
            """),
        Good("""
            from django.db.models import F

            def count_view(request, pk):
                product = Product.objects.get(pk=pk)
                product.view_count = F("view_count") + 1
                product.save(update_fields=["view_count"])
                return render(request, "shop/product.html", {"name": product.name, "id": product.id})
            """),
        Good("""
            from sympy import F  # not Django's F

            def bump(counter):
                counter.value = F("value") + 1
                counter.save()
                return counter
            """),
        Good("""
            from django.db.models import F

            def upvote(review):
                Review.objects.filter(pk=review.pk).update(upvotes=F("upvotes") + 1)
                review.refresh_from_db()
                return review

            def bump_all(product):
                Review.objects.filter(product=product).update(upvotes=F("upvotes") + 1)
                return product
            """),
        Good("""
            from django.db.models import F

            def upvote(request, pk):
                review = Review.objects.get(pk=pk)
                if request.user.is_staff:
                    review.upvotes = F("upvotes") + 10
                    review.save()
                    return HttpResponse(status=204)
                else:
                    return render(request, "review.html", {"review": review})
            """),
    )

    def setup(self) -> None:
        super().setup()
        self.states: list[_State] = [_State()]
        self.f_calls = 0  # Django F() calls seen so far: an expression holds one if the count grew
        self.f_before: dict[int, int] = {}
        self.f_args: set[int] = set()
        self.calls: list[cst.Call] = []
        self.targets: set[int] = set()  # attributes assigned to, which are not reads

    @property
    def state(self) -> _State:
        return self.states[-1]

    # -- scopes --

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self.states.append(_State())

    def leave_frame(self, frame: Frame) -> None:
        for stale in list(self.state.stale):
            if self.left_for_later(stale):
                self.confirm(stale)
        self.states.pop()

    def left_for_later(self, stale: _Stale) -> bool:
        """Whether the object keeps the expression after the function: it outlives it. A queryset
        update (the idiom for counters on a related or own instance) needs a use in the function."""
        return not stale.update and self.outlives(stale.key)

    def bind(self, name: str, kind: str, value: cst.BaseExpression | None) -> None:
        # A new object under the old name: what was known of the old one no longer applies.
        state = self.state
        for key in [k for k in state.expressions if k == name or k.startswith(name + ".")]:
            del state.expressions[key]
        state.stale = [s for s in state.stale if not (s.key == name or s.key.startswith(name + "."))]
        super().bind(name, kind, value)

    def leave_Return(self, original_node: cst.Return) -> None:
        self.close(outlive=True)

    def leave_Raise(self, original_node: cst.Raise) -> None:
        self.close(outlive=False)

    def close(self, outlive: bool) -> None:
        """Nothing after a return or raise runs: the stale objects before it in its block are done."""
        here = self.frame.path
        for stale in list(self.state.stale):
            if stale.path[: len(here)] == here:
                if outlive and self.left_for_later(stale):
                    self.confirm(stale)
                else:
                    self.state.stale.remove(stale)

    # -- F() expressions --

    def visit_Call(self, node: cst.Call) -> None:
        if is_django_f(node, self.imports):
            self.f_calls += 1
        self.calls.append(node)

    def visit_Arg(self, node: cst.Arg) -> None:
        self.f_before[id(node)] = self.f_calls
        value = dotted_name(node.value)
        if value is None or not self.calls or not any(a is node for a in self.calls[-1].args):
            return
        if call_name(self.calls[-1]) not in _HARMLESS_CALLS:
            self.use(value)

    def leave_Arg(self, original_node: cst.Arg) -> None:
        if self.f_calls > self.f_before.pop(id(original_node)):
            self.f_args.add(id(original_node))

    def visit_Assign(self, node: cst.Assign) -> None:
        self.f_before[id(node)] = self.f_calls
        self.targets.update(id(t.target) for t in node.targets if isinstance(t.target, cst.Attribute))

    def leave_Assign(self, original_node: cst.Assign) -> None:
        has_f = self.f_calls > self.f_before.pop(id(original_node))
        value = dotted_name(original_node.value)
        for target in original_node.targets:
            if isinstance(target.target, cst.Attribute):
                obj = dotted_name(target.target.value)
                if obj is None:
                    continue
                attribute = target.target.attr.value
                fields = self.state.expressions.setdefault(obj, set())
                if has_f:
                    fields.add(attribute)
                else:
                    fields.discard(attribute)
                    self.overwritten(obj, attribute)
            if value is not None and isinstance(target.target, (cst.Attribute, cst.Subscript)):
                self.use(value)  # stored where it outlives this statement
        super().leave_Assign(original_node)

    # -- saves, refreshes and uses --

    def leave_Call(self, original_node: cst.Call) -> None:
        self.calls.pop()
        name = call_name(original_node)
        if name in SAVES:
            self.leave_save(original_node)
        elif name in REFRESHES:
            self.leave_refresh(original_node)
        elif name == "update":
            self.leave_update(original_node)

    def leave_save(self, node: cst.Call) -> None:
        obj = method_receiver(node)
        if obj is None:
            return
        self.use(obj)  # saving again writes the expression, or the stale values, once more
        fields = self.state.expressions.get(obj)
        if fields:
            self.state.stale.append(_Stale(obj, set(fields), node, self.frame.path, update=False))

    def leave_refresh(self, node: cst.Call) -> None:
        obj = method_receiver(node)
        if obj is None:
            return
        fields = refreshed_fields(node)
        state = self.state
        if fields is None:
            state.expressions.pop(obj, None)
        else:
            state.expressions.get(obj, set()).difference_update(fields)
        for stale in list(state.stale):
            if stale.key == obj:
                stale.fields = set() if fields is None else stale.fields - fields
                if not stale.fields:
                    state.stale.remove(stale)

    def leave_update(self, node: cst.Call) -> None:
        """`X.objects.filter(id=obj.id).update(n=F("n") + 1)`: `obj` now holds old values."""
        func = node.func
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Call):
            return
        if call_name(func.value) != "filter":
            return
        fields = {a.keyword.value for a in node.args if a.keyword is not None and id(a) in self.f_args}
        if not fields:
            return
        for arg in func.value.args:
            if (
                arg.keyword is not None
                and arg.keyword.value in _KEY_FIELDS
                and isinstance(arg.value, cst.Attribute)
                and arg.value.attr.value in _KEY_FIELDS
                and (obj := dotted_name(arg.value.value)) is not None
            ):
                self.state.stale.append(_Stale(obj, fields, node, self.frame.path, update=True))
                return

    def overwritten(self, obj: str, attribute: str) -> None:
        """A plain value was assigned: the field no longer holds an expression or a stale value."""
        for stale in list(self.state.stale):
            if stale.key == obj and attribute in stale.fields:
                stale.fields.discard(attribute)
                if not stale.fields:
                    self.state.stale.remove(stale)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if id(node) in self.targets:
            return
        obj = dotted_name(node.value)
        if obj is not None:
            self.use(obj, node.attr.value)

    def visit_Element(self, node: cst.Element) -> None:
        if (obj := dotted_name(node.value)) is not None:
            self.use(obj)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if (obj := dotted_name(node.value)) is not None:
            self.use(obj)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and (obj := dotted_name(node.value)) is not None:
            self.use(obj)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression) and (obj := dotted_name(node.value)) is not None:
            self.use(obj)

    def use(self, obj: str, attribute: str | None = None) -> None:
        """`obj` (or its `attribute`) is used here: every stale state of it that reaches here is a finding."""
        if not self.state.stale:
            return
        here = self.frame.path
        for stale in list(self.state.stale):
            if stale.key == obj and (attribute is None or attribute in stale.fields) and reachable(stale.path, here):
                self.confirm(stale)

    def confirm(self, stale: _Stale) -> None:
        self.state.stale.remove(stale)
        fields = sorted(stale.fields)
        target = f"{stale.key}.{fields[0]}" if len(fields) == 1 else f"{stale.key}.{{{', '.join(fields)}}}"
        if stale.update:
            held, call = "the old value", "update()"
        else:
            held, call = ("an F() expression" if len(fields) == 1 else "F() expressions"), f"{stale.key}.save()"
        self.report(stale.node, target=target, held=held, call=call, obj=stale.key)
