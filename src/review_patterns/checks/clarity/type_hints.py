"""Bonus type-hints: a file whose functions are annotated."""

from __future__ import annotations

import libcst as cst

from review_patterns.core.model import Dimension
from review_patterns.core.rule import Bad, BonusCheck, Good
from review_patterns.syntax.files import SourceFile


def fully_annotated(node: cst.FunctionDef, in_class: bool) -> bool:
    """Every parameter (but a method's `self`/`cls`) and the return are annotated."""
    params = node.params
    positional = [*params.posonly_params, *params.params]
    if in_class and positional and positional[0].name.value in ("self", "cls", "mcs"):
        positional = positional[1:]
    every = [*positional, *params.kwonly_params]
    every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return node.returns is not None and all(p.annotation is not None for p in every)


class TypeHints(BonusCheck):
    """## What it does
    Awards +1 to a file in which at least 90% of the functions (and at least three)
    annotate every parameter other than `self`/`cls`, and their return.

    ## Why is this good?
    Annotated services and helpers tell the reviewer what flows where, and let a type
    checker catch the `None` that would otherwise reach production.
    """

    name = "type-hints"
    dimension = Dimension.CODE_CLARITY
    bonuses = {"type-hints": 1}
    requires = ("def ",)
    examples = (
        Good("""
            from decimal import Decimal

            def order_total(order: "Order") -> Decimal:
                return sum((line.total for line in order.lines.all()), Decimal(0))

            def apply_discount(total: Decimal, percent: int) -> Decimal:
                return total * (100 - percent) / 100

            class InvoiceService:
                def issue(self, order: "Order", *, send: bool = True) -> "Invoice":
                    ...
            """),
        Bad("""
            def order_total(order):
                return sum(line.total for line in order.lines.all())

            def apply_discount(total: Decimal, percent: int) -> Decimal:
                return total * (100 - percent) / 100

            def issue(order: "Order") -> "Invoice":
                ...
            """),
    )

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        """Three annotated returns at least: the bonus needs three functions, nine in ten annotated."""
        return super().applies_to(file) and file.source.count("->") >= 3

    def setup(self) -> None:
        self.total = 0
        self.annotated = 0
        self.classes: list[bool] = []  # for each enclosing scope: is it a class body?
        self.module: cst.Module | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(True)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.total += 1
        self.annotated += fully_annotated(node, bool(self.classes) and self.classes[-1])
        self.classes.append(False)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.classes.pop()

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.total >= 3 and self.annotated >= 0.9 * self.total:
            self.award(original_node, "type-hints", f"{self.annotated} of {self.total} functions fully annotated")
