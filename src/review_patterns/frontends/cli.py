"""The command line: `check`, `merge`, `fix`, `rules`, `explain` and `docs`, over the engine."""

from __future__ import annotations

import gc
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from review_patterns.checks import RULES, RULES_FILE
from review_patterns.core import replay, stopping
from review_patterns.core.cache import cache_folder
from review_patterns.core.config import Config, ConfigError, check_selector, load_config
from review_patterns.core.grading import GRADES, findings_by_rule, grade_report, regrade
from review_patterns.core.model import Finding, Report
from review_patterns.core.rule_info import RuleInfo
from review_patterns.core.runner import (
    collect_files,
    display_path,
    excluded,
    filter_findings,
    lint_paths,
    with_overrides,
)
from review_patterns.core.stopping import Stopped
from review_patterns.core.version import __version__
from review_patterns.frontends import settings
from review_patterns.frontends.git import GitError, changed_since, staged_changes
from review_patterns.frontends.output import OutputError, stop_on_signals, write_output
from review_patterns.project.context import ProjectContext, find_project_root
from review_patterns.report import baseline, docs
from review_patterns.report.baseline import BaselineError
from review_patterns.report.fingerprint import Sources
from review_patterns.report.merge import MergeError, merge, read_report
from review_patterns.report.writers import WRITERS, text
from review_patterns.report.writers.common import plural
from review_patterns.report.writers.text import finding_lines

if TYPE_CHECKING:
    from rich.progress import Progress

    from review_patterns.core.fixer import FixOutcome

EXIT_OK, EXIT_GATE, EXIT_ERROR = 0, 1, 2


def _rules() -> tuple[RuleInfo, ...]:
    """The rules of this run: those handed to `main(rules=...)`, else the registry's."""
    rules: tuple[RuleInfo, ...] | None = click.get_current_context().find_root().obj
    return RULES if rules is None else rules


def _selectors(value: str | None, key: str, bonuses: bool = False) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(check_selector(v.strip(), key, bonuses, rules=_rules()) for v in value.split(",") if v.strip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="review-patterns")
def cli() -> None:
    """A Django-aware code-review linter that grades every file out of 100."""


def _output_format(value: str) -> tuple[str, Path]:
    name, sep, file = value.partition("=")
    if not sep or not file or name not in WRITERS:
        raise click.BadParameter(
            f"expected FORMAT=FILE with FORMAT one of {', '.join(WRITERS)}, not {value!r}", param_hint="--report"
        )
    return name, Path(file)


def _report_format(value: str) -> str:
    """A format name; FORMAT=FILE (this option's meaning before 0.2) is pointed to `--report`."""
    if value in WRITERS:
        return value
    if "=" in value:
        raise click.BadParameter(
            f"{value!r}: to also write FORMAT to FILE, use --report {value}", param_hint="--output-format"
        )
    raise click.BadParameter(f"{value!r} is not one of {', '.join(WRITERS)}", param_hint="--output-format")


class ProgressBar:
    """A progress bar on stderr (files done of total, rate, time left) for runs that last: it appears
    once the run has taken `delay` seconds, only on a terminal, and is gone when the report prints."""

    def __init__(self, enabled: bool, delay: float = 1.0) -> None:
        self.enabled = enabled
        self.delay = delay
        self.started = time.monotonic()
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.started < self.delay or done >= total:
                return
            from review_patterns.frontends.progress import progress_bar  # rich.progress, only when shown

            self.bar = progress_bar()
            self.bar.start()
            self.task = self.bar.add_task("checking", total=total)
        self.bar.update(self.task, completed=done)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _note(message: str) -> None:
    """A line on stderr about the run (warnings, baselines, hints), unless `--quiet`."""
    if not click.get_current_context().find_root().meta.get("quiet"):
        click.echo(message, err=True)


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.find_root().meta["quiet"] = value
    return value


