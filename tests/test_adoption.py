"""What a team adopting the tool on an existing project meets first: the review grade of a change,
ruff's flags, config errors that say what was meant, and baselines that stay whole."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from sample_rules import PROJECT, SAMPLE_RULES, write_project

from review_patterns import ALL_RULES
from review_patterns.core.rule import Rule
from review_patterns.frontends.cli import main

NEW_SERVICE = (
    "def preview(request):\n"
    "    print(request.POST)\n"  # RP991, penalty 1
    "    return eval(request.POST['a']), eval(request.POST['b'])\n"  # RP990 x2, penalty 5 each
)


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return write_project(tmp_path)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", "--no-color", "--select", "RP99", *args], rules=SAMPLE_RULES)  # the sample rules only
    out, err = capsys.readouterr()
    return code, out, err


def git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


def test_review_grades_named_files_as_one_change_set(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "shop/preview.py").write_text(NEW_SERVICE)
    code, out, _ = check(capsys, "--review", "shop/views.py", "shop/preview.py")
    assert code == 1
    # views.py: RP990 + RP991; preview.py: 2 x RP990 + RP991
    assert "Review: 100 - 3x5 (RP990) - 2x1 (RP991) = 83 -> B  (2 files, 5 findings, 3 blockers)" in out
    assert "Review grade: B 83" in out
    assert out.rstrip().endswith("FAILED: 3 blocker findings; grade B is below A-.")
    code, out, _ = check(capsys, "--format", "json", "--review", "shop/views.py", "shop/preview.py")
    summary = json.loads(out)["summary"]
    assert (summary["kind"], summary["score"], summary["grade"]) == ("review", 83, "B")
    assert summary["rules"] == [
        {"code": "RP990", "name": "dangerous-call", "count": 3},
        {"code": "RP991", "name": "print-call", "count": 2},
    ]


def test_a_whole_tree_keeps_file_grades_and_ends_with_the_summary(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "shop/preview.py").write_text(NEW_SERVICE)
    code, out, _ = check(capsys, "shop")
    assert code == 1
    assert "shop/preview.py  B+ 89" in out and "shop/views.py  A 94" in out
    summary = out[out.index("Summary") :].splitlines()
    assert summary[1] == "  Files by grade: A+ 3, A 1, B+ 1"
    assert summary[2:5] == ["  Lowest 2 files:", "    B+ 89    shop/preview.py", "    A 94     shop/views.py"]
    assert summary[5:8] == ["  Findings by rule:", "    3  RP990  dangerous-call", "    2  RP991  print-call"]
    assert summary[8] == "Overall: A 95.6  (5 files, 5 findings, 3 blockers)" and summary[-1].startswith(
        "FAILED: 3 blocker findings"
    )
    code, out, _ = check(capsys, "--format", "json", "shop")
    summary_json = json.loads(out)["summary"]
    assert summary_json["kind"] == "tree" and summary_json["grades"] == {"A+": 3, "A": 1, "B+": 1}
    assert [f["path"] for f in summary_json["lowest"]] == ["shop/preview.py", "shop/views.py"]


def test_diff_is_graded_as_a_review(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-qm", "shop")
    (project / "shop/preview.py").write_text(NEW_SERVICE)
    code, out, err = check(capsys, "--format", "json", "--diff", "main")
    summary = json.loads(out)["summary"]
    assert summary["kind"] == "review" and summary["arithmetic"] == "100 - 2x5 (RP990) - 1 (RP991) = 89 -> B+"
    assert code == 1 and "1 changed Python file" in err


def test_staged_reviews_only_staged_lines(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-qm", "shop")
    views = project / "shop/views.py"
    views.write_text(PROJECT["shop/views.py"] + "\n\ndef ping(request):\n    return JsonResponse({})\n")
    git(project, "add", "shop/views.py")
    code, out, _ = check(capsys, "--staged", "shop/views.py")
    assert code == 0 and "Review grade: A+ 100" in out and "RP990" not in out  # the old findings stay quiet
    views.write_text(views.read_text() + "\n\ndef debug(request):\n    print(request)\n")
    code, out, _ = check(capsys, "--staged", "shop/views.py")
    assert code == 0 and "RP991" not in out  # not staged yet
    git(project, "add", "shop/views.py")
    code, out, _ = check(capsys, "--staged", "shop/views.py")
    assert "Review: 100 - 1 (RP991) = 99 -> A+" in out


def test_staged_works_before_the_first_commit(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(project, "init", "-q")
    git(project, "add", ".")
    code, out, _ = check(capsys, "--staged")
    assert code == 1 and "Review: 100 - 5 (RP990) - 1 (RP991) = 94 -> A" in out


def test_statistics_one_line_per_rule(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "shop/preview.py").write_text(NEW_SERVICE)
    code, out, _ = check(capsys, "--statistics", "shop")
    assert code == 1 and out == "3\tRP990\tdangerous-call\n2\tRP991\tprint-call\n"
    code, out, _ = check(capsys, "--statistics", "-o", "statistics.txt", "shop")
    assert code == 1 and out == "" and (project / "statistics.txt").read_text().startswith("3\tRP990\t")


def test_show_settings_says_where_each_value_came_from(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n[tool.review-patterns]\nexclude = ["legacy/**"]\nmin-grade = "B"\n'
    )
    code, out, _ = main_out(capsys, "check", "--show-settings", "--ignore", "RP991", rules=SAMPLE_RULES)
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"# settings file: {(project / 'pyproject.toml').as_posix()}"
    assert f"exclude = ['legacy/**']  # {(project / 'pyproject.toml').as_posix()}:5" in lines
    assert f"min-grade = 'B'  # {(project / 'pyproject.toml').as_posix()}:6" in lines
    assert "ignore = ['RP991']  # command line (--ignore)" in lines
    assert "select = []  # default" in lines


def main_out(
    capsys: pytest.CaptureFixture[str], *args: str, rules: tuple[type[Rule], ...] = ALL_RULES
) -> tuple[int, str, str]:
    code = main(list(args), rules=rules)
    out, err = capsys.readouterr()
    return code, out, err


def test_stdin_is_checked_as_the_named_file(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_SERVICE))
    code, out, _ = check(capsys, "--format", "concise", "--stdin-filename", "shop/preview.py", "-")
    assert code == 1
    assert out.splitlines()[:3] == [
        "shop/preview.py:2:5: RP991 `print()` instead of logging",
        "shop/preview.py:3:12: RP990 `eval()` runs text as code",
        "shop/preview.py:3:37: RP990 `eval()` runs text as code",
    ]
    assert not (project / "shop/preview.py").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_SERVICE))
    code, out, _ = check(capsys, "--format", "markdown", "-")  # no name: still checked, shown as `-`
    assert code == 1 and "**-:3**" in out and "eval(request.POST" in out


def test_force_exclude_applies_exclude_to_named_files(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text('[tool.review-patterns]\nexclude = ["shop/views.py"]\n')
    assert check(capsys, "shop/views.py")[0] == 1  # named: checked, as flake8 and ruff do
    code, out, _ = check(capsys, "--force-exclude", "shop/views.py")
    assert code == 0 and "(0 files, 0 findings" in out
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_SERVICE))
    code, out, _ = check(capsys, "--force-exclude", "--format", "concise", "--stdin-filename", "shop/views.py", "-")
    assert code == 0 and out == "0 findings (0 blockers) in 0 files: A+ 100, PASSED: grade A+ meets A-, no blockers.\n"


def test_config_error_suggests_the_closest_key_with_file_and_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text('[tool.review-patterns]\nselect = ["RP99"]\nignores = ["RP991"]\n')
    code, _, err = check(capsys, "shop")
    assert code == 2
    assert (
        f"{project / 'pyproject.toml'}:3: unknown key `ignores` in [tool.review-patterns]; did you mean `ignore`?"
        in err
    )
    assert (
        "Valid keys: " in err
        and "exclude, ignore, max-file-size, min-grade, penalty, per-file-ignores, python-path, release-tags, select, "
        "severity"
        in err
    )


def test_an_unknown_rule_option_suggests_the_closest_with_file_and_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.review-patterns]\nselect = ["RP99"]\n\n[tool.review-patterns.rp990]\ncall = ["exec"]\n'
    )
    code, _, err = check(capsys, "shop")
    assert code == 2
    assert (
        f"{project / 'pyproject.toml'}:5: unknown option `rp990.call`; did you mean `calls`? Options of RP990: calls."
        in err
    )
    (project / "pyproject.toml").write_text('[tool.review-patterns.RP990]\nforbidden = ["exec"]\n')
    code, _, err = check(capsys, "shop")
    assert (
        code == 2
        and f"{project / 'pyproject.toml'}:2: unknown option `RP990.forbidden`. Options of RP990: calls." in err
    )


def test_write_baseline_with_a_path_keeps_the_records_of_other_files(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "billing").mkdir()
    (project / "billing/__init__.py").write_text("")
    (project / "billing/tasks.py").write_text("def charge(code):\n    return eval(code)\n")
    check(capsys, "--write-baseline", "baseline.json")
    before = json.loads((project / "baseline.json").read_text())["findings"]
    assert sorted(e["path"] for e in before) == ["billing/tasks.py", "shop/views.py", "shop/views.py"]

    (project / "shop/views.py").write_text(PROJECT["shop/views.py"].replace("    print(query)\n", ""))
    _, _, err = check(capsys, "--write-baseline", "baseline.json", "shop")
    after = json.loads((project / "baseline.json").read_text())["findings"]
    assert [(e["path"], e["code"]) for e in after] == [("billing/tasks.py", "RP990"), ("shop/views.py", "RP990")]
    assert "kept 1 record of files outside the checked paths" in err
    # Checking the whole project again records only what is there.
    (project / "billing/tasks.py").write_text("def charge(code):\n    return int(code)\n")
    check(capsys, "--write-baseline", "baseline.json")
    assert [e["path"] for e in json.loads((project / "baseline.json").read_text())["findings"]] == ["shop/views.py"]


def test_a_failed_gate_with_many_findings_suggests_a_baseline(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "shop/legacy.py").write_text("".join(f"def f{n}(x):\n    print(x)\n" for n in range(25)))
    code, _, err = check(capsys, "shop")
    assert code == 1 and "--write-baseline review-baseline.json" in err
    code, _, err = check(capsys, "shop/views.py")
    assert code == 1 and "--write-baseline" not in err  # two findings: nothing to adopt


def test_bonus_rows_of_rules_show_the_bonus_not_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main_out(capsys, "rules")
    rows = {line.split()[1]: line for line in out.splitlines() if line.split()[:1] == ["bonus"]}
    assert code == 0 and {"three-step-migration", "pii-safe-logging"} <= set(rows)
    assert "Flags" not in rows["three-step-migration"] and "awards the bonus" in rows["three-step-migration"]
    assert "Flags" not in rows["pii-safe-logging"] and "only through safe functions" in rows["pii-safe-logging"]


def test_rules_handed_to_main_are_the_runs_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main_out(capsys, "rules", rules=SAMPLE_RULES)
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["RP990", "RP991"]
    code, _, err = main_out(capsys, "check", "--select", "RP301", "-", rules=SAMPLE_RULES)
    assert code == 2 and "RP301" in err  # a real rule is unknown to a run without it


def test_markdown_of_a_large_tree_folds_collapses_and_fits_githubs_summary() -> None:
    from review_patterns.core.grading import dimension_scores, grade_report, score
    from review_patterns.core.model import Bonus, Dimension, FileResult, Finding, Severity
    from review_patterns.report.fingerprint import Sources
    from review_patterns.report.writers.markdown import markdown

    files, texts = [], {}
    for n in range(4000):
        path = f"app{n // 100}/views_{n}.py"
        texts[path] = "def view(request):\n" + "    return eval(request.GET['q'])  # " + "x" * 200 + "\n"
        finding = Finding(path, 2, 12, 2, 35, "RP990", "dangerous-call", "`eval()` runs text as code",
                          Severity.BLOCKER, Dimension.SECURITY, 5)  # fmt: skip
        bonus = Bonus(path, 1, "type-hints", 1, Dimension.CODE_CLARITY, "1 of 1 functions fully annotated")
        dimensions = dimension_scores([finding], [bonus])
        files.append(
            FileResult(path, (finding,), (bonus,), lines=2, score=score([finding], [bonus]), dimensions=dimensions)
        )
    page = markdown(grade_report(files, "A-"), Sources(files=texts))
    assert len(page.encode("utf-8")) < 1024 * 1024
    assert page.count("type-hints") == 1 and "+4000 type-hints (4000 times)" in page  # one line per bonus
    assert "<details>\n<summary>4000 findings</summary>" in page and page.count("<details>") == page.count("</details>")
    assert "left out to stay under GitHub's 1 MiB summary limit" in page
    assert page.rstrip().endswith("has them all._")
