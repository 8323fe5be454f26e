"""The rules: `RULES`, what `rules.json` says of each (generated from `registry.ALL_RULES` by
`review-patterns docs`), in registry order. A rule's module is imported when a file is analysed
with it; `ALL_RULES` (the classes) imports them all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from review_patterns.core.rule_info import RuleEntry, read_entries

RULES_FILE = Path(__file__).with_name("rules.json")
RULES: tuple[RuleEntry, ...] = read_entries(RULES_FILE)


def __getattr__(name: str) -> Any:
    """`ALL_RULES`, `ParseError` and `InternalError`, from the registry on first use."""
    if name in ("ALL_RULES", "InternalError", "ParseError"):
        from review_patterns.checks import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'review_patterns.checks' has no attribute {name!r}")
