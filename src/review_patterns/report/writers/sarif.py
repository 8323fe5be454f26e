"""SARIF 2.1.0, as GitHub code scanning and other SARIF viewers read it: one run, rules from the catalogue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from review_patterns.checks import RULES
from review_patterns.core.grading import file_grade
from review_patterns.core.model import Dimension, Report
from review_patterns.core.rule_info import RuleInfo
from review_patterns.core.version import __version__
from review_patterns.report import docs
from review_patterns.report.fingerprint import Sources, unique_fingerprints
from review_patterns.report.writers.common import LEVELS

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
BASE_ID = "%SRCROOT%"


def _rule(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": docs.summary(rule)},
        "fullDescription": {"text": docs.description(rule), "markdown": docs.description(rule)},
        "helpUri": docs.help_uri(rule),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "tags": [rule.dimension.value, rule.severity.value],
            "severity": rule.severity.value,
            "penalty": rule.default_penalty(),
        },
    }


def artifact(path: str) -> dict[str, str]:
    """A relative path below `%SRCROOT%`, or an absolute file URI for a file outside the working folder."""
    if PurePosixPath(path).is_absolute():
        return {"uri": PurePosixPath(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": BASE_ID}


def sarif(report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = RULES) -> str:
    """The report as one SARIF run; paths are relative to `%SRCROOT%`, the working folder."""
    sources = sources or Sources()
    catalogue = [rule for rule in rules if rule.code]
    index = {rule.code: i for i, rule in enumerate(catalogue)}
    findings = report.findings
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": artifact(f.path),
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                        },
                    }
                }
            ],
            "partialFingerprints": {"reviewPatterns/v1": fingerprint},
            "properties": {"severity": f.severity.value, "dimension": f.dimension.value, "penalty": f.penalty},
        }
        for f, fingerprint in zip(findings, unique_fingerprints(findings, sources))
    ]
    run = {
        "tool": {
            "driver": {
                "name": "review-patterns",
                "version": __version__,
                "informationUri": docs.RULES_URL.split("/blob/")[0],
                "rules": [_rule(rule) for rule in catalogue],
            }
        },
        "originalUriBaseIds": {BASE_ID: {"uri": sources.root.resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "score": report.score,
            "grade": report.grade,
            "minGrade": report.min_grade,
            "passed": report.passed,
            "dimensions": {d.value: report.dimensions[d] for d in Dimension if d in report.dimensions},
            "files": [{"path": r.path, "score": r.score, "grade": file_grade(r)} for r in report.files],
        },
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
