"""RP304: `except Exception` that swallows the error."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from review_patterns.checks.privacy.helpers import BROAD, Handler, HandlerAwareRule, LoggerCall
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.tracebacks import is_traceback_logger
from review_patterns.syntax import traversal
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import call_name, dotted_name, is_none, string_value
from review_patterns.syntax.semantic import Binding


class BroadExcept(HandlerAwareRule):
    """## What it does
    Flags `except Exception` or `except BaseException` (alone or in a tuple) whose handler
    neither raises (`raise`, `raise X from e`, also `sys.exit()` and a test's `self.fail()`) nor
    logs the traceback (`logger.exception(...)`, `exc_info=` anything but `False`,
    `traceback.print_exc()`, an error reporter such as `sentry_sdk.capture_exception()`,
    `rollbar.report_exc_info()`, a function named `report_error`/`report_exception`, a logging
    handler's `self.handleError(record)`, the `error-reporters` of the configuration, and the
    project's own functions whose body logs the traceback being handled, such as a `log_trace()`
    calling `traceback.format_exc()`, also by another name bound to one: `trace = log_trace`).
    Nor does it flag a handler that hands the failure
    to the project's own failure handling (a call named like `storage_background_failure(...)`, `job.mark_failed()`,
    `on_error(...)`; a flash message or a form error is not: it tells the user, not the
    operator). A handler that passes the exception object on (to a function other than a
    logger, `return e`, `self.error = e`, `sys.exc_info()`), or its text (`str(e)`, `f"{e}"`,
    `e.args` returned, yielded, stored, put in a result or a message, but not only logged or
    printed) hands the error to code that deals with it and is not flagged either, nor is a
    handler that retries the operation of its `try` another way (`try: json.loads(a)` /
    `except Exception: json.loads(b)`, the same variable computed again from the same input by
    another call, the result returned by another call of the same input, or a `try` that only
    writes a log line and a handler that writes it another way): the second failure propagates.
    Nor is a handler inside another handler that then re-raises (`except: cleanup(); raise`), or
    inside a function that reports another failure (`render_exception`, `handle_error`,
    `log_failure`): it keeps a failed cleanup or description from masking the original error.
    Nor is a handler that collects what failed in a list the function raises on
    (`invalid_ids.append(graphql_id)`, then `if invalid_ids: raise ...`), or that leaves a value
    unset (`pass`, `x = None`) when the function, after the `try`, raises if it is unset (`if
    app_module is None: raise ImportError(...)`) or computes it another way (`if not card: card =
    fetch_default_card(customer)`), whose failure propagates.

    A catch-all can also be deliberate; not flagged: a handler whose comment says why (on the
    `except` line, just above it or in its body, or a string standing as a statement in it; a
    directive such as `# noqa` or a `# TODO` is not a reason, though a comment after it on the
    same line is), or whose `try` opens with a comment that speaks of its failure ("any sort of
    exception means the file does not exist"; not one that only says what the body does), or
    whose sync twin's handler says why (`async def aload()` beside `def load()`), or whose `try`
    only computes a value from what it holds, calling nothing but conversions and arithmetic
    (`page = int(raw)`, `scale = height / max_count`): it can fail only on that value; or that
    silences another linter's broad-except or try-except-pass check (`# noqa: BLE001`,
    `# noqa: S110`, `# nosec B110`, `# pylint: disable=broad-except`); a function that wraps one `try` and whose docstring
    says what it does on failure ("return None if the input is invalid", "if no view is defined,
    returns an anchor"); a `try` that only
    releases a resource (`close()`, `shutdown()`, `lock.__exit__(...)`, `os.remove()`, also under an
    `if` that tests for it: `if conn: conn.close()`, and in each branch of `if`/`elif`/`else`) or any handler in a
    `close()`, `__exit__()` or `__del__()` method: best-effort cleanup; and the handlers of a
    template filter (`@register.filter`, or `register.filter("name", func)` in the module), of a tag's
    function, which its node's `render()` runs (`@register.simple_tag`, `@register.inclusion_tag(...)`),
    or of a template `Node.render()`, which Django's documentation asks to fail silently. It is reported at the `except` line. Test modules
    are not checked.

    ## Why is this bad?
    Every error, including the bugs nobody anticipated, is silently swallowed: the request
    succeeds with wrong data, the task reports success, and nobody gets a traceback to fix
    it. Catch the exceptions you expect, or keep the traceback.

    ## Known problems
    A comment is taken at its word: a handler that says why it catches everything is not
    flagged, however weak the reason. The exception's text assigned to a local variable counts
    as passed on even when the variable is then only logged. A project function is read for the
    traceback it logs only when it is defined at a module's top level and logs it itself (not
    through another helper of its own); the project's other failure handling is recognised by the
    called name, not by reading what the function does. Still flagged though deliberate: a
    formatting helper that returns a placeholder when formatting fails, and the operators of
    Django's own `{% if %}`, which are False on any error by design.

    Measured precision: 30 of 30 sampled (76 findings) on 15 real projects; on three
    held-out projects 23 of 26 as found, 23 of 23 after the fixes (benchmarks/precision).
    """

    code = "RP304"
    name = "broad-except"
    message = "`except {caught}` swallows every error; catch what you expect, re-raise, or log the traceback"
    severity = Severity.WARNING
    dimension = Dimension.CODE_CLARITY
    requires = ("Exception",)
    in_handlers = True
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    options = {"error-reporters": ()}
    reads = ("traceback_loggers",)
    examples = (
        Bad("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except Exception:  # RP304
                    return False
                return True
            """),
        Good("""
            def drop_table(name):
                conn = None
                try:
                    conn = connect()
                    conn.cursor().execute(f"DROP TABLE {quote(name)}")
                    conn.commit()
                finally:
                    try:
                        if conn:
                            conn.close()
                    except Exception:
                        pass
            """),
        Bad("""
            def drop_table(conn, name):
                try:
                    if conn:
                        conn.commit()
                except Exception:  # RP304
                    pass
            """),
        Good("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except Exception:
                    logger.exception("stock sync failed for product %s", product.pk)
                    return False
                return True
            """),
        Good("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except (WarehouseError, Exception) as e:
                    raise SyncFailed("stock sync failed") from e
            """),
        Good("""
            def send_all(receivers, order):
                failures = []
                for receiver in receivers:
                    try:
                        receiver(order)
                    except Exception as error:
                        failures.append((receiver, error))
                return failures
            """),
        Good(
            """
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except Exception:
                    notify_ops("stock sync failed")
            """,
            options={"error-reporters": ["notify_ops"]},
        ),
        Good("""
            def read_payload(decoder, raw):
                try:
                    return decoder.decode(raw)
                except Exception:
                    return decoder.decode(raw.decode("latin-1"))
            """),
        Good("""
            def decode_path(path):
                try:
                    path = base64.urlsafe_b64decode(path.encode()).decode()
                except Exception:
                    path = unquote(path)
                return path
            """),
        Bad("""
            def read_payload(decoder, raw):
                try:
                    return decoder.decode(raw)
                except Exception:  # RP304
                    try:
                        return decoder.decode(raw.decode("latin-1"))
                    except ValueError:
                        return {}
            """),
        Good("""
            class CachedSession(SessionBase):
                def load(self):
                    try:
                        data = self._cache.get(self.cache_key)
                    except Exception:
                        # Some backends raise on invalid cache keys: read the session from the database.
                        data = None
                    return data or self._load_from_db()
            """),
        Good("""
            def inspect_tables(connection, tables):
                for table in tables:
                    try:
                        columns = connection.introspection.get_table_description(table)
                    except Exception as e:
                        yield f"# Unable to inspect table {table!r}: {e}"
                        continue
                    yield from render_model(table, columns)
            """),
        Good("""
            def stream(body):
                try:
                    yield from body.iter_chunks()
                finally:
                    try:
                        body.close()
                    except Exception:
                        pass
            """),
        Bad("""
            def stream(body):
                try:
                    yield from body.iter_chunks()
                finally:
                    try:
                        body.close()
                        body.connection.notify_done()
                    except Exception:  # RP304
                        pass  # TODO: log this
            """),
        Bad("""
            def sync_stock(product):
                try:
                    warehouse.update(product.sku, product.stock)
                except (WarehouseError, BaseException) as e:  # RP304
                    logger.warning("stock sync failed: %s", type(e).__name__)
            """),
        Good(
            """
            from shop.utils import logger

            def apply_discount(order, code):
                try:
                    order.apply(code)
                except Exception:
                    logger.log_trace(f"discount {code} not applied")

            def refresh(order):
                try:
                    order.refresh()
                except Exception:
                    logger.trace()
            """,
            path="shop/views.py",
            files={
                "shop/utils/logger.py": """
                    from traceback import format_exc

                    from twisted.python import log

                    def log_trace(message=None):
                        trace = format_exc()  # the caller's traceback, logged by the project's own helper
                        if trace:
                            log.err(trace)
                            if message:
                                log.err(message)

                    trace = log_trace
                    """,
            },
        ),
        Bad(
            """
            from shop.plugins import load_plugin

            def refresh(order):
                try:
                    order.refresh()
                except Exception:  # RP304
                    load_plugin("fallback")
            """,
            path="shop/views.py",
            files={
                "shop/plugins.py": """
                    import importlib
                    import logging

                    logger = logging.getLogger(__name__)

                    def load_plugin(name):
                        try:
                            return importlib.import_module(name)
                        except ImportError:
                            logger.exception("cannot load %s", name)  # its own failure's traceback
                    """,
            },
        ),
    )

    def setup(self) -> None:
        super().setup()
        #: for each enclosing `try`: what its body does
        self.tries: list[tuple[cst.Try | cst.TryStar, _Body]] = []
        self.retrying: set[Handler] = set()
        #: handlers that catch everything on purpose: documented, around cleanup, or where Django asks for silence
        self.deliberate: set[Handler] = set()
        #: (enclosing handler, handler nested in it, the class caught): decided when the enclosing one ends
        self.cleanups: list[tuple[Handler, Handler, str]] = []
        self._rendering_by_call: frozenset[str] | None = None  # see `_registered_by_call`

    def on_handler(self, handler: Handler) -> None:
        body = self._own_try()
        function = self.function
        if (
            _documented(handler.node)
            or (body is not None and _try_explains(self.tries[-1][0]))
            or (body is not None and body.cleanup_only)
            or (isinstance(function, cst.FunctionDef) and function.name.value in _RELEASING_METHODS)
            or (
                isinstance(function, cst.FunctionDef)
                and body is not None
                and _documented_wrapper(function, self.tries[-1][0])
            )
            or self._fails_silently()
            or (body is not None and self._only_computes(self.tries[-1][0]))
            or self._twin_documented(handler)
            or (isinstance(function, cst.FunctionDef) and _REPORTS_FAILURE.match(function.name.value))
        ):
            self.deliberate.add(handler)

    def _only_computes(self, statement: cst.Try | cst.TryStar) -> bool:
        """A `try` that only computes a value from what it holds (`page = int(raw)`, `return height /
        max_count`): its one statement calls nothing but conversions and arithmetic (`_COMPUTING`),
        so it can fail only on that value, and the handler's fallback is the handling."""
        lines = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
        if len(lines) != 1 or not isinstance(lines[0], cst.SimpleStatementLine) or len(lines[0].body) != 1:
            return False
        small = lines[0].body[0]
        if isinstance(small, cst.Assign) and all(isinstance(t.target, cst.Name) for t in small.targets):
            value: cst.BaseExpression | None = small.value
        elif isinstance(small, cst.Return):
            value = small.value
        else:
            return False
        if not isinstance(value, (cst.Call, cst.BinaryOperation)):
            return False
        if next(traversal.nodes_of(value, (cst.Await, cst.Yield, cst.Lambda, cst.NamedExpr)), None) is not None:
            return False
        return all(
            self.semantic.imported_or_written(call.func) in _COMPUTING for call in traversal.nodes_of(value, cst.Call)
        )

    def _twin_documented(self, handler: Handler) -> bool:
        """In an async twin (`aload`) of a method whose handler of the same classes says why (`load`)."""
        owner, function = self.semantic.method_of, self.function
        if owner is None or not isinstance(function, cst.FunctionDef):
            return False
        name = function.name.value
        if function.asynchronous is None or not name.startswith("a"):
            return False
        caught = _code(handler.node.type)
        for twin in owner.body.body:
            if isinstance(twin, cst.FunctionDef) and twin.name.value == name[1:]:
                return any(
                    _code(h.type) == caught and _documented(h) for h in traversal.nodes_of(twin, cst.ExceptHandler)
                )
        return False

    def _fails_silently(self) -> bool:
        """In a template filter, a tag's function (run by its node's `render()`: `@register.simple_tag`,
        `@register.inclusion_tag(...)`) or a template `Node.render()`: Django's docs ask them not to raise."""
        for scope in self.semantic.scopes:
            node = scope.node
            if not isinstance(node, cst.FunctionDef):
                continue
            if any(self._registers_render_code(d.decorator) for d in node.decorators):
                return True
            if scope.parent is self.semantic.module_scope and node.name.value in self._registered_by_call():
                return True
        owner = self.semantic.method_of
        function = self.function
        return (
            owner is not None
            and isinstance(function, cst.FunctionDef)
            and function.name.value == "render"
            and any(self.semantic.qualified_name(base.value) in _TEMPLATE_NODES for base in owner.bases)
        )

    def _registers_render_code(self, decorator: cst.BaseExpression) -> bool:
        """`@register.filter`, `@register.filter(is_safe=True)`, `@register.simple_tag`,
        `@register.inclusion_tag("x.html")` with `register = template.Library()`."""
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        if not (isinstance(target, cst.Attribute) and target.attr.value in _RENDERING_REGISTRATIONS):
            return False
        return self._is_library(self.semantic.binding_of(target.value))

    def _is_library(self, binding: Binding | None) -> bool:
        value = binding.value if binding is not None else None
        return isinstance(value, cst.Call) and self.semantic.qualified_name(value.func) in _TEMPLATE_LIBRARIES

    def _registered_by_call(self) -> frozenset[str]:
        """The module's functions registered as filters or tags by a call of its body:
        `register.filter("name", func)`, `register.filter(func)`, `register.filter(filter_func=func)`,
        `register.simple_tag(func)`, `register.inclusion_tag("x.html")(func)`."""
        if self._rendering_by_call is None:
            module = self.semantic.module_scope
            names: set[str] = set()
            statements = module.node.body if isinstance(module.node, cst.Module) else ()
            lines = [line.body[0] for line in statements if isinstance(line, cst.SimpleStatementLine)]
            for call in (line.value for line in lines if isinstance(line, cst.Expr)):
                if not isinstance(call, cst.Call):
                    continue
                registration = call.func.func if isinstance(call.func, cst.Call) else call.func  # inclusion_tag(...)(f)
                if not (
                    isinstance(registration, cst.Attribute)
                    and registration.attr.value in _RENDERING_REGISTRATIONS
                    and isinstance(registration.value, cst.Name)
                    and self._is_library(module.latest(registration.value.value))
                ):
                    continue
                given = [a.value for a in call.args if a.keyword is None or a.keyword.value in ("filter_func", "func")]
                if given and isinstance(given[-1], cst.Name):
                    names.add(given[-1].value)
            self._rendering_by_call = frozenset(names)
        return self._rendering_by_call

    def visit_Try(self, node: cst.Try) -> None:
        self.tries.append((node, _Body.of(node.body)))

    def leave_Try(self, original_node: cst.Try) -> None:
        self.tries.pop()

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self.tries.append((node, _Body.of(node.body)))

    def leave_TryStar(self, original_node: cst.TryStar) -> None:
        self.tries.pop()

    def _own_try(self) -> _Body | None:
        """What the `try` of the innermost handler does, when no other `try` was opened inside the handler."""
        handler = self.handler
        if handler is None or not self.tries:
            return None
        statement, body = self.tries[-1]
        return body if handler.node in statement.handlers else None

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        name = call_name(node) or ""
        if name in self.settings["error-reporters"] or (
            log is None and (self._records_failure(node, name) or self._logs_traceback(node))
        ):
            for handler in self.handlers:
                handler.logs_traceback = True
        body = self._own_try()
        if body is None or self.handler is None:
            return
        operation = _operation(node)
        if (log is None and operation in body.calls) or (log is not None and operation == body.last):
            # the same operation again (a `try` that only logs: the same log line, another way): its failure propagates
            self.retrying.add(self.handler)

    def on_assign(
        self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode
    ) -> None:
        body = self._own_try()
        if body is None or value is None or self.handler is None or not _Reads.calls(value):
            return
        reads = _Reads.of(value)
        for target in targets:
            if isinstance(target, cst.Name) and body.assigned.get(target.value, frozenset()) & reads:
                self.retrying.add(self.handler)  # the same value computed another way, from the same input

    def on_return(self, node: cst.Return) -> None:
        super().on_return(node)
        body = self._own_try()
        if body is None or self.handler is None or not isinstance(node.value, cst.Call):
            return
        callee, reads = _returned(node.value)
        if reads and any(callee != other and reads <= used for other, used in body.returned):
            self.retrying.add(self.handler)  # the result computed another way, from the same input

    def _logs_traceback(self, node: cst.Call) -> bool:
        """A call of the project's own function that logs the traceback being handled (`log_trace()`)."""
        if self.handler is None:
            return False
        called = self.semantic.qualified_name(node.func)
        return called is not None and is_traceback_logger(called, self.context.traceback_loggers)

    def _records_failure(self, node: cst.Call, name: str) -> bool:
        """`storage_background_failure(self)`, `job.mark_failed()`: the project's own failure handling
        (not a flash message or a form error, which tell the user and lose the bug)."""
        qualified = self.semantic.imported_or_written(node.func) or ""
        return (
            bool(_FAILURE_HANDLER.search(name))
            and name not in _TELLS_THE_USER
            and not qualified.startswith("django.contrib.messages.")
        )

    def after_handler(self, handler: Handler) -> None:
        caught = [t for t in handler.types if t in BROAD]
        if caught and not (
            handler.raises
            or handler.logs_traceback
            or handler.hands_on
            or handler in self.retrying
            or handler in self.deliberate
            or self._checked_later(handler)
        ):
            self._swallowed(handler, caught[0])
        for entry in [c for c in self.cleanups if c[0] is handler]:
            self.cleanups.remove(entry)
            if not handler.reraises:
                self._swallowed(entry[1], entry[2])

    def _swallowed(self, handler: Handler, caught: str) -> None:
        """Reported, unless a handler around the one ending re-raises the original error: then this one
        cleans up on the way out (`except: rollback(); raise`) and must not mask it."""
        around = self.handlers[:-1]
        if around:
            self.cleanups.append((around[-1], handler, caught))
        else:
            self.report(handler.node, caught=caught)

    def _checked_later(self, handler: Handler) -> bool:
        """The handler leaves a value unset (`pass`, `x = None`) and the function raises when it is None
        (`if app_module is None: raise ImportError(...)`), or it collects what failed in a list
        (`invalid_ids.append(graphql_id)`) that the function raises on (`if invalid_ids: raise ...`):
        the failure is reported there."""
        body = self._own_try()
        function = self.function
        if body is None or not isinstance(function, cst.FunctionDef):
            return False
        collected = _collected(handler.node.body)
        if collected:
            return any(
                next(traversal.nodes_of(test.body, cst.Raise), None) is not None
                and any(name.value in collected for name in traversal.nodes_of(test.test, cst.Name))
                for test in traversal.nodes_of(function, cst.If)
            )
        if not body.assigned:
            return False
        unset = _simple_statements(handler.node.body)
        if not unset or not all(
            isinstance(small, cst.Pass) or (isinstance(small, cst.Assign) and is_none(small.value)) for small in unset
        ):
            return False
        inside = {id(test) for test in traversal.nodes_of(self.tries[-1][0], cst.If)}
        for test in traversal.nodes_of(function, cst.If):
            if id(test) in inside or any(h is handler.node for h in traversal.nodes_of(test.body, cst.ExceptHandler)):
                continue  # an `if` in the `try` or its handlers, or around the `try` itself
            raises = next(traversal.nodes_of(test.body, cst.Raise), None) is not None
            for name in _tested_unset(test.test) & body.assigned.keys():
                if raises or name in _assigned_names(test.body):
                    return True
        return False


