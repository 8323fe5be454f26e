"""The JSON report: its keys are a stable interface (the README documents them)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from review_patterns.checks import RULES
from review_patterns.core.grading import file_grade, findings_by_rule, grade_counts, lowest_files, review_arithmetic
from review_patterns.core.model import Dimension, Fix, Report
from review_patterns.core.rule_info import RuleInfo
from review_patterns.core.version import __version__
from review_patterns.report.fingerprint import Sources


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    """The fix as ruff's JSON spells it: applicability, a message, and the edits (1-based positions)."""
    if fix is None:
        return None
    return {
        "applicability": fix.applicability,
        "message": fix.description,
        "edits": [
            {
                "location": {"row": e.line, "column": e.column},
                "end_location": {"row": e.end_line, "column": e.end_column},
                "content": e.content,
            }
            for e in fix.edits
        ],
        # beyond ruff's keys: whole files the fix writes (a new migration: `before` null)
        **({"files": [vars(f) for f in fix.files]} if fix.files else {}),
    }


def _dims(values: Mapping[Dimension, float]) -> dict[str, float]:
    return {d.value: values[d] for d in Dimension if d in values}


def _overview(report: Report) -> dict[str, Any]:
    """A review's arithmetic, or a whole tree's files per letter and lowest files; findings per rule."""
    rules = [{"code": code, "name": name, "count": n} for code, name, n in findings_by_rule(report.findings)]
    if report.review:
        return {"kind": "review", "arithmetic": review_arithmetic(report.findings, report.bonuses), "rules": rules}
    lowest = [{"path": r.path, "score": r.score, "grade": file_grade(r)} for r in lowest_files(report.files)]
    return {"kind": "tree", "grades": grade_counts(report.files), "lowest": lowest, "rules": rules}


def as_dict(report: Report) -> dict[str, Any]:
    """The JSON report's structure; a shard's (`check --shard`) says which share it holds, for `merge`."""
    shard = report.shard
    return {
        "version": __version__,
        **({} if shard is None else {"shard": {"index": shard.index, "count": shard.count, "total": shard.total}}),
        "summary": {
            "score": report.score,
            "grade": report.grade,
            "files": len(report.files),
            "findings": len(report.findings),
            "blockers": report.blockers,
            "dimensions": _dims(report.dimensions),
            "passed": report.passed,
            "min_grade": report.min_grade,
            **_overview(report),
        },
        "warnings": list(report.warnings),
        "files": [
            {
                "path": r.path,
                **({} if shard is None else {"position": shard.positions[i]}),
                "score": r.score,
                "grade": file_grade(r),
                "lines": r.lines,
                "suppressed": r.suppressed,
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
                        "fix": _fix(f.fix),
                    }
                    for f in r.findings
                ],
                "bonuses": [
                    {
                        "name": b.name,
                        "points": b.points,
                        "dimension": b.dimension.value,
                        "line": b.line,
                        "message": b.message,
                    }
                    for b in r.bonuses
                ],
                "error": r.error,
            }
            for i, r in enumerate(report.files)
        ],
    }


def json_report(report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = RULES) -> str:
    return json.dumps(as_dict(report), indent=2) + "\n"
