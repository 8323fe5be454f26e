"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .circuit_breaker_per_call import CircuitBreakerPerCall
from .http_call_without_timeout import HttpCallWithoutTimeout
from .internal_error import InternalError
from .missing_quota_check import MissingQuotaCheck
from .naive_datetime import NaiveDatetime
from .parse_error import ParseError
from .quota_incremented_before_call import QuotaIncrementedBeforeCall
from .quota_manager import QuotaManager
from .signal_hasattr_check import SignalHasattrCheck
from .type_hints import TypeHints

ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    InternalError,
    QuotaIncrementedBeforeCall,
    MissingQuotaCheck,
    SignalHasattrCheck,
    CircuitBreakerPerCall,
    HttpCallWithoutTimeout,
    NaiveDatetime,
    QuotaManager,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
