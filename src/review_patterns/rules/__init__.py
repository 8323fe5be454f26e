"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .counter_without_expiry import CounterWithoutExpiry
from .internal_error import InternalError
from .lock_without_timeout import LockWithoutTimeout
from .magic_cache_ttl import MagicCacheTtl
from .non_atomic_counter import NonAtomicCounter
from .parse_error import ParseError
from .type_hints import TypeHints

ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    InternalError,
    CounterWithoutExpiry,
    NonAtomicCounter,
    MagicCacheTtl,
    LockWithoutTimeout,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
