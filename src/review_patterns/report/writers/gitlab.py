"""GitLab Code Quality: a JSON array of Code Climate issues, each with a stable fingerprint."""

from __future__ import annotations

import json
from collections.abc import Sequence

from review_patterns.checks import RULES
from review_patterns.core.model import Dimension, Report, Severity
from review_patterns.core.rule_info import RuleInfo
from review_patterns.report.fingerprint import Sources, unique_fingerprints

_SEVERITY = {
    Severity.BLOCKER: "blocker",
    Severity.IMPORTANT: "major",
    Severity.WARNING: "minor",
    Severity.SUGGESTION: "info",
}
_CATEGORY = {
    Dimension.SECURITY: "Security",
    Dimension.DATA_INTEGRITY: "Bug Risk",
    Dimension.PERFORMANCE: "Performance",
    Dimension.RELIABILITY: "Bug Risk",
    Dimension.CODE_CLARITY: "Clarity",
}


def gitlab(report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = RULES) -> str:
    """The report as a Code Quality artifact; paths must be relative to the repository root."""
    findings = report.findings
    issues = [
        {
            "type": "issue",
            "check_name": f.code,
            "description": f"{f.code} {f.name}: {f.message}",
            "categories": [_CATEGORY[f.dimension]],
            "severity": _SEVERITY[f.severity],
            "fingerprint": fingerprint,
            "location": {"path": f.path, "lines": {"begin": f.line, "end": f.end_line}},
        }
        for f, fingerprint in zip(findings, unique_fingerprints(findings, sources or Sources()))
    ]
    return json.dumps(issues, indent=2) + "\n"
