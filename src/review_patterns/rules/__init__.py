"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .f_expression_without_refresh import FExpressionWithoutRefresh
from .internal_error import InternalError
from .lost_update import LostUpdate
from .parse_error import ParseError
from .type_hints import TypeHints
from .unknown_orm_method import UnknownOrmMethod

ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    InternalError,
    FExpressionWithoutRefresh,
    UnknownOrmMethod,
    LostUpdate,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
