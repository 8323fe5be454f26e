"""RP001: a file that cannot be read or parsed."""

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule


class ParseError(Rule):
    """## What it does
    Reports a file that cannot be checked: it does not parse as Python, it is not valid
    in its declared encoding (UTF-8 unless a PEP 263 coding line says otherwise), it is
    binary, or it cannot be read.

    ## Why is this bad?
    A file the linter cannot read is a file nobody reviewed. It gets no score and is
    listed as an error; the rest of the run goes on. Being a blocker, it fails the gate.
    """

    code = "RP001"
    name = "parse-error"
    message = "{reason}"
    severity = Severity.BLOCKER
    dimension = Dimension.CODE_CLARITY
    penalty = 0
    examples = (
        Bad("""
            def publish(post:  # RP001
                post.save()
            """),
        Good("""
            def publish(post):
                post.save()
            """),
    )
