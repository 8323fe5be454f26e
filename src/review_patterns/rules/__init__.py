"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .collapsed_three_step_migration import CollapsedThreeStepMigration
from .internal_error import InternalError
from .irreversible_data_migration import IrreversibleDataMigration
from .non_idempotent_backfill import NonIdempotentBackfill
from .not_null_column_without_default import NotNullColumnWithoutDefault
from .not_null_enforced_in_one_step import NotNullEnforcedInOneStep
from .not_null_enforced_without_backfill import NotNullEnforcedWithoutBackfill
from .parse_error import ParseError
from .type_hints import TypeHints

ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    InternalError,
    NotNullColumnWithoutDefault,
    NotNullEnforcedWithoutBackfill,
    IrreversibleDataMigration,
    NonIdempotentBackfill,
    CollapsedThreeStepMigration,
    NotNullEnforcedInOneStep,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
