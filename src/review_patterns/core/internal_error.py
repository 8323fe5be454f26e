"""RP002: a rule crashed on a file."""

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Rule


class InternalError(Rule):
    """## What it does
    Reports that one rule failed on one file, naming the rule and the error. The other
    rules' findings for that file are kept, and the run goes on.

    ## Why is this bad?
    It is a bug in review-patterns, not in your code: please report it with the file
    that triggers it. It costs no points and does not fail the gate.
    """

    code = "RP002"
    name = "internal-error"
    message = "{reason}"
    severity = Severity.WARNING
    dimension = Dimension.CODE_CLARITY
    penalty = 0
