"""The version of review-patterns, in one place (read by the build and every report)."""

__version__ = "0.2.0"
