"""Every example of every rule: a Bad one is flagged exactly at its marked lines, a Good one not at all."""

from __future__ import annotations

import pytest
from conftest import flagged, lint_example, markers

from review_patterns import ALL_RULES
from review_patterns.core.rule import Bad, BonusCheck, Example, Good, Rule

CASES = [
    pytest.param(rule, example, id=f"{rule.code or rule.name}-{type(example).__name__.lower()}{index}")
    for rule in ALL_RULES
    for index, example in enumerate(rule.examples)
]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example(rule: type[Rule], example: Example) -> None:
    result = lint_example(rule, example)
    if issubclass(rule, BonusCheck):
        awarded = [b.name for b in result.bonuses]
        assert awarded == ([rule.name] if isinstance(example, Good) else []), example.code
        return
    # Only the rule's own code counts: RP001 examples are the one place a parse error is expected.
    found = flagged(result)
    if isinstance(example, Bad):
        expected = markers(example.code)
        assert expected, "a Bad example needs at least one `# RPxxx` marker"
        assert {code for _, code in expected} == {rule.code}, "a Bad example marks only its own rule"
        assert found == expected, example.code
    else:
        assert not found, example.code
