"""The registry: every rule class, sorted by code, then the bonus checks. Listed by hand, on purpose.

Importing it imports every rule and LibCST; `RULES` (`checks/__init__.py`) is what runs read.
`review-patterns docs` writes `rules.json` from this list.
"""

from review_patterns.checks.api.cache_stampede import CacheStampede
from review_patterns.checks.api.paid_endpoint_without_auth import PaidEndpointWithoutAuth
from review_patterns.checks.api.paid_endpoint_without_throttle import PaidEndpointWithoutThrottle
from review_patterns.checks.api.unversioned_api import UnversionedApi
from review_patterns.checks.clarity.type_hints import TypeHints
from review_patterns.checks.migrations.collapsed_three_step_migration import CollapsedThreeStepMigration
from review_patterns.checks.migrations.irreversible_data_migration import IrreversibleDataMigration
from review_patterns.checks.migrations.non_idempotent_backfill import NonIdempotentBackfill
from review_patterns.checks.migrations.not_null_column_without_default import NotNullColumnWithoutDefault
from review_patterns.checks.migrations.not_null_enforced_in_one_step import NotNullEnforcedInOneStep
from review_patterns.checks.migrations.not_null_enforced_without_backfill import NotNullEnforcedWithoutBackfill
from review_patterns.checks.orm.f_expression_without_refresh import FExpressionWithoutRefresh
from review_patterns.checks.orm.lost_update import LostUpdate
from review_patterns.checks.orm.unknown_orm_method import UnknownOrmMethod
from review_patterns.checks.privacy.bare_except import BareExcept
from review_patterns.checks.privacy.broad_except import BroadExcept
from review_patterns.checks.privacy.circuit_open_logged_as_error import CircuitOpenLoggedAsError
from review_patterns.checks.privacy.exception_text_in_log import ExceptionTextInLog
from review_patterns.checks.privacy.exception_text_leak import ExceptionTextLeak
from review_patterns.checks.privacy.pii_in_log import PiiInLog
from review_patterns.checks.privacy.unconditional_traceback import UnconditionalTraceback
from review_patterns.checks.queries.n_plus_one_in_loop import NPlusOneInLoop
from review_patterns.checks.queries.repeated_count_queries import RepeatedCountQueries
from review_patterns.checks.resilience.circuit_breaker_per_call import CircuitBreakerPerCall
from review_patterns.checks.resilience.counter_without_expiry import CounterWithoutExpiry
from review_patterns.checks.resilience.http_call_without_timeout import HttpCallWithoutTimeout
from review_patterns.checks.resilience.lock_without_timeout import LockWithoutTimeout
from review_patterns.checks.resilience.magic_cache_ttl import MagicCacheTtl
from review_patterns.checks.resilience.missing_quota_check import MissingQuotaCheck
from review_patterns.checks.resilience.naive_datetime import NaiveDatetime
from review_patterns.checks.resilience.non_atomic_counter import NonAtomicCounter
from review_patterns.checks.resilience.quota_incremented_before_call import QuotaIncrementedBeforeCall
from review_patterns.checks.resilience.quota_manager import QuotaManager
from review_patterns.checks.resilience.signal_hasattr_check import SignalHasattrCheck
from review_patterns.core.internal_error import InternalError
from review_patterns.core.parse_error import ParseError
from review_patterns.core.rule import Rule

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
    ExceptionTextInLog,
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
    PaidEndpointWithoutAuth,
    PaidEndpointWithoutThrottle,
    UnversionedApi,
    CacheStampede,
    QuotaManager,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
