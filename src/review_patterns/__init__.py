"""review-patterns: a Django-aware code-review linter that grades every file out of 100.

The public API. `lint` checks one source text; `lint_paths` checks files and folders and
grades them. Neither imports click nor rich.
"""

from review_patterns.checks import ALL_RULES
from review_patterns.core.config import Config, ConfigError, load_config
from review_patterns.core.engine import lint, lint_paths
from review_patterns.core.model import Bonus, Dimension, FileResult, Finding, Report, Severity
from review_patterns.core.rule import Bad, BonusCheck, Good, Rule
from review_patterns.core.version import __version__
from review_patterns.project.context import ProjectContext

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
