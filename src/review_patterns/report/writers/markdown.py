"""The review a reviewer would write, in Markdown: for pull-request comments and the GitHub step summary.

Everything taken from the code (messages, paths, lines) is escaped so that it cannot break the page.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from review_patterns.checks import ALL_RULES
from review_patterns.core.grading import letter
from review_patterns.core.model import Dimension, Finding, Report, Severity
from review_patterns.core.rule import Rule
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


def _entry(finding: Finding, sources: Sources, rules: Sequence[type[Rule]]) -> list[str]:
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


def markdown(report: Report, sources: Sources | None = None, *, rules: Sequence[type[Rule]] = ALL_RULES) -> str:
    """Grade and dimensions, then Blockers, Important, Suggestions, Positives, and the grade of each file."""
    sources = sources or Sources()
    out = [
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
    ]
    for title, severities in _SECTIONS:
        findings = [f for f in report.findings if f.severity in severities]
        if findings:
            out += ["", f"### {title} ({len(findings)})", ""]
            for finding in findings:
                out += [*_entry(finding, sources, rules), ""]
            out.pop()
    if report.bonuses:
        out += ["", f"### Positives ({len(report.bonuses)})", ""]
        out += [
            f"- **{escape(b.path)}:{b.line}** +{b.points} {escape(b.name)}: {inline(b.message)}" for b in report.bonuses
        ]
    if not report.findings:
        out += ["", "No findings."]
    out += ["", "### Files", ""]
    listed = [r for r in report.files if r.findings or r.error is not None]
    if listed:
        out += ["| File | Grade | Score | Findings |", "| --- | --- | ---: | ---: |"]
    for r in listed:
        grade, score = (letter(r.score), f"{r.score:g}") if r.score is not None else ("error", "-")
        out.append(f"| {escape(r.path)} | {grade} | {score} | {len(r.findings)} |")
    others = len(report.files) - len(listed)
    if others:
        out += ["", f"{'And ' if listed else ''}{plural(others, 'file')} with no findings: A+."]
    return "\n".join(out) + "\n"
