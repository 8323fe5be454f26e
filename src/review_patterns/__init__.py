"""review-patterns: a Django-aware code-review linter that grades every file out of 100.

The public API. `lint` checks one source text; `lint_paths` checks files and folders and
grades them; both run every registered rule unless given `rules=`. Neither imports click nor rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from review_patterns.core.version import __version__

if TYPE_CHECKING:
    from review_patterns.api import (
        ALL_RULES,
        Bad,
        Bonus,
        BonusCheck,
        Config,
        ConfigError,
        Dimension,
        FileResult,
        Finding,
        Good,
        ProjectContext,
        Report,
        Rule,
        Severity,
        lint,
        lint_paths,
        load_config,
    )

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


def __getattr__(name: str) -> Any:
    """The API is imported on first use: the flake8 plugin, a submodule, must start without LibCST."""
    if name in __all__:
        from review_patterns import api

        return getattr(api, name)
    raise AttributeError(f"module 'review_patterns' has no attribute {name!r}")
