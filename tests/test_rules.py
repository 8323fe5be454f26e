"""Every example of every rule: a Bad one is flagged exactly at its marked lines, a Good one not at all."""

from __future__ import annotations

import os
from pathlib import Path

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


SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
SNAPSHOT_RULES = [
    pytest.param(rule, id=rule.code)
    for rule in ALL_RULES
    if rule.code and any(isinstance(e, Bad) for e in rule.examples)
]


def render_snapshot(rule: type[Rule]) -> str:
    """Each Bad example's findings of `rule`, with their full range and message."""
    out = [
        f"# {rule.code} {rule.name}: what each Bad example reports, where and in what words.",
        "# Regenerate after a deliberate change: UPDATE_SNAPSHOTS=1 pytest tests/test_rules.py -k snapshot",
    ]
    for index, example in enumerate(rule.examples):
        if not isinstance(example, Bad):
            continue
        out.append(f"[{type(example).__name__.lower()}{index}]")
        for f in lint_example(rule, example).findings:
            if f.code == rule.code:
                out.append(f"{f.line}:{f.column}-{f.end_line}:{f.end_column} {f.message}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("rule", SNAPSHOT_RULES)
def test_example_findings_match_snapshot(rule: type[Rule]) -> None:
    """The markers hold the lines; the snapshot also holds the columns and messages, so a finding
    that moves within its line or changes its words is caught."""
    path = SNAPSHOTS / f"{rule.code}.txt"
    rendered = render_snapshot(rule)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no snapshot for {rule.code}: run UPDATE_SNAPSHOTS=1 pytest tests/test_rules.py -k snapshot"
    assert path.read_text(encoding="utf-8") == rendered


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.examples], ids=lambda r: r.code or r.name)
def test_a_rule_reads_only_the_context_parts_it_declares(rule: type[Rule]) -> None:
    """`Rule.reads` is what a run over several processes builds before starting them: a part a rule
    reads without declaring it would be built again in every worker."""
    from review_patterns import Config, ProjectContext, lint

    for example in rule.examples:
        files = {**example.files, example.path: example.code}
        declared = ProjectContext.from_sources(files)
        for part in rule.reads:
            getattr(declared, part)
        context = ProjectContext.from_sources(files)
        options = {rule.code: dict(example.options)} if example.options else {}
        lint(example.code, example.path, context, Config(options=options), rules=[rule])
        parts = {name for name in context.touched if " " not in name}  # not the answers an index records
        assert parts <= declared.touched | set(rule.reads), example.code
