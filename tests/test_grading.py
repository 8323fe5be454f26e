"""The 100-point formula, the letter table, dimension scores and the gate."""

from __future__ import annotations

import pytest

from review_patterns.core.grading import arithmetic, grade_report, letter, score
from review_patterns.core.model import Bonus, Dimension, FileResult, Finding, Severity


def finding(
    code: str = "RP101",
    penalty: int = 5,
    severity: Severity = Severity.IMPORTANT,
    dimension: Dimension = Dimension.DATA_INTEGRITY,
) -> Finding:
    return Finding("app/views.py", 1, 1, 1, 2, code, "name", "message", severity, dimension, penalty)


def bonus(points: int = 2, dimension: Dimension = Dimension.SECURITY) -> Bonus:
    return Bonus("app/views.py", 1, "pii-safe-logging", points, dimension, "message")


def result(findings=(), bonuses=(), lines: int = 10) -> FileResult:
    from review_patterns.core.grading import dimension_scores

    return FileResult(
        "app/views.py",
        tuple(findings),
        tuple(bonuses),
        lines=lines,
        score=score(findings, bonuses),
        dimensions=dimension_scores(list(findings), list(bonuses)),
    )


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (100, "A+"),
        (97, "A+"),
        (96.9, "A"),
        (93, "A"),
        (92.9, "A-"),
        (90, "A-"),
        (89.9, "B+"),
        (87, "B+"),
        (83, "B"),
        (80, "B-"),
        (77, "C+"),
        (73, "C"),
        (70, "C-"),
        (67, "D+"),
        (63, "D"),
        (60, "D-"),
        (59.9, "F"),
        (0, "F"),
    ],
)
def test_letter_table(value: float, grade: str) -> None:
    assert letter(value) == grade


def test_penalties_and_bonuses_add_up_and_clamp() -> None:
    assert score([finding(penalty=5), finding(penalty=8)], [bonus(2)]) == 89
    assert score([finding(penalty=60), finding(penalty=60)], []) == 0
    assert score([], [bonus(5)]) == 100


def test_arithmetic_is_shown_as_the_team_wrote_it() -> None:
    graded = result([finding("RP101", 5), finding("RP301", 8)], [bonus(2)])
    assert arithmetic(graded) == "100 - 5 (RP101) - 8 (RP301) + 2 (pii-safe-logging) = 89 -> B+"
    assert arithmetic(result([], [bonus(3)])) == "100 + 3 (pii-safe-logging) = 103, clamped to 100 -> A+"


def test_dimension_scores_count_only_their_own_findings() -> None:
    graded = result(
        [finding(penalty=5, dimension=Dimension.DATA_INTEGRITY), finding(penalty=8, dimension=Dimension.SECURITY)],
        [bonus(2, Dimension.SECURITY)],
    )
    assert graded.dimensions[Dimension.DATA_INTEGRITY] == 95
    assert graded.dimensions[Dimension.SECURITY] == 94
    assert graded.dimensions[Dimension.PERFORMANCE] == 100


def test_overall_score_is_weighted_by_non_blank_lines() -> None:
    small_bad = result([finding(penalty=20)], lines=10)  # 80
    large_clean = result(lines=90)  # 100
    report = grade_report([small_bad, large_clean], "A-")
    assert report.score == 98.0
    assert report.grade == "A+"
    assert report.dimensions[Dimension.DATA_INTEGRITY] == 98.0


def test_files_with_errors_get_no_score_and_do_not_weigh() -> None:
    broken = FileResult("broken.py", (finding("RP001", 0, Severity.BLOCKER),), lines=500, error="syntax error")
    report = grade_report([broken, result([finding(penalty=4)], lines=10)], "A-")
    assert report.score == 96.0
    assert not report.passed  # the parse error is a blocker


@pytest.mark.parametrize(
    ("findings", "min_grade", "passed"),
    [
        ([], "A-", True),
        ([finding(penalty=0, severity=Severity.BLOCKER)], "F", False),  # a blocker fails whatever the grade
        ([finding(penalty=11)], "A-", False),  # 89 is B+, below A-
        ([finding(penalty=11)], "B", True),
        ([finding(penalty=10)], "A-", True),  # 90 is exactly A-
    ],
)
def test_gate(findings: list[Finding], min_grade: str, passed: bool) -> None:
    assert grade_report([result(findings)], min_grade).passed is passed


def test_an_empty_run_passes_with_full_marks() -> None:
    report = grade_report([], "A-")
    assert (report.score, report.grade, report.passed) == (100.0, "A+", True)


def located(path: str, code: str, penalty: int, severity: Severity = Severity.IMPORTANT) -> Finding:
    return Finding(path, 1, 1, 1, 2, code, "name", "message", severity, Dimension.PERFORMANCE, penalty)


def migration_bonus(path: str) -> Bonus:
    return Bonus(path, 9, "three-step-migration", 3, Dimension.DATA_INTEGRITY, "message")


def file(path: str, findings=(), bonuses=(), lines: int = 100) -> FileResult:
    from review_patterns.core.grading import dimension_scores

    return FileResult(
        path,
        tuple(findings),
        tuple(bonuses),
        lines=lines,
        score=score(findings, bonuses),
        dimensions=dimension_scores(list(findings), list(bonuses)),
    )


def the_team_change() -> list[FileResult]:
    """Three N+1 in two views, a leaked exception in a service, a three-step migration, a clean file."""
    return [
        file("shop/views.py", [located("shop/views.py", "RP401", 5), located("shop/views.py", "RP401", 5)]),
        file("shop/api.py", [located("shop/api.py", "RP401", 5)]),
        file("shop/services.py", [located("shop/services.py", "RP302", 6)]),
        file("shop/migrations/0003_enforce.py", bonuses=[migration_bonus("shop/migrations/0003_enforce.py")]),
        file("shop/models.py", lines=400),
    ]


def test_a_review_is_graded_as_one_change_set() -> None:
    from review_patterns.core.grading import review_arithmetic

    report = grade_report(the_team_change(), "A-", review=True)
    assert (report.score, report.grade, report.review) == (82.0, "B-", True)
    assert review_arithmetic(report.findings, report.bonuses) == (
        "100 - 3x5 (RP401) - 6 (RP302) + 3 (three-step-migration) = 82 -> B-"
    )
    assert report.dimensions[Dimension.PERFORMANCE] == 100 - 15 - 6
    assert report.dimensions[Dimension.DATA_INTEGRITY] == 100  # 103 clamped
    assert not report.passed  # B- is below A-
    # The same files as a whole tree: the line-weighted mean barely moves.
    tree = grade_report(the_team_change(), "A-")
    assert tree.score == round((90 + 95 + 94 + 100 + 100 * 4) / 8, 1) == 97.4 and tree.passed


def test_a_review_clamps_and_a_blocker_fails_it_whatever_the_grade() -> None:
    from review_patterns.core.grading import review_arithmetic

    many = [located("a.py", "RP401", 5) for _ in range(25)]
    assert review_arithmetic(many, []) == "100 - 25x5 (RP401) = -25, clamped to 0 -> F"
    blocked = grade_report([file("a.py", [located("a.py", "RP101", 0, Severity.BLOCKER)])], "F", review=True)
    assert blocked.score == 100 and not blocked.passed


def test_a_whole_tree_summary_counts_letters_lowest_files_and_rules() -> None:
    from review_patterns.core.grading import findings_by_rule, grade_counts, lowest_files

    files = [
        *the_team_change(),
        FileResult("broken.py", (located("broken.py", "RP001", 5, Severity.BLOCKER),), error="syntax error"),
        *(file(f"clean_{n:02}.py") for n in range(12)),
        *(file(f"meh_{n:02}.py", [located(f"meh_{n:02}.py", "RP402", 3)]) for n in range(12)),
    ]
    assert grade_counts(files) == {"A+": 26, "A": 2, "A-": 1}  # 97 is A+; the broken file has no grade
    lowest = lowest_files(files)
    assert [r.path for r in lowest[:4]] == ["broken.py", "shop/views.py", "shop/services.py", "shop/api.py"]
    assert len(lowest) == 10 and lowest[-1].path == "meh_05.py"
    assert findings_by_rule(f for r in files for f in r.findings) == [
        ("RP402", "name", 12),
        ("RP401", "name", 3),
        ("RP001", "name", 1),
        ("RP302", "name", 1),
    ]
