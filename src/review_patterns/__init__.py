"""review-patterns: a Django-aware code-review linter that grades every file out of 100.

The public API. `lint` checks one source text; `lint_paths` checks files and folders and
grades them. Neither imports click nor rich.
"""

from .config import Config, ConfigError, load_config
from .context import ProjectContext
from .engine import lint, lint_paths
from .model import Bonus, Dimension, FileResult, Finding, Report, Severity
from .rule import Bad, BonusCheck, Good, Rule
from .rules import ALL_RULES

__version__ = "0.1.0"

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