def _review_change(
    rev: str | None, targets: list[Path], config: Config, jobs: int, cache: Path | None, shard: tuple[int, int] | None
) -> tuple[Report, Callable[[Finding], bool]]:
    """The changed (or, without `rev`, staged) Python files below `targets`, and which findings stand on
    changed lines."""
    cwd = Path.cwd()
    if rev is None and os.environ.get("PRE_COMMIT_FROM_REF") and os.environ.get("PRE_COMMIT_TO_REF"):
        rev = os.environ["PRE_COMMIT_FROM_REF"]  # `pre-commit run --from-ref A --to-ref B`: nothing is staged
    if rev is None:
        base, changes = staged_changes(cwd)
        since = "staged"
    else:
        base, changes = changed_since(rev, cwd)
        since = f"since {rev}"
    files = [p for p in collect_files(targets, config) if p.resolve() in changes]
    _note(f"diff: {plural(len(files), 'changed Python file')} {since} ({base[:12]})")
    report = lint_paths(files, config, cwd, jobs=jobs, rules=_rules(), cache=cache, since=base, shard=shard)

    def changed(finding: Finding) -> bool:
        lines = changes.get((cwd / finding.path).resolve(), frozenset())
        return lines is None or finding.line in lines

    return report, changed


def _changed_files(rev: str | None, targets: list[Path], config: Config) -> list[Path]:
    """The Python files below `targets` that changed since `rev`, or in the index when it is None."""
    _, changes = changed_since(rev, Path.cwd()) if rev is not None else staged_changes(Path.cwd())
    return [p for p in collect_files(targets, config) if p.resolve() in changes]


def _note_fixes(outcomes: list[FixOutcome]) -> None:
    applied = sum(o.applied for o in outcomes)
    files = sum(o.changed for o in outcomes)
    created = sum(change.before is None for o in outcomes for change in o.files)
    also = f", writing {plural(created, 'new file')}" if created else ""
    _note(f"fixed {plural(applied, 'finding')} in {plural(files, 'file')}{also}")


def _apply_baseline(report: Report, path: Path, sources: Sources) -> Callable[[Finding], bool]:
    """Notes what the baseline knows and what was fixed; returns the test for a new finding."""
    comparison = baseline.compare(report, baseline.load(path), sources, path.parent)
    new = comparison.new
    _note(
        f"baseline {path}: {plural(comparison.known, 'known finding')} not shown, "
        f"{sum(new.values())} new, {len(comparison.fixed)} fixed"
    )
    for entry in comparison.fixed:
        _note(f"  fixed: {entry.path}:{entry.line} {entry.code} {entry.message}")
    if comparison.fixed:
        _note(f"  run with --write-baseline {path} to drop the fixed ones from the baseline")

    def is_new(finding: Finding) -> bool:
        if new[finding] > 0:
            new[finding] -= 1
            return True
        return False

    return is_new


def _write_reports(
    report: Report, sources: Sources, shown: str | None, files: list[tuple[str, Path]], color: bool | None
) -> None:
    """Writes each (format, file), prints `shown` (nothing when None), and fills GitHub's step summary
    for the github format."""
    for name, file in files:
        write_output(file, WRITERS[name](report, sources, rules=_rules()))
    if shown is None:
        pass
    elif shown in ("text", "concise") and click.get_current_context().find_root().meta.get("quiet"):
        click.echo(finding_lines(report), nl=False)
    elif shown == "text":
        terminal = sys.stdout.isatty() if color is None else color
        click.echo(text(report, sources, rules=_rules(), color=terminal), nl=False)
    else:
        click.echo(WRITERS[shown](report, sources, rules=_rules()), nl=False)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file and "github" in {shown, *(name for name, _ in files)}:
        try:
            with open(summary_file, "a", encoding="utf-8", errors="replace") as handle:
                handle.write(WRITERS["markdown"](report, sources, rules=_rules()) + "\n")
        except OSError as error:  # the report itself is out: a warning, not a failed run
            _note(f"review-patterns: warning: cannot write GITHUB_STEP_SUMMARY {summary_file}: {error.strerror}")


