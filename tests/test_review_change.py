"""`check --diff REV` and baselines, on a temporary git repository with the real git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sample_rules import PROJECT, SAMPLE_RULES, write_project

from review_patterns.frontends.cli import main
from review_patterns.frontends.git import parse_diff

VIEWS = PROJECT["shop/views.py"]
NEW_VIEW = (
    "\n\n"
    "def preview(request):\n"
    "    template = request.POST['template']\n"
    "    return JsonResponse({'html': eval(template)})\n"
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose main branch already has the two findings of shop/views.py, on a feature branch."""
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }.items():
        monkeypatch.setenv(key, value)
    write_project(tmp_path)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "shop")
    git(tmp_path, "checkout", "-qb", "feature")
    return tmp_path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["check", "--format", "json", "--select", "RP99", *args], rules=SAMPLE_RULES)  # the sample rules only
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.startswith("{") else {}, err


def found(report: dict) -> list[tuple[str, str, int]]:
    return [(r["path"], f["code"], f["line"]) for r in report["files"] for f in r["findings"]]


def test_diff_reviews_only_changed_lines_of_changed_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "shop/views.py").write_text(VIEWS + NEW_VIEW)
    git(repo, "commit", "-qam", "preview")
    # main moves on meanwhile: its change is not part of the feature's review
    git(repo, "checkout", "-q", "main")
    (repo / "shop/services.py").write_text(PROJECT["shop/services.py"] + "\nprint('debug')\n")
    git(repo, "commit", "-qam", "debug on main")
    git(repo, "checkout", "-q", "feature")
    code, report, err = check(capsys, "--diff", "main")
    assert found(report) == [("shop/views.py", "RP990", 16)]
    assert [r["path"] for r in report["files"]] == ["shop/views.py"]
    assert code == 1
    assert "1 changed Python file since main" in err


def test_diff_takes_uncommitted_and_untracked_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "shop/services.py").write_text(PROJECT["shop/services.py"] + "\n\nprint('staged? no, just edited')\n")
    (repo / "shop/migrations").mkdir()
    (repo / "shop/migrations/0001_initial.py").write_text("from django.db import migrations\nprint(migrations)\n")
    (repo / "shop/README.txt").write_text("not Python")
    code, report, _ = check(capsys, "--diff", "HEAD")
    assert found(report) == [("shop/migrations/0001_initial.py", "RP991", 2), ("shop/services.py", "RP991", 8)]
    assert code == 0  # warnings only: the change set grades above A-


def test_diff_with_nothing_changed_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = check(capsys, "--diff", "main")
    assert code == 0 and report["files"] == [] and "0 changed Python files" in err


def test_diff_only_below_the_given_paths(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "shop/views.py").write_text(VIEWS + NEW_VIEW)
    (repo / "scripts").mkdir()
    (repo / "scripts/run.py").write_text("print('x')\n")
    _, report, _ = check(capsys, "--diff", "main", "scripts")
    assert found(report) == [("scripts/run.py", "RP991", 1)]


@pytest.mark.parametrize(("rev", "message"), [("no-such-branch", "no-such-branch"), ("main", "not a git repository")])
def test_diff_errors_are_clear(
    tmp_path: Path,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    rev: str,
    message: str,
) -> None:
    if message == "not a git repository":
        outside = tmp_path.parent / f"{tmp_path.name}-plain"
        write_project(outside)
        monkeypatch.chdir(outside)
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(outside.parent))
    code, _, err = check(capsys, "--diff", rev)
    assert code == 2 and message in err.lower() and "Traceback" not in err


