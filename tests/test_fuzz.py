"""Fuzzing the engine: no exception escapes `lint()` and no rule crashes (RP002), on generated
programs (hypothesmith) and on mutations of the rules' own examples. `pytest -m fuzz` runs thousands."""

from __future__ import annotations

import random

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import review_patterns
from review_patterns import ALL_RULES, FileResult, ProjectContext

SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
PATHS = ("app/views.py", "app/models.py", "app/migrations/0002_auto.py", "app/services.py", "app/tests/test_x.py")
EXAMPLES = [example for rule in ALL_RULES for example in rule.examples]


def assert_clean(result: FileResult) -> None:
    crashed = [f.message for f in result.findings if f.code == "RP002"]
    assert not crashed, crashed


def check_program(source: str, path: str) -> None:
    assert_clean(review_patterns.lint(source, path))


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW_OK, derandomize=True)
@given(source=hypothesmith.from_grammar(), path=st.sampled_from(PATHS))
def test_generated_programs(source: str, path: str) -> None:
    check_program(source, path)


@pytest.mark.fuzz
@settings(max_examples=3000, deadline=None, suppress_health_check=SLOW_OK)
@given(source=hypothesmith.from_grammar() | hypothesmith.from_node(), path=st.sampled_from(PATHS))
def test_generated_programs_at_length(source: str, path: str) -> None:
    check_program(source, path)


def mutations(code: str, rng: random.Random, count: int) -> list[str]:
    """`code` with a line dropped, duplicated or cut short, brackets and names swapped, text spliced in."""
    lines = code.splitlines(keepends=True)
    pieces = ["(", ")", "[", "]", ":", ",", ".", " = ", "None", "self", "\n", "    ", "await ", "*", '"', "#"]
    found = []
    for _ in range(count):
        mutated = list(lines)
        n = rng.randrange(len(mutated))
        choice = rng.randrange(5)
        if choice == 0:
            del mutated[n]
        elif choice == 1:
            mutated.insert(n, mutated[n])
        elif choice == 2:
            mutated[n] = mutated[n][: rng.randrange(len(mutated[n]) + 1)] + "\n"
        elif choice == 3:
            at = rng.randrange(len(mutated[n]) + 1)
            mutated[n] = mutated[n][:at] + rng.choice(pieces) + mutated[n][at:]
        else:
            other = rng.randrange(len(mutated))
            mutated[n], mutated[other] = mutated[other], mutated[n]
        found.append("".join(mutated))
    return found


def run_mutations(per_example: int, seed: int) -> None:
    rng = random.Random(seed)
    for example in EXAMPLES:
        context = ProjectContext.from_sources({**example.files, example.path: example.code})
        for source in mutations(example.code, rng, per_example):
            assert_clean(review_patterns.lint(source, example.path, context))


def test_mutated_examples() -> None:
    run_mutations(per_example=2, seed=0)


@pytest.mark.fuzz
def test_mutated_examples_at_length() -> None:
    run_mutations(per_example=40, seed=1)