def _shard(value: str | None) -> tuple[int, int] | None:
    """`K/N` as (K, N), with 1 <= K <= N."""
    if value is None:
        return None
    index, _, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise click.BadParameter(f"expected K/N with 1 <= K <= N (such as 2/4), not {value!r}", param_hint="--shard")
    return int(index), int(count)


#: Options `check` and `merge` share: how the report is written and gated.
_output_format_option = click.option(
    "--output-format",
    "--format",
    "fmt",
    metavar="FORMAT",
    default="text",
    show_default=True,
    callback=lambda _ctx, _param, value: _report_format(value),
    help=f"Report format: {', '.join(WRITERS)} (`--format` is the same).",
)
_output_file_option = click.option(
    "-o",
    "--output-file",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of standard output (`-`: standard output).",
)
_report_option = click.option(
    "--report",
    "extra_reports",
    multiple=True,
    metavar="FORMAT=FILE",
    help="Also write FORMAT to FILE; repeatable (json=report.json, sarif=report.sarif).",
)
_min_grade_option = click.option(
    "--min-grade", type=click.Choice(GRADES), help="Lowest overall grade that passes [default: A-]."
)
_baseline_option = click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report and gate only findings not recorded in this baseline; list the fixed ones.",
)
_exit_zero_option = click.option("--exit-zero", is_flag=True, help="Exit 0 even when the gate fails.")
_statistics_option = click.option(
    "--statistics", is_flag=True, help="Show the number of findings per rule instead of the report."
)
_quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    is_eager=True,
    callback=_set_quiet,
    help="Print the findings and errors only: no grades, summary, warnings, hints or progress bar.",
)
_color_option = click.option(
    "--color/--no-color", default=None, help="Colour the text report [default: when a terminal]."
)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True, path_type=Path))
@_output_format_option
@_output_file_option
@_report_option
@_min_grade_option
@click.option("--select", help="Only these codes or prefixes, comma-separated (RP101,RP3).")
@click.option("--ignore", help="Skip these codes, prefixes or bonus names, comma-separated.")
@click.option(
    "--diff",
    "rev",
    metavar="REV",
    help="Review the change since REV (e.g. origin/main): changed files, findings on changed lines, one grade.",
)
@click.option(
    "--staged",
    is_flag=True,
    help="Review the staged change (what pre-commit commits): findings on staged lines, one grade.",
)
@click.option("--review", is_flag=True, help="Grade the checked files as one change set, not file by file.")
@_baseline_option
@click.option(
    "--write-baseline",
    "write_baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record every current finding in FILE, keeping its records of files outside PATHS "
    "(then report as with --baseline FILE).",
)
@_exit_zero_option
@click.option("--ignore-noqa", is_flag=True, help="Report findings silenced by `# noqa`.")
@_statistics_option
@click.option("--show-settings", is_flag=True, help="Show the resolved settings and where each came from, then exit.")
@click.option(
    "--stdin-filename",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The path of the source read from standard input (`check -`): for settings, the project and the report.",
)
@click.option(
    "--force-exclude", is_flag=True, help="Apply `exclude` to files named on the command line too (for pre-commit)."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read settings from this pyproject.toml instead of the nearest one.",
)
@_color_option
@_quiet_option
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Check files in this many processes [default: 0, one per CPU when there are enough files].",
)
@click.option("--fix", is_flag=True, help="Apply the safe fixes, then report what is left.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix, also apply fixes that change behaviour.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Neither read nor write the result cache, nor replay the last report of this check.",
)
@click.option(
    "--shard",
    metavar="K/N",
    callback=lambda _ctx, _param, value: _shard(value),
    help="Check only the K-th of N balanced shares of the files and write its JSON report, for `merge` "
    "(a CI job matrix).",
)
def check(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    extra_reports: tuple[str, ...],
    min_grade: str | None,
    select: str | None,
    ignore: str | None,
    rev: str | None,
    staged: bool,
    review: bool,
    baseline_file: Path | None,
    write_baseline: Path | None,
    exit_zero: bool,
    ignore_noqa: bool,
    statistics: bool,
    show_settings: bool,
    stdin_filename: Path | None,
    force_exclude: bool,
    config_file: Path | None,
    color: bool | None,
    quiet: bool,
    jobs: int,
    fix: bool,
    unsafe_fixes: bool,
    no_cache: bool,
    shard: tuple[int, int] | None,
) -> int:
    """Check PATHS (default: the current folder; `-` reads standard input) and grade them.

    Exit status: 0 passed, 1 the gate failed (a blocker, or the grade below --min-grade),
    2 usage, configuration or internal error. A shard (`--shard`) applies no gate: `merge` does.
    """
    outputs = [_output_format(value) for value in extra_reports]
    if shard is not None:
        _check_shard_flags(fmt, extra_reports, fix, baseline_file, write_baseline, statistics, Path("-") in paths)
    if (rev is not None or staged) and write_baseline is not None:
        raise click.UsageError(
            "--write-baseline records the whole project; it cannot be combined with --diff or --staged"
        )
    if write_baseline is not None and baseline_file is not None and write_baseline != baseline_file:
        raise click.UsageError("--write-baseline FILE also compares with FILE: give --baseline only with the same file")
    if rev is not None and staged:
        raise click.UsageError("--diff and --staged each choose the change to review: give one")
    from_stdin = Path("-") in paths
    if from_stdin and len(paths) > 1:
        raise click.UsageError("`-` (standard input) cannot be combined with other paths")
    targets = list(paths) or [Path(".")]
    start = (stdin_filename or Path(".")) if from_stdin else targets[0]
    file_config: Config = load_config(start, config_file, rules=_rules())
    overrides = {
        "select": _selectors(select, "--select"),
        "ignore": _selectors(ignore, "--ignore", bonuses=True),
        "min_grade": min_grade,
        "ignore_noqa": ignore_noqa or None,
    }
    config = with_overrides(file_config, **overrides)
    if show_settings:
        click.echo(settings.describe(config, start, config_file, overrides, rules=_rules()), nl=False)
        return EXIT_OK
    if force_exclude:
        targets = [t for t in targets if t == Path("-") or not excluded(t, config)]
    if unsafe_fixes and not fix:
        raise click.UsageError("--unsafe-fixes goes with --fix")
    if fix and from_stdin:
        raise click.UsageError("--fix rewrites files; it cannot fix standard input")
    if fix:
        try:
            fixed = targets if rev is None and not staged else _changed_files(rev, targets, config)
        except GitError as error:
            raise click.ClickException(str(error)) from None
        from review_patterns.core.fixer import fix_paths

        _note_fixes(fix_paths(fixed, config, rules=_rules(), unsafe=unsafe_fixes))
    cache = None if no_cache or from_stdin else cache_folder(config, find_project_root(start))
    sources = Sources()
    tests: list[Callable[[Finding], bool]] = []
    try:
        if from_stdin:
            report, sources = _check_stdin(stdin_filename, config, force_exclude)
        elif rev is not None or staged:
            report, changed = _review_change(rev, targets, config, jobs, cache, shard)
            tests.append(changed)
        else:
            with ProgressBar(sys.stderr.isatty() and not quiet) as progress:
                report = lint_paths(
                    targets, config, jobs=jobs, rules=_rules(), cache=cache, progress=progress, shard=shard
                )
            if cache is not None and progress.bar is None and not fix:  # what it prints is the report of what it read
                replay.permit(cache)
        if rev is not None or staged or review:
            report = regrade(report, review=True)
        if write_baseline is not None:
            kept = baseline.kept_outside(write_baseline, targets, sources)
            write_output(write_baseline, baseline.write(write_baseline, report, sources, kept))
            note = f", kept {plural(len(kept), 'record')} of files outside the checked paths" if kept else ""
            _note(f"wrote {write_baseline}: {plural(len(report.findings), 'finding')}{note}")
            baseline_file = write_baseline
        if baseline_file is not None:
            tests.append(_apply_baseline(report, baseline_file, sources))
    except (GitError, BaselineError) as error:
        raise click.ClickException(str(error)) from None
    except FileNotFoundError as error:  # not click's exists=True: that calls an unreadable file missing
        raise click.BadParameter(f"Path {str(error)!r} does not exist.", param_hint="'[PATHS]...'") from None
    if tests:
        report = filter_findings(report, lambda f: all(test(f) for test in tests))
    if shard is not None:
        for warning in report.warnings:
            _note(f"review-patterns: warning: {warning}")
        document = WRITERS["json"](report, sources, rules=_rules())
        if output is None:
            click.echo(document, nl=False)
        else:
            write_output(output, document)
        return EXIT_OK
    return _conclude(report, sources, fmt, output, outputs, statistics, color, baseline_file, exit_zero)


