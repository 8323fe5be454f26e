"""`check` on a small Django project: formats to files and terminal, the GitHub step summary, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from django_shop import SELECT, SHOP
from sample_rules import write_project

from review_patterns import ALL_RULES
from review_patterns.frontends.cli import main

SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return write_project(tmp_path, SHOP)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", "--no-color", "--select", SELECT, *args])  # these two only, whatever else exists
    out, err = capsys.readouterr()
    return code, out, err


def test_several_formats_in_one_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, "--report", "json=out/report.json", "--report", "sarif=out/report.sarif", "shop")
    assert code == 1  # an email in the log is a blocker
    assert "shop/views.py  " in out and "FAILED: 1 blocker finding." in out  # the text report on the terminal
    report = json.loads((project / "out/report.json").read_text())
    assert [(f["code"], f["line"]) for f in report["files"][-1]["findings"]] == [("RP301", 12), ("RP304", 15)]
    sarif = json.loads((project / "out/report.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(sarif)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["RP301", "RP304"]
    catalogue = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert catalogue == [rule.code for rule in ALL_RULES if rule.code]  # the run's rules: the registry
    assert (
        sarif["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "shop/views.py"
    )


def test_format_to_stdout_and_another_to_a_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, "--format", "concise", "--report", "junit=junit.xml", "--exit-zero")
    assert code == 0
    assert out == (
        "shop/views.py:12:5: RP301 `email` is personal data in a log message; log an id or pseudonymize it"
        " (`mask_*`, `hash_*`)\n"
        "shop/views.py:15:5: RP304 `except Exception` swallows every error; catch what you expect, re-raise,"
        " or log the traceback\n"
        "2 findings (1 blocker) in 6 files: A 95.8, FAILED: 1 blocker finding.\n"
    )
    assert 'failures="1"' in (project / "junit.xml").read_text()


def test_output_file_takes_the_report_off_the_terminal(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.umask(0o022)
    code, out, _ = check(capsys, "--format", "gitlab", "-o", "gl-code-quality.json")
    assert code == 1 and out == ""  # as `ruff check -o`: the report goes to the file, not also to the terminal
    assert (project / "gl-code-quality.json").stat().st_mode & 0o044 == 0o044  # others may read it, as usual
    issues = json.loads((project / "gl-code-quality.json").read_text())
    assert [i["check_name"] for i in issues] == ["RP301", "RP304"]


def test_github_format_appends_the_markdown_step_summary(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = project / "summary.md"
    summary.write_text("## Tests\n\nall green\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = check(capsys, "--format", "github")
    assert code == 1
    assert out.splitlines()[0].startswith("::error file=shop/views.py,line=12,endLine=12,col=5,")
    text = summary.read_text()
    assert text.startswith("## Tests\n\nall green\n## review-patterns: ")
    assert "### Blockers (1)" in text and "logger.info('signup from %s', email)" in text


def test_no_step_summary_without_the_github_format(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project / "summary.md"))
    check(capsys, "--format", "json")
    assert not (project / "summary.md").exists()


@pytest.mark.parametrize("value", ["yaml=report.yaml", "sarif", "sarif="])
def test_bad_report_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, _, err = check(capsys, "--report", value)
    assert code == 2 and "FORMAT=FILE" in err


def test_output_format_and_output_file_are_spelled_as_in_ruff(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = check(capsys, "--output-format", "json", "--output-file", "out.json", "shop")
    assert code == 1 and json.loads((project / "out.json").read_text())["summary"]["blockers"] == 1
    assert out == ""
    code, out, _ = check(capsys, "-o", "report.txt", "shop")  # the text report, its summary included, uncoloured
    written = (project / "report.txt").read_text()
    assert code == 1 and out == "" and "\x1b[" not in written
    assert "shop/views.py" in written and written.rstrip().splitlines()[-1].startswith("FAILED")
    code, out, _ = check(capsys, "--format", "concise", "-o", "-", "shop")  # `-` is standard output
    assert code == 1 and out.splitlines()[0].startswith("shop/views.py:")
    code, out, _ = check(capsys, "--format", "concise", "shop")
    assert out.splitlines()[0].startswith("shop/views.py:")


def test_the_old_spelling_of_report_points_to_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = check(capsys, "--output-format", "json=report.json")
    assert code == 2 and "use --report json=report.json" in err
    code, _, err = check(capsys, "--output-format", "yaml")
    assert code == 2 and "not one of text, json" in err


def test_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(capsys, "shop/models.py", "shop/services.py")[0] == 0
    assert check(capsys, "shop")[0] == 1
    assert check(capsys, "--select", "RP304", "shop")[0] == 0  # a warning alone keeps the grade above A-
    (project / "pyproject.toml").write_text("[tool.review-patterns]\nmin-grade = 'Z'\n")
    code, _, err = check(capsys, "shop")
    assert code == 2 and "configuration error" in err and "min-grade" in err


def test_gitlab_fingerprints_survive_lines_moving(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def fingerprints() -> list[str]:
        check(capsys, "--format", "gitlab", "-o", "gl.json", "shop")
        return [issue["fingerprint"] for issue in json.loads((project / "gl.json").read_text())]

    before = fingerprints()
    views = project / "shop/views.py"
    moved = views.read_text().replace("', email)", "',  email )  # audit")
    views.write_text('"""Signup views."""\n\n' + moved)
    assert fingerprints() == before
    views.write_text(views.read_text().replace("',  email )", "', email, request.user)"))
    assert fingerprints()[0] != before[0]
