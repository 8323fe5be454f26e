"""RP302: the text of a caught exception sent to a log, a raised exception or a response."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import libcst as cst

from review_patterns.checks.privacy.helpers import Handler, HandlerAwareRule, LoggerCall, debug_test
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax.names import bound_names, call_name, dotted_name

#: Exceptions whose text is written for the user (Django's and DRF's).
#: Raised for the operator who runs a command or starts the server, never shown to clients.
_OPERATOR_FACING = frozenset({"CommandError", "ImproperlyConfigured"})
_USER_FACING = frozenset({"ValidationError", "PermissionDenied", "Http404", "NotFound"})
_DOES_NOT_EXIST = frozenset({"DoesNotExist", "ObjectDoesNotExist"})
_TRACEBACK_TEXT = frozenset({"traceback.format_exc", "traceback.format_exception", "traceback.format_exception_only"})
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_RESPONSES = frozenset({"Response", "JsonResponse", "StreamingHttpResponse"})
#: Modules whose functions' return values go back to a client.
_CLIENT_MODULE = re.compile(r"(^|/)((views|viewsets|api|services|endpoints)\.py|(views|services)/[^/]+\.py)$")


def is_response(node: cst.Call) -> bool:
    name = call_name(node) or ""
    return name in _RESPONSES or name.startswith("HttpResponse")


class ExceptionTextLeak(HandlerAwareRule):
    """## What it does
    Flags, inside an `except ... as e` handler, the text of `e` reaching a log message, the
    message of a raised exception, or a response. The text is `str(e)`, `repr(e)`, `f"{e}"`,
    `"%s" % e`, `"{}".format(e)`, `e.args`, `e.message`, `traceback.format_exc()` or
    `traceback.format_exception(...)` (in any handler), `e` itself as a positional argument of
    a logger call, or a variable assigned from one of these. Responses are `Response`,
    `JsonResponse` and `HttpResponse*`, and any value returned by a view or a service
    (`return {"error": str(e)}`). The finding is at the sink: the logger call, the `raise`,
    the response or the `return`.

    Not flagged: `logger.exception(...)` and calls with `exc_info=` (the traceback goes to the
    log handler, the operator's choice, see RP305), `raise NewError("generic") from e`, and
    handlers whose exceptions are written for users: handlers catching only `ValidationError`
    (Django's or DRF's), `PermissionDenied`, `Http404` or `NotFound`, and `DoesNotExist` or
    `ObjectDoesNotExist` answered with a 404. A tuple that mixes these with other exceptions
    is not exempt. Nor is a `CommandError` or `ImproperlyConfigured` raised with the text: its
    message goes to the operator running the command or starting the server.

    ## Why is this bad?
    Exception text carries internals: SQL and table names, file paths, host names, sometimes
    keys and personal data from the failing row. In a response it tells an attacker how the
    system is built; in a log it copies data to where it is kept longest. Log
    `type(e).__name__` (or the traceback with `logger.exception`) and tell users something
    generic.

    ## Options
    - `user-facing-exceptions`: more exception classes whose text is written for users (your
      own `OrderError`), by class name or qualified name; their handlers are exempt like
      `ValidationError`'s.
    """

    code = "RP302"
    name = "exception-text-leak"
    message = "{text} reaches {sink}; log `type({name}).__name__` and answer with a generic message"
    severity = Severity.BLOCKER
    penalty = 6
    dimension = Dimension.SECURITY
    requires = ("except",)
    options = {"user-facing-exceptions": ()}
    examples = (
        Bad("""
            import logging

            from rest_framework.response import Response
            from rest_framework.views import APIView

            logger = logging.getLogger(__name__)

            class RefundView(APIView):
                def post(self, request, pk):
                    try:
                        refund = payments.refund(pk)
                    except PaymentError as e:
                        logger.error("refund failed: %s", e)  # RP302
                        return Response({"error": str(e)}, status=502)  # RP302
                    return Response({"id": refund.id})
            """),
        Good("""
            import logging

            from rest_framework.response import Response
            from rest_framework.views import APIView

            logger = logging.getLogger(__name__)

            class RefundView(APIView):
                def post(self, request, pk):
                    try:
                        refund = payments.refund(pk)
                    except PaymentError as e:
                        logger.error("refund failed: %s", type(e).__name__)
                        return Response({"error": "The refund could not be made."}, status=502)
                    return Response({"id": refund.id})
            """),
        Bad(
            """
            import traceback

            def import_catalogue(request):
                try:
                    rows = parse(request.FILES["catalogue"])
                except (ValueError, KeyError) as exc:
                    message = f"bad file: {exc!r}"
                    raise ImportFailed(message)  # RP302
                except Exception:
                    return {"error": traceback.format_exc()}  # RP302
                return {"rows": len(rows)}
            """,
            path="catalogue/services.py",
        ),
        Good(
            """
            import json

            from django.core.management.base import BaseCommand, CommandError

            class Command(BaseCommand):
                def handle(self, *args, **options):
                    try:
                        settings = json.loads(options["configuration"])
                    except json.JSONDecodeError as error:
                        raise CommandError(f"invalid configuration: {error}") from error
            """,
            path="shop/management/commands/configure.py",
        ),
        Good("""
            from django.core.exceptions import ValidationError
            from django.http import Http404, JsonResponse

            def update_order(request, pk):
                try:
                    order = Order.objects.get(pk=pk)
                    order.full_clean()
                except Order.DoesNotExist as e:
                    raise Http404(str(e))
                except ValidationError as e:
                    return JsonResponse({"errors": e.messages, "detail": str(e)}, status=400)
                except OSError as e:
                    logger.exception("saving order failed: %s", e)
                    raise OrderError("could not save") from e
                return JsonResponse({"id": order.pk})
            """),
        Good(
            """
            from rest_framework.exceptions import ValidationError

            from shop.services import OrderError

            def place_order(request, cart):
                try:
                    return checkout(cart)
                except OrderError as e:
                    raise ValidationError(str(e))
            """,
            options={"user-facing-exceptions": ["shop.services.OrderError"]},
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.exempt: set[Handler] = set()
        self.user_facing = frozenset(self.settings["user-facing-exceptions"])
        self.pending: list[tuple[cst.CSTNode, set[Handler], str]] = []

    @classmethod
    def option_error(cls, options: Mapping[str, Any]) -> str | None:
        bad = [n for n in options.get("user-facing-exceptions", ()) if not _DOTTED.match(n)]
        if bad:
            return (
                f"`user-facing-exceptions` takes class names (`OrderError`, `shop.errors.OrderError`), not {bad[0]!r}"
            )
        return None

    # -- sinks --

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        if log is not None:
            if log.logs_traceback:
                return
            sources = self._leaks_all(log.parts)
            names = self.exception_names()
            for arg in log.args:
                if isinstance(arg, cst.Name) and arg.value in names:
                    sources.add(names[arg.value])
            self._sink(node, sources, "a log message")
        elif is_response(node):
            self._sink(node, self._leaks_all(a.value for a in node.args), f"a `{call_name(node)}`")

    def on_raise(self, node: cst.Raise) -> None:
        exc = node.exc
        if exc is None or (isinstance(exc, cst.Call) and call_name(exc) in _OPERATOR_FACING):
            return
        self._sink(node, self.leaks(exc), "a raised exception")

    def on_return(self, node: cst.Return) -> None:
        if node.value is not None and self._returns_to_client():
            self._sink(node, self.leaks(node.value, skip_responses=True), "a returned value")

    def _returns_to_client(self) -> bool:
        function = self.function
        if function is None:
            return False
        node = function.node
        if isinstance(node, cst.FunctionDef) and any(
            p.name.value == "request" for p in [*node.params.posonly_params, *node.params.params]
        ):
            return True
        return bool(_CLIENT_MODULE.search(self.file.path))

    def _sink(self, node: cst.CSTNode, sources: set[Handler], sink: str) -> None:
        sources -= self.exempt
        if not sources or self.debug_only:
            return
        if self.handlers:
            self.pending.append((node, sources, sink))
        else:
            self._report(node, sources, sink)

    def _report(self, node: cst.CSTNode, sources: set[Handler], sink: str) -> None:
        handler = next(iter(sources))
        text = f"the text of `{handler.name}`" if handler.name else "the traceback"
        self.report(node, text=text, sink=sink, name=handler.name or "e")

    # -- handlers --

    def after_handler(self, handler: Handler) -> None:
        if self._exempt(handler):
            self.exempt.add(handler)
            for held in self._taints().values():
                held.discard(handler)
        if len(self.handlers) == 1:  # leaving the outermost handler of this scope
            for node, sources, sink in self.pending:
                if sources - self.exempt:
                    self._report(node, sources - self.exempt, sink)
            self.pending = []

    def _exempt(self, handler: Handler) -> bool:
        if not handler.types or not handler.known:
            return False
        for qualified in handler.types:
            last = qualified.rsplit(".", 1)[-1]
            ours = qualified == last or qualified.startswith(("django.", "rest_framework."))
            if last in _USER_FACING and ours:
                continue
            if last in _DOES_NOT_EXIST and handler.answers_404:
                continue
            if qualified in self.user_facing or last in self.user_facing:
                continue
            return False
        return True

    # -- variables holding the text --

    def _taints(self) -> dict[str, set[Handler]]:
        """Variables of the current scope holding the text of a caught exception."""
        taints: dict[str, set[Handler]] = self.frame.state.setdefault("taints", {})
        return taints

    def on_handler(self, handler: Handler) -> None:
        if handler.name is not None:
            self._taints().pop(handler.name, None)  # the name now holds the new exception

    def on_assign(
        self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode
    ) -> None:
        # A response stored in a variable is reported where it is built, not again where it is returned.
        sources = self.leaks(value, skip_responses=True) if value is not None else set()
        taints = self._taints()
        for target in targets:
            if isinstance(target, cst.Subscript):  # `context["error"] = str(e)`: the whole dict carries it
                base: cst.BaseExpression = target.value
                while isinstance(base, (cst.Subscript, cst.Attribute)):
                    base = base.value
                if isinstance(base, cst.Name) and sources:
                    taints.setdefault(base.value, set()).update(sources)
                continue
            names = [dotted_name(target)] if isinstance(target, cst.Attribute) else list(bound_names(target))
            for name in filter(None, names):
                if isinstance(node, cst.AugAssign):
                    taints.setdefault(name, set()).update(sources)
                elif sources:
                    taints[name] = set(sources)
                else:
                    taints.pop(name, None)

    # -- what carries the text --

    def _leaks_all(self, nodes: Iterable[cst.BaseExpression]) -> set[Handler]:
        found: set[Handler] = set()
        for node in nodes:
            found |= self.leaks(node)
        return found

    def leaks(self, node: cst.BaseExpression, skip_responses: bool = False) -> set[Handler]:
        """The handlers whose exception text `node` carries."""
        names = self.exception_names()
        taints = self._taints()
        if not names and not taints and not self.handlers:
            return set()
        return _Text(self, names, taints, skip_responses).of(node)


class _Text:
    """Finds the text of caught exceptions in one expression."""

    def __init__(
        self, rule: ExceptionTextLeak, names: dict[str, Handler], taints: dict[str, set[Handler]], skip_responses: bool
    ) -> None:
        self.rule = rule
        self.names = names
        self.taints = taints
        self.skip_responses = skip_responses

    def exception(self, node: cst.BaseExpression) -> Handler | None:
        """The handler whose exception this bare name is."""
        return self.names.get(node.value) if isinstance(node, cst.Name) else None

    def of(self, node: cst.BaseExpression) -> set[Handler]:
        if isinstance(node, cst.Name):
            return set(self.taints.get(node.value, ()))
        if isinstance(node, cst.Attribute):
            handler = self.exception(node.value)
            if handler is not None and node.attr.value in ("args", "message"):
                return {handler}
            held = self.taints.get(dotted_name(node) or "")
            return set(held) if held else self.of(node.value)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.FormattedString):
            found: set[Handler] = set()
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    handler = self.exception(part.expression)
                    found |= {handler} if handler is not None else self.of(part.expression)
            return found
        if isinstance(node, cst.BinaryOperation):
            found = self.of(node.left) | self.of(node.right)
            if isinstance(node.operator, cst.Modulo):
                right = node.right
                values = [e.value for e in right.elements] if isinstance(right, (cst.Tuple, cst.Dict)) else [right]
                found |= {h for h in map(self.exception, values) if h is not None}
            return found
        if isinstance(node, cst.ConcatenatedString):
            return self.of(node.left) | self.of(node.right)
        if isinstance(node, (cst.BooleanOperation,)):
            return self.of(node.left) | self.of(node.right)
        if isinstance(node, cst.IfExp):
            debug = debug_test(node.test)
            return (set() if debug is True else self.of(node.body)) | (
                set() if debug is False else self.of(node.orelse)
            )
        if isinstance(node, cst.Subscript):
            return self.of(node.value)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return self._all(e.value for e in node.elements)
        if isinstance(node, cst.Dict):
            return self._all(e.value for e in node.elements)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            return self._comprehension(node)
        if isinstance(node, cst.Await):
            return self.of(node.expression)
        return set()

    def _all(self, nodes: Iterable[cst.BaseExpression]) -> set[Handler]:
        found: set[Handler] = set()
        for node in nodes:
            found |= self.of(node)
        return found

    def _call(self, node: cst.Call) -> set[Handler]:
        qualified = self.rule.imports.resolve(node.func)
        if qualified in _TRACEBACK_TEXT:
            return {self.rule.handlers[-1]} if self.rule.handlers else set()
        if self.skip_responses and is_response(node):
            return set()  # reported at the response itself
        found: set[Handler] = set()
        args = [a.value for a in node.args]
        if qualified in ("str", "repr") or call_name(node) == "format":
            found |= {h for h in map(self.exception, args) if h is not None}
        if isinstance(node.func, cst.Attribute):
            found |= self.of(node.func.value)
        return found | self._all(args)

    def _comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp) -> set[Handler]:
        shadowed: set[str] = set()
        loop: cst.CompFor | None = node.for_in
        iterables: list[cst.BaseExpression] = []
        while loop is not None:
            shadowed.update(bound_names(loop.target))
            iterables.append(loop.iter)
            loop = loop.inner_for_in
        inner = _Text(
            self.rule,
            {k: v for k, v in self.names.items() if k not in shadowed},
            {k: v for k, v in self.taints.items() if k not in shadowed},
            self.skip_responses,
        )
        parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
        return inner._all(parts) | self._all(iterables)