def _check_shard_flags(
    fmt: str,
    extra_reports: tuple[str, ...],
    fix: bool,
    baseline_file: Path | None,
    write_baseline: Path | None,
    statistics: bool,
    from_stdin: bool,
) -> None:
    """A shard writes its JSON report and nothing else; what needs the whole run is given to `merge`."""
    chosen = click.get_current_context().get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT
    if (chosen and fmt != "json") or extra_reports or statistics:
        raise click.UsageError("a shard writes its JSON report: give the report formats to `merge`")
    if baseline_file is not None or write_baseline is not None:
        raise click.UsageError("a shard holds part of the findings: give --baseline to `merge`")
    if fix or from_stdin:
        raise click.UsageError("--shard splits the files of a folder: it cannot be combined with --fix or `-`")


def _conclude(
    report: Report,
    sources: Sources,
    fmt: str,
    output: Path | None,
    outputs: list[tuple[str, Path]],
    statistics: bool,
    color: bool | None,
    baseline_file: Path | None,
    exit_zero: bool,
) -> int:
    """Warnings, the report in its formats (or the statistics), the baseline hint, and the gate's exit status."""
    for warning in report.warnings:
        _note(f"review-patterns: warning: {warning}")
    if statistics:  # as ruff: to the output file when there is one
        if output is not None:
            write_output(output, _statistics(report))
        else:
            click.echo(_statistics(report), nl=False)
    else:
        if output is not None:  # as ruff: the report, its summary included, goes to the file alone
            outputs.insert(0, (fmt, output))
        _write_reports(report, sources, None if output is not None else fmt, outputs, color)
    if not report.passed and baseline_file is None and not report.review and len(report.findings) >= BASELINE_HINT:
        _note(
            f"review-patterns: {plural(len(report.findings), 'finding')} in existing code? Record them once with "
            "`--write-baseline review-baseline.json`, then gate only new ones with `--baseline review-baseline.json` "
            "or review each change with `--diff origin/main`."
        )
    return EXIT_OK if report.passed or exit_zero else EXIT_GATE


