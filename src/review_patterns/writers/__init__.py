"""Report writers: one module per format, each from the same `Report` to text."""

from __future__ import annotations

from .common import Writer
from .github import github
from .gitlab import gitlab
from .json_report import as_dict, json_report
from .junit import junit
from .markdown import markdown
from .sarif import sarif
from .text import concise, text

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
