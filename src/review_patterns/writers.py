"""Report writers: one function per format, each from the same `Report` to text."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

from . import __version__
from .grading import arithmetic, minimum_score
from .model import Dimension, FileResult, Report, Severity

Writer = Callable[[Report], str]

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


def _file_block(result: FileResult) -> list[Text]:
    head = Text.assemble((result.path, "bold"), "  ")
    if result.score is None:
        head.append("error", _grade_style(None))
    else:
        head.append(f"{result.grade} {result.score:g}", _grade_style(result.grade))
    lines = [head]
    for f in result.findings:
        lines.append(
            Text.assemble(
                f"  {f.line}:{f.column}  ",
                (f.code, _STYLE[f.severity]),
                f"  {f.severity.value:<10} ",
                f.message,
            )
        )
    for b in result.bonuses:
        lines.append(Text.assemble(f"  {b.line}  ", (f"+{b.points} {b.name}", "green"), f"  {b.message}"))
    if result.score is not None and (result.findings or result.bonuses):
        lines.append(Text(f"  {arithmetic(result)}", "dim"))
    return lines


def text(report: Report, color: bool = False, width: int = 100) -> str:
    """The human report: findings per file with the score's arithmetic, then the overall grade."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    shown = [r for r in report.files if r.findings or r.error]
    for result in shown:
        for line in _file_block(result):
            console.print(line)
        console.print()
    others = [r for r in report.files if not (r.findings or r.error)]
    if others:
        awarded = Counter(b.name for r in others for b in r.bonuses)
        bonuses = ", ".join(f"{name} x{count}" for name, count in sorted(awarded.items()))
        console.print(
            Text(f"{len(others)} other file{'s' * (len(others) != 1)} with no findings"
                 + (f" (bonuses: {bonuses})." if bonuses else "."), "dim")
        )
    findings = len(report.findings)
    console.print(
        Text.assemble(
            "Overall: ",
            (f"{report.grade} {report.score:g}", _grade_style(report.grade)),
            f"  ({len(report.files)} files, {findings} finding{'s' * (findings != 1)}, "
            f"{report.blockers} blocker{'s' * (report.blockers != 1)})",
        )
    )
    console.print(dimensions_line(report))
    if report.passed:
        console.print(Text(f"PASSED: grade {report.grade} meets {report.min_grade}, no blockers.", "bold green"))
    else:
        reasons = []
        if report.blockers:
            reasons.append(f"{report.blockers} blocker finding{'s' * (report.blockers != 1)}")
        if report.score < minimum_score(report.min_grade):
            reasons.append(f"grade {report.grade} is below {report.min_grade}")
        console.print(Text(f"FAILED: {'; '.join(reasons)}.", "bold red"))
    return buffer.getvalue()


def _dims(values: Any) -> dict[str, float]:
    return {d.value: values[d] for d in Dimension if d in values}


def as_dict(report: Report) -> dict[str, Any]:
    """The JSON report's structure; its keys are a stable interface."""
    return {
        "version": __version__,
        "summary": {
            "score": report.score,
            "grade": report.grade,
            "files": len(report.files),
            "findings": len(report.findings),
            "blockers": report.blockers,
            "dimensions": _dims(report.dimensions),
            "passed": report.passed,
        },
        "files": [
            {
                "path": r.path,
                "score": r.score,
                "grade": r.grade,
                "dimensions": _dims(r.dimensions),
                "findings": [
                    {
                        "code": f.code,
                        "name": f.name,
                        "message": f.message,
                        "severity": f.severity.value,
                        "dimension": f.dimension.value,
                        "penalty": f.penalty,
                        "line": f.line,
                        "column": f.column,
                        "end_line": f.end_line,
                        "end_column": f.end_column,
                    }
                    for f in r.findings
                ],
                "bonuses": [
                    {"name": b.name, "points": b.points, "dimension": b.dimension.value, "line": b.line,
                     "message": b.message}
                    for b in r.bonuses
                ],
                "error": r.error,
            }
            for r in report.files
        ],
    }


def json_report(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2) + "\n"


WRITERS: dict[str, Writer] = {
    "text": text,
    "json": json_report,
}
