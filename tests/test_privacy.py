"""RP301-RP306: the options of RP301, their validation, the bonus pii-safe-logging, and logger recognition."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from review_patterns import ALL_RULES, Config, ConfigError, lint, lint_paths
from review_patterns.core.config import parse_config

SIGNUP = textwrap.dedent(
    """
    import logging

    logger = logging.getLogger(__name__)

    def signup(request, form):
        customer = form.save()
        logger.info("signup from %s", customer.email)
        logger.info("signup, contact %s", customer.mobile)
        logger.info("signup, card %s", customer.card_number)
        logger.info("signup, loyalty %s", scrub(customer.loyalty_email))
    """
)


def rp301_lines(source: str, path: str = "shop/views.py", **options: object) -> list[int]:
    config = Config(select=("RP301",), options={"RP301": options} if options else {})
    return [f.line for f in lint(source, path, config=config).findings]


def test_default_terms() -> None:
    # `scrub` is not a safe function by default, so the wrapped email is flagged too
    assert rp301_lines(SIGNUP) == [8, 10, 11]


def test_pii_names_replaces_the_defaults() -> None:
    assert rp301_lines(SIGNUP, **{"pii-names": ["mobile"]}) == [9]


def test_extend_pii_names_adds_to_the_defaults() -> None:
    assert rp301_lines(SIGNUP, **{"extend-pii-names": ["Mobile"]}) == [8, 9, 10, 11]


def test_safe_functions_add_to_the_defaults() -> None:
    assert rp301_lines(SIGNUP, **{"safe-functions": ["scrub"]}) == [8, 10]
    assert rp301_lines(SIGNUP, **{"safe-functions": ["scr*"]}) == [8, 10]


def test_safe_functions_match_the_imported_name() -> None:
    source = textwrap.dedent(
        """
        from shop import privacy as p

        def signup(customer):
            logger.info("signup %s", p.scrub(customer.email))
            logger.info("signup %s", mask_email(customer.email))
        """
    )
    assert rp301_lines(source) == [5]
    assert rp301_lines(source, **{"safe-functions": ["shop.privacy.scrub"]}) == []


def test_replacing_pii_names_keeps_the_fixed_forms() -> None:
    source = textwrap.dedent(
        """
        def login(request, user):
            logger.info("from %s", request.META["REMOTE_ADDR"])
            logger.info("name %s", user.get_full_name())
            logger.info("user %s", request.user)
            logger.info("email %s", user.email)
        """
    )
    assert rp301_lines(source, **{"pii-names": ["iban"]}) == [3, 4, 5]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pii-names": "email"}, "`rp301.pii-names` must be a list of strings"),
        ({"extend-pii-names": ["e-mail"]}, "`extend-pii-names` takes names"),
        ({"pii-names": ["email", 3]}, "must be a list of strings"),
        ({"safe-functions": ["mask email"]}, "`safe-functions` takes function names or globs"),
        ({"safe-functions": [""]}, "`safe-functions` takes function names or globs"),
        ({"safe-names": ["x"]}, "unknown option `rp301.safe-names`"),
    ],
)
def test_bad_option_values_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"rp301": options}, source="pyproject.toml", rules=ALL_RULES)
    assert message in str(error.value)
    assert str(error.value).startswith("pyproject.toml: ")


def test_good_option_values_are_accepted() -> None:
    config = parse_config(
        {
            "rp301": {
                "pii-names": ["email"],
                "extend-pii-names": ["tax_id"],
                "safe-functions": ["scrub_*", "privacy.mask"],
            }
        },
        rules=ALL_RULES,
    )
    assert config.options["RP301"]["extend-pii-names"] == ("tax_id",)


def test_cli_reports_a_bad_option(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.review-patterns.rp301]\nextend-pii-names = ["e mail"]\n')
    (tmp_path / "views.py").write_text("x = 1\n")
    result = run_cli("check", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "extend-pii-names" in result.stderr + result.stdout


def test_cli_reads_the_options(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.review-patterns.rp301]\nsafe-functions = ["scrub"]\n')
    (tmp_path / "views.py").write_text(SIGNUP)
    result = run_cli("check", "--select", "RP301", "--format", "json", "-o", "out.json", ".", cwd=tmp_path)
    report = (tmp_path / "out.json").read_text()
    assert result.returncode == 1, result.stderr
    assert sum(f["code"] == "RP301" for r in json.loads(report)["files"] for f in r["findings"]) == 2


# -- the bonus pii-safe-logging --


RP301_ONLY = Config(select=("RP301",))


def bonuses(source: str, config: Config = RP301_ONLY) -> list[tuple[int, str]]:
    return [(b.line, b.name) for b in lint(textwrap.dedent(source), "shop/audit.py", config=config).bonuses]


def test_bonus_for_a_file_that_logs_personal_data_only_through_safe_functions() -> None:
    source = """
        def record(user, request):
            logger.info("login user=%s", user.pk)
            logger.info("login from %s", hash_ip(request.META["REMOTE_ADDR"]))
            logger.info("login %s", mask_email(user.email))
        """
    assert bonuses(source) == [(4, "pii-safe-logging")]


def test_no_bonus_with_an_rp301() -> None:
    source = """
        def record(user):
            logger.info("login %s", mask_email(user.email))
            logger.info("login %s", user.username)
        """
    assert bonuses(source) == []


def test_no_bonus_without_a_safe_function() -> None:
    source = """
        def record(user):
            logger.info("login user=%s", user.pk)
            token = hash_token(user.pk)
        """
    assert bonuses(source) == []


def test_no_bonus_when_the_finding_is_silenced_only_by_noqa() -> None:
    source = """
        def record(user):
            logger.info("login %s", mask_email(user.email))
            logger.info("login %s", user.username)  # noqa: RP301
        """
    assert bonuses(source) == []


def test_bonus_counts_in_the_fixture() -> None:
    project = FIXTURES / "privacy_project"
    report = lint_paths([project], Config(select=("RP301",)), cwd=project)
    awarded = {f.path for f in report.files if any(b.name == "pii-safe-logging" for b in f.bonuses)}
    assert awarded == {"shop/audit.py"}


# -- what is a logger --


def calls_flagged(source: str, code: str = "RP301") -> list[int]:
    return [f.line for f in lint(textwrap.dedent(source), "shop/views.py", config=Config(select=(code,))).findings]


def test_names_bound_to_something_else_are_not_loggers() -> None:
    source = """
        from math import log
        from shop.models import ActivityLog

        def audit(user):
            logger = ActivityLog.objects.create(action="login")
            logger.info(user.email)
            log.info(user.email)

        def audit_again(user, entries):
            for _log in entries:
                _log.error(user.email)
        """
    assert calls_flagged(source) == []


def test_names_bound_from_get_logger_are_loggers() -> None:
    source = """
        import logging
        import structlog

        audit = logging.getLogger("audit")
        events = structlog.get_logger().bind(app="shop")

        class Mailer:
            def __init__(self, channel):
                self.channel = logging.getLogger(channel)

            def send(self, user):
                audit.info("to %s", user.email)
                events.info("sent", email=user.email)
                self.channel.info("to %s", user.email)
                logging.getLogger("x").info("to %s", user.email)
                logging.warning("to %s", user.email)

            def other(self, user):
                self.outbox.info("to %s", user.email)
        """
    assert calls_flagged(source) == [13, 14, 15, 16, 17]


def test_logger_attributes_are_read_from_the_semantic_model() -> None:
    # A logger set in a `try`/`except` of `__init__`, handed in as a `logger` parameter, set through a
    # first parameter not called `self`, or set in the class body: each `self.x` is a logger. A
    # static method's first parameter is not an instance.
    source = """
        import logging

        class Sync:
            audit = logging.getLogger("audit")

            def __init__(this, logger, name):
                this.passed = logger
                try:
                    this.log = logging.getLogger(name)
                except ValueError:
                    this.log = logging.getLogger("sync")

            @staticmethod
            def build(record):
                record.sink = logging.getLogger("x")

            def run(self, user):
                self.audit.info("to %s", user.email)
                self.passed.info("to %s", user.email)
                self.log.info("to %s", user.email)
                self.sink.info("to %s", user.email)
        """
    assert calls_flagged(source) == [19, 20, 21]


def test_a_logger_parameter_annotated_otherwise_is_not_a_logger() -> None:
    source = """
        def replay(log: "ActivityLog", logger, user):
            log.info(user.email)
            logger.info(user.email)
        """
    assert calls_flagged(source) == [4]


def test_one_finding_per_logger_call() -> None:
    source = """
        def signup(user):
            logger.info("%s %s %s", user.email, user.first_name, user.phone)
        """
    assert calls_flagged(source) == [3]


# -- RP302: whose text, and where --


def test_an_e_that_is_not_the_caught_exception() -> None:
    source = """
        def upload(request, files):
            try:
                store(files)
            except OSError as exc:
                for e in files:
                    logger.error("not stored: %s", e)
                messages = [str(e) for e in files]
                handler = lambda e: str(e)
                return JsonResponse({"files": messages}, status=500)
            e = "x"
            logger.error("done %s", e)
        """
    assert calls_flagged(source, "RP302") == []


def test_a_local_name_hiding_an_imported_one() -> None:
    """Django's `messages` shows the text to the user; a report's own `messages` is not the import,
    even after another function imported the name for itself."""
    source = """
        def import_orders(request):
            from django.contrib import messages
            try:
                load_orders(request.FILES["orders"])
            except OSError as exc:
                messages.error(request, str(exc))
            return redirect("orders")

        def import_rows(rows):
            messages = ImportReport()
            for row in rows:
                try:
                    save_row(row)
                except OSError as exc:
                    messages.error(row, str(exc))
            return messages
        """
    assert calls_flagged(source, "RP302") == [7]


def test_text_assigned_in_the_handler_and_sent_after_it() -> None:
    source = """
        def upload(request):
            error = None
            try:
                store(request.FILES)
            except OSError as exc:
                error = str(exc)
            if error:
                return JsonResponse({"error": error}, status=500)
            error = "none"
            return JsonResponse({"error": error})
        """
    assert calls_flagged(source, "RP302") == [9]


def test_only_a_view_returns_to_the_client() -> None:
    """A view takes the request first; a helper or a service returns to code, which decides what to show."""
    source = textwrap.dedent(
        """
        def describe(callable_):
            try:
                return callable_()
            except Exception as exc:
                return f"{callable_.__name__} failed: {exc}"

        def call_backend(self, url, request=None):
            try:
                return post(url, request)
            except Exception as exc:
                return {"error": str(exc)}

        def cleanse(self, request, value):
            try:
                return repr(value)
            except Exception as exc:
                return f"{exc!r} while evaluating the value"

        @api.get("/status")
        def status(request):
            try:
                return {"ok": ping()}
            except Exception as exc:
                return {"error": str(exc)}

        def retry(request):
            try:
                return charge(request)
            except Exception as exc:
                return error_page(request, str(exc))
        """
    )
    for path in ("shop/utils.py", "shop/services.py", "shop/views.py"):
        assert [f.line for f in lint(source, path, config=Config(select=("RP302",))).findings] == [25, 31]


def test_example_app_shows_each_rule_once() -> None:
    from conftest import ROOT, flagged, markers

    path = ROOT / "examples" / "shop" / "api.py"
    source = path.read_text()
    result = lint(source, "shop/api.py", config=Config(select=("RP3",)))
    expected = markers(source)
    assert flagged(result) == expected
    assert sorted(code for _, code in expected) == ["RP301", "RP302", "RP303", "RP304", "RP305", "RP306", "RP307"]


# -- RP304: what counts as not swallowing --


@pytest.mark.parametrize(
    "body",
    [
        "raise",
        "raise SyncError('sync failed') from exc",
        "logger.exception('sync failed')",
        "logger.error('sync failed', exc_info=exc)",
        "traceback.print_exc()",
        "sys.exit(1)",
        "self.fail('sync failed')",
        "return exc",
        "failures.append((item, exc))",
        "self.last_error = exc",
        "report(sys.exc_info())",
        "sentry_sdk.capture_exception()",
        "report_error('sync failed', project=item.project)",
        # the error passed on as text: to the caller, a result, a status field, a message
        "return str(exc)",
        "failures.append(f'{item}: {exc}')",
        "self.status_text = 'sync failed: %s' % (exc,)",
        "yield {'item': item.pk, 'error': repr(exc)}",
        "messages.error(self.request, exc.args[0])",
    ],
)
def test_broad_except_that_does_not_swallow(body: str) -> None:
    source = f"""
        import sys
        import traceback

        class Sync:
            def run(self, item, failures):
                try:
                    push(item)
                except Exception as exc:
                    {body}
        """
    assert calls_flagged(source, "RP304") == []


@pytest.mark.parametrize(
    "body",
    [
        "pass",
        "logger.error('sync failed: %s', type(exc).__name__)",
        "logger.error('sync failed', exc_info=False)",
        "print(exc)",
        "warnings.warn(f'sync failed: {exc}')",
        "return type(exc).__name__",
        "self.failed_with = exc.__class__",
    ],
)
def test_broad_except_that_swallows(body: str) -> None:
    source = f"""
        def run(item):
            try:
                push(item)
            except (KeyError, Exception) as exc:
                {body}
        """
    assert calls_flagged(source, "RP304") == [5]


@pytest.mark.parametrize(
    ("docstring", "flagged"),
    [
        ("Return the price, or None if the amount is invalid.", []),
        (
            "The URL of the detail page.\n\n            If no view is defined in urls.py, returns an\n            HTML anchor.\n            ",
            [],
        ),
        ("The URL of the detail page; returns '#' when no view is named so.", []),
        ("The URL of the detail page if one is defined, otherwise returns an anchor.", []),
        # not what happens on failure: a condition of the work, or no return at all
        ("The URL of the detail page, created if none exists.", [8]),
        ("The URL of the detail page. If not cached, reverse it and cache it.", [8]),
    ],
)
def test_broad_except_in_a_wrapper_whose_docstring_tells_the_fallback(docstring: str, flagged: list[int]) -> None:
    source = f"""
        from django.urls import reverse

        def detail_url(obj):
            \"\"\"{docstring}\"\"\"
            try:
                return reverse("detail", kwargs={{"pk": obj.pk}})
            except Exception:
                return "#"
        """
    assert calls_flagged(source, "RP304") == flagged


@pytest.mark.parametrize(
    ("comment", "flagged"),
    [
        ("# Any sort of exception means the file cannot be read: it does not exist.", []),
        ("# The remote may be down: a failure only means no preview.", []),
        # what the body does, not why everything is caught
        ("# Fetch the file from the remote repository.", [7]),
        ("# Errors are 1-indexed in the frames.", [7]),
        ("# This might not be the most efficient query, but the script runs rarely.", [7]),
        ("# TODO: narrow this", [7]),
    ],
)
def test_broad_except_whose_try_opens_with_a_comment(comment: str, flagged: list[int]) -> None:
    source = f"""
        def file_exists(repository, path):
            try:
                {comment}
                repository.get_file(path)
                return True
            except Exception:
                return False
        """
    assert calls_flagged(source, "RP304") == flagged
    trailing = f"""
        def file_exists(repository, path):
            try:
                repository.get_file(path)  {comment}
                return True
            except Exception:
                return False
        """
    assert calls_flagged(trailing, "RP304") == [line - 1 for line in flagged]


@pytest.mark.parametrize(
    ("body", "logged", "flagged"),
    [
        ("data = json.loads(raw)", "logger.warning('cannot parse %s: %s', raw, e)", []),
        ("return float(value)", "logger.warning(f'not a number: {value}: {e}')", []),
        ("os.makedirs(self.folder, 0o700, exist_ok=True)", "logger.error('cannot create %s: %s', self.folder, e)", []),
        # the input is not in the log line, or the call says more than its input
        ("data = json.loads(raw)", "logger.warning('cannot parse the payload: %s', e)", [9]),
        ("data = json.loads(fetch(url))", "logger.warning('cannot parse %s: %s', url, e)", [9]),
        ("data = load_payload(raw)", "logger.warning('cannot parse %s: %s', raw, e)", [9]),
        (
            "os.makedirs(path)\n                os.chmod(path, 0o700)",
            "logger.error('cannot create %s: %s', path, e)",
            [10],
        ),
    ],
)
def test_exception_text_that_only_repeats_the_logged_input(body: str, logged: str, flagged: list[int]) -> None:
    source = f"""
        import json
        import os

        def load(self, raw, value, url, path):
            try:
                {body}
            except Exception as e:
                {logged}
        """
    assert calls_flagged(source, "RP307") == flagged


def test_except_star_is_checked_too() -> None:
    source = """
        def run(items):
            try:
                push_all(items)
            except* Exception:
                pass
        """
    assert calls_flagged(source, "RP304") == [5]


def test_user_facing_exceptions_option() -> None:
    source = textwrap.dedent(
        """
        from payments.errors import PaymentDeclined, QuotaExceeded

        def place_order(request, cart):
            try:
                return checkout(cart)
            except PaymentDeclined as e:
                return JsonResponse({"error": str(e)}, status=402)
            except (PaymentDeclined, QuotaExceeded) as e:
                return JsonResponse({"error": str(e)}, status=402)
        """
    )

    def lines(**options: object) -> list[int]:
        config = Config(select=("RP302",), options={"RP302": options})
        return [f.line for f in lint(source, "shop/views.py", config=config).findings]

    assert lines() == [8, 10]  # an installed library's exceptions
    assert lines(**{"user-facing-exceptions": ["PaymentDeclined"]}) == [10]
    assert lines(**{"user-facing-exceptions": ["payments.errors.PaymentDeclined", "QuotaExceeded"]}) == []
    with pytest.raises(ConfigError, match="user-facing-exceptions"):
        parse_config({"rp302": {"user-facing-exceptions": ["Order Error"]}}, rules=ALL_RULES)


def test_a_name_after_a_word_saying_it_names_a_thing() -> None:
    # weblate `trans/views/hooks.py`: the webhook's `full_name` is the repository's "owner/repo"
    source = textwrap.dedent(
        """
        import logging

        logger = logging.getLogger(__name__)

        def vcs_service_hook(request, service_data):
            full_name = service_data["full_name"]
            logger.info("received %s notification on repository %s, URL %s", "GitHub", full_name, service_data["repo_url"])
            logger.info(f"updating repository {full_name}")
            logger.info("hook for %s by %s", full_name, service_data["sender"])
            logger.info("repository %s pushed by user %s", full_name, service_data["username"])
            logger.info(f"welcome {full_name}")
            logger.info("repository %s, committer %s", service_data["full_name"], service_data["author_email"])
        """
    )
    assert rp301_lines(source) == [10, 11, 12, 13]


def test_a_name_under_a_key_or_read_from_an_object_that_names_a_thing() -> None:
    # Sentry's GitHub webhook: `"repository": event.get("repository", {}).get("full_name")`.
    source = textwrap.dedent(
        """
        import logging

        logger = logging.getLogger(__name__)

        def on_push(event, repo, team, user):
            logger.info("github.push", extra={"repository": event.get("repository", {}).get("full_name")})
            logger.info("github.push", extra={"repo": event["repository"]["full_name"]})
            logger.info("push to %s", repo.full_name)
            logger.info("team %s renamed", team.name)
            logger.info("github.push", extra={"sender": event.get("sender", {}).get("full_name")})
            logger.info("push by %s", user.full_name)
            logger.info("github.push", extra={"repository": event["repository"], "author": user.email})
        """
    )
    assert rp301_lines(source) == [11, 12, 13]


def test_the_handler_aware_rules_of_a_file_decide_each_logger_question_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from review_patterns.checks.privacy.helpers import HandlerAwareRule

    source = textwrap.dedent(
        """
        import logging

        logger = logging.getLogger(__name__)
        audit = logger.getChild("audit")


        class Checkout:
            log = logging.getLogger("checkout")

            def pay(self, request, order):
                try:
                    order.charge()
                except Exception as exc:
                    self.log.error("payment failed for %s: %s", request.user.email, exc)
                    audit.info("order %s", order.pk)
                    return str(exc)
        """
    )
    asked: list[str] = []
    for name in ("_logger_call", "_logger_attributes"):
        original = getattr(HandlerAwareRule, name)

        def counting(self, node, _original=original, _name=name):  # type: ignore[no-untyped-def]
            asked.append(_name)
            return _original(self, node)

        monkeypatch.setattr(HandlerAwareRule, name, counting)
    rules = [r for r in ALL_RULES if isinstance(r, type) and issubclass(r, HandlerAwareRule)]
    result = lint(source, "shop/views.py", rules=rules)
    together = list(asked)
    asked.clear()
    lint(source, "shop/views.py", rules=rules[:1])
    assert len(rules) >= 5 and "_logger_attributes" in together
    assert together == asked  # every call and class decided once, as for one rule alone
    assert {"RP301", "RP307"} <= {f.code for f in result.findings}  # and each rule still sees the logger call


@pytest.mark.parametrize(
    ("source", "may"),
    [
        ("logger.info('signup from %s', email)", True),
        ("logging.warning('slow')", True),
        ("self.log(logging.INFO, 'x')", True),
        ("(logger .  # a note\n    info('x'))", True),
        ("logger.\\\n    error('x')", True),
        ("@login_required\ndef blog(request):\n    return catalog.information", False),
        ("raise ValidationError(errors)", False),
        # a settings file's banner: a dot, then a run of `#` that a careless pattern splits 2**80 ways
        ("#  Not for production use.   #\n" + "#" * 80 + "\nLOGGING = {}\n", False),
        ("x = 1." + " \\\r\n" * 60 + "y", False),
    ],
)
def test_rp301_runs_only_where_a_logger_call_can_be_written(source: str, may: bool) -> None:
    """A logger call's method is an attribute named `info`, `error`...: a file that holds none, but
    says `login`, `blog` or `catalog`, is not parsed for RP301."""
    from review_patterns.checks.privacy.pii_in_log import PiiInLog
    from review_patterns.syntax.files import SourceFile

    assert PiiInLog.applies_to(SourceFile("shop/views.py", source)) is may


def test_rp301_flags_a_logger_call_written_across_lines() -> None:
    source = """
        import logging

        logger = logging.getLogger(__name__)

        def signup(request):
            email = request.POST["email"]
            (logger  # the audit trail
                .info("signup from %s", email))
        """
    assert rp301_lines(textwrap.dedent(source)) == [8]


@pytest.mark.parametrize("code", ["RP305", "RP307"])
def test_the_rules_about_logged_errors_run_only_where_a_logger_call_can_be_written(code: str) -> None:
    from review_patterns.checks import RULES
    from review_patterns.syntax.files import SourceFile

    rule = next(r for r in RULES if r.code == code).load()
    handled = "try:\n    return fetch()\nexcept requests.RequestException as e:\n    {}\n"
    assert not rule.applies_to(SourceFile("shop/services.py", handled.format("raise ServiceDown(str(e)) from e")))
    assert rule.applies_to(SourceFile("shop/services.py", handled.format("logger.exception('rates: %s', e)")))


@pytest.mark.parametrize("code", ["RP302", "RP303", "RP304", "RP305", "RP306", "RP307"])
def test_the_handler_rules_run_only_where_an_except_clause_can_be_written(code: str) -> None:
    """`exception`, `exceptions` and `ExceptionHandler` hold the letters of `except`, not the word."""
    from review_patterns.checks import RULES
    from review_patterns.syntax.files import SourceFile

    rule = next(r for r in RULES if r.code == code).load()
    words = "from pybreaker import CircuitBreakerError\nfrom rest_framework.exceptions import APIException\n"
    words += "logger.exception('rates: %s', Exception)\n"
    assert not rule.applies_to(SourceFile("shop/services.py", words))
    handler = "try:\n    fetch()\nexcept(CircuitBreakerError, Exception)as e:\n    logger.exception('rates: %s', e)\n"
    assert rule.applies_to(SourceFile("shop/services.py", words + handler))