@cli.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_output_format_option
@_output_file_option
@_report_option
@_min_grade_option
@_baseline_option
@_statistics_option
@_exit_zero_option
@_color_option
@_quiet_option
def merge_command(
    reports: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    extra_reports: tuple[str, ...],
    min_grade: str | None,
    baseline_file: Path | None,
    statistics: bool,
    exit_zero: bool,
    color: bool | None,
    quiet: bool,
) -> int:
    """Merge the JSON reports of `check --shard K/N` (K = 1..N) into one graded report.

    Run it in the folder the shards ran in. The grade is computed, and the gate applied, as for
    one run (with the shards' --min-grade unless given). Exit status as for `check`.
    """
    outputs = [_output_format(value) for value in extra_reports]
    try:
        report = merge({str(path): read_report(path) for path in reports}, min_grade)
    except MergeError as error:
        raise click.ClickException(str(error)) from None
    sources = Sources()
    if baseline_file is not None:
        try:
            is_new = _apply_baseline(report, baseline_file, sources)
        except BaselineError as error:
            raise click.ClickException(str(error)) from None
        report = filter_findings(report, is_new)
    return _conclude(report, sources, fmt, output, outputs, statistics, color, baseline_file, exit_zero)


@cli.command("fix")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change behaviour on purpose.")
@click.option("--dry-run", is_flag=True, help="Print the changes as a unified diff; write nothing (exit 1 if any).")
@click.option("--select", help="Only these codes or prefixes, comma-separated (RP101,RP3).")
@click.option("--ignore", help="Skip these codes, prefixes or bonus names, comma-separated.")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="Read settings from this file."
)
@click.option(
    "--force-exclude", is_flag=True, help="Apply `exclude` to files named on the command line too (for pre-commit)."
)
def fix_command(
    paths: tuple[Path, ...],
    unsafe_fixes: bool,
    dry_run: bool,
    select: str | None,
    ignore: str | None,
    config_file: Path | None,
    force_exclude: bool,
) -> int:
    """Apply the fixes the findings offer in PATHS (default: the current folder).

    Safe fixes keep behaviour; unsafe ones change it on purpose and need --unsafe-fixes.
    Exit status: 0 done (with --dry-run: nothing to change), 1 with --dry-run when files would change.
    """
    targets = list(paths) or [Path(".")]
    config = load_config(targets[0], config_file, rules=_rules())
    config = with_overrides(
        config, select=_selectors(select, "--select"), ignore=_selectors(ignore, "--ignore", bonuses=True)
    )
    if force_exclude:
        targets = [t for t in targets if not excluded(t, config)]
    from review_patterns.core.fixer import fix_paths

    outcomes = fix_paths(targets, config, rules=_rules(), unsafe=unsafe_fixes, write=not dry_run)
    if dry_run:
        for outcome in outcomes:
            if outcome.fixed != outcome.original:
                click.echo(unified_diff(outcome.path, outcome.original, outcome.fixed), nl=False)
            for change in outcome.files:
                click.echo(unified_diff(change.path, change.before, change.after), nl=False)
    _note_fixes(outcomes)
    left = [f for o in outcomes for f in o.result.findings]
    unsafe_left = sum(1 for f in left if f.fix is not None and not f.fix.safe)
    if left:
        hint = f" ({unsafe_left} fixable with --unsafe-fixes)" if unsafe_left and not unsafe_fixes else ""
        _note(f"{plural(len(left), 'finding')} left{hint}")
    return EXIT_GATE if dry_run and any(o.changed for o in outcomes) else EXIT_OK


