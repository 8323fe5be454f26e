"""The rule catalogue, generated from the rule classes: `rules/README.md` and a page per rule, and
`checks/rules.json`, what runs read of the rules without importing them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from review_patterns.checks import RULES_FILE
from review_patterns.core.grading import DEFAULT_PENALTY, LETTERS
from review_patterns.core.rule_info import RuleInfo, describe

if TYPE_CHECKING:
    from review_patterns.core.rule import Example

RULES_URL = "https://github.com/review-patterns/review-patterns/blob/main/rules/"


def page_name(rule: RuleInfo) -> str:
    """`RP101.md`, or the bonus name for a bonus check (`type-hints.md`)."""
    return f"{rule.code or rule.name}.md"


def help_uri(rule: RuleInfo) -> str:
    return RULES_URL + page_name(rule)


def description(rule: RuleInfo) -> str:
    """The docstring, dedented: the sections `## What it does`, `## Why is this bad?`, ..."""
    return rule.doc


def summary(rule: RuleInfo) -> str:
    """The first sentence of `What it does`: the one-line description."""
    text = description(rule).split("## What it does", 1)[-1].strip()
    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    # A sentence ends at ". " before a capital letter, outside `code` (which may hold `except ... as e`).
    outside_code = re.sub(r"`[^`]*`", lambda m: "x" * len(m.group()), paragraph)
    end = re.search(r"\.\s+(?=[A-Z])", outside_code)
    return (paragraph[: end.start()] if end else paragraph).rstrip(".") + "."


def bonus_summary(rule: RuleInfo, bonus: str) -> str:
    """The sentence of the rule's documentation that describes `bonus` (not the rule's own summary,
    which describes what it flags), or where the bonus comes from."""
    if not rule.code:
        return summary(rule)
    for paragraph in description(rule).split("\n\n"):
        flat = " ".join(paragraph.split())
        if bonus not in flat:
            continue
        outside_code = re.sub(r"`[^`]*`", lambda m: "x" * len(m.group()), flat)
        starts = [0, *(m.end() for m in re.finditer(r"\.\s+(?=[A-Z])", outside_code))]
        ends = [*(m.start() + 1 for m in re.finditer(r"\.\s+(?=[A-Z])", outside_code)), len(flat)]
        for start, end in zip(starts, ends):
            if bonus in flat[start:end]:
                return flat[start:end].strip()
    return f"Awarded by {rule.code} {rule.name}."


def grade_page() -> str:
    """`review-patterns explain grade`: both formulas and the letter table, from `grading`."""
    letters = "\n".join(f"| {name} | >= {bound:g} |" for bound, name in LETTERS[:-1]) + "\n| F | below 60 |"
    penalties = ", ".join(f"{severity.value} {points}" for severity, points in DEFAULT_PENALTY.items())
    return f"""# The grade

A file starts at **100**, loses the penalty of each of its findings, gains the points of each
of its bonuses, and is clamped to 0..100:
`100 - 5 (RP101) - 8 (RP301) + 2 (pii-safe-logging) = 89 -> B+`.

**A review** (a change set: `check --diff REV`, `check --staged` as the pre-commit hook runs it,
or `check --review FILES`) gets one grade, as a reviewer grades a pull request: 100 minus the
penalty of every finding in the change plus every bonus, clamped, shown by rule:
`100 - 3x5 (RP401) - 6 (RP302) + 3 (three-step-migration) = 82 -> B-`.

**A whole tree** keeps each file's grade; its overall score is the mean of the file scores
weighted by each file's non-blank lines. The report adds the files per letter, the ten lowest
files and the findings per rule, so that a handful of bad files in a large project is not lost.

The gate is the same for both: no blocker finding, and the overall grade at least `min-grade` (A-).

A rule's penalty is its own, or by severity: {penalties}. Each dimension (security, data
integrity, performance, reliability, code clarity) is scored the same way from its own findings
and bonuses.

