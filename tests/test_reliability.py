"""One bad file never costs the run: deep code, crashes in the engine, limits (issue 16)."""

from __future__ import annotations

import ast
from collections.abc import Callable

import libcst as cst
import pytest
from sample_rules import SaveInLoop

import review_patterns
from review_patterns import ALL_RULES, FileResult
from review_patterns.core import engine
from review_patterns.core.engine import with_deep_stack
from review_patterns.core.rule import Rule
from review_patterns.syntax.parsing import MAX_NESTING, check_source, nesting_depth, parse_expression

VIEW = """\
from blog.models import Post


def publish_all(request):
    for post in Post.objects.filter(draft=True):
        post.draft = False
        post.save()
"""

#: Valid Python that nests one level per repetition, in each way LibCST recurses.
DEEP: dict[str, Callable[[int], str]] = {
    "sum": lambda n: "total = " + " + ".join(["a"] * n),
    "not": lambda n: "flag = " + "not " * n + "a",
    "unary minus": lambda n: "value = " + "-" * n + "a",
    "attributes": lambda n: "value = request" + ".user" * n,
    "calls": lambda n: "value = factory" + "()" * n,
    "strings": lambda n: "text = (" + " ".join(["'a'"] * n) + ")",
    "and": lambda n: "ok = " + " and ".join(["a"] * n),
    "elif": lambda n: "if a:\n    pass\n" + "elif a:\n    pass\n" * n,
    "lambda": lambda n: "make = " + "lambda: " * n + "1",
    "conditional": lambda n: "value = " + "a if b else " * n + "c",
}


def lint(source: str, rules: tuple[type[Rule], ...] = (SaveInLoop,)) -> FileResult:
    return review_patterns.lint(source, "blog/views.py", rules=rules)


def codes(result: FileResult) -> list[str]:
    return [f.code for f in result.findings]


@pytest.mark.parametrize("kind", DEEP)
def test_deep_valid_code_is_analysed_and_keeps_its_findings(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    retried = []

    def spy(work: Callable[[], FileResult]) -> FileResult:
        retried.append(True)
        return with_deep_stack(work)

    monkeypatch.setattr(engine, "with_deep_stack", spy)
    result = lint(VIEW + DEEP[kind](500) + "\n")
    assert codes(result) == ["RP992"], result.findings
    assert result.error is None and result.findings[0].line == 7
    assert retried  # 500 levels exhaust the default recursion limit in LibCST: retried with room


@pytest.mark.parametrize("kind", [k for k in DEEP if k != "strings"])
def test_deeper_than_the_limit_is_rp001_without_reaching_libcst(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(source: str) -> None:
        raise AssertionError("handed to LibCST")

    monkeypatch.setattr(cst, "parse_module", no_parse)
    result = lint(VIEW + DEEP[kind](MAX_NESTING + 10) + "\n")
    ((finding),) = result.findings
    assert finding.code == "RP001" and finding.message.startswith("too deeply nested to analyse")
    assert result.error == finding.message and result.score is None


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "(" * 2000 + "\n",  # once a stack overflow in LibCST's native parser
        "x = " + "[" * 300 + "1" + "]" * 300 + "\n",
        "ok = " + " and ".join(["a"] * 20_000) + "\n",  # CPython accepts it flat; LibCST's parser crashed
        "total = " + " + ".join(["a"] * 8_000) + "\n",
    ],
    ids=["open parens", "nested lists", "20,000 and", "8,000-term sum"],
)
def test_input_that_crashed_the_native_parser_is_rp001(source: str) -> None:
    result = lint(source)
    assert codes(result) == ["RP001"]
    assert "too deeply nested" in result.findings[0].message


def test_every_rule_survives_deep_code() -> None:
    source = VIEW + "\n".join(make(250) for make in DEEP.values()) + "\n"
    result = lint(source, rules=ALL_RULES)
    assert not {"RP001", "RP002"} & set(codes(result)), result.findings


def test_nesting_depth_counts_the_operands_of_and_as_levels() -> None:
    flat = ast.parse("x = [" + ", ".join(["a"] * 50) + "]")
    chained = ast.parse("x = " + " or ".join(["a"] * 50))
    assert nesting_depth(flat) < 10 < 50 < nesting_depth(chained)


def test_check_source_reports_syntax_errors_in_cpythons_words() -> None:
    rejected = check_source("def publish(post:\n    post.save()\n")
    assert rejected is not None and rejected.line == 1 and rejected.reason.startswith("syntax error")
    assert check_source(VIEW) is None


def test_parse_expression_refuses_what_would_crash_libcst() -> None:
    assert parse_expression("Optional[redis.Redis]") is not None
    assert parse_expression("(" * 3000) is None
    assert parse_expression(" or ".join(["a"] * 20_000)) is None
    assert parse_expression("no such python") is None


class Exhausting(Rule):
    """## What it does
    Recurses without end on every function, as a buggy rule would.

    ## Why is this bad?
    Test only.
    """

    code = "RP983"
    name = "exhausting"
    message = "never reported"
    severity = review_patterns.Severity.WARNING
    dimension = review_patterns.Dimension.RELIABILITY

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        def down(n: int) -> int:
            return down(n + 1) + 1

        down(0)


class Hungry(Exhausting):
    code = "RP984"
    name = "hungry"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        raise MemoryError


def test_a_rule_that_recurses_forever_is_rp002_and_the_others_keep_their_findings() -> None:
    result = lint(VIEW, rules=(SaveInLoop, Exhausting))
    assert codes(result) == ["RP002", "RP992"]
    assert "RP983" in result.findings[0].message and "RecursionError" in result.findings[0].message


def test_memory_error_is_rp001_too_large() -> None:
    result = lint(VIEW, rules=(SaveInLoop, Hungry))
    assert codes(result) == ["RP001"] and result.findings[0].message.startswith("too large to analyse")


def test_a_failure_outside_the_rules_is_rp002_for_that_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("positions")

    monkeypatch.setattr(engine, "MetadataWrapper", broken)
    result = lint(VIEW)
    assert codes(result) == ["RP002"]
    assert "KeyError" in result.findings[0].message and result.error is not None


def test_position_lookup_on_deep_code_is_guarded() -> None:
    # a finding forces the position provider to walk the deep expression too
    result = lint(VIEW + "value = request" + ".user" * 400 + "\n")
    assert codes(result) == ["RP992"]