def unified_diff(path: str, before: str | None, after: str) -> str:
    """A unified diff of one file, as `git diff` and `patch` read it; `before` None for a new file."""
    import difflib

    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        "/dev/null" if before is None else f"a/{path}",
        f"b/{path}",
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)


#: A failed gate with at least this many findings suggests a baseline.
BASELINE_HINT = 20


def _statistics(report: Report) -> str:
    """One line per rule, as ruff's `--statistics`: count, code, name (marked `[*]` when some of its
    findings have a safe fix, `[*unsafe]` when only unsafe ones); most frequent first. Then how
    many are fixable."""
    rows = findings_by_rule(report.findings)
    safe = Counter(f.code for f in report.findings if f.fix is not None and f.fix.safe)
    unsafe = Counter(f.code for f in report.findings if f.fix is not None and not f.fix.safe)
    width = max((len(str(n)) for _, _, n in rows), default=1)
    lines = []
    for code, name, n in rows:
        mark = "[*] " if safe[code] else "[*unsafe] " if unsafe[code] else ""
        lines.append(f"{n:>{width}}\t{code}\t{mark}{name}\n")
    if safe or unsafe:
        more = f" ({unsafe.total()} more with --unsafe-fixes)" if unsafe else ""
        lines.append(f"{plural(safe.total(), 'finding')} fixable with `review-patterns fix`{more}\n")
    return "".join(lines)


def _check_stdin(stdin_filename: Path | None, config: Config, force_exclude: bool) -> tuple[Report, Sources]:
    """The source on standard input, checked as if it were `stdin_filename` in its project."""
    from review_patterns.core.engine import lint, project_relative

    source = sys.stdin.read()
    if stdin_filename is None:
        display, context, project_path = "-", ProjectContext.empty(), None
    else:
        display = display_path(stdin_filename, Path.cwd().resolve())
        context = ProjectContext.for_path(stdin_filename.resolve())
        project_path = project_relative(stdin_filename, context)
    results = []
    if not (force_exclude and stdin_filename is not None and excluded(stdin_filename, config)):
        results.append(lint(source, display, context, config, rules=_rules(), project_path=project_path))
    report = grade_report(results, config.min_grade)
    return report, Sources(files={display: source})