def _tested_unset(test: cst.BaseExpression) -> frozenset[str]:
    """The names a condition tests for being unset: `x is None`, `not x`."""
    if (
        isinstance(test, cst.UnaryOperation)
        and isinstance(test.operator, cst.Not)
        and isinstance(test.expression, cst.Name)
    ):
        return frozenset({test.expression.value})
    names = set()
    for comparison in traversal.nodes_of(test, cst.Comparison):
        if (
            isinstance(comparison.left, cst.Name)
            and len(comparison.comparisons) == 1
            and isinstance(comparison.comparisons[0].operator, cst.Is)
            and is_none(comparison.comparisons[0].comparator)
        ):
            names.add(comparison.left.value)
    return frozenset(names)


def _assigned_names(body: cst.BaseSuite) -> frozenset[str]:
    """The plain names a block assigns (`card = ...`), also in its nested blocks."""
    return frozenset(
        target.target.value
        for assign in traversal.nodes_of(body, cst.Assign)
        for target in assign.targets
        if isinstance(target.target, cst.Name)
    )


def _collected(body: cst.BaseSuite) -> frozenset[str]:
    """The lists a handler only adds to (`invalid_ids.append(graphql_id)`, then `continue`)."""
    names: set[str] = set()
    for small in _simple_statements(body):
        if isinstance(small, (cst.Continue, cst.Pass)):
            continue
        call = small.value if isinstance(small, cst.Expr) else None
        func = call.func if isinstance(call, cst.Call) else None
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("append", "add")
            and isinstance(func.value, cst.Name)
        ):
            return frozenset()
        names.add(func.value.value)
    return frozenset(names)


