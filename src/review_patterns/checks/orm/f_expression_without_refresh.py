"""RP101: an object used again after an F() update without `refresh_from_db()`."""

from __future__ import annotations

import re
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
    saved_fields,
)
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.names import call_name, dotted_name, truth_tested

#: Calls that look at an object without reading its counters (`redirect` reads its URL).
_HARMLESS_CALLS = frozenset(
    {"isinstance", "issubclass", "type", "id", "hasattr", "callable", "getattr", "setattr", "redirect"}
)
_KEY_FIELDS = frozenset({"id", "pk"})
#: A predicate's name (`may_moderate_topic`, `is_visible`): called in a test, it answers yes or no about
#: the object, so the stale value reaches neither the client nor the database.
_PREDICATE = re.compile(r"^_*(is|has|can|may|should|must)_")
#: Keyword arguments that hand an object on to be read (a serializer's or form's `instance=`).
_READING_KEYWORDS = frozenset({"instance", "obj", "object"})


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


#: A call of `F` (`F(`, `models.F (`, across a line break) or `F` imported under another name
#: (`import F as Field`): how a file that calls Django's `F` writes it ("F" in text is not enough).
#: The letter is found first, then the word boundary behind it: a pattern that starts with `\b` is
#: tried at every position.
_NAMES_F = re.compile(r"F(?<=\bF)(?:(?:[ \t\f\r\n]|\\[\r\n])*\(|[ \t]+as\b)")


