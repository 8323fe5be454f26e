"""What several writers share: the writer type, severity levels and the gate's reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from review_patterns.core.grading import minimum_score
from review_patterns.core.model import Report, Severity
from review_patterns.core.rule_info import RuleInfo
from review_patterns.report.fingerprint import Sources


class Writer(Protocol):
    """A report format: the same `Report` in, text out. `sources` gives the reported lines, `rules` those
    of the run (for SARIF's catalogue and Markdown's links), the registry unless given."""

    def __call__(self, report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = ...) -> str: ...


#: SARIF levels; GitHub says `notice` for `note`.
LEVELS: Mapping[Severity, str] = {
    Severity.BLOCKER: "error",
    Severity.IMPORTANT: "warning",
    Severity.WARNING: "note",
    Severity.SUGGESTION: "note",
}


def plural(count: int, word: str, many: str = "") -> str:
    """`1 finding`, `2 findings`; `many` for irregular plurals."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def gate_reasons(report: Report) -> list[str]:
    """Why the gate failed (empty when it passed)."""
    reasons = []
    if report.blockers:
        reasons.append(f"{plural(report.blockers, 'blocker finding')}")
    if report.score < minimum_score(report.min_grade):
        reasons.append(f"grade {report.grade} is below {report.min_grade}")
    return reasons


def verdict(report: Report) -> str:
    """`PASSED: grade A meets A-, no blockers.` or `FAILED: 1 blocker finding; grade C is below A-.`"""
    if report.passed:
        return f"PASSED: grade {report.grade} meets {report.min_grade}, no blockers."
    return f"FAILED: {'; '.join(gate_reasons(report))}."
