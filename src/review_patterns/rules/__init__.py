"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .internal_error import InternalError
from .n_plus_one_in_loop import NPlusOneInLoop
from .parse_error import ParseError
from .repeated_count_queries import RepeatedCountQueries
from .type_hints import TypeHints

ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    InternalError,
    NPlusOneInLoop,
    RepeatedCountQueries,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
