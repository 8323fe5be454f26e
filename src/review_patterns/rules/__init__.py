"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .collapsed_three_step_migration import CollapsedThreeStepMigration
from .counter_without_expiry import CounterWithoutExpiry
from .f_expression_without_refresh import FExpressionWithoutRefresh
from .internal_error import InternalError
from .irreversible_data_migration import IrreversibleDataMigration
from .lock_without_timeout import LockWithoutTimeout
from .lost_update import LostUpdate
from .magic_cache_ttl import MagicCacheTtl
from .n_plus_one_in_loop import NPlusOneInLoop
from .non_atomic_counter import NonAtomicCounter
from .non_idempotent_backfill import NonIdempotentBackfill
from .not_null_column_without_default import NotNullColumnWithoutDefault
from .not_null_enforced_in_one_step import NotNullEnforcedInOneStep
from .not_null_enforced_without_backfill import NotNullEnforcedWithoutBackfill
from .parse_error import ParseError
from .repeated_count_queries import RepeatedCountQueries
from .type_hints import TypeHints
from .unknown_orm_method import UnknownOrmMethod

ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    InternalError,
    FExpressionWithoutRefresh,
    UnknownOrmMethod,
    LostUpdate,
    NotNullColumnWithoutDefault,
    NotNullEnforcedWithoutBackfill,
    IrreversibleDataMigration,
    NonIdempotentBackfill,
    CollapsedThreeStepMigration,
    NotNullEnforcedInOneStep,
    NPlusOneInLoop,
    RepeatedCountQueries,
    CounterWithoutExpiry,
    NonAtomicCounter,
    MagicCacheTtl,
    LockWithoutTimeout,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