def test_parse_diff_reads_hunks_and_quoted_names(tmp_path: Path) -> None:
    patch = (
        "diff --git a/shop/views.py b/shop/views.py\n--- a/shop/views.py\n+++ b/shop/views.py\n"
        "@@ -10,0 +11,2 @@ def search(request):\n+x\n+y\n@@ -20 +22 @@\n-a\n+b\n@@ -30,2 +31,0 @@\n-c\n-d\n"
        'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"\n--- "a/caf\\303\\251.py"\n'
        '+++ "b/caf\\303\\251.py"\n@@ -1 +1 @@\n-old\n+new\n'
        "--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    )
    assert parse_diff(patch, tmp_path) == {
        tmp_path / "shop/views.py": frozenset({11, 12, 22}),
        tmp_path / "café.py": frozenset({1}),
    }


def test_baseline_gates_only_new_findings_and_lists_fixed_ones(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report, err = check(capsys, "--write-baseline", "review-baseline.json")
    assert code == 0 and found(report) == []
    assert "wrote review-baseline.json: 2 findings" in err and "2 known findings not shown" in err
    recorded = json.loads((repo / "review-baseline.json").read_text())["findings"]
    assert [(e["code"], e["path"], e["line"]) for e in recorded] == [
        ("RP991", "shop/views.py", 10),
        ("RP990", "shop/views.py", 11),
    ]

    # The same code moved down and re-indented is still known; only the new eval() counts.
    moved = VIEWS.replace("def search(request):\n", "def search(request):\n    '''Search.'''\n\n")
    moved = moved.replace("eval(query)", "eval( query )")
    (repo / "shop/views.py").write_text(moved + NEW_VIEW)
    code, report, err = check(capsys, "--baseline", "review-baseline.json")
    assert found(report) == [("shop/views.py", "RP990", 18)] and code == 1
    assert "2 known findings not shown, 1 new, 0 fixed" in err

    # Removing the print() is reported as fixed, from another working folder too.
    (repo / "shop/views.py").write_text(moved.replace("    print(query)\n", ""))
    monkeypatch.chdir(repo / "shop")
    code, report, err = check(capsys, "--baseline", "../review-baseline.json", ".")
    assert code == 0 and found(report) == []
    assert "1 known finding not shown, 0 new, 1 fixed" in err
    assert "fixed: shop/views.py:10 RP991 `print()` instead of logging" in err


def test_baseline_counts_repeated_findings(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check(capsys, "--write-baseline", "baseline.json")
    (repo / "shop/views.py").write_text(VIEWS.replace("    print(query)\n", "    print(query)\n    print(query)\n"))
    _, report, err = check(capsys, "--baseline", "baseline.json")
    assert found(report) == [("shop/views.py", "RP991", 11)]  # one of two identical lines is new
    assert "2 known findings not shown, 1 new" in err


@pytest.mark.parametrize("content", ["not json", '{"version": 99}', '{"version": 1, "findings": [{"code": 1}]}'])
def test_bad_baseline_is_a_clear_error(repo: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    (repo / "baseline.json").write_text(content)
    code, _, err = check(capsys, "--baseline", "baseline.json")
    assert code == 2 and "baseline" in err and "Traceback" not in err


def test_missing_baseline_and_diff_with_write_baseline(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = check(capsys, "--baseline", "nope.json")
    assert code == 2 and "cannot read baseline nope.json" in err
    code, _, err = check(capsys, "--diff", "main", "--write-baseline", "b.json")
    assert code == 2 and "cannot be combined" in err


def test_diff_and_baseline_together(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A change that moves a recorded finding onto changed lines does not count it as new."""
    check(capsys, "--write-baseline", "baseline.json")
    git(repo, "add", "baseline.json")
    git(repo, "commit", "-qm", "baseline")
    moved = VIEWS.replace("    print(query)\n", "    print(query)  # moved to a changed line\n")
    (repo / "shop/views.py").write_text(moved + NEW_VIEW)
    code, report, err = check(capsys, "--diff", "HEAD", "--baseline", "baseline.json")
    assert found(report) == [("shop/views.py", "RP990", 16)]
    assert "2 known findings not shown, 1 new, 0 fixed" in err
    assert code == 1


def test_normalized_code_ignores_layout_and_comments() -> None:
    from review_patterns.report.fingerprint import normalized

    assert normalized("    total = F('total') + 1  # noqa: RP101") == normalized("total=F('total')+1")
    assert normalized("x = '# not a comment'") != normalized("x = ''")
    assert normalized("    return Response(  # why") == "returnResponse(#why"  # an open bracket: as written