class FExpressionWithoutRefresh(FlowRule):
    """## What it does
    Flags a `save()` of an object whose field was assigned an `F()` expression, or a queryset
    `update()` with `F()` filtered to an instance the function holds, when the function then uses
    that object again without `refresh_from_db()`.

    ## Why is this bad?
    After `review.upvotes = F("upvotes") + 1; review.save()`, the in-memory attribute still
    holds the expression, not the new number: a serializer or template shows the expression or
    a stale value, and a second `save()` applies the increment twice. After
    `Review.objects.filter(pk=review.pk).update(upvotes=F("upvotes") + 1)` the instance still
    holds the old value. A use is a read of the updated field, handing the object to be read
    (a call such as a serializer, a container or template context), returning or yielding it,
    or saving it again with that field (`update_fields` that leaves it out does not write it).
    An object that merely outlives the function (`self`, a parameter, `instance.post` in a
    signal) or is passed on as a foreign key (`Notification.objects.create(user=user)`,
    `comment.post = post`) is not used; the instance `serializer.save()` returns is, since DRF
    renders it after `perform_update()`. `refresh_from_db(fields=[...])` refreshes only the
    fields it names.

    Depends on the Django version: from Django 6.0, `save()` reloads the fields it wrote as
    expressions, so the `save()` form is flagged only for projects that may run an older
    release; the queryset `update()` form is flagged on every version. The version is the
    project's own (its requirements, lock files or the `django-version` setting).

    ## Known problems
    The function is read in source order: a use in a later loop iteration is not seen. What a
    called function does with the object is not followed: passing it positionally counts as a use,
    except to a predicate whose answer a condition tests (`if not may_moderate(user, topic):`,
    `if is_visible(post)`): it answers yes or no, and the stale value reaches neither the client
    nor the database.

    Measured precision: no finding on 15 real projects (benchmarks/precision); the 3 it had
    before (a user or profile saved by a counter idiom and never read again) are not uses. On the
    held-out projects, 0 of 2 as found (tendenci: a topic handed to a permission predicate), none
    after the fix.
    """

    reads = ("django_version",)

    code = "RP101"
    name = "f-expression-without-refresh"
    message = "`{target}` still holds {held} after `{call}`; call `{obj}.refresh_from_db()` before using it again"
    severity = Severity.BLOCKER
    penalty = 5
    dimension = Dimension.DATA_INTEGRITY
    requires = ("django",)
    fixes = (
        "Safe: the fix adds `obj.refresh_from_db(fields=[...])` on the line after the `save()` or "
        "`update()`, naming the fields that hold an F() expression or an old value, so the object "
        "reads what the database holds; it costs one query. Not offered when that call is in a "
        "`return`, a condition or on a compound statement's line."
    )
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
                    return self.stock > 0
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
                send_points_email(customer)
            """),
        Good(
            """
            from django.db.models import F
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            @receiver(post_save, sender=Comment)
            def count_comment(sender, instance, created, **kwargs):
                # `post` outlives the handler, but nothing reads it again.
                post = instance.post
                post.comment_count = F("comment_count") + 1
                post.save(update_fields=["comment_count"])

            def notify(user, verb):
                notification = Notification.objects.create(user=user, verb=verb)  # a foreign key
                user.unread_notifications = F("unread_notifications") + 1
                user.save(update_fields=["unread_notifications"])
                return notification
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
                product.restocked_at = timezone.now()
                product.save()  # writes `stock = stock + quantity` a second time
            """),
        Good(
            """
            from django.db.models import F

            def upvote(request, pk):
                review = Review.objects.get(pk=pk)
                review.upvotes = F("upvotes") + 1
                review.save(update_fields=["upvotes"])  # Django 6.0 reloads `upvotes`
                return Response(ReviewSerializer(review).data)
            """,
            files={"requirements.txt": "Django==6.0.1\n"},
        ),
        Bad(
            """
            from django.db.models import F

            def upvote(request, pk):
                review = get_object_or_404(Review, pk=pk)
                Review.objects.filter(id=review.id).update(upvotes=F("upvotes") + 1)  # RP101
                return Response(ReviewSerializer(review).data)
            """,
            files={"requirements.txt": "Django==6.0.1\n"},
        ),
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
        Good("""
            from django.core.exceptions import PermissionDenied
            from django.db.models import F

            class TopicView(DetailView):
                def get_queryset(self):
                    Topic.objects.filter(id=self.topic.id).update(views=F("views") + 1)
                    if not perms.may_moderate_topic(self.request.user, self.topic):
                        raise PermissionDenied
                    return self.topic.posts.select_related("user")
            """),
        Bad("""
            from django.db.models import F

            def view_topic(request, topic):
                Topic.objects.filter(id=topic.id).update(views=F("views") + 1)  # RP101
                if publish_stats(request.user, topic):
                    return redirect("topics")
                return HttpResponse(status=204)

            def open_topic(request, topic):
                Topic.objects.filter(id=topic.id).update(views=F("views") + 1)  # RP101
                allowed = can_view(request.user, topic)
                return JsonResponse({"allowed": allowed})
            """),
    )

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        """Also: the file calls `F` (or imports it under another name); every finding needs an `F()` call."""
        return super().applies_to(file) and _NAMES_F.search(file.source) is not None

    def setup(self) -> None:
        super().setup()
        self.states: list[_State] = [_State()]
        self.f_calls = 0  # Django F() calls seen so far: an expression holds one if the count grew
        self.f_before: dict[int, int] = {}
        self.f_args: set[int] = set()
        self.calls: list[cst.Call] = []
        self.targets: set[int] = set()  # attributes assigned to, which are not reads
        self.tested: set[int] = set()  # calls whose result a condition tests for truth
        version = self.context.django_version
        self.refreshes_on_save = version is not None and version.at_least(6, 0)

    @property
    def state(self) -> _State:
        return self.states[-1]

    # -- scopes --

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self.states.append(_State())

    def leave_frame(self, frame: Frame) -> None:
        for stale in list(self.state.stale):
            if self.rendered_later(stale.key):
                self.confirm(stale)
        self.states.pop()

    def rendered_later(self, key: str) -> bool:
        """Whether the object is the instance `serializer.save()` (or `form.save()`) returned: the
        serializer keeps it and DRF renders `serializer.data` from it after `perform_update()`.
        Any other object that merely outlives the function is not used by it."""
        kind, value = self.bound(key) or ("other", None)
        return (
            kind == "assign"
            and isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and call_name(value) in SAVES
        )

    def forget(self, name: str) -> None:
        # A new object under the old name: what was known of the old one no longer applies.
        state = self.state
        for key in [k for k in state.expressions if k == name or k.startswith(name + ".")]:
            del state.expressions[key]
        state.stale = [s for s in state.stale if not (s.key == name or s.key.startswith(name + "."))]

    def leave_Return(self, original_node: cst.Return) -> None:
        self.close(outlive=True)

    def leave_Raise(self, original_node: cst.Raise) -> None:
        self.close(outlive=False)

    def close(self, outlive: bool) -> None:
        """Nothing after a return or raise runs: the stale objects before it in its block are done."""
        here = self.frame.path
        for stale in list(self.state.stale):
            if stale.path[: len(here)] == here:
                if outlive and self.rendered_later(stale.key):
                    self.confirm(stale)
                else:
                    self.state.stale.remove(stale)

    def visit_If(self, node: cst.If) -> None:
        super().visit_If(node)
        self.tested.update(id(call) for call in truth_tested(node.test))

    def visit_While(self, node: cst.While) -> None:
        self.tested.update(id(call) for call in truth_tested(node.test))

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self.tested.update(id(call) for call in truth_tested(node.test))

    # -- F() expressions --

    def visit_Call(self, node: cst.Call) -> None:
        if is_django_f(node, self.semantic):
            self.f_calls += 1
        self.calls.append(node)

    def visit_Arg(self, node: cst.Arg) -> None:
        self.f_before[id(node)] = self.f_calls
        value = dotted_name(node.value)
        if value is None or not self.calls or not any(a is node for a in self.calls[-1].args):
            return
        if node.keyword is not None and node.keyword.value not in _READING_KEYWORDS:
            return  # `Notification.objects.create(user=user)`: passed on as a foreign key, not read
        name = call_name(self.calls[-1])
        if name in _HARMLESS_CALLS or (id(self.calls[-1]) in self.tested and _PREDICATE.match(name or "")):
            return
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
                self.overwritten(obj, attribute)  # the stale value is replaced, never written again
            if value is not None and isinstance(target.target, cst.Subscript):
                self.use(value)  # put in a container (a template context); `x.fk = obj` only links it
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
        # Saving again writes the expression (or the stale value) once more, unless
        # `update_fields` leaves the field out.
        self.use(obj, fields=saved_fields(node))
        if self.refreshes_on_save:
            self.state.expressions.pop(obj, None)  # Django 6.0 reloads the fields it wrote as expressions
            return
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

    def use(self, obj: str, attribute: str | None = None, fields: frozenset[str] | None = None) -> None:
        """`obj` (or its `attribute`, or those of its `fields`) is used here: every stale state of
        it that reaches here is a finding."""
        if not self.state.stale:
            return
        here = self.frame.path
        for stale in list(self.state.stale):
            if (
                stale.key == obj
                and (attribute is None or attribute in stale.fields)
                and (fields is None or fields & stale.fields)
                and reachable(stale.path, here)
            ):
                self.confirm(stale)

    def confirm(self, stale: _Stale) -> None:
        self.state.stale.remove(stale)
        fields = sorted(stale.fields)
        target = f"{stale.key}.{fields[0]}" if len(fields) == 1 else f"{stale.key}.{{{', '.join(fields)}}}"
        if stale.update:
            held, call = "the old value", "update()"
        else:
            held, call = ("an F() expression" if len(fields) == 1 else "F() expressions"), f"{stale.key}.save()"
        fields_list = ", ".join(f'"{name}"' for name in fields)
        refresh = Rewrite(
            safe=True,
            after=((stale.node, f"{stale.key}.refresh_from_db(fields=[{fields_list}])"),),
            description=f"reload {', '.join(fields)} after `{call}`",
        )
        self.report(stale.node, refresh, target=target, held=held, call=call, obj=stale.key)