@cli.command("rules")
def list_rules() -> int:
    """List the rules: code, name, severity, penalty, dimension."""
    from rich.console import Console
    from rich.table import Table

    table = Table("Code", "Name", "Severity", "Penalty", "Dimension", "What it does", box=None)
    for rule in _rules():
        if rule.code:
            table.add_row(
                rule.code,
                rule.name,
                rule.severity.value,
                str(rule.default_penalty()),
                rule.dimension.value,
                docs.summary(rule),
            )
    for rule in _rules():
        for name, points in rule.bonuses.items():
            table.add_row("bonus", name, "", f"+{points}", rule.dimension.value, docs.bonus_summary(rule, name))
    Console(width=160).print(table)
    return EXIT_OK


@cli.command()
@click.argument("code")
def explain(code: str) -> int:
    """Explain a rule (RP101), a bonus (type-hints) or `grade` (how files and reviews are graded)."""
    pages = [docs.render(rule) for rule in _rules() if code.upper() == rule.code or code in (rule.name, *rule.bonuses)]
    if code == "grade":
        pages = [docs.grade_page()]
    for page in pages[:1]:
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.markdown import Markdown  # here: it costs a tenth of every run's start-up

            Console().print(Markdown(page))
        else:
            click.echo(page, nl=False)
        return EXIT_OK
    raise click.UsageError(f"unknown rule {code!r}; `review-patterns rules` lists them")


@cli.command("docs")
@click.argument("folder", default="rules", type=click.Path(file_okay=False, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a page is stale, without writing.")
def write_docs(folder: Path, check_only: bool) -> int:
    """Regenerate the rule catalogue (FOLDER, default rules/) and the package's rules.json from the rule classes."""
    if check_only:
        stale = [folder / name for name in docs.stale_pages(folder)]
        stale += [RULES_FILE] if docs.rules_file_is_stale() else []
        for path in stale:
            click.echo(f"stale: {path}")
        return EXIT_GATE if stale else EXIT_OK
    for name in docs.write_catalogue(folder):
        click.echo(f"wrote {folder / name}")
    if docs.write_rules_file():
        click.echo(f"wrote {RULES_FILE}")
    return EXIT_OK


def _collect_less() -> None:
    """LibCST makes hundreds of thousands of small objects per file, few of them in reference cycles:
    the cycle collector runs less often, and never again over what is loaded by now (the modules).
    About 5% of a cold run on DRF, for 5 MiB more at the peak."""
    gc.freeze()
    gc.set_threshold(5_000, 10, 10)


def main(argv: Sequence[str] | None = None, rules: Sequence[RuleInfo] = RULES) -> int:
    """Runs the CLI with `rules` (the registry unless given) and returns its exit status; errors become
    messages, never tracebacks.

    Ctrl-C and SIGTERM stop the run and its worker processes with one line, and exit 130 and 143.
    """
    if argv is None:  # the command itself: the process is ours
        _collect_less()
    try:
        with stop_on_signals():
            result = cli.main(
                args=list(argv) if argv is not None else None,
                prog_name="review-patterns",
                standalone_mode=False,
                obj=tuple(rules),
            )
            stopping.check()
    except Stopped as stopped:
        click.echo(f"review-patterns: {stopped.why}", err=True)
        return stopped.status
    except OutputError as error:
        click.echo(f"review-patterns: {error}", err=True)
        return EXIT_ERROR
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return EXIT_ERROR
    except click.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_ERROR
    except ConfigError as error:
        click.echo(f"review-patterns: configuration error: {error}", err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("review-patterns: interrupted", err=True)
        return 130
    except Exception as error:
        click.echo(f"review-patterns: internal error: {type(error).__name__}: {error}", err=True)
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK
