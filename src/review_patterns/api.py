"""The public API, imported by `review_patterns` on first use (see its docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from review_patterns.checks import RULES
from review_patterns.checks.registry import ALL_RULES
from review_patterns.core import config as _config
from review_patterns.core import engine as _engine
from review_patterns.core import runner as _runner
from review_patterns.core.config import Config, ConfigError
from review_patterns.core.model import Bonus, Dimension, FileResult, Finding, Report, Severity
from review_patterns.core.rule import Bad, BonusCheck, Good, Rule
from review_patterns.core.rule_info import RuleInfo
from review_patterns.core.version import __version__
from review_patterns.project.context import ProjectContext


def lint(
    source: str,
    path: str,
    context: ProjectContext | None = None,
    config: Config | None = None,
    *,
    rules: Sequence[RuleInfo] = RULES,
    project_path: str | None = None,
) -> FileResult:
    """Checks one file's source; see `core.engine.lint`."""
    return _engine.lint(source, path, context, config, rules=rules, project_path=project_path)


def lint_paths(
    paths: Iterable[Path],
    config: Config,
    cwd: Path | None = None,
    jobs: int | None = 1,
    *,
    rules: Sequence[RuleInfo] = RULES,
    cache: Path | None = None,
) -> Report:
    """Checks files and folders and grades them, reusing results kept in the folder `cache` when given;
    see `core.runner.lint_paths`."""
    return _runner.lint_paths(paths, config, cwd, jobs, rules=rules, cache=cache)


def load_config(start: Path, explicit: Path | None = None, *, rules: Sequence[RuleInfo] = RULES) -> Config:
    """The validated settings that apply at `start`; see `core.config.load_config`."""
    return _config.load_config(start, explicit, rules=rules)


__all__ = [
    "ALL_RULES",
    "Bad",
    "Bonus",
    "BonusCheck",
    "Config",
    "ConfigError",
    "Dimension",
    "FileResult",
    "Finding",
    "Good",
    "ProjectContext",
    "Report",
    "Rule",
    "Severity",
    "__version__",
    "lint",
    "lint_paths",
    "load_config",
]
