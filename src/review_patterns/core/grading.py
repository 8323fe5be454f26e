"""The team's 100-point grade: the only place the formula and the letter table live.

A file starts at 100, loses each finding's penalty, gains each bonus's points, and is
clamped to 0..100. Each dimension is scored the same way from its own findings and bonuses.

A whole tree's overall score is the mean of the file scores weighted by non-blank lines.
A review (a change set) is graded as the team grades one: 100 minus the penalty of every
finding in the change plus every bonus, clamped, whatever the number of files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from review_patterns.core.model import Bonus, Dimension, FileResult, Finding, Report, Severity

LETTERS: tuple[tuple[float, str], ...] = (
    (97, "A+"),
    (93, "A"),
    (90, "A-"),
    (87, "B+"),
    (83, "B"),
    (80, "B-"),
    (77, "C+"),
    (73, "C"),
    (70, "C-"),
    (67, "D+"),
    (63, "D"),
    (60, "D-"),
    (0, "F"),
)
GRADES: tuple[str, ...] = tuple(name for _, name in LETTERS)

#: Penalties of rules that do not carry their own.
DEFAULT_PENALTY: Mapping[Severity, int] = {
    Severity.BLOCKER: 5,
    Severity.IMPORTANT: 3,
    Severity.WARNING: 1,
    Severity.SUGGESTION: 0,
}


def letter(score: float) -> str:
    """The letter for a score: A+ >= 97, A >= 93, A- >= 90, ... F below 60."""
    for bound, name in LETTERS:
        if score >= bound:
            return name
    return "F"


def file_grade(result: FileResult) -> str | None:
    """The file's letter, or None for a file that could not be checked."""
    return None if result.score is None else letter(result.score)


def minimum_score(grade: str) -> float:
    """The lowest score that earns `grade`."""
    return {name: bound for bound, name in LETTERS}[grade]


def _clamp(value: float) -> float:
    return float(max(0.0, min(100.0, value)))


def score(findings: Iterable[Finding], bonuses: Iterable[Bonus]) -> float:
    """100 minus penalties plus bonuses, clamped to 0..100."""
    return _clamp(100 - sum(f.penalty for f in findings) + sum(b.points for b in bonuses))


def dimension_scores(findings: Sequence[Finding], bonuses: Sequence[Bonus]) -> dict[Dimension, float]:
    """The same formula, per dimension."""
    return {
        d: score([f for f in findings if f.dimension is d], [b for b in bonuses if b.dimension is d]) for d in Dimension
    }


def arithmetic(result: FileResult) -> str:
    """How a file's score was reached: `100 - 5 (RP101) + 2 (pii-safe-logging) = 97 -> A+`."""
    terms = [f" - {f.penalty} ({f.code})" for f in result.findings if f.penalty]
    terms += [f" + {b.points} ({b.name})" for b in result.bonuses if b.points]
    raw = 100 - sum(f.penalty for f in result.findings) + sum(b.points for b in result.bonuses)
    clamped = f" = {raw:g}, clamped to {result.score:g}" if raw != result.score else f" = {result.score:g}"
    return f"100{''.join(terms)}{clamped} -> {file_grade(result)}"


def _terms(counts: Counter[tuple[str, int]], sign: str) -> list[str]:
    """` - 3x5 (RP401)`: how many times, times the points, by rule or bonus."""
    terms = []
    for (label, points), times in sorted(counts.items(), key=lambda item: (-item[0][1] * item[1], item[0][0])):
        if points:
            terms.append(f" {sign} {f'{times}x' if times > 1 else ''}{points} ({label})")
    return terms


def review_arithmetic(findings: Sequence[Finding], bonuses: Sequence[Bonus]) -> str:
    """A change set's score by rule: `100 - 3x5 (RP401) - 6 (RP302) + 3 (three-step-migration) = 82 -> B-`."""
    terms = _terms(Counter((f.code, f.penalty) for f in findings), "-")
    terms += _terms(Counter((b.name, b.points) for b in bonuses), "+")
    raw = 100 - sum(f.penalty for f in findings) + sum(b.points for b in bonuses)
    total = score(findings, bonuses)
    shown = f" = {raw:g}, clamped to {total:g}" if raw != total else f" = {total:g}"
    return f"100{''.join(terms)}{shown} -> {letter(total)}"


def grade_counts(files: Iterable[FileResult]) -> dict[str, int]:
    """How many checked files earned each letter, best first, letters no file earned left out."""
    counts = Counter(file_grade(r) for r in files if r.score is not None)
    return {name: counts[name] for name in GRADES if counts[name]}


def lowest_files(files: Iterable[FileResult], most: int = 10) -> list[FileResult]:
    """The `most` files with the lowest scores (files that could not be checked first), ties by path."""
    listed = [r for r in files if r.error is not None or r.findings]
    listed.sort(key=lambda r: (-1.0 if r.score is None else r.score, r.path))
    return listed[:most]


def findings_by_rule(findings: Iterable[Finding]) -> list[tuple[str, str, int]]:
    """(code, name, count) for each rule that found something, most frequent first."""
    counts = Counter((f.code, f.name) for f in findings)
    return [(code, name, n) for (code, name), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def grade_report(
    files: Sequence[FileResult], min_grade: str, *, review: bool = False, warnings: tuple[str, ...] = ()
) -> Report:
    """Grades the run and applies the gate (no blocker, overall at least `min_grade`).

    A whole tree: the mean of the file scores weighted by size. A review: one score for the
    change set, 100 minus every finding's penalty plus every bonus.
    """
    if review:
        findings = [f for r in files for f in r.findings]
        bonuses = [b for r in files for b in r.bonuses]
        overall, dims = score(findings, bonuses), dimension_scores(findings, bonuses)
    else:
        overall, dims = _weighted(files)
    blocked = any(f.severity is Severity.BLOCKER for r in files for f in r.findings)
    passed = not blocked and overall >= minimum_score(min_grade)
    return Report(tuple(files), overall, letter(overall), dims, min_grade, passed, review, warnings)


def regrade(report: Report, files: Sequence[FileResult] | None = None, *, review: bool | None = None) -> Report:
    """`report` graded again, with other `files` or as a review (or not), keeping its gate, warnings and shard."""
    graded = grade_report(
        report.files if files is None else files,
        report.min_grade,
        review=report.review if review is None else review,
        warnings=report.warnings,
    )
    return replace(graded, shard=report.shard)


def _weighted(files: Sequence[FileResult]) -> tuple[float, dict[Dimension, float]]:
    """The mean of the file scores (and of each dimension's) weighted by non-blank lines."""
    scored = [r for r in files if r.score is not None]
    weight = sum(max(r.lines, 1) for r in scored)

    def mean(values: Iterable[tuple[float, int]]) -> float:
        return round(sum(v * w for v, w in values) / weight, 1) if weight else 100.0

    overall = mean((r.score or 0.0, max(r.lines, 1)) for r in scored)
    dims = {d: mean((r.dimensions[d], max(r.lines, 1)) for r in scored) for d in Dimension}
    return overall, dims
