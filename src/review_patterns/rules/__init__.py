"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .bare_except import BareExcept
from .broad_except import BroadExcept
from .circuit_breaker_per_call import CircuitBreakerPerCall
from .circuit_open_logged_as_error import CircuitOpenLoggedAsError
from .collapsed_three_step_migration import CollapsedThreeStepMigration
from .counter_without_expiry import CounterWithoutExpiry
from .exception_text_leak import ExceptionTextLeak
from .f_expression_without_refresh import FExpressionWithoutRefresh
from .http_call_without_timeout import HttpCallWithoutTimeout
from .internal_error import InternalError
from .irreversible_data_migration import IrreversibleDataMigration
from .lock_without_timeout import LockWithoutTimeout
from .lost_update import LostUpdate
from .magic_cache_ttl import MagicCacheTtl
from .missing_quota_check import MissingQuotaCheck
from .n_plus_one_in_loop import NPlusOneInLoop
from .naive_datetime import NaiveDatetime
from .non_atomic_counter import NonAtomicCounter
from .non_idempotent_backfill import NonIdempotentBackfill
from .not_null_column_without_default import NotNullColumnWithoutDefault
from .not_null_enforced_in_one_step import NotNullEnforcedInOneStep
from .not_null_enforced_without_backfill import NotNullEnforcedWithoutBackfill
from .parse_error import ParseError
from .pii_in_log import PiiInLog
from .quota_incremented_before_call import QuotaIncrementedBeforeCall
from .quota_manager import QuotaManager
from .repeated_count_queries import RepeatedCountQueries
from .signal_hasattr_check import SignalHasattrCheck
from .type_hints import TypeHints
from .unconditional_traceback import UnconditionalTraceback
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
    PiiInLog,
    ExceptionTextLeak,
    BareExcept,
    BroadExcept,
    UnconditionalTraceback,
    CircuitOpenLoggedAsError,
    NPlusOneInLoop,
    RepeatedCountQueries,
    CounterWithoutExpiry,
    NonAtomicCounter,
    QuotaIncrementedBeforeCall,
    MissingQuotaCheck,
    MagicCacheTtl,
    SignalHasattrCheck,
    CircuitBreakerPerCall,
    LockWithoutTimeout,
    HttpCallWithoutTimeout,
    NaiveDatetime,
    QuotaManager,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
