"""RP303: `except:` with no exception class."""

from __future__ import annotations

import libcst as cst

from review_patterns.checks.privacy.helpers import Handler, HandlerAwareRule
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.syntax.files import FileKind


class BareExcept(HandlerAwareRule):
    """## What it does
    Flags `except:` with no exception class, at the `except` line, unless the handler re-raises
    (`raise`): cleaning up and re-raising is what PEP 8 allows a bare `except:` for. Nor when it
    ends the process (`sys.exit(1)`, `os._exit()`): an interrupted command still stops. Test
    modules are not checked.

    ## Why is this bad?
    A bare `except:` also catches `KeyboardInterrupt` and `SystemExit`, so a worker cannot be
    stopped cleanly, and it hides every error type behind one branch. Name what you expect
    (`except (KeyError, ValueError):`); to clean up and re-raise anything, write
    `except BaseException:` and `raise`.

    Measured precision: 30 of 30 sampled (119 findings) on 15 real projects (benchmarks/precision).
    """

    code = "RP303"
    name = "bare-except"
    message = "bare `except:` also catches KeyboardInterrupt and SystemExit; name the exceptions"
    severity = Severity.IMPORTANT
    dimension = Dimension.SECURITY
    requires = ("except",)
    in_handlers = True
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    fixes = "Unsafe: the fix writes `except Exception:`, which no longer catches `KeyboardInterrupt` and `SystemExit`; that is the point, but it changes behaviour, so it needs `--unsafe-fixes`."
    examples = (
        Bad("""
            def load_settings(raw):
                try:
                    return json.loads(raw)
                except:  # RP303
                    return {}
            """),
        Good("""
            def load_settings(raw):
                try:
                    return json.loads(raw)
                except json.JSONDecodeError:
                    return {}
            """),
        Good("""
            def import_rows(rows):
                try:
                    save(rows)
                except BaseException:
                    rollback()
                    raise
            """),
        Good("""
            def import_rows(rows):
                try:
                    save(rows)
                except:
                    rollback()
                    raise
            """),
        Good("""
            def main():
                try:
                    setup(**read_metadata())
                except:
                    traceback.print_exc()
                    sys.exit(1)
            """),
        Bad("""
            def main():
                try:
                    setup(**read_metadata())
                except:  # RP303
                    traceback.print_exc()
                    return 1
                return 0
            """),
        Bad("""
            def import_rows(rows):
                try:
                    save(rows)
                except:  # RP303
                    try:
                        rollback()
                    except:  # RP303
                        pass
                    raise ImportFailed("rows not saved")
            """),
    )

    def after_handler(self, handler: Handler) -> None:
        if handler.bare and not (handler.reraises or handler.exits):
            typed = handler.node.with_changes(
                type=cst.Name("Exception"), whitespace_after_except=cst.SimpleWhitespace(" ")
            )
            self.report(
                handler.node, Rewrite(safe=False, replace=((handler.node, typed),), description="`except Exception:`")
            )