#: Calls that convert or combine values and fail only on them (`int("x")`, `max([])`); not a parser of
#: a document (`json.loads`), whose failure is bad data the handler may hide.
_COMPUTING = frozenset(
    {
        *("int", "float", "complex", "bool", "str", "len", "abs", "round", "min", "max", "sum", "divmod"),
        *("decimal.Decimal", "fractions.Fraction", "uuid.UUID", "distutils.util.strtobool"),
        *("ipaddress.ip_address", "ipaddress.ip_network"),
    }
)
#: Calls too common to say that two places do the same thing.
_TRIVIAL = frozenset(
    {"str", "repr", "len", "print", "isinstance", "type", "getattr", "hasattr", "bool", "list", "dict"}
)


_TEMPLATE_LIBRARIES = frozenset({"django.template.Library", "django.template.library.Library"})
#: A template library's registrations of code that runs when a template renders (not `tag`, whose
#: function compiles the tag and should raise `TemplateSyntaxError`).
_RENDERING_REGISTRATIONS = frozenset({"filter", "simple_tag", "inclusion_tag"})
_TEMPLATE_NODES = frozenset({"django.template.Node", "django.template.base.Node", "django.template.library.Node"})
#: Methods that release a resource: a `try` made only of them is best-effort cleanup.
_RELEASING = frozenset(
    {
        "close",
        "aclose",
        "shutdown",
        "disconnect",
        "terminate",
        "kill",
        "release",
        "cleanup",
        "quit",
        "unlink",
        "rmdir",
        "__exit__",
        "__aexit__",
    }
)
_RELEASING_CALLS = frozenset({"os.remove", "os.unlink", "os.rmdir", "shutil.rmtree"})
#: Called names of the project's own failure handling: `storage_background_failure`, `mark_failed`, `on_error`.
_FAILURE_HANDLER = re.compile(r"(^|_)(fail|failed|failure|error|errored|exception)(_|$)", re.IGNORECASE)
#: A function that reports another failure (`render_exception`, `handle_error`): a second failure while
#: describing the first must not mask it.
_REPORTS_FAILURE = re.compile(r"^_*(render|report|handle|log|format|notify)_(\w+_)?(error|exception|failure)s?$")
_TELLS_THE_USER = frozenset({"add_error", "error", "form_invalid"})
#: Comments that are tool directives or reminders, not a reason.
_NOT_A_REASON = ("pragma", "type:", "noqa", "nosec", "pylint:", "fmt:", "isort:", "todo", "fixme", "xxx")
_WORD = re.compile(r"\b[A-Za-z]+\b")
#: Another linter's broad-except (or bandit's try-except-pass/continue) check silenced on this line:
#: the catch-all was reviewed and kept.
_ACKNOWLEDGED = re.compile(
    r"noqa:[^#]*\b(BLE001|BLE|W0703|W0718|PLW0718|S110|S112)\b|nosec[^#]*\b(B110|B112)\b"
    r"|pylint:\s*disable=[^#]*\b(broad-except|broad-exception-caught|W0703|W0718)\b",
    re.IGNORECASE,
)
#: A docstring that says what the function does when it fails.
_ON_FAILURE = re.compile(
    r"\b(fail\w*|invalid|errors?|exceptions?|fall ?back|safe\w*|silent\w*|ignor\w*|unsupported|could not|cannot)\b",
    re.IGNORECASE,
)
#: A docstring's fallback told as a condition: "if no view is defined, returns an anchor", "returns None
#: when not found", "otherwise returns the text".
_FALLBACK = re.compile(
    r"\bif (?:no|not|none)\b.{0,80}?\breturns?\b|\breturns?\b.{0,80}?\b(?:if|when) (?:no|not|none)\b"
    r"|\botherwise,? returns?\b",
    re.IGNORECASE | re.DOTALL,
)
#: A comment opening a `try` that speaks of its failure ("this may fail", "any exception means ..."); not of
#: errors in general ("errors are 1-indexed in the frames") nor of what else might not go well.
_TRY_FAILS = re.compile(
    r"\b(fail\w*|exceptions?|ignor\w*|best[- ]effort|fall ?back)\b",
    re.IGNORECASE,
)
#: Methods that release what their object holds: whatever they catch is best-effort cleanup.
_RELEASING_METHODS = _RELEASING | {"__del__", "__exit__", "__aexit__"}


