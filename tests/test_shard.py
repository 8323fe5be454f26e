"""`check --shard K/N` and `merge`: a run split over CI jobs and put back together equals one run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from review_patterns.core.runner import share
from review_patterns.frontends.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture()
def projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture projects (views, services, tasks, models, migrations, settings; several project roots)."""
    shutil.copytree(FIXTURES, tmp_path / "src")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def shard_reports(capsys: pytest.CaptureFixture[str], count: int, *args: str, prefix: str = "shard") -> list[str]:
    names = []
    for index in range(1, count + 1):
        name = f"{prefix}-{index}.json"
        code, _, _ = run(capsys, "check", "--no-cache", "--shard", f"{index}/{count}", "-o", name, *args)
        assert code == 0  # a shard applies no gate
        names.append(name)
    return names


def test_merged_shards_equal_one_run(projects: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = run(capsys, "check", "--no-cache", "--no-color", "--report", "json=whole.json", "src")
    names = shard_reports(capsys, 3, "src")
    merged = run(capsys, "merge", "--no-color", "--report", "json=merged.json", *reversed(names))  # any order

    # findings, bonuses, scores, grades and the order of the files
    assert json.loads(Path("merged.json").read_text()) == json.loads(Path("whole.json").read_text())
    assert merged[1] == whole[1]  # the text report
    assert merged[0] == whole[0] == 1  # the fixtures hold blockers: the gate fails once, at the merge
    assert merged[2] == whole[2]  # the same warnings, once each
    shares = [json.loads(Path(n).read_text())["files"] for n in names]
    assert all(shares) and sum(map(len, shares)) == len(json.loads(Path("whole.json").read_text())["files"])
    assert json.loads(Path("whole.json").read_text())["summary"]["findings"] > 20  # a real run, not an empty one


def test_merge_writes_other_formats_and_applies_its_own_gate(
    projects: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = shard_reports(capsys, 2, "src/privacy_project")
    code, out, _ = run(capsys, "merge", "--output-format", "concise", "--report", "sarif=merged.sarif", *names)
    whole = run(capsys, "check", "--no-cache", "--output-format", "concise", "src/privacy_project")
    assert (code, out) == whole[:2]
    assert json.loads(Path("merged.sarif").read_text())["runs"][0]["results"]
    assert run(capsys, "merge", "--exit-zero", *names)[0] == 0


def test_a_review_split_in_shards_is_graded_as_one_change_set(
    projects: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = run(capsys, "check", "--no-cache", "--review", "--output-format", "json", "src/migrations_project")
    shards = shard_reports(capsys, 3, "--review", "src/migrations_project")
    merged = run(capsys, "merge", "--output-format", "json", *shards)
    assert json.loads(merged[1])["summary"]["kind"] == "review"
    assert json.loads(merged[1]) == json.loads(whole[1])
    assert merged[0] == whole[0]


def test_merge_with_a_baseline_equals_check_with_it(projects: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "check", "--no-cache", "--write-baseline", "baseline.json", "src/orm_project")
    paths = ("src/orm_project", "src/privacy_project")
    whole = run(capsys, "check", "--no-cache", "--baseline", "baseline.json", "--output-format", "json", *paths)
    shards = shard_reports(capsys, 2, *paths)
    merged = run(capsys, "merge", "--baseline", "baseline.json", "--output-format", "json", *shards)
    assert json.loads(merged[1]) == json.loads(whole[1])
    assert merged[0] == whole[0]


def test_shares_are_balanced_by_size_and_cover_every_file_once() -> None:
    sizes = [120, 5, 4000, 300, 300, 80, 2500, 1, 0, 700, 650, 90]
    shares = [share(sizes, k, 3) for k in (1, 2, 3)]
    assert sorted(p for s in shares for p in s) == list(range(len(sizes)))
    assert all(s == sorted(s) for s in shares)  # each in run order
    loads = [sum(sizes[p] for p in s) for s in shares]
    assert max(loads) - min(loads) <= max(sizes)
    assert shares == [share(sizes, k, 3) for k in (1, 2, 3)]  # the same split every time
    assert share(sizes, 1, 1) == list(range(len(sizes)))
    assert share([10, 10], 3, 3) == []  # more shards than files: some are empty


def test_reports_that_are_not_one_whole_run_are_refused(projects: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second, third = shard_reports(capsys, 3, "src/privacy_project")
    other = shard_reports(capsys, 2, "src/orm_project", prefix="other")[0]
    Path("plain.json").write_text(run(capsys, "check", "--no-cache", "--output-format", "json", "src/orm_project")[1])
    Path("broken.json").write_text("{")
    cases = {
        (first, second): "shard 3 of 3 is missing",
        (first, second, third, other): "not shards of one run",
        (first, second, "plain.json"): "is not the JSON report of a shard",
        (first, "broken.json"): "broken.json is not a JSON report",
        (first, "absent.json"): "cannot read absent.json",
    }
    for names, message in cases.items():
        code, out, err = run(capsys, "merge", *names)
        assert code == 2 and message in err and "Traceback" not in err, (names, err)
        assert out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "1 <= K <= N"),
        (["--shard", "two"], "1 <= K <= N"),
        (["--shard", "1/2", "--output-format", "sarif"], "give the report formats to `merge`"),
        (["--shard", "1/2", "--baseline", "b.json"], "give --baseline to `merge`"),
        (["--shard", "1/2", "--fix"], "cannot be combined with --fix"),
    ],
)
def test_shard_flags_that_cannot_work_are_usage_errors(
    projects: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "check", *args, "src")
    assert code == 2 and message in err
