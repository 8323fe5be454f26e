"""Every report format, from one small fixed report: golden files, and each format's own contract.

The report is built by hand (with the two sample rules of the adapters' tests), so the golden
files change only when a writer does. `UPDATE_GOLDEN=1 pytest tests/test_writers.py` rewrites them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from sample_rules import DangerousCall, PrintCall

from review_patterns.checks import InternalError, ParseError
from review_patterns.core.model import Bonus, Dimension, Edit, FileResult, Finding, Fix, Report, Severity
from review_patterns.report.fingerprint import Sources
from review_patterns.report.writers import WRITERS
from review_patterns.report.writers.github import escape_data, escape_property
from review_patterns.report.writers.markdown import code_block, escape, inline
from review_patterns.report.writers.text import text

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = DATA / "golden"
SUFFIX = {
    "text": "txt",
    "json": "json",
    "sarif": "sarif",
    "github": "github.txt",
    "gitlab": "gitlab.json",
    "markdown": "md",
    "junit": "xml",
    "concise": "concise.txt",
}

VIEWS = """\
import logging


def search(request):
    print(request.GET)
    return eval(request.GET["q"])


def render_template(text):
    return eval(f"```{text}```")
"""


def finding(rule: type, line: int, column: int, end: int, message: str, path: str = "shop/views.py") -> Finding:
    return Finding(
        path,
        line,
        column,
        line,
        end,
        rule.code,
        rule.name,
        message,
        rule.severity,
        rule.dimension,
        rule.default_penalty(),
    )


def dims(**lost: float) -> dict[Dimension, float]:
    return {d: 100.0 - lost.get(d.name.lower(), 0) for d in Dimension}


REPORT = Report(
    files=(
        FileResult(
            "shop/views.py",
            findings=(
                replace(
                    finding(PrintCall, 5, 5, 23, "`print()` instead of logging"),
                    fix=Fix(True, (Edit(5, 5, 5, 10, "logger.info"),), "log it"),
                ),
                finding(DangerousCall, 6, 12, 34, "`eval()` runs text as code"),
                finding(DangerousCall, 10, 12, 34, "`eval()` on <b>user</b> text | 100% *unsafe* @admin"),
            ),
            lines=7,
            score=89.0,
            dimensions=dims(security=10, code_clarity=1),
        ),
        FileResult(
            "shop/models.py",
            bonuses=(
                Bonus("shop/models.py", 1, "type-hints", 1, Dimension.CODE_CLARITY, "3 of 3 functions fully annotated"),
            ),
            lines=20,
            score=100.0,
            dimensions=dims(),
        ),
        FileResult(
            "shop/broken.py",
            findings=(finding(ParseError, 3, 1, 1, "syntax error: invalid syntax", "shop/broken.py"),),
            lines=4,
            error="syntax error: invalid syntax",
        ),
    ),
    score=96.1,
    grade="A",
    dimensions=dims(security=2.9, code_clarity=0.3),
    min_grade="A-",
    passed=False,
)
SOURCES = Sources(Path("/project"), {"shop/views.py": VIEWS, "shop/broken.py": "def f(:\n    pass\n\nx\n"})


#: The run's rules, handed to the writers: the tool's own and the sample rules, whatever else is registered.
RULES = (ParseError, InternalError, DangerousCall, PrintCall)


def render(fmt: str) -> str:
    return WRITERS[fmt](REPORT, SOURCES, rules=RULES)


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_golden(fmt: str) -> None:
    golden = GOLDEN / f"report.{SUFFIX[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(render(fmt), encoding="utf-8")
    assert render(fmt) == golden.read_text(encoding="utf-8")


def test_every_format_has_a_golden_file() -> None:
    assert set(SUFFIX) == set(WRITERS)


def test_the_text_report_in_colour_reads_as_the_plain_one() -> None:
    """Colour comes from rich; plain text (piped, CI, pre-commit) is written without it, tabs expanded alike."""
    views = REPORT.files[0]
    tabbed = replace(views, findings=(replace(views.findings[1], message="`eval()`\ton\ttext"),))
    for report in (REPORT, replace(REPORT, files=(tabbed,)), replace(REPORT, review=True)):
        coloured = text(report, SOURCES, rules=RULES, color=True)
        assert "\x1b[" in coloured
        assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == text(report, SOURCES, rules=RULES)
    assert "  6:12  RP990  blocker    `eval()`      on      text\n" in text(
        replace(REPORT, files=(tabbed,)), rules=RULES
    )


def test_plain_text_does_not_import_rich() -> None:
    code = (
        "import sys, tests.test_writers as t; from review_patterns.report.writers.text import text;"
        "assert text(t.REPORT, t.SOURCES, rules=t.RULES); print('rich' in sys.modules)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(DATA.parents[1] / "src"), str(DATA.parents[1]), str(DATA.parent)]),
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"


def test_sarif_validates_against_the_official_schema() -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    document = json.loads(render("sarif"))
    jsonschema.Draft4Validator(schema).validate(document)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["RP001", "RP002", "RP990", "RP991"]
    dangerous = rules[2]
    assert dangerous["name"] == "dangerous-call"
    assert dangerous["shortDescription"]["text"] == "Flags calls of `eval` (or the functions named in `calls`)."
    assert dangerous["fullDescription"]["text"].startswith("## What it does\n")
    assert dangerous["helpUri"].endswith("/rules/RP990.md")
    assert [r["defaultConfiguration"]["level"] for r in rules] == ["error", "note", "error", "note"]
    result = run["results"][1]
    assert result["ruleId"] == "RP990" and rules[result["ruleIndex"]]["id"] == "RP990"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "shop/views.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 6, "startColumn": 12, "endLine": 6, "endColumn": 34}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///project/"
    assert run["properties"]["grade"] == "A" and run["properties"]["score"] == 96.1
    assert run["properties"]["passed"] is False


def test_github_commands_follow_the_documented_syntax() -> None:
    lines = render("github").splitlines()
    assert lines[0] == (
        "::notice file=shop/views.py,line=5,endLine=5,col=5,endColumn=23,"
        "title=RP991 print-call::`print()` instead of logging"
    )
    assert lines[1].startswith("::error file=shop/views.py,line=6,") and lines[1].endswith(
        "title=RP990 dangerous-call::`eval()` runs text as code"
    )
    assert lines[2].endswith("::`eval()` on <b>user</b> text | 100%25 *unsafe* @admin")
    assert lines[-1] == "::error title=review-patterns::Overall A 96.1: FAILED: 3 blocker findings."


def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    odd = Finding(
        "odd, name:1.py", 2, 1, 3, 4, "RP991", "print-call", "two\nlines", Severity.BLOCKER, Dimension.SECURITY, 5
    )
    report = Report(
        (FileResult("odd, name:1.py", (odd,), lines=1, score=95.0, dimensions=dims()),), 95.0, "A", dims(), "A-", False
    )
    first = WRITERS["github"](report, SOURCES, rules=RULES).splitlines()[0]
    # a finding over several lines gives no column range, which GitHub takes only on one line
    assert first == "::error file=odd%2C name%3A1.py,line=2,endLine=3,col=1,title=RP991 print-call::two%0Alines"


def test_gitlab_code_quality_format() -> None:
    issues = json.loads(render("gitlab"))
    assert len(issues) == 4
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["path"], str) and isinstance(issue["location"]["lines"]["begin"], int)
    assert len({i["fingerprint"] for i in issues}) == 4
    assert [i["severity"] for i in issues] == ["minor", "blocker", "blocker", "blocker"]


def test_junit_has_one_case_per_file() -> None:
    suite = ET.fromstring(render("junit")).find("testsuite")
    assert suite is not None and suite.attrib["tests"] == "3"
    cases = {c.attrib["name"]: c for c in suite.iter("testcase")}
    assert list(cases) == ["shop/views.py", "shop/models.py", "shop/broken.py"]
    failure = cases["shop/views.py"].find("failure")
    assert failure is not None and failure.attrib["message"] == "3 findings, grade B+ 89"
    assert "shop/views.py:6:12: RP990 [blocker]" in (failure.text or "")
    assert len(cases["shop/models.py"]) == 0
    assert cases["shop/broken.py"].find("error") is not None


def test_markdown_escapes_what_comes_from_the_code() -> None:
    page = render("markdown")
    assert r"RP990 dangerous-call: `eval()` on \<b\>user\</b\> text \| 100% \*unsafe\* \@admin" in page
    assert '````python\n  return eval(f"```{text}```")\n  ````' in page
    sections = [line for line in page.splitlines() if line.startswith("### ")]
    assert sections == ["### Blockers (3)", "### Suggestions (1)", "### Positives (1)", "### Files"]


def test_markdown_shows_the_lines_of_a_multiline_finding() -> None:
    from review_patterns.report.writers.markdown import snippet

    source = "def f(x):\n    return JsonResponse(\n        {'a': x},\n        status=400,\n    )\n"
    sources = Sources(Path("/project"), {"app.py": source})
    call = Finding("app.py", 2, 12, 5, 6, "RP991", "print-call", "m", Severity.WARNING, Dimension.CODE_CLARITY, 1)
    assert snippet(sources, call) == "return JsonResponse(\n    {'a': x},\n    status=400,\n)"
    assert snippet(sources, call, most=2) == "return JsonResponse(\n    {'a': x},\n..."


def test_markdown_helpers() -> None:
    assert escape("a_b | *c*\n<d>") == r"a\_b \| \*c\* \<d\>"
    assert inline("`{call}` on <b>|</b>") == r"`{call}` on \<b\>\|\</b\>"
    assert inline("a ` b") == r"a \` b"
    assert code_block("x = '``'") == "```python\nx = '``'\n```"
    assert code_block("```") == "````python\n```\n````"


def test_sarif_locations_outside_the_working_folder_and_odd_names() -> None:
    from review_patterns.report.writers.sarif import artifact

    assert artifact("/srv/app/shop/views.py") == {"uri": "file:///srv/app/shop/views.py"}
    assert artifact("shop/my views#1.py") == {"uri": "shop/my%20views%231.py", "uriBaseId": "%SRCROOT%"}
