"""GitHub Actions workflow commands: one annotation per finding, then the grade.

Escaping follows the Actions toolkit (`@actions/core`, command.ts): `%`, CR and LF in the
message; also `:` and `,` in property values.
"""

from __future__ import annotations

from collections.abc import Sequence

from review_patterns.checks import RULES
from review_patterns.core.model import Report
from review_patterns.core.rule_info import RuleInfo
from review_patterns.report.fingerprint import Sources
from review_patterns.report.writers.common import LEVELS, verdict

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = RULES) -> str:
    """`::error file=...,line=...,col=...,title=RP101::message` per finding, by severity."""
    lines = []
    for f in report.findings:
        properties = {
            "file": f.path,
            "line": f.line,
            "endLine": f.end_line,
            "col": f.column,
            "endColumn": f.end_column,
            "title": f"{f.code} {f.name}",
        }
        if f.end_line != f.line:
            del properties["endColumn"]  # GitHub takes a column range only on a single line
        joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
        lines.append(f"::{_COMMAND[LEVELS[f.severity]]} {joined}::{escape_data(f.message)}\n")
    summary = f"Overall {report.grade} {report.score:g}: {verdict(report)}"
    level = "notice" if report.passed else "error"
    lines.append(f"::{level} title={escape_property('review-patterns')}::{escape_data(summary)}\n")
    return "".join(lines)
