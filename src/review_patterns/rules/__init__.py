"""The registry: every rule, sorted by code, then the bonus checks. Listed by hand, on purpose."""

from ..rule import Rule
from .internal_error import InternalError
from .parse_error import ParseError
from .type_hints import TypeHints
from .pii_in_log import PiiInLog
from .exception_text_leak import ExceptionTextLeak
from .bare_except import BareExcept
from .broad_except import BroadExcept
from .unconditional_traceback import UnconditionalTraceback
from .circuit_open_logged_as_error import CircuitOpenLoggedAsError

ALL_RULES: tuple[type[Rule], ...] = (
    ParseError,
    InternalError,
    PiiInLog,
    ExceptionTextLeak,
    BareExcept,
    BroadExcept,
    UnconditionalTraceback,
    CircuitOpenLoggedAsError,
    TypeHints,
)

__all__ = ["ALL_RULES", "InternalError", "ParseError"]
