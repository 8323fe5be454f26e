"""The terminal report, and the one-line-per-finding `concise` format."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence

from review_patterns.checks import RULES
from review_patterns.core.grading import (
    arithmetic,
    findings_by_rule,
    grade_counts,
    letter,
    lowest_files,
    review_arithmetic,
)
from review_patterns.core.model import Dimension, FileResult, Finding, Report, Severity
from review_patterns.core.rule_info import RuleInfo
from review_patterns.report.fingerprint import Sources
from review_patterns.report.writers.common import plural, verdict

#: A line of the report as (text, rich style) parts; the style is "" for plain text.
Line = list[tuple[str, str]]

_STYLE = {
    Severity.BLOCKER: "bold red",
    Severity.IMPORTANT: "yellow",
    Severity.WARNING: "cyan",
    Severity.SUGGESTION: "dim",
}


def _grade_style(grade: str | None) -> str:
    if grade is None:
        return "bold red"
    return {"A": "bold green", "B": "green", "C": "yellow", "D": "red"}.get(grade[0], "bold red")


def dimensions_line(report: Report) -> str:
    """`Security 96 | Data integrity 98 | ...`"""
    return " | ".join(f"{d.label} {report.dimensions[d]:g}" for d in Dimension)


def _plain(text: str) -> Line:
    return [(text, "")]


def _fix_mark(finding: Finding) -> str:
    """` [*]` for a finding `--fix` repairs, ` [*unsafe]` for one that needs `--unsafe-fixes` too."""
    if finding.fix is None:
        return ""
    return " [*]" if finding.fix.safe else " [*unsafe]"


def _file_block(result: FileResult) -> list[Line]:
    head: Line = [(result.path, "bold"), ("  ", "")]
    if result.score is None:
        head.append(("error", _grade_style(None)))
    else:
        head.append((f"{letter(result.score)} {result.score:g}", _grade_style(letter(result.score))))
    lines = [head]
    for f in result.findings:
        lines.append(
            [
                (f"  {f.line}:{f.column}  ", ""),
                (f.code, _STYLE[f.severity]),
                (f"  {f.severity.value:<10} {f.message}", ""),
                (_fix_mark(f), "green"),
            ]
        )
    for b in result.bonuses:
        lines.append([(f"  {b.line}  ", ""), (f"+{b.points} {b.name}", "green"), (f"  {b.message}", "")])
    if result.score is not None and (result.findings or result.bonuses):
        lines.append([(f"  {arithmetic(result)}", "dim")])
    return lines


def summary_block(report: Report) -> list[Line]:
    """What a lead reads first, at the end of the report.

    A whole tree: the files per letter, the lowest files, the findings per rule, the overall grade.
    A review: the findings per rule and the change set's arithmetic. Then the dimensions and the gate.
    """
    lines: list[Line] = [[], [("Summary", "bold")]]
    if not report.review:
        counts = [f"{g} {n}" for g, n in grade_counts(report.files).items()]
        errors = sum(r.score is None for r in report.files)
        if counts or errors:
            lines.append(_plain("  Files by grade: " + ", ".join(counts + ([f"error {errors}"] if errors else []))))
        lowest = lowest_files(report.files)
        if lowest:
            lines.append(_plain(f"  Lowest {plural(len(lowest), 'file')}:"))
            for r in lowest:
                grade = "error" if r.score is None else f"{letter(r.score)} {r.score:g}"
                lines.append([("    ", ""), (f"{grade:<8}", _grade_style(grade.split()[0])), (f" {r.path}", "")])
    by_rule = findings_by_rule(report.findings)
    if by_rule:
        lines.append(_plain("  Findings by rule:"))
        width = len(str(by_rule[0][2]))
        lines += [_plain(f"    {n:>{width}}  {code}  {name}") for code, name, n in by_rule]
    counts_text = (
        f"  ({plural(len(report.files), 'file')}, {plural(len(report.findings), 'finding')}, "
        f"{plural(report.blockers, 'blocker')})"
    )
    if report.review:
        lines.append(_plain(f"Review: {review_arithmetic(report.findings, report.bonuses)}{counts_text}"))
    lines.append(
        [
            ("Overall: " if not report.review else "Review grade: ", ""),
            (f"{report.grade} {report.score:g}", _grade_style(report.grade)),
            ("" if report.review else counts_text, ""),
        ]
    )
    lines.append(_plain(dimensions_line(report)))
    lines.append([(verdict(report), "bold green" if report.passed else "bold red")])
    return lines


def text(
    report: Report,
    sources: Sources | None = None,
    *,
    rules: Sequence[RuleInfo] = RULES,
    color: bool = False,
    width: int = 100,
) -> str:
    """The human report: findings per file with the score's arithmetic, then the overall grade.

    Each finding stays on one line, so logs can be grepped and editors can jump to it.
    """
    lines = [line for r in report.files if r.findings or r.error for line in (*_file_block(r), [])]
    others = [r for r in report.files if not (r.findings or r.error)]
    if others:
        awarded = Counter(b.name for r in others for b in r.bonuses)
        bonuses = ", ".join(f"{name} x{count}" for name, count in sorted(awarded.items()))
        lines.append(
            [
                (
                    f"{len(others)} other file{'s' * (len(others) != 1)} with no findings"
                    + (f" (bonuses: {bonuses})." if bonuses else "."),
                    "dim",
                )
            ]
        )
    lines += summary_block(report)
    if not color:  # plain text, without importing rich: a tenth of a cached run's time
        return "".join("".join(part for part, _ in line).expandtabs() + "\n" for line in lines)
    return _colored(lines, width)


def _colored(lines: list[Line], width: int) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, highlight=False, soft_wrap=True)
    for line in lines:
        console.print(Text.assemble(*line))
    return buffer.getvalue()


def concise(report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = RULES) -> str:
    """`path:line:col: CODE message`, one finding a line, as compilers and editors print them, then the total."""
    total = f"{plural(len(report.findings), 'finding')} ({plural(report.blockers, 'blocker')}) in "
    return f"{finding_lines(report)}{total}{plural(len(report.files), 'file')}: {report.grade} {report.score:g}, {verdict(report)}\n"


def finding_lines(report: Report) -> str:
    """`path:line:col: CODE message`, one finding a line: all that `--quiet` prints."""
    return "".join(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}\n" for f in report.findings)
