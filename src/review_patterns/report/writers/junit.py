"""JUnit XML: one test case per file, failing with its findings, for CI test views."""

from __future__ import annotations

from collections.abc import Sequence

from review_patterns.checks import RULES
from review_patterns.core.grading import file_grade
from review_patterns.core.model import Report
from review_patterns.core.rule_info import RuleInfo
from review_patterns.report.fingerprint import Sources
from review_patterns.report.writers.common import plural


def junit(report: Report, sources: Sources | None = None, *, rules: Sequence[RuleInfo] = RULES) -> str:
    """A `testsuite` named review-patterns; a file with findings fails, one that cannot be read errs."""
    import xml.etree.ElementTree as ET  # only for this format

    failures = sum(1 for r in report.files if r.findings and r.error is None)
    errors = sum(1 for r in report.files if r.error is not None)
    counts = {"tests": str(len(report.files)), "failures": str(failures), "errors": str(errors)}
    suites = ET.Element("testsuites", {"name": "review-patterns", **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": "review-patterns", **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("score", f"{report.score:g}"),
        ("grade", report.grade),
        ("min-grade", report.min_grade),
        ("passed", str(report.passed).lower()),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for result in report.files:
        case = ET.SubElement(
            suite, "testcase", {"name": result.path, "classname": "review-patterns", "file": result.path}
        )
        details = "".join(
            f"{f.path}:{f.line}:{f.column}: {f.code} [{f.severity.value}] {f.message}\n" for f in result.findings
        )
        if result.error is not None:
            ET.SubElement(case, "error", {"message": result.error, "type": "parse-error"}).text = details
        elif result.findings:
            summary = f"{plural(len(result.findings), 'finding')}, grade {file_grade(result)} {result.score:g}"
            ET.SubElement(case, "failure", {"message": summary, "type": "review-patterns"}).text = details
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
