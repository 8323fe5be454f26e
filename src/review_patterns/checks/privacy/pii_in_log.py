"""RP301: personal data in a log message (and the bonus pii-safe-logging)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

import libcst as cst

from review_patterns.checks.privacy.helpers import HandlerAwareRule, LoggerCall
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good
from review_patterns.syntax.names import call_name, code, dotted_name, string_value

DEFAULT_PII_NAMES = (
    "email", "e_mail", "email_address", "username", "user_name", "first_name", "last_name", "full_name",
    "phone", "phone_number", "mobile_number", "ip", "ip_address", "remote_addr", "x_forwarded_for",
    "street_address", "postal_address", "home_address", "shipping_address", "billing_address",
    "postcode", "zip_code", "date_of_birth", "dob", "birth_date", "ssn", "passport_number", "iban",
    "card_number", "credit_card", "password", "passwd", "secret", "api_key", "access_token",
    "refresh_token", "auth_token",
)  # fmt: skip
#: Functions whose result is safe to log, whatever goes in (matched against the called name).
DEFAULT_SAFE_FUNCTIONS = ("log_safe_*", "mask_*", "redact*", "pseudonymize*", "anonymize*", "hash_*")
#: Request headers that hold the client's address, flagged whatever `pii-names` says.
_ADDRESS_HEADERS = frozenset({"remote_addr", "http_x_forwarded_for", "x_forwarded_for"})
#: Methods of Django's user model that return personal data, flagged whatever `pii-names` says.
_USER_METHODS = frozenset({"get_full_name", "get_short_name", "get_username"})
#: Calls whose result is a number, a boolean or a type, never personal data.
_NOT_PII_CALLS = frozenset(
    {
        "len",
        "bool",
        "int",
        "float",
        "type",
        "isinstance",
        "issubclass",
        "hasattr",
        "id",
        "sum",
        "any",
        "all",
        "count",
        "exists",
        "callable",
        "round",
        "abs",
        "ord",
    }
)
#: Methods that return (part of) the string they are called on.
_SAME_TEXT_METHODS = frozenset(
    {
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "casefold",
        "title",
        "capitalize",
        "encode",
        "decode",
        "split",
        "rsplit",
        "partition",
        "rpartition",
        "replace",
        "ljust",
        "rjust",
        "center",
        "zfill",
    }
)
_KEY_LOOKUPS = frozenset({"get", "pop", "getlist", "setdefault"})
#: The word just before a placeholder says what the value names: `on repository %s` is given a
#: repository's name (GitHub's "owner/repo" `full_name`), not a person's.
_THINGS = frozenset(
    {
        "repository",
        "repo",
        "project",
        "component",
        "branch",
        "package",
        "module",
        "app",
        "model",
        "field",
        "table",
        "file",
        "template",
        "organization",
        "organisation",
        "namespace",
        "team",
        "group",
        "job",
        "task",
        "queue",
    }
)
#: A `%` placeholder (`%s`, `%(name)s`, `%-5d`) or an escaped percent sign.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")
_LAST_WORD = re.compile(r"([A-Za-z]+)\W*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATTERN = re.compile(r"^[A-Za-z_*?\[][A-Za-z0-9_.*?\[\]!]*$")


def snake(name: str) -> str:
    """`userEmail` -> `user_email`, `REMOTE_ADDR` -> `remote_addr`."""
    return _CAMEL.sub("_", name).lower()


def _code(node: cst.CSTNode) -> str:
    text = code(node, one_line=True)
    return text if len(text) <= 60 else text[:57] + "..."


class PiiInLog(HandlerAwareRule):
    """## What it does
    Flags a logger call whose message contains personal data that was not passed through a
    pseudonymizing function: an email address, a name, a phone number, an IP address, a postal
    address, a birth date, an identity or card number, a password, a secret or a token.

    A value is personal data when its name, attribute, subscript key, `.get()` key or keyword
    is one of the `pii-names` or ends in `_` plus one of them (`user_email`, `client_ip`), but
    not when more follows the term (`email_count`, `ip_range`, `username_field`). Also flagged:
    `request.META["REMOTE_ADDR"]` and `HTTP_X_FORWARDED_FOR`, `get_full_name()`,
    `get_short_name()` and `get_username()`, and a whole user object (`user`, `request.user`,
    `instance.user`), whose `__str__` is usually the username or the email address.

    The message is the format string and every argument: f-strings, `%` formatting,
    `.format(...)`, concatenation, positional arguments, the values of `extra={...}` and
    structlog's keyword arguments. There is one finding per logger call. A logger call is a
    `debug`/`info`/`warning`/`error`/`exception`/`critical`/`log` call on the `logging` module,
    on a name bound from `logging.getLogger()` or `structlog.get_logger()` (also `self.logger`
    when assigned from one), or on a name such as `logger` or `log` when nothing in the file
    says otherwise. `print` is not a logger.

    Not personal data: configuration (a setting, `getattr(settings, "ADMIN_USERNAME")`, an
    environment variable, or a local name bound from one), ids (`user.id`, `user.pk`, `user_id`), counts, `len(...)`,
    `type(x).__name__`, booleans (`user.is_staff`), a slice (`email[:2]`), a name (`full_name`,
    not a username) that the message's word before it, its key or the object it is read from
    says is a thing's (`"push to repository %s", full_name`, `extra={"repository": full_name}`,
    `repo.full_name`, `event["repository"]["full_name"]`: GitHub's "owner/repo"; also project, component,
    branch, package, module, app, model, field, table, file, template, organization, namespace,
    team, group, job, task, queue), and any value wrapped in a safe function: `log_safe_*`,
    `mask_*`, `redact*`, `pseudonymize*`, `anonymize*`, `hash_*` and the `safe-functions` of
    the configuration.

    A file whose logger calls pass personal data only through safe functions (at least one
    such call) and that has no RP301 earns the bonus **pii-safe-logging** (+2).

    ## Why is this bad?
    Logs live longer than the data and are read by more people: operators, log vendors,
    whoever gets the backup. GDPR Article 32 asks for pseudonymization; a deletion request
    cannot reach the log archive. Log the user's id, or a hash of the address.

    Measured precision: 30 of 30 sampled (38 findings) on 15 real projects; 12 of 12 on
    three held-out projects (benchmarks/precision).

    ## Known problems
    Only names are looked at, not types: a variable named `address` that holds an email is
    missed, and plural names (`emails`) are not terms. A logger inherited from a base class
    (`self.logger` never assigned in the class) is not recognised.

    ## Options
    - `pii-names`: the terms, replacing the defaults.
    - `extend-pii-names`: more terms, added to `pii-names`.
    - `safe-functions`: more safe functions (names or globs such as `scrub_*`, matched against
      the called name or its dotted or imported name), added to the defaults.
    """

    code = "RP301"
    name = "pii-in-log"
    message = "`{value}` is personal data in a log message; log an id or pseudonymize it (`mask_*`, `hash_*`)"
    severity = Severity.BLOCKER
    penalty = 8
    dimension = Dimension.SECURITY
    bonuses = {"pii-safe-logging": 2}
    at_logger_calls = True
    requires = ("log", "LOG")  # every logger's name or factory contains one of these
    options = {"pii-names": DEFAULT_PII_NAMES, "extend-pii-names": (), "safe-functions": ()}
    examples = (
        Bad("""
            import logging

            logger = logging.getLogger(__name__)

            def reset_password(request):
                email = request.POST["email"]
                logger.info("Password reset requested for %s", email)  # RP301
                logger.info(f"Reset by {request.user}")  # RP301
                logger.warning("Login from %s", request.META.get("REMOTE_ADDR"))  # RP301
                logger.info("Signup", extra={"user_email": form.cleaned_data["email"]})  # RP301
            """),
        Good("""
            import logging

            logger = logging.getLogger(__name__)

            def reset_password(request):
                email = request.POST["email"]
                logger.info("Password reset requested for %s", mask_email(email))
                logger.info("Reset by user %s", request.user.pk)
                logger.info("email sent to %d recipients", len(recipients))
            """),
        Good("""
            import logging
            import os

            from django.conf import settings

            logger = logging.getLogger(__name__)

            def resource_owner():
                admin_username = getattr(settings, "OWNER_ADMIN_USERNAME", "admin")
                if not User.objects.filter(username=admin_username, is_superuser=True).exists():
                    logger.error("OWNER_ADMIN_USERNAME=%r is not a superuser", admin_username)
                    logger.error("nor is %s", settings.FALLBACK_ADMIN_USERNAME)
                    logger.error("nor is %s", os.environ.get("SUPPORT_EMAIL"))
            """),
        Bad("""
            import logging

            from django.conf import settings

            logger = logging.getLogger(__name__)

            def resource_owner(request):
                admin_username = request.POST.get("username", settings.OWNER_ADMIN_USERNAME)
                logger.error("%s is not a superuser", admin_username)  # RP301
            """),
        Bad(
            """
            import structlog

            log = structlog.get_logger()

            class SignupService:
                def register(self, form):
                    log.info("signup", email=form.cleaned_data["email"], plan=form.plan)  # RP301
                    log.info("signup", name=self.user.get_full_name())  # RP301
            """,
            path="accounts/services.py",
        ),
        Good(
            """
            import structlog

            log = structlog.get_logger()

            def register(user, emails):
                log.info("signup", user_id=user.id, is_staff=user.is_staff, email_count=len(emails))
                log.info("signup", email=hash_email(user.email))
            """,
            path="accounts/services.py",
        ),
        Bad(
            """
            def notify(customer):
                logger.info("Texting %s", customer.contact_phone)  # RP301
                logger.info("Sent to %s", scrub(customer.email))
            """,
            options={"extend-pii-names": ["contact_phone"], "safe-functions": ["scrub"]},
        ),
        Good("""
            import logging

            class Mailer:
                def __init__(self):
                    self.log = []
                    self.stats = logging.getLogger("stats")

                def send(self, user, email_count):
                    self.log.append(user.email)
                    self.stats.info("sent %d mails to user %s", email_count, user.pk)
                    print("sent to", user.email)
            """),
    )

    def setup(self) -> None:
        super().setup()
        self.terms = frozenset(snake(t) for t in (*self.settings["pii-names"], *self.settings["extend-pii-names"]))
        self.safe = (*DEFAULT_SAFE_FUNCTIONS, *self.settings["safe-functions"])
        self.first_safe_call: cst.Call | None = None

    @classmethod
    def option_error(cls, options: Mapping[str, Any]) -> str | None:
        for key in ("pii-names", "extend-pii-names"):
            bad = [n for n in options.get(key, ()) if not _NAME.match(n)]
            if bad:
                return f"`{key}` takes names (letters, digits, underscores), not {bad[0]!r}"
        bad = [n for n in options.get("safe-functions", ()) if not _PATTERN.match(n)]
        if bad:
            return f"`safe-functions` takes function names or globs (`scrub_*`, `privacy.mask`), not {bad[0]!r}"
        return None

    def on_call(self, node: cst.Call, log: LoggerCall | None) -> None:
        if log is None:
            return
        found: str | None = None
        for key, value in log.named:
            found = found or self._named(key, value)
        labels = _placeholder_labels(log.args[0]) if log.args else []
        for i, part in enumerate(log.args[1:]):
            if not (i < len(labels) and self._names_a_thing(part, labels[i])):
                found = found or self._scan(part)
        for part in [*log.args[:1], *log.unnamed]:
            found = found or self._scan(part)
        if found is not None:
            self.report(node, value=found)

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.reports and self.first_safe_call is not None:
            self.award(self.first_safe_call, "pii-safe-logging", "personal data is logged only through safe functions")

    # -- what is personal data --

    def is_pii_name(self, name: str) -> bool:
        key = snake(name)
        return any(key == t or key.endswith("_" + t) for t in self.terms)

    def _is_safe_call(self, node: cst.Call) -> bool:
        names = {call_name(node), dotted_name(node.func), self.semantic.imported_or_written(node.func)} - {None}
        return any(fnmatchcase(n, p) for n in names for p in self.safe if n is not None)

    def _named(self, key: str, value: cst.BaseExpression) -> str | None:
        """A keyword or a dict entry: its name says what the value is, unless the value is plainly not."""
        if (self.is_pii_name(key) or key.lower() in _ADDRESS_HEADERS) and not self._plainly_not_pii(value):
            return key
        if self._names_a_thing(value, _label(key.replace("_", " "))):
            return None
        return self._scan(value)

    def _plainly_not_pii(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.Comparison)):
            return True
        if isinstance(node, cst.Name):
            return node.value in ("True", "False", "None")
        if isinstance(node, cst.UnaryOperation):
            return isinstance(node.operator, cst.Not)
        if isinstance(node, cst.Call):
            if self._is_safe_call(node):
                self.first_safe_call = self.first_safe_call or node
                return True
            return call_name(node) in _NOT_PII_CALLS
        return False

    def _scan(self, node: cst.BaseExpression) -> str | None:
        """The personal data in an expression, as code, or None."""
        if self._names_a_thing(node, _term(_container(node))) or self._configured(node):
            return None
        if isinstance(node, cst.Name):
            return node.value if node.value == "user" or self.is_pii_name(node.value) else None
        if isinstance(node, cst.Attribute):
            attr = node.attr.value
            return _code(node) if attr == "user" or self.is_pii_name(attr) else None
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.FormattedString):
            before = ""
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    before = part.value
                elif isinstance(part, cst.FormattedStringExpression):
                    if not self._names_a_thing(part.expression, _label(before)):
                        found = self._scan(part.expression)
                        if found is not None:
                            return found
                    before = ""
            return None
        if isinstance(node, cst.ConcatenatedString):
            return self._first([node.left, node.right])
        if isinstance(node, cst.BinaryOperation):
            return self._first([node.left, node.right])
        if isinstance(node, cst.BooleanOperation):
            return self._first([node.left, node.right])
        if isinstance(node, cst.IfExp):
            return self._first([node.body, node.orelse])
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return self._first(e.value for e in node.elements)
        if isinstance(node, cst.Dict):
            return self._dict(node)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return self._scan(node.elt)
        if isinstance(node, cst.DictComp):
            return self._first([node.key, node.value])
        if isinstance(node, cst.Await):
            return self._scan(node.expression)
        return None

    def _configured(self, node: cst.BaseExpression, seen: frozenset[str] = frozenset()) -> bool:
        """Configuration, not a person's data: a setting (`settings.ADMIN_USERNAME`,
        `getattr(settings, "ADMIN_USERNAME", "admin")`), the environment (`os.environ[...]`,
        `os.getenv(...)`), or a local name bound from one of them."""
        if isinstance(node, cst.Attribute):
            return self.semantic.imported_or_written(node.value) == "django.conf.settings"
        if isinstance(node, cst.Subscript):
            return self.semantic.imported_or_written(node.value) == "os.environ"
        if isinstance(node, cst.Call):
            called = self.semantic.imported_or_written(node.func)
            if called in ("os.getenv", "os.environ.get"):
                return True
            first = node.args[0].value if called == "getattr" and node.args else None
            return first is not None and self.semantic.imported_or_written(first) == "django.conf.settings"
        if isinstance(node, cst.Name) and node.value not in seen:
            binding = self.semantic.binding_of(node)
            value = binding.value if binding is not None else None
            return value is not None and self._configured(value, seen | {node.value})
        return False

    def _names_a_thing(self, node: cst.BaseExpression, label: str | None) -> bool:
        """A name term (`full_name`, not `username`) put after a word saying it names a thing
        (`"notification on repository %s", full_name`), under a key that does (`"repository":
        full_name`), or read from such a thing (`repo.full_name`, `event["repository"]["full_name"]`)."""
        if label is None or label.lower() not in _THINGS:
            return False
        key = snake(_term(node) or "")
        return key.endswith("name") and "user" not in key and self.is_pii_name(key)

    def _first(self, nodes: Any) -> str | None:
        for node in nodes:
            found = self._scan(node)
            if found is not None:
                return found
        return None

    def _dict(self, node: cst.Dict) -> str | None:
        for element in node.elements:
            key = string_value(element.key) if isinstance(element, cst.DictElement) else None
            found = self._named(key, element.value) if key is not None else self._scan(element.value)
            if found is not None:
                return found
        return None

    def _subscript(self, node: cst.Subscript) -> str | None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return None  # a slice (`email[:2]`) is how addresses are masked by hand
        index = node.slice[0].slice.value
        key = string_value(index)
        if key is not None:
            return _code(node) if self.is_pii_name(key) or key.lower() in _ADDRESS_HEADERS else None
        if isinstance(index, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
            return None
        return self._scan(node.value)  # `forwarded.split(",")[0]`

    def _call(self, node: cst.Call) -> str | None:
        if self._is_safe_call(node):
            self.first_safe_call = self.first_safe_call or node
            return None
        name = call_name(node)
        if name in _USER_METHODS:
            return _code(node)
        if name in _NOT_PII_CALLS or (name or "").startswith(("is_", "has_")):
            return None
        func = node.func
        positional = [a.value for a in node.args if a.keyword is None]
        if (isinstance(func, cst.Attribute) and name in _KEY_LOOKUPS) or name == "getattr":
            key = (
                string_value(positional[1 if name == "getattr" else 0])
                if len(positional) > (name == "getattr")
                else None
            )
            if key is not None and (self.is_pii_name(key) or key.lower() in _ADDRESS_HEADERS):
                return _code(node)
            return None
        if isinstance(func, cst.Attribute) and name in _SAME_TEXT_METHODS:
            found = self._scan(func.value)
            if found is not None:
                return found
        for arg in node.args:
            found = self._named(arg.keyword.value, arg.value) if arg.keyword is not None else self._scan(arg.value)
            if found is not None:
                return found
        return None


def _term(node: cst.BaseExpression | None) -> str | None:
    """The name a value is read by: `full_name`, `repo.full_name`, `x["full_name"]`, `x.get("full_name")`
    (or another key lookup: `pop`, `getlist`, `setdefault`)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return string_value(node.slice[0].slice.value)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _KEY_LOOKUPS:
        return string_value(node.args[0].value) if node.args else None
    return None


def _container(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """What a value is read from: `repo` of `repo.full_name`, `event.get("repository")` of `....get("full_name")`."""
    if isinstance(node, (cst.Attribute, cst.Subscript)):
        return node.value
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _KEY_LOOKUPS:
        return node.func.value
    return None


def _label(text: str) -> str | None:
    """The last word of a piece of a message: what the value after it is."""
    match = _LAST_WORD.search(text)
    return match.group(1) if match else None


def _placeholder_labels(message: cst.BaseExpression) -> list[str | None]:
    """For each `%` placeholder of a literal message, the word just before it."""
    text = string_value(message)
    if text is None:
        return []
    labels, start = [], 0
    for match in _PLACEHOLDER.finditer(text):
        if match.group() != "%%":
            labels.append(_label(text[start : match.start()]))
        start = match.end()
    return labels