def _is_reason(comment: str) -> bool:
    """Prose (two words or more) or another linter's broad-except check silenced; not a bare
    directive (`# noqa`), a reminder (`# TODO`) or a rule code. A comment may follow a directive
    on the same line: `# noqa: S110  # intentional: a missing template falls back to the text`."""
    if _ACKNOWLEDGED.search(comment):
        return True
    return any(
        not text.lower().startswith(_NOT_A_REASON) and len(_WORD.findall(text)) >= 2
        for text in (part.strip() for part in comment.split("#"))
    )


def _documented_wrapper(function: cst.FunctionDef, statement: cst.Try | cst.TryStar) -> bool:
    """A function that wraps one `try` (and a final `return`) and whose docstring says what it does on failure."""
    docstring = function.get_docstring()
    body = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    if not docstring or not (_ON_FAILURE.search(docstring) or _FALLBACK.search(docstring)):
        return False
    rest = body[1:]  # after the docstring
    if rest and isinstance(rest[-1], cst.SimpleStatementLine) and isinstance(rest[-1].body[0], cst.Return):
        rest = rest[:-1]
    return rest == [statement]


def _code(node: cst.CSTNode | None) -> str:
    return cst.Module([]).code_for_node(node) if node is not None else ""


def _documented(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """A comment on the `except` line, just above it or in its body says why everything is caught
    (a string standing as a statement in the body is a comment too)."""
    comments = [line.comment for line in handler.leading_lines]
    strings: list[str | None] = []
    body = handler.body
    if isinstance(body, cst.IndentedBlock):
        comments.append(body.header.comment)
        comments += [line.comment for line in body.footer]
        for statement in body.body:
            if isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                comments += [line.comment for line in statement.leading_lines]
            if isinstance(statement, cst.SimpleStatementLine):
                comments.append(statement.trailing_whitespace.comment)
                strings += [string_value(small.value) for small in statement.body if isinstance(small, cst.Expr)]
    elif isinstance(body, cst.SimpleStatementSuite):
        comments.append(body.trailing_whitespace.comment)
    texts = [c.value.lstrip("#") for c in comments if c is not None] + [t for t in strings if t is not None]
    return any(map(_is_reason, texts))


def _try_explains(statement: cst.Try | cst.TryStar) -> bool:
    """A comment opening the `try` body (or ending its first line) speaks of its failure: "any sort of
    exception means the file does not exist" (not one that only says what the body does)."""
    body = statement.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return False
    first = body.body[0]
    comments = [body.header.comment]
    if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        comments += [line.comment for line in first.leading_lines]
    if isinstance(first, cst.SimpleStatementLine):
        comments.append(first.trailing_whitespace.comment)  # `cat.delete(resource)  # This may fail`
    text = " ".join(c.value.lstrip("#") for c in comments if c is not None)
    return _is_reason(text) and _TRY_FAILS.search(text) is not None


def _releases(small: cst.BaseSmallStatement) -> bool:
    """`stream.close()`, `await client.aclose()`, `os.remove(path)`: a statement that only releases something."""
    value = small.value if isinstance(small, cst.Expr) else None
    if isinstance(value, cst.Await):
        value = value.expression
    if not isinstance(value, cst.Call):
        return False
    name = dotted_name(value.func) or ""
    return name.rpartition(".")[2] in _RELEASING or name in _RELEASING_CALLS


def _returned(call: cst.Call) -> tuple[str | None, frozenset[str]]:
    """A returned call: its callee, and the names its arguments read."""
    reads = frozenset().union(*(_Reads.of(arg.value) for arg in call.args))
    return dotted_name(call.func), reads


def _only_releases(body: cst.BaseSuite) -> bool:
    """Every statement of the block releases a resource, also under an `if` that tests for it
    (`if conn: conn.close()`; `if os.path.isfile(p): os.unlink(p)` / `elif os.path.isdir(p): shutil.rmtree(p)`)."""
    if isinstance(body, cst.SimpleStatementSuite):
        return bool(body.body) and all(map(_releases, body.body))
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            if not all(map(_releases, statement.body)):
                return False
        elif not (isinstance(statement, cst.If) and _branches_release(statement)):
            return False
    return bool(body.body)


def _branches_release(statement: cst.If) -> bool:
    """Every branch of an `if` (its `elif`s and `else`) only releases a resource."""
    orelse = statement.orelse
    if not _only_releases(statement.body):
        return False
    if isinstance(orelse, cst.If):
        return _branches_release(orelse)
    return orelse is None or _only_releases(orelse.body)


def _simple_statements(body: cst.BaseSuite) -> list[cst.BaseSmallStatement]:
    """The statements of a block made only of simple statements; [] when it holds a compound one."""
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    if not all(isinstance(statement, cst.SimpleStatementLine) for statement in body.body):
        return []
    return [
        small for statement in body.body if isinstance(statement, cst.SimpleStatementLine) for small in statement.body
    ]


def _operation(node: cst.Call) -> str | None:
    """`json.loads`, `self.client.get`: what a call does, by its dotted callee."""
    name = dotted_name(node.func)
    return None if name in _TRIVIAL else name


class _Reads(cst.CSTVisitor):
    """The names an expression reads, and whether it calls anything."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.called = False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        self.called = True

    @classmethod
    def of(cls, node: cst.CSTNode) -> frozenset[str]:
        reads = cls()
        traversal.visit(node, reads)
        return frozenset(reads.names)

    @classmethod
    def calls(cls, node: cst.CSTNode) -> bool:
        reads = cls()
        traversal.visit(node, reads)
        return reads.called


@dataclass(frozen=True)
class _Body:
    """What a `try` body does: the operations it calls, and the names it assigns from what."""

    calls: frozenset[str]
    assigned: dict[str, frozenset[str]]
    #: the calls it returns, each as its callee and the names its arguments read (`return parse_new(request)`)
    returned: frozenset[tuple[str | None, frozenset[str]]]
    #: the one operation of a `try` made of assignments and then one call: what the `try` is for
    last: str | None
    cleanup_only: bool  #: every statement releases a resource (`close()`, `os.remove()`)

    @classmethod
    def of(cls, body: cst.BaseSuite) -> _Body:
        calls: set[str] = set()
        assigned: dict[str, frozenset[str]] = {}
        returned: set[tuple[str | None, frozenset[str]]] = set()

        class Visitor(cst.CSTVisitor):
            def visit_Return(self, node: cst.Return) -> None:
                if isinstance(node.value, cst.Call):
                    returned.add(_returned(node.value))

            def visit_Call(self, node: cst.Call) -> None:
                operation = _operation(node)
                if operation is not None:
                    calls.add(operation)

            def visit_Assign(self, node: cst.Assign) -> None:
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        assigned[target.target.value] = _Reads.of(node.value)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

        traversal.visit(body, Visitor())
        simple = _simple_statements(body)
        cleanup_only = _only_releases(body)
        tail = simple[-1] if simple else None
        last = None
        if (
            isinstance(tail, cst.Expr)
            and isinstance(tail.value, cst.Call)
            and all(isinstance(small, (cst.Assign, cst.AnnAssign)) for small in simple[:-1])
        ):
            last = _operation(tail.value)
        return cls(frozenset(calls), assigned, frozenset(returned), last, cleanup_only)
