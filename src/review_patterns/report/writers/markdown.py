"""The review a reviewer would write, in Markdown: for pull-request comments and the GitHub step summary.

Everything taken from the code (messages, paths, lines) is escaped so that it cannot break the page.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from itertools import groupby

from review_patterns.checks import RULES
from review_patterns.core.grading import letter
from review_patterns.core.model import Dimension, Finding, Report, Severity
from review_patterns.core.rule_info import RuleInfo
from review_patterns.report import docs
from review_patterns.report.fingerprint import Sources
from review_patterns.report.writers.common import plural, verdict

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|~@&])")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_SECTIONS = (
    ("Blockers", (Severity.BLOCKER,)),
    ("Important", (Severity.IMPORTANT,)),
    ("Suggestions", (Severity.WARNING, Severity.SUGGESTION)),
)


def escape(value: str) -> str:
    """Inline text with every Markdown and HTML special character backslash-escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", value))


def inline(message: str) -> str:
    """A message with its `code` spans kept as code spans and the rest escaped."""
    parts = _CODE_SPAN.split(re.sub(r"\s+", " ", message.strip()))
    return "".join(escape(part) if i % 2 == 0 else f"`{part}`" for i, part in enumerate(parts))


def code_block(code: str, language: str = "python") -> str:
    """A fence longer than any run of backticks in `code`, so the code cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def snippet(sources: Sources, finding: Finding, most: int = 6) -> str:
    """The finding's lines of code, dedented: at most `most`, then `...`."""
    last = min(finding.end_line, finding.line + most - 1)
    lines = [sources.line(finding.path, n) for n in range(finding.line, last + 1)]
    code = textwrap.dedent("\n".join(lines)).strip("\n")
    return code + ("\n..." if last < finding.end_line else "")


def _entry(finding: Finding, sources: Sources, rules: Sequence[RuleInfo]) -> list[str]:
    rule = next((r for r in rules if r.code == finding.code), None)
    where = f"**{escape(finding.path)}:{finding.line}**"
    lines = [f"- {where} {finding.code} {escape(finding.name)}: {inline(finding.message)}"]
    code = snippet(sources, finding)
    if code:
        lines += ["", *("  " + line for line in code_block(code).splitlines())]
    if rule is not None:
        link = f"[{finding.code} {finding.name}]({docs.help_uri(rule)})"
        lines += ["", f"  What to do: {link} explains why it matters and shows the code to use instead."]
    return lines


#: GitHub takes at most 1 MiB per step summary; the report stays below it with room for a note.
MAX_BYTES = 1_000_000
#: Lists longer than this fold into `<details>`.
FOLD_AFTER = 10


class _Page:
    """Markdown blocks, each kept whole or left out: once the page is full, the remaining findings and
    rows are counted instead of shown, and the structure (headings, folds) stays balanced."""

    def __init__(self, budget: int) -> None:
        self.blocks: list[str] = []
        self.size = 0
        self.budget = budget
        self.left_out = 0

    def add(self, *lines: str, optional: bool = False) -> None:
        text = "\n".join(lines) + "\n"
        size = len(text.encode("utf-8"))
        if optional and self.size + size > self.budget:
            self.left_out += 1
            return
        self.blocks.append(text)
        self.size += size

    def fold(self, count: int, what: str) -> bool:
        """Opens a `<details>` for a long list; returns whether it did (close it with `unfold`)."""
        if count <= FOLD_AFTER:
            return False
        self.add("", "<details>", f"<summary>{what}</summary>")
        return True

    def unfold(self, folded: bool) -> None:
        if folded:
            self.add("", "</details>")


def _positives(report: Report) -> list[str]:
    """One line per bonus: how many times, the points, and one example."""
    lines = []
    for name, awarded in groupby(sorted(report.bonuses, key=lambda b: b.name), key=lambda b: b.name):
        bonuses = list(awarded)
        first = bonuses[0]
        where = f"**{escape(first.path)}:{first.line}**" + (f" and {len(bonuses) - 1} more" if len(bonuses) > 1 else "")
        total = sum(b.points for b in bonuses)
        lines.append(f"- +{total} {escape(name)} ({plural(len(bonuses), 'time')}): {where}: {inline(first.message)}")
    return lines


def markdown(report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = RULES) -> str:
    """Grade and dimensions, then Blockers, Important, Suggestions, Positives, and the grade of each file;
    long lists folded, the whole below GitHub's step summary limit."""
    sources = sources or Sources()
    page = _Page(MAX_BYTES - 2_000)
    page.add(
        f"## review-patterns: {report.grade} ({report.score:g}/100)",
        "",
        (
            f"**{verdict(report)}** {plural(len(report.files), 'file')}, "
            f"{plural(len(report.findings), 'finding')}, {plural(len(report.bonuses), 'bonus', 'bonuses')}."
        ),
        "",
        "| Dimension | Score |",
        "| --- | ---: |",
        *(f"| {d.label} | {report.dimensions[d]:g} |" for d in Dimension if d in report.dimensions),
    )
    for title, severities in _SECTIONS:
        findings = [f for f in report.findings if f.severity in severities]
        if findings:
            page.add("", f"### {title} ({len(findings)})")
            folded = page.fold(len(findings), plural(len(findings), "finding"))
            for finding in findings:
                page.add("", *_entry(finding, sources, rules), optional=True)
            page.unfold(folded)
    if report.bonuses:
        page.add("", f"### Positives ({len(report.bonuses)})", "", *_positives(report))
    if not report.findings:
        page.add("", "No findings.")
    page.add("", "### Files", "")
    listed = [r for r in report.files if r.findings or r.error is not None]
    folded = page.fold(len(listed), f"{plural(len(listed), 'file')} with findings")
    if listed:
        page.add("| File | Grade | Score | Findings |", "| --- | --- | ---: | ---: |")
    for r in listed:
        grade, score = (letter(r.score), f"{r.score:g}") if r.score is not None else ("error", "-")
        page.add(f"| {escape(r.path)} | {grade} | {score} | {len(r.findings)} |", optional=True)
    page.unfold(folded)
    others = len(report.files) - len(listed)
    if others:
        page.add("", f"{'And ' if listed else ''}{plural(others, 'file')} with no findings: A+.")
    if page.left_out:
        page.add(
            "",
            f"_{plural(page.left_out, 'entry', 'entries')} left out to stay under GitHub's 1 MiB summary limit: "
            "the JSON or SARIF report (`--report json=review.json`) has them all._",
        )
    return "".join(page.blocks)
