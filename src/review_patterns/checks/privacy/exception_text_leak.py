"""RP302: the text of a caught exception sent to a client."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import libcst as cst

from review_patterns.checks.privacy.helpers import (
    ExceptionTextRule,
    Handler,
    LoggerCall,
    Origin,
    exception_origin,
    is_response,
)
from review_patterns.checks.privacy.redaction import generic_message
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.project.models import Model
from review_patterns.syntax import traversal
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import call_name

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_DOES_NOT_EXIST = frozenset({"DoesNotExist", "ObjectDoesNotExist"})
#: Calls that put their arguments in front of the user: templates, flash messages, form errors.
_TEMPLATES = frozenset(
    {"django.shortcuts.render", "django.shortcuts.render_to_response", "django.template.response.TemplateResponse"}
)
_MESSAGES = frozenset({"debug", "info", "success", "warning", "error", "add_message"})
_ORDER = {Origin.USER: 0, Origin.LIBRARY: 1, Origin.INTERNAL: 2}
#: Class names that, when they cannot be resolved (a star import), are still taken as rendered.
_RENDERED_NAMES = frozenset({"ValidationError", "PermissionDenied", "APIException", "GraphQLError"})
#: Methods of a model field that Django calls when it writes to or reads from the database, never while
#: validating a form or a serializer.
_DATABASE_CONVERSIONS = frozenset({"get_prep_value", "get_db_prep_value", "get_db_prep_save", "from_db_value"})
#: Queryset and manager methods that write their keyword arguments to the model's fields.
_WRITES = frozenset({"update", "create"})
#: Methods of a class-based view whose return value is the template context.
_CONTEXT_METHODS = frozenset({"get_context_data"})
#: A check of settings the user entered against the service they name (an SMTP server, a translation
#: API), by the name of a call in the `try` or of the enclosing function. The service's error is the
#: answer the user asked for.
_SETTINGS_TEST_CALL = re.compile(r"^(test|test_\w+|\w+_test|(check|verify)_connection)$")
_SETTINGS_TEST_FUNCTION = re.compile(r"^\w*(check|test|verify|validate)\w*_(connection|settings|config|configuration)$")
#: A form of the site's settings (`EMailSettingsForm`, `SSHSettingsForm`): what its methods catch while
#: applying or testing the settings the user entered (sending a test mail, writing a key) is the answer.
_SETTINGS_FORM = re.compile(r"^\w*(Settings|Config|Configuration)Form$")
#: A validator of what the user submitted (`validate_script_content(upload)`): called alone in a `try`,
#: whatever it raises is its verdict on that input.
_VALIDATOR_CALL = re.compile(r"^validate_\w+$")
#: Parsers of what they are given, by (last part of the module, function), so that a project's own
#: wrapper module (`sentry.utils.json.loads`) counts: called alone in a `try`, what they raise is their
#: verdict on that input.
_PARSER_CALLS = frozenset(
    {
        ("json", "loads"),
        ("json", "load"),
        ("simplejson", "loads"),
        ("orjson", "loads"),
        ("ujson", "loads"),
        ("jwt", "decode"),
        ("yaml", "safe_load"),
        ("tomllib", "loads"),
        ("ast", "literal_eval"),
        ("base64", "b64decode"),
        ("base64", "urlsafe_b64decode"),
        ("uuid", "UUID"),
    }
)


class ExceptionTextLeak(ExceptionTextRule):
    """## What it does
    Flags, inside an `except ... as e` handler, the text of `e` reaching a client. The text is
    `str(e)`, `repr(e)`, `f"{e}"`, `"%s" % e`, `"{}".format(e)`, `e.args`, `e.message`,
    `traceback.format_exc()` or `traceback.format_exception(...)` (in any handler), or a
    variable assigned from one of these. It reaches a client through:

    - a response: `Response`, `JsonResponse`, `HttpResponse*`, a template context (`render`,
      `TemplateResponse`, `get_context_data`), a flash message (`messages.error(...)`), a form
      error (`form.add_error(...)`), or a value returned by a view (a function taking `request`
      first) that builds its response with a helper (`return error_page(request, str(e))`) or is
      a decorated API route returning data;
    - a model field that the project's API serves: the text assigned to a field of an instance
      of a model the project defines (`self` in the model's methods, a name bound from
      `Storage.objects.get(...)` or `Storage(...)`) that the same function saves, or written
      by `Storage.objects.filter(...).update(error=...)` / `.create(...)`, when a DRF
      `ModelSerializer` of the project (or of a model deriving from it) names that field in
      `Meta.fields` or takes `"__all__"` without excluding it;
    - an exception the project renders to clients: DRF's `APIException` family, Django's
      `ValidationError` and `PermissionDenied`, `GraphQLError`, and the project's own classes
      deriving from them (read from the project's sources).

    Whose text it is matters. In a response, the text of a broad catch (`Exception`, a bare
    `except:`) or of a library's or the standard library's exception is flagged. In a rendered
    exception only text that carries internals is: a broad catch, database and driver errors,
    HTTP client errors, `OSError` and the other errors of files, sockets and processes. Inside a
    broad handler's `if isinstance(e, X):` (or `type(e) is X`) the exception is an X.
    Not flagged: `ValueError`, `TypeError`, `KeyError`, `JSONDecodeError`, a parser's errors
    (`...DecodeError`, `...ParseError`, `...ReadError`, `...FormatError` such as `PdfReadError`
    or netaddr's `AddrFormatError`) and validation errors, raised while reading the user's own
    input (their text describes that input); the text of the project's own exception classes,
    written for the user who caused them; Django's and DRF's `PermissionDenied`, `Http404` and
    `NotFound`; Django's `TemplateDoesNotExist` (its text is the template name the code asked
    for); `DoesNotExist` answered with a 404; text
    under `if settings.DEBUG:`. `raise InternalError(str(e)) from e` with a class that is not
    rendered is chaining, not a leak, as is a `CommandError` for the operator. Text that a
    formatter cleans before it leaves is not flagged either: `GraphQLError` when the project
    formats GraphQL errors (`format_error`, `error_formatter=`), DRF exceptions when the
    project's `EXCEPTION_HANDLER` reads `settings.DEBUG`. Nor is the error of a settings test
    (`try: backend.test(...)`, `test_connection()`, a function named like `validate_settings()`
    or `validate_config()`, a method of a settings form such as `EMailSettingsForm`): the text of
    the SMTP server or translation service the user just configured is the answer they asked for.
    Nor is an exception raised in a model field's conversion for the database (`get_prep_value`,
    `get_db_prep_value`, `get_db_prep_save`, `from_db_value`): Django calls them when it writes or
    reads a row, never while validating a form, so what they raise ends in a server error.
    Nor is the error of a `try` that only calls a validator of what the user submitted
    (`try: validate_script_content(upload.read(), upload.name)`) or a parser of it (`json.loads`,
    `jwt.decode`, `yaml.safe_load`, also through a project's module of that name such as
    `sentry.utils.json`): it is the validator's verdict.
    Text passed through a cleaner (a function named `cleanup*`, `sanitize*`, `redact*`, `scrub*`,
    `mask_*`, `anonymize*`) is not the raw text any more.

    Logging the text is RP307's business. Test modules are not checked.

    ## Why is this bad?
    Exception text carries internals: SQL and table names, file paths, host names, sometimes
    keys and personal data from the failing row. In front of a client it tells an attacker how
    the system is built. Log the traceback for the operator and tell the user something generic.

    ## Known problems
    Only the caught classes are looked at, not what the `try` body does: the text of a
    `ValueError` raised deep inside a library is taken as describing the user's input, and a
    `RuntimeError` the body raises itself with a message for the user (nautobot's job form view)
    is taken as any library's. The
    project's classes are found by their module-level `class` statements; one built
    dynamically is not known. "An API serves the field" is decided from the project's DRF
    `ModelSerializer`s only: a field shown by a template, the admin, a hand-written serializer
    (`serializers.Serializer` with a `CharField(source=...)`) or a `values()` response is not
    known to be served, a serializer whose `Meta.fields` is built by code is not read, and the
    text stored outside the handler (by a helper it calls that reads `sys.exc_info()`) is not
    followed. A settings test is recognised by the name of the function it calls or is in, or of
    its form's class.

    ## Options
    - `user-facing-exceptions`: more exception classes whose text is written for users (an
      installed library's `PaymentDeclined`), by class name or qualified name.

    Measured precision: 30 of 30 sampled (39 findings) on 15 real projects; on three
    held-out projects 6 of 10 as found, 6 of 7 after the fixes (benchmarks/precision).
    """

    reads = ("exceptions", "models", "served_fields")

    code = "RP302"
    name = "exception-text-leak"
    message = "{text} reaches {sink}; log it for the operator and answer with a generic message"
    severity = Severity.BLOCKER
    penalty = 6
    dimension = Dimension.SECURITY
    requires = ("except",)
    in_handlers = True
    fixes = (
        "Unsafe: the fix replaces the string that carries the exception's text (`str(e)`, "
        '`f"could not refund: {e}"`, `traceback.format_exc()`) with `"An internal error '
        'occurred."`, so clients see less than before; log the exception for the operator if '
        "nothing does. Not offered when the text comes through a variable."
    )
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})
    options = {"user-facing-exceptions": ()}
    examples = (
        Bad("""
            import requests
            from rest_framework.response import Response
            from rest_framework.views import APIView

            class RefundView(APIView):
                def post(self, request, pk):
                    try:
                        refund = payments.refund(pk)
                    except requests.RequestException as e:
                        return Response({"error": str(e)}, status=502)  # RP302
                    except Exception:
                        return Response({"error": traceback.format_exc()}, status=500)  # RP302
                    return Response({"id": refund.id})
            """),
        Good("""
            import logging

            import requests
            from rest_framework.response import Response
            from rest_framework.views import APIView

            logger = logging.getLogger(__name__)

            class RefundView(APIView):
                def post(self, request, pk):
                    try:
                        refund = payments.refund(pk)
                    except requests.RequestException:
                        logger.exception("refund %s failed", pk)
                        return Response({"error": "The refund could not be made."}, status=502)
                    return Response({"id": refund.id})
            """),
        Bad(
            """
            from django.db import DatabaseError
            from rest_framework import serializers

            from catalogue.errors import ImportFailed

            class CatalogueSerializer(serializers.Serializer):
                def validate_file(self, upload):
                    try:
                        return store_rows(upload)
                    except DatabaseError as exc:
                        raise ImportFailed(f"could not store the rows: {exc}")  # RP302
                    except Exception as exc:
                        raise serializers.ValidationError({"file": str(exc)})  # RP302
            """,
            path="catalogue/serializers.py",
            files={
                "catalogue/errors.py": """
                    from rest_framework.exceptions import APIException

                    class ImportFailed(APIException):
                        status_code = 400
                    """
            },
        ),
        Good(
            """
            import json

            from django.core.exceptions import ValidationError
            from rest_framework import serializers

            from catalogue.errors import CatalogueError, StorageFailed

            class CatalogueSerializer(serializers.Serializer):
                def validate_rows(self, raw):
                    try:
                        return json.loads(raw)
                    except (json.JSONDecodeError, KeyError) as exc:
                        raise serializers.ValidationError(f"not a catalogue: {exc}")

                def create(self, validated_data):
                    try:
                        return save_catalogue(validated_data)
                    except CatalogueError as exc:
                        raise ValidationError(str(exc))
                    except OSError as exc:
                        raise StorageFailed(str(exc)) from exc
            """,
            path="catalogue/serializers.py",
            files={
                "catalogue/errors.py": """
                    class CatalogueError(Exception):
                        pass

                    class StorageFailed(Exception):
                        pass
                    """
            },
        ),
        Bad(
            """
            from django.db import models

            class ExportJob(models.Model):
                status = models.CharField(max_length=20)
                error = models.TextField(blank=True)

                def run(self):
                    try:
                        self.write_rows()
                    except Exception as e:
                        self.status = "failed"
                        self.error = str(e)  # RP302
                        self.save(update_fields=["status", "error"])
            """,
            path="exports/models.py",
            files={
                "exports/serializers.py": """
                    from rest_framework import serializers

                    from exports.models import ExportJob

                    class ExportJobSerializer(serializers.ModelSerializer):
                        class Meta:
                            model = ExportJob
                            fields = "__all__"
                    """
            },
        ),
        Good(
            """
            import json

            from django.core.management.base import BaseCommand, CommandError

            class Command(BaseCommand):
                def handle(self, *args, **options):
                    try:
                        settings = json.loads(options["configuration"])
                    except Exception as error:
                        raise CommandError(f"invalid configuration: {error}") from error
            """,
            path="shop/management/commands/configure.py",
        ),
        Good("""
            from django.conf import settings
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
                except Exception as e:
                    if settings.DEBUG:
                        return JsonResponse({"error": str(e)}, status=500)
                    return JsonResponse({"error": "internal error"}, status=500)
                return JsonResponse({"id": order.pk})
            """),
        Good(
            """
            from django import forms
            from django.core.mail import send_mail

            class EMailSettingsForm(forms.Form):
                host = forms.CharField()
                send_test_mail = forms.BooleanField(required=False)

                def save(self):
                    site_settings.update(self.cleaned_data)
                    if self.cleaned_data["send_test_mail"]:
                        try:
                            send_mail("Test", "The settings work.", None, [self.request.user.email])
                        except Exception as e:
                            self.add_error("host", f"the test mail failed: {e}")
            """,
            path="ops/forms.py",
        ),
        Bad(
            """
            from django import forms

            class ShippingForm(forms.Form):
                address = forms.CharField()

                def save(self):
                    try:
                        carrier.book(self.cleaned_data["address"])
                    except Exception as e:
                        self.add_error("address", f"the booking failed: {e}")  # RP302
            """,
            path="shop/forms.py",
        ),
        Good(
            """
            from rest_framework.exceptions import ValidationError

            from payments.client import PaymentDeclined

            def place_order(request, cart):
                try:
                    return checkout(cart)
                except PaymentDeclined as e:
                    raise ValidationError(str(e))
            """,
            options={"user-facing-exceptions": ["payments.client.PaymentDeclined"]},
        ),
    )

    def setup(self) -> None:
        super().setup()
        self.user_facing = frozenset(self.settings["user-facing-exceptions"])
        self.testing_handlers: set[int] = set()  #: ids of the `except` clauses of a settings test's `try`
        self.answers: set[Handler] = set()  #: handlers whose exception is the answer of a settings test

    def visit_Try(self, node: cst.Try) -> None:
        calls = (call_name(c) for c in traversal.nodes_of(node.body, cst.Call))
        if any(name is not None and _SETTINGS_TEST_CALL.match(name) for name in calls) or self._judges_alone(node):
            self.testing_handlers.update(id(h) for h in node.handlers)

    def _judges_alone(self, node: cst.Try) -> bool:
        """A `try` whose body is one call of a validator or a parser of what it is given."""
        call = _alone(node)
        if call is None:
            return False
        name = call_name(call)
        if name is not None and _VALIDATOR_CALL.match(name):
            return True
        module, _, function = (self.semantic.imported_or_written(call.func) or "").rpartition(".")
        return (module.rpartition(".")[2], function) in _PARSER_CALLS

    def on_handler(self, handler: Handler) -> None:
        super().on_handler(handler)
        function = self.function
        owner = self.semantic.method_of
        if (
            id(handler.node) in self.testing_handlers
            or (isinstance(function, cst.FunctionDef) and _SETTINGS_TEST_FUNCTION.match(function.name.value))
            or (owner is not None and _SETTINGS_FORM.match(owner.name.value))
        ):
            self.answers.add(handler)

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
            return
        self._written(node)
        sink = self._client_sink(node)
        if sink is not None:
            args = [a.value for a in node.args]
            if sink == "a flash message":
                args = args[1:]  # the request
            self.sink(node, self.leaks_all(args, skip_responses=True), sink)

    def _client_sink(self, node: cst.Call) -> str | None:
        """What a call shows the user, described; None when it shows nothing."""
        if is_response(node):
            return f"a `{call_name(node)}`"
        qualified = self.semantic.imported_or_written(node.func) or ""
        name = call_name(node)
        if qualified in _TEMPLATES or name == "render_to_response":
            return "a template context"
        if qualified.startswith("django.contrib.messages.") and name in _MESSAGES:
            return "a flash message"
        if name == "add_error" and isinstance(node.func, cst.Attribute):
            return "a form error"
        return None

    def shown_elsewhere(self, node: cst.Call) -> bool:
        return self._client_sink(node) is not None

    def on_assign(
        self, targets: Sequence[cst.BaseExpression], value: cst.BaseExpression | None, node: cst.CSTNode
    ) -> None:
        super().on_assign(targets, value, node)
        for target in targets:
            if value is not None and isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                model = self._model_of(target.value)
                if model is not None and self._saves(target.value.value):
                    self._store(node, value, model, target.attr.value)

    def _store(self, node: cst.CSTNode, value: cst.BaseExpression, model: Model, field: str) -> None:
        """The text in `value` is stored in `field` of `model`: a sink when the project's API serves it."""
        index = self.context.models
        labels = [model.label] + [m.label for m in index.models.values() if model.label in m.bases]
        if index.has_field(model, field) and any(self.context.served_fields.serves(lb, field) for lb in labels):
            self.sink(node, self.leaks(value), f"the `{field}` field of `{model.name}`, which the project's API serves")

    def _model_of(self, node: cst.BaseExpression) -> Model | None:
        """The model an instance is of: `self` in a model's method, `Order(...)`, `Order.objects.get(...)`."""
        if not isinstance(node, cst.Name):
            return None
        owner = self.semantic.method_of
        if node.value == "self" and owner is not None:
            return self.context.models.lookup(owner.name.value, self.file.path)
        binding = self.semantic.lookup(node.value)
        value = binding.value if binding is not None else None
        return self._model_of_call(value) if isinstance(value, cst.Call) else None

    def _saves(self, name: str) -> bool:
        """Whether the enclosing function calls `name.save()`."""
        function = self.function
        if function is None:
            return False
        return any(
            isinstance(func := call.func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == name
            and func.attr.value == "save"
            for call in traversal.nodes_of(function, cst.Call)
        )

    def _written(self, node: cst.Call) -> None:
        """`Order.objects.filter(...).update(error=str(e))`, `.create(...)`: text written to a model's fields."""
        if call_name(node) not in _WRITES:
            return
        model = self._model_of_call(node)
        if model is not None:
            for arg in node.args:
                if arg.keyword is not None:
                    self._store(node, arg.value, model, arg.keyword.value)

    def _model_of_call(self, node: cst.Call) -> Model | None:
        """The model at the head of a call chain: `Order(...)`, `Order.objects.filter(...).update(...)`."""
        root: cst.BaseExpression = node
        while isinstance(root, (cst.Call, cst.Attribute)):
            root = root.func if isinstance(root, cst.Call) else root.value
        qualified = self.semantic.qualified_name(root)
        return self.context.models.lookup(qualified, self.file.path) if qualified else None

    def on_raise(self, node: cst.Raise) -> None:
        exc = node.exc
        function = self.function
        if isinstance(function, cst.FunctionDef) and function.name.value in _DATABASE_CONVERSIONS:
            return  # a model field's conversion for the database: what it raises ends in a 500, never shown
        if isinstance(exc, cst.Call) and self._rendered(exc.func):
            name = (self.semantic.imported_or_written(exc.func) or "").rpartition(".")[2]
            self.sink(node, self.leaks(exc), f"a `{name}` shown to clients")

    def on_return(self, node: cst.Return) -> None:
        if node.value is not None and self._returns_to_client(node.value):
            self.sink(node, self.leaks(node.value, skip_responses=True), "a returned value")

    def _rendered(self, func: cst.BaseExpression) -> bool:
        qualified = self.semantic.imported_or_written(func)
        if qualified is None:
            return False
        exceptions = self.context.exceptions
        if "." not in qualified and self.semantic.imported(func) is None:
            local = f"{self.file.module_name}.{qualified}"
            if exceptions.is_project_class(local):
                return exceptions.rendered(local)
            return qualified in _RENDERED_NAMES and not exceptions.is_project_class(qualified)
        return exceptions.rendered(qualified)

    def _returns_to_client(self, value: cst.BaseExpression) -> bool:
        """A view's response built by a helper, an API endpoint's data, or a template context."""
        node = self.function
        if not isinstance(node, cst.FunctionDef):
            return False
        if node.name.value in _CONTEXT_METHODS:
            return True
        params = [p.name.value for p in [*node.params.posonly_params, *node.params.params]]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        # A view takes the request first (`def call(self, url, request=None)` is not one) and returns a
        # response: one a helper builds from the request and the text (`error_page(request, str(e))`;
        # not `"{!r}".format(e)`), or data an API framework's route serializes.
        if params[:1] != ["request"]:
            return False
        if node.decorators:
            return True
        return isinstance(value, cst.Call) and any(
            isinstance(a.value, cst.Name) and a.value.value == "request" for a in value.args
        )

    # -- whose text it is --

    def judge(self, node: cst.CSTNode, sources: set[Handler], sink: str) -> None:
        worst = Origin.INTERNAL if isinstance(node, cst.Raise) else Origin.LIBRARY
        leaking = [h for h in sources if h not in self.answers and _ORDER[self.origin(h)] >= _ORDER[worst]]
        if leaking:
            handler = min(leaking, key=lambda h: h.name or "")
            rewrite = generic_message(node, set(leaking), self.semantic)
            self.report(node, rewrite, text=self.describe(handler), sink=sink)

    def origin(self, handler: Handler) -> Origin:
        """The most revealing origin among the classes a handler catches."""
        if self.catches_anything(handler):
            return Origin.INTERNAL
        found = Origin.USER
        for qualified in self.caught(handler):
            last = qualified.rpartition(".")[2]
            if qualified in self.user_facing or last in self.user_facing:
                continue
            if last in _DOES_NOT_EXIST and handler.answers_404:
                continue
            origin = exception_origin(qualified, self)
            if _ORDER[origin] > _ORDER[found]:
                found = origin
        return found


def _alone(node: cst.Try) -> cst.Call | None:
    """The one call a `try` body makes as its only statement (`x = f(...)`, `return f(...)`, `f(...)`)."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
        return None
    statement = body[0].body[0]
    value = statement.value if isinstance(statement, (cst.Expr, cst.Assign, cst.Return)) else None
    return value if isinstance(value, cst.Call) else None
