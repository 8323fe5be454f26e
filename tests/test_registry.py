"""The registry is complete and every rule is documented and exemplified."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

from review_patterns import ALL_RULES, checks
from review_patterns.checks import InternalError, ParseError
from review_patterns.core.rule import Bad, BonusCheck, Good, Rule
from review_patterns.report.docs import description


def test_every_rule_defined_in_the_checks_is_registered() -> None:
    defined = set()
    for info in pkgutil.walk_packages(checks.__path__, "review_patterns.checks."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.__module__ == info.name:
                if value.__dict__.get("code") or (issubclass(value, BonusCheck) and "name" in value.__dict__):
                    defined.add(value)
    assert defined == set(ALL_RULES) - {InternalError, ParseError}


def test_codes_are_unique_sorted_and_well_formed() -> None:
    codes = [rule.code for rule in ALL_RULES if rule.code]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)
    assert all(re.fullmatch(r"RP\d{3}", code) for code in codes)


def test_names_are_kebab_case_and_unique() -> None:
    names = [rule.name for rule in ALL_RULES] + [b for rule in ALL_RULES for b in rule.bonuses]
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names)
    assert len({rule.name for rule in ALL_RULES}) == len(ALL_RULES)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code or r.name)
def test_rule_is_documented_and_exemplified(rule: type[Rule]) -> None:
    text = description(rule)
    assert text.startswith("## What it does\n")
    assert "## Why is this bad?" in text or (issubclass(rule, BonusCheck) and "## Why is this good?" in text)
    if rule is InternalError:  # a crash of ours has no example code; test_engine provokes one
        return
    assert any(isinstance(e, Bad) for e in rule.examples)
    assert any(isinstance(e, Good) for e in rule.examples)
