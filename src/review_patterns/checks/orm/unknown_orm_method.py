"""RP102: a call to a model or queryset method that Django does not have."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.orm.helpers import FlowRule, is_manager_or_queryset
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite

#: Wrong name -> the method Django has. The first group is called on querysets and managers.
QUERYSET_TYPOS = {
    "get_or_create_or_update": "update_or_create",
    "update_or_insert": "update_or_create",
    "insert_or_update": "update_or_create",
    "create_or_update": "update_or_create",
    "get_or_insert": "get_or_create",
    "delete_all": "delete",
    "filter_by": "filter",
    "select_all_related": "select_related",
    "prefetch_all_related": "prefetch_related",
    "order": "order_by",
    "bulk_insert": "bulk_create",
}
INSTANCE_TYPOS = {
    "refresh_from_database": "refresh_from_db",
}


class UnknownOrmMethod(FlowRule):
    """## What it does
    Flags a call to a method that Django's model or queryset API does not have but that looks
    like one it has: `refresh_from_database()`, `filter_by()`, `order()`, `delete_all()`,
    `select_all_related()`, `update_or_insert()` and the like, on a model instance, a manager
    or a queryset.

    ## Why is this bad?
    The call raises `AttributeError` at run time, often on a path the tests do not take (an
    error handler, a rare branch), so the write that should follow it never happens. The
    message names the method Django has. A method of that name defined by a class of the
    project (a custom manager or queryset) is not flagged.

    Measured precision: no finding on 15 real projects (benchmarks/precision).
    """

    reads = ("method_names",)

    code = "RP102"
    name = "unknown-orm-method"
    message = "`.{wrong}()` is not a Django {kind} method; use `.{right}()`"
    severity = Severity.BLOCKER
    penalty = 5
    dimension = Dimension.DATA_INTEGRITY
    requires = tuple(f".{name}(" for name in (*QUERYSET_TYPOS, *INSTANCE_TYPOS))
    fixes = "Safe: `review-patterns fix` renames the call to the method Django has; nothing else changes."
    examples = (
        Bad("""
            def upvote(request, pk):
                review = Review.objects.get(pk=pk)
                review.upvotes = F("upvotes") + 1
                review.save()
                review.refresh_from_database()  # RP102
                return JsonResponse({"upvotes": review.upvotes})
            """),
        Good("""
            def upvote(request, pk):
                review = Review.objects.get(pk=pk)
                review.upvotes = F("upvotes") + 1
                review.save()
                review.refresh_from_db()
                return JsonResponse({"upvotes": review.upvotes})
            """),
        Bad("""
            from rest_framework import viewsets

            class ReviewViewSet(viewsets.ModelViewSet):
                serializer_class = ReviewSerializer

                def get_queryset(self):
                    reviews = Review.objects.select_all_related("product")  # RP102
                    return reviews.filter_by(product__category=self.kwargs["category"]).order("-upvotes")  # RP102, RP102

                def perform_destroy(self, instance):
                    self.get_queryset().filter(author=instance.author).delete_all()  # RP102
            """),
        Bad("""
            def sync_customer(user, data):
                Customer.objects.update_or_insert(user=user, defaults=data)  # RP102
                Customer.objects.get_or_create_or_update(user=user, defaults=data)  # RP102
                Product.objects.prefetch_all_related("reviews").order("name")  # RP102, RP102
            """),
        Good("""
            from sqlalchemy.orm import Session

            def latest(session: Session, name):
                return session.query(User).filter_by(name=name).order(User.id).first()

            def place(self, basket):
                self.order(basket)
                return basket.order("shipping")
            """),
        Good(
            """
            from django.db import models

            class ReviewQuerySet(models.QuerySet):
                def filter_by(self, **lookups):
                    return self.filter(**lookups)

            class Review(models.Model):
                objects = ReviewQuerySet.as_manager()

            def top(product):
                return Review.objects.filter_by(product=product)
            """,
            path="shop/models.py",
        ),
        Good(
            """
            def top(product):
                return Review.objects.filter(product=product).order_by("-upvotes")
            """,
            path="shop/views.py",
            files={
                "shop/managers.py": """
                from django.db import models

                class ReviewManager(models.Manager):
                    def delete_all(self):
                        return self.get_queryset().delete()
            """
            },
        ),
        Good(
            """
            def clear(product):
                Review.objects.filter(product=product).delete_all()
            """,
            path="shop/views.py",
            files={
                "shop/managers.py": """
                from django.db import models

                class ReviewQuerySet(models.QuerySet):
                    def delete_all(self):
                        return self.delete()
            """
            },
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.defined: set[str] = set()  # methods defined in this file (the context may not hold it)
        self.depth = 0
        self.calls: list[tuple[cst.Name, str, str, str]] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.depth:
            self.defined.add(node.name.value)
        self.depth += 1
        super().visit_FunctionDef(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1
        super().leave_FunctionDef(original_node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        wrong = func.attr.value
        if wrong in INSTANCE_TYPOS:
            self.calls.append((func.attr, wrong, INSTANCE_TYPOS[wrong], "model"))
        elif wrong in QUERYSET_TYPOS and is_manager_or_queryset(func.value, self.queryset_names()):
            self.calls.append((func.attr, wrong, QUERYSET_TYPOS[wrong], "queryset"))

    def queryset_names(self) -> set[str]:
        """Local names bound to a manager or queryset, in the function being visited."""
        names: set[str] = set()
        for name in self.local_names():
            kind, value = self.bound(name) or ("other", None)
            if kind == "assign" and value is not None and is_manager_or_queryset(value, names):
                names.add(name)
        return names

    def leave_Module(self, original_node: cst.Module) -> None:
        # Reported at the end: the file may define the method below the call.
        known = self.context.method_names | self.defined
        for node, wrong, right, kind in self.calls:
            if wrong not in known:
                rename = Rewrite(safe=True, replace=((node, cst.Name(right)),), description=f"call `{right}`")
                self.report(node, rename, wrong=wrong, right=right, kind=kind)
