"""Report writers: one module per format, each from the same `Report` to text."""

from __future__ import annotations

from review_patterns.report.writers.common import Writer
from review_patterns.report.writers.github import github
from review_patterns.report.writers.gitlab import gitlab
from review_patterns.report.writers.json_report import as_dict, json_report
from review_patterns.report.writers.junit import junit
from review_patterns.report.writers.markdown import markdown
from review_patterns.report.writers.sarif import sarif
from review_patterns.report.writers.text import concise, text

WRITERS: dict[str, Writer] = {
    "text": text,
    "json": json_report,
    "sarif": sarif,
    "github": github,
    "gitlab": gitlab,
    "markdown": markdown,
    "junit": junit,
    "concise": concise,
}

__all__ = [
    "WRITERS",
    "Writer",
    "as_dict",
    "concise",
    "github",
    "gitlab",
    "json_report",
    "junit",
    "markdown",
    "sarif",
    "text",
]