| Letter | Score |
| --- | --- |
{letters}
"""


def _code_block(example: Example) -> str:
    where = f"# {example.path}\n" if example.path != "app/views.py" else ""
    return f"```python\n{where}{example.code}```"


def render(rule: RuleInfo) -> str:
    """The Markdown page of one rule, also printed by `explain`."""
    from review_patterns.core.rule import Bad, Good  # with the rule's class, for its examples

    given = rule.load().examples
    goods = [e for e in given if isinstance(e, Good)]
    bads = [e for e in given if isinstance(e, Bad)]
    if not rule.code:  # a bonus check
        points = rule.bonuses[rule.name]
        head = [f"# {rule.name} (bonus)", "", f"Bonus: +{points} | Dimension: {rule.dimension.value}"]
        examples = []
        if goods:
            examples += ["## Example", "", _code_block(goods[0])]
        if bads:
            examples += ["", "Earns nothing:", "", _code_block(bads[0])]
    else:
        head = [
            f"# {rule.code} {rule.name}",
            "",
            f"Severity: {rule.severity.value} | Penalty: {rule.default_penalty()} | Dimension: {rule.dimension.value}",
        ]
        if rule.bonuses:
            awards = ", ".join(f"{name} (+{points})" for name, points in rule.bonuses.items())
            head[-1] += f" | Bonus: {awards}"
        examples = []
        if bads:
            examples += ["## Example", "", _code_block(bads[0])]
        if goods:
            examples += ["", "Use instead:", "", _code_block(goods[0])]
    options = ""
    if rule.options:
        section = rule.code.lower() if rule.code else rule.name
        rows = "\n".join(f"{name} = {_toml(value)}" for name, value in rule.options.items())
        options = f"\n\n## Configuration\n\nDefaults:\n\n```toml\n[tool.review-patterns.{section}]\n{rows}\n```"
    fixing = f"\n\n## Fix safety\n\n{rule.fixes}" if rule.fixes else ""
    body = "\n".join(head) + "\n\n" + description(rule) + fixing + options
    return body + ("\n\n" + "\n".join(examples) if examples else "") + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list, frozenset)):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def render_index(rules: Sequence[RuleInfo]) -> str:
    """`rules/README.md`: the table of every rule and bonus."""
    rows = [
        f"| [{r.code}]({page_name(r)}) | {r.name} | {r.severity.value} | {r.default_penalty()} "
        f"| {r.dimension.value} | {summary(r)} |"
        for r in rules
        if r.code
    ]
    bonuses = [
        f"| {name} | +{points} | {r.dimension.value} | [{r.code or r.name}]({page_name(r)}) |"
        for r in rules
        for name, points in r.bonuses.items()
    ]
    return "\n".join(
        [
            "# Rule catalogue",
            "",
            "Generated from the rule classes by `review-patterns docs`; do not edit by hand.",
            "",
            "| Code | Name | Severity | Penalty | Dimension | What it does |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            "## Bonuses",
            "",
            "| Bonus | Points | Dimension | Awarded by |",
            "| --- | --- | --- | --- |",
            *bonuses,
            "",
        ]
    )


def catalogue() -> dict[str, str]:
    """File name -> content of every page of the catalogue."""
    from review_patterns.checks.registry import ALL_RULES

    pages = {page_name(rule): render(rule) for rule in ALL_RULES}
    pages["README.md"] = render_index(ALL_RULES)
    return pages


def rules_file_is_stale() -> bool:
    """Whether `checks/rules.json` says other than the rule classes."""
    from review_patterns.checks.registry import ALL_RULES

    return _read(RULES_FILE) != describe(ALL_RULES)


def write_rules_file() -> bool:
    """Rewrites `checks/rules.json` from the rule classes when stale; whether it did."""
    from review_patterns.checks.registry import ALL_RULES

    if not rules_file_is_stale():
        return False
    RULES_FILE.write_text(describe(ALL_RULES), encoding="utf-8")
    return True


def stale_pages(folder: Path) -> list[str]:
    """Pages that are missing, out of date, or left over from a removed rule."""
    pages = catalogue()
    stale = [name for name, text in pages.items() if _read(folder / name) != text]
    extra = [p.name for p in folder.glob("*.md") if p.name not in pages] if folder.is_dir() else []
    return sorted(stale + extra)


def write_catalogue(folder: Path) -> list[str]:
    """Rewrites the catalogue in `folder`; returns the names of the pages it changed or removed."""
    changed = stale_pages(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pages = catalogue()
    for name in changed:
        if name in pages:
            (folder / name).write_text(pages[name], encoding="utf-8")
        else:
            (folder / name).unlink()
    return changed


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
