"""The command line: `check`, `rules`, `explain` and `docs`, over the engine."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from . import __version__, docs
from .config import Config, ConfigError, check_selector, load_config
from .engine import lint_paths, with_overrides
from .grading import GRADES
from .rules import ALL_RULES
from .writers import WRITERS, text

EXIT_OK, EXIT_GATE, EXIT_ERROR = 0, 1, 2


def write_atomically(path: Path, text: str) -> None:
    """Writes through a temporary file in the same folder, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _selectors(value: str | None, key: str, bonuses: bool = False) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(check_selector(v.strip(), key, bonuses) for v in value.split(",") if v.strip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="review-patterns")
def cli() -> None:
    """A Django-aware code-review linter that grades every file out of 100."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(list(WRITERS)), default="text", show_default=True,
              help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE (the text report still goes to the terminal).")
@click.option("--min-grade", type=click.Choice(GRADES), help="Lowest overall grade that passes [default: A-].")
@click.option("--select", help="Only these codes or prefixes, comma-separated (RP101,RP3).")
@click.option("--ignore", help="Skip these codes, prefixes or bonus names, comma-separated.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when the gate fails.")
@click.option("--ignore-noqa", is_flag=True, help="Report findings silenced by `# noqa`.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read settings from this pyproject.toml instead of the nearest one.")
@click.option("--color/--no-color", default=None, help="Colour the text report [default: when a terminal].")
def check(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    min_grade: str | None,
    select: str | None,
    ignore: str | None,
    exit_zero: bool,
    ignore_noqa: bool,
    config_file: Path | None,
    color: bool | None,
) -> int:
    """Check PATHS (default: the current folder) and grade them.

    Exit status: 0 passed, 1 the gate failed (a blocker, or the grade below --min-grade),
    2 usage, configuration or internal error.
    """
    targets = list(paths) or [Path(".")]
    config: Config = load_config(targets[0], config_file)
    config = with_overrides(
        config,
        select=_selectors(select, "--select"),
        ignore=_selectors(ignore, "--ignore", bonuses=True),
        min_grade=min_grade,
        ignore_noqa=ignore_noqa or None,
    )
    report = lint_paths(targets, config)
    terminal = sys.stdout.isatty() if color is None else color
    if output is not None:
        write_atomically(output, WRITERS[fmt](report))
        click.echo(text(report, color=terminal), nl=False)
    elif fmt == "text":
        click.echo(text(report, color=terminal), nl=False)
    else:
        click.echo(WRITERS[fmt](report), nl=False)
    return EXIT_OK if report.passed or exit_zero else EXIT_GATE


@cli.command("rules")
def list_rules() -> int:
    """List the rules: code, name, severity, penalty, dimension."""
    table = Table("Code", "Name", "Severity", "Penalty", "Dimension", "What it does", box=None)
    for rule in ALL_RULES:
        if rule.code:
            table.add_row(rule.code, rule.name, rule.severity.value, str(rule.default_penalty()),
                          rule.dimension.value, docs.summary(rule))
    for rule in ALL_RULES:
        for name, points in rule.bonuses.items():
            table.add_row("bonus", name, "", f"+{points}", rule.dimension.value, docs.summary(rule))
    Console(width=160).print(table)
    return EXIT_OK


@cli.command()
@click.argument("code")
def explain(code: str) -> int:
    """Explain a rule (RP101) or a bonus (type-hints): what it checks, why, bad and good code."""
    for rule in ALL_RULES:
        if code.upper() == rule.code or code in (rule.name, *rule.bonuses):
            page = docs.render(rule)
            if sys.stdout.isatty():
                Console().print(Markdown(page))
            else:
                click.echo(page, nl=False)
            return EXIT_OK
    raise click.UsageError(f"unknown rule {code!r}; `review-patterns rules` lists them")


@cli.command("docs")
@click.argument("folder", default="rules", type=click.Path(file_okay=False, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a page is stale, without writing.")
def write_docs(folder: Path, check_only: bool) -> int:
    """Regenerate the rule catalogue (FOLDER, default rules/) from the rule classes."""
    if check_only:
        stale = docs.stale_pages(folder)
        for name in stale:
            click.echo(f"stale: {folder / name}")
        return EXIT_GATE if stale else EXIT_OK
    for name in docs.write_catalogue(folder):
        click.echo(f"wrote {folder / name}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI and returns its exit status; errors become messages, never tracebacks."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="review-patterns",
                          standalone_mode=False)
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
        return 130
    except Exception as error:
        click.echo(f"review-patterns: internal error: {type(error).__name__}: {error}", err=True)
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK
