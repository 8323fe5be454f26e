"""The type-hints bonus and its pre-check: a file with fewer than three `->` is not parsed for it."""

from __future__ import annotations

import textwrap

import pytest

from review_patterns import lint
from review_patterns.checks.clarity.type_hints import TypeHints
from review_patterns.syntax.files import SourceFile

SERVICE = """
    from decimal import Decimal

    from .models import Order


    class InvoiceService:
        def total(self, order: Order) -> Decimal:
            return sum((line.total for line in order.lines.all()), Decimal(0))

        def issue(self, order: Order, *, send: bool = True) -> "Invoice":
            ...


    def discount(total: Decimal, percent: int) -> Decimal:
        return total * (100 - percent) / 100
    """


def bonuses(code: str) -> list[str]:
    return [b.name for b in lint(textwrap.dedent(code), "billing/services.py", rules=(TypeHints,)).bonuses]


def test_three_annotated_functions_earn_it() -> None:
    assert bonuses(SERVICE) == ["type-hints"]


@pytest.mark.parametrize(
    "code",
    [
        SERVICE.replace(") -> Decimal:\n        return total", "):\n        return total"),  # two of three
        SERVICE.split("\n\n\n    def discount")[0],  # two functions
    ],
)
def test_two_annotated_returns_never_earn_it_and_the_file_is_not_parsed_for_it(code: str) -> None:
    source = textwrap.dedent(code)
    assert source.count("->") == 2
    assert not TypeHints.applies_to(SourceFile("billing/services.py", source))
    assert bonuses(code) == []


def test_arrows_in_strings_and_comments_only_let_the_file_be_parsed() -> None:
    code = """
        def render(template):  # -> str
            return template.format(arrow="->", other="->")
        """
    assert TypeHints.applies_to(SourceFile("billing/views.py", textwrap.dedent(code)))
    assert bonuses(code) == []
