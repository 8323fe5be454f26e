"""Resilience and cost rules (RP501, RP503, RP504, RP507, RP510): their options, the project's quota
index, counters and their time windows, and the quota-manager bonus."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from conftest import FIXTURES

from review_patterns import ALL_RULES, Config, ProjectContext, lint, lint_paths
from review_patterns.checks.resilience.circuit_breaker_per_call import CircuitBreakerPerCall
from review_patterns.checks.resilience.counter_without_expiry import CounterWithoutExpiry
from review_patterns.checks.resilience.missing_quota_check import MissingQuotaCheck
from review_patterns.checks.resilience.naive_datetime import NaiveDatetime
from review_patterns.checks.resilience.quota_incremented_before_call import QuotaIncrementedBeforeCall
from review_patterns.checks.resilience.quota_manager import QuotaManager
from review_patterns.checks.resilience.signal_hasattr_check import SignalHasattrCheck
from review_patterns.core.config import ConfigError, parse_config
from review_patterns.core.rule import Rule
from review_patterns.project.http import INCREMENT_NAMES, may_occur

PROJECT = FIXTURES / "quota_project"


def lines(rule: type[Rule], code: str, path: str, files: dict[str, str] | None = None, **options: Any) -> list[int]:
    """The lines `rule` flags in `code`, inside a project made of `files`, with `options`."""
    code = textwrap.dedent(code)
    sources = {p: textwrap.dedent(s) for p, s in (files or {}).items()}
    context = ProjectContext.from_sources({**sources, path: code})
    config = Config(select=(rule.code,), options={rule.code: options} if options else {})
    return [f.line for f in lint(code, path, context, config).findings]


def bonuses(code: str, path: str = "integrations/quota.py") -> list[str]:
    code = textwrap.dedent(code)
    result = lint(code, path, ProjectContext.from_sources({path: code}), Config(select=("RP5",)))
    return [b.name for b in result.bonuses]


# -- options are validated config keys --


def test_options_are_read_from_the_config_table() -> None:
    config = parse_config(
        {"rp504": {"guard-names": ["ensure_budget"], "paid-hosts": ["api.openai.com"]}}, rules=ALL_RULES
    )
    assert config.options["RP504"] == {"guard-names": ("ensure_budget",), "paid-hosts": ("api.openai.com",)}


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ({"rp504": {"guard-names": "check_quota"}}, "rp504.guard-names"),
        ({"rp504": {"paid-host": ["api.openai.com"]}}, "unknown option `rp504.paid-host`"),
        ({"rp503": {"increment-calls": [1, 2]}}, "rp503.increment-calls"),
        ({"rp507": {"breaker-factories": True}}, "rp507.breaker-factories"),
    ],
)
def test_bad_option_values_name_the_key(table: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint.replace(".", r"\.")):
        parse_config(table, rules=ALL_RULES)


# -- RP503 --


def test_rp503_configured_increment_and_external_call() -> None:
    code = """
        import openai

        def summarise(account, text):
            account.charge_tokens(len(text))
            return openai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])
        """
    assert lines(QuotaIncrementedBeforeCall, code, "ai/services.py") == []
    assert lines(
        QuotaIncrementedBeforeCall,
        code,
        "ai/services.py",
        **{"increment-calls": ["charge_tokens"], "external-calls": ["openai.*"]},
    ) == [5]


def test_rp503_is_per_function() -> None:
    code = """
        import requests

        def count(quota):
            quota.increment_usage()

        def fetch(url):
            return requests.get(url, timeout=5)
        """
    assert lines(QuotaIncrementedBeforeCall, code, "geo/services.py") == []


@pytest.mark.parametrize(
    ("globs", "text", "may"),
    [
        (INCREMENT_NAMES, "quota.increment_api_usage('maps')", True),
        (INCREMENT_NAMES, "stock.consume(item)", True),
        (INCREMENT_NAMES, "counter.incr('maps')\nrequests.get(url, timeout=5)", False),
        (("spend_*",), "wallet.spend_credits(3)", True),
        (("*_credits",), "wallet.spend_credits(3)", True),
        (("billing.charge*",), "billing .charge_card()", True),  # a dotted glob: its parts, not the dots
        (("spend_*",), "wallet.charge(3)", False),
        (("[cs]pend",), "anything", True),  # a character class: anything may match
        (("*",), "anything", True),
        ((), "quota.increment_usage()", False),
    ],
)
def test_a_name_matching_a_glob_may_be_written_only_where_its_literal_part_is(
    globs: tuple[str, ...], text: str, may: bool
) -> None:
    assert may_occur(globs, text) is may


def test_rp503_configured_glob_still_runs_in_a_file_without_the_default_names() -> None:
    code = """
        import requests

        def render_map(wallet, address):
            wallet.spend_map_credits(1)
            return requests.get(MAPS_URL, params={"q": address}, timeout=5)
        """
    assert lines(QuotaIncrementedBeforeCall, code, "geo/services.py") == []
    assert lines(QuotaIncrementedBeforeCall, code, "geo/services.py", **{"increment-calls": ["spend_*"]}) == [5]


# -- RP504 and the project's quota index --

GUARDED_SERVICE = """
    from integrations.maps import maps_client
    from quota.manager import maps_quota

    def geocode_store(store):
        if maps_quota.check_quota():
            return maps_client.geocode(store.address)
    """


def test_rp504_is_off_without_a_guard_and_on_when_paid_calls_are_configured() -> None:
    code = """
        import openai

        def summarise(text):
            return openai.chat.completions.create(model=MODEL, messages=[text])
        """
    assert lines(MissingQuotaCheck, code, "ai/services.py") == []
    assert lines(MissingQuotaCheck, code, "ai/services.py", **{"paid-calls": ["openai.*"]}) == [5]


def test_rp504_paid_calls_match_calls_and_methods_of_configured_classes_not_their_results() -> None:
    code = """
        import googlemaps
        import requests

        def geocode(address):
            client = googlemaps.Client(key=KEY)
            return client.geocode(address)

        def fetch(url):
            response = requests.get(url, timeout=5)
            response.raise_for_status()
            return response.json()
        """
    options = {"paid-calls": ["googlemaps.Client.*", "requests.*"]}
    assert lines(MissingQuotaCheck, code, "geo/services.py", **options) == [7, 10]


def test_rp504_configured_guard_names_and_service_modules() -> None:
    files = {
        "budget.py": "def ensure_budget(api):\n    return True\n",
        "ai/summaries.py": """
            from ai.client import ai_client

            def summarise(text):
                ensure_budget("ai")
                return ai_client.complete(text)
            """,
    }
    code = """
        from ai.client import ai_client

        def title(text):
            return ai_client.complete(text)
        """
    assert lines(MissingQuotaCheck, code, "ai/helpers.py", files) == []
    flagged = lines(
        MissingQuotaCheck,
        code,
        "ai/helpers.py",
        files,
        **{"guard-names": ["ensure_budget"], "service-modules": ["ai/*"]},
    )
    assert flagged == [5]


def test_rp504_paid_hosts_match_subdomains_only() -> None:
    code = """
        import requests

        def geocode(address):
            return requests.get("https://maps.googleapis.com/geocode", params={"a": address}, timeout=5)

        def lookalike(address):
            return requests.get("https://notgoogleapis.com/geocode", params={"a": address}, timeout=5)
        """
    assert lines(MissingQuotaCheck, code, "geo/services.py", **{"paid-hosts": ["googleapis.com"]}) == [5]


def test_rp504_a_url_in_a_name_is_read_where_the_name_is_bound() -> None:
    """The URL a name holds is the model's binding of it here: a module constant, a local of the
    same function; another function's local of that name is not it."""
    code = """
        import requests

        GEO_URL = "https://maps.googleapis.com/geocode"

        def geocode(address):
            return requests.get(GEO_URL, params={"a": address}, timeout=5)

        def route(a, b):
            url = "https://maps.googleapis.com/directions"
            return requests.get(url, params={"a": a, "b": b}, timeout=5)

        def fetch(url):
            return requests.get(url, timeout=5)
        """
    assert lines(MissingQuotaCheck, code, "geo/services.py", **{"paid-hosts": ["googleapis.com"]}) == [7, 11]


def test_quota_index_reads_the_fixture_project_once() -> None:
    context = ProjectContext(root=PROJECT)
    assert context.quota_index is context.quota_index
    facts = context.quota_index.facts(MissingQuotaCheck.options["guard-names"])
    assert facts is context.quota_index.facts(MissingQuotaCheck.options["guard-names"])
    assert facts.guards == {"check_quota"}
    assert {"integrations.maps.maps_client", "integrations.maps.MapsClient"} <= facts.clients
    assert not any("sms_client" in key or "quota" in key for key in facts.clients)


def test_quota_index_skips_files_that_do_not_parse() -> None:
    context = ProjectContext.from_sources(
        {"broken.py": "def check_quota(:\n", "geo/services.py": textwrap.dedent(GUARDED_SERVICE)}
    )
    facts = context.quota_index.facts(("check_quota",))
    assert facts.clients == {"integrations.maps.maps_client"}


# -- RP507 --


def test_rp507_a_local_name_hiding_the_breaker_class() -> None:
    """Resolved by the semantic model: a local class named `CircuitBreaker` is not pybreaker's,
    nor is a parameter named like the configured factory."""
    code = """
        from pybreaker import CircuitBreaker
        from integrations.breakers import breaker_for

        def offline_rates():
            class CircuitBreaker:  # never opens: the offline rates cannot fail
                def call(self, func, *args):
                    return func(*args)

            return CircuitBreaker().call(read_rates)

        def ship(order, breaker_for):
            return breaker_for("shipping").call(book_courier, order)

        def live_rates():
            return CircuitBreaker().call(fetch_rates)
        """
    options = {"breaker-factories": ["integrations.breakers.breaker_*"]}
    assert lines(CircuitBreakerPerCall, code, "billing/rates.py", **options) == [16]


def test_rp507_a_parameter_named_like_a_factory_of_the_module() -> None:
    """The module's own factory is known by its binding: a parameter of that name is the caller's
    breaker, and a factory wrapping the factory is a factory too."""
    code = """
        import pybreaker

        def payments_breaker():
            return pybreaker.CircuitBreaker(fail_max=5)

        def shared_breaker():
            return payments_breaker()

        def charge(card, amount):
            return payments_breaker().call(gateway.charge, card, amount)

        def refund(card, amount, payments_breaker):
            return payments_breaker().call(gateway.refund, card, amount)

        def capture(card, amount):
            return shared_breaker().call(gateway.capture, card, amount)
        """
    assert lines(CircuitBreakerPerCall, code, "billing/payments.py") == [11, 17]


def test_rp506_a_receiver_and_a_signal_are_known_by_their_binding() -> None:
    """`connect(f)` makes the `def` that `f` refers to a receiver, not every function named `f`;
    a signal is a name, a class attribute or `self.x` bound to `Signal()` where it is read
    (the old name tables flagged lines 16 and 28 and missed 19)."""
    code = """
        from django.dispatch import Signal

        order_paid = Signal()

        def on_paid(sender, instance, **kwargs):
            if hasattr(instance, "invoice"):
                send_invoice(instance)

        order_paid.connect(on_paid)

        class Exporter:
            finished = Signal()

            def on_paid(self, instance):
                return hasattr(instance, "export_url")  # a method named like the receiver

            def on_finished(self, sender, instance, **kwargs):
                return hasattr(instance, "archive")

            def start(self):
                self.finished.connect(self.on_finished)

        def reconnect(order_paid):
            order_paid.connect(refresh)  # the caller's object, not the module's signal

        def refresh(sender, instance, **kwargs):
            return hasattr(instance, "cache_key")
        """
    assert lines(SignalHasattrCheck, code, "shop/receivers.py") == [7, 19]


def test_rp507_configured_factory() -> None:
    code = """
        from integrations.breakers import breaker_for

        shipping = breaker_for("shipping")

        def ship(order):
            return breaker_for("shipping").call(book_courier, order)
        """
    assert lines(CircuitBreakerPerCall, code, "shipping/services.py") == []
    assert lines(
        CircuitBreakerPerCall,
        code,
        "shipping/services.py",
        **{"breaker-factories": ["integrations.breakers.breaker_*"]},
    ) == [7]


SERVICE = """
    from pybreaker import CircuitBreaker

    from integrations.breakers import make_breaker

    class VisionService:
        def __init__(self, project):
            self.project = project
            self.breaker = CircuitBreaker(fail_max=5, reset_timeout=60)
            self.ocr_breaker = make_breaker("ocr")

        def label(self, image):
            return self.breaker.call(vision_client.label, image)
    """
BREAKERS = {
    "integrations/breakers.py": "from pybreaker import CircuitBreaker\n\ndef make_breaker(name):\n    return CircuitBreaker(name=name)\n"
}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # A Celery task builds the service through a factory function of another module.
        (
            {
                "vision/factories.py": """
                    from vision.services import VisionService

                    def service_for(project):
                        service = VisionService(project)
                        return service
                    """,
                "vision/tasks.py": """
                    from celery import shared_task

                    from vision.factories import service_for

                    @shared_task
                    def label_image(project_id, image_id):
                        return service_for(Project.objects.get(pk=project_id)).label(Image.objects.get(pk=image_id))
                    """,
            },
            [9],
        ),
        # A DRF view's `__init__` keeps the service: one per request.
        (
            {
                "vision/views.py": """
                    from rest_framework import viewsets

                    from vision import services

                    class ImageViewSet(viewsets.ModelViewSet):
                        def __init__(self, **kwargs):
                            super().__init__(**kwargs)
                            self.vision = services.VisionService(None)
                    """,
            },
            [9],
        ),
        # An owner made once at module level keeps the service: made once.
        (
            {
                "vision/pipeline.py": """
                    from vision.services import VisionService

                    class Pipeline:
                        def __init__(self):
                            self.vision = VisionService(None)

                    pipeline = Pipeline()
                    """,
            },
            [],
        ),
        # A management command runs once per process; a lazy singleton holder is made once.
        (
            {
                "vision/management/commands/relabel.py": """
                    from django.core.management.base import BaseCommand

                    from vision.services import VisionService

                    class Command(BaseCommand):
                        def handle(self, *args, **options):
                            VisionService(None).label(options["image"])
                    """,
                "vision/apps.py": """
                    from django.apps import AppConfig

                    class VisionConfig(AppConfig):
                        def ready(self):
                            from vision.services import VisionService

                            self.service = VisionService(None)
                    """,
            },
            [],
        ),
    ],
    ids=["factory-in-a-task", "kept-by-a-view", "kept-by-a-singleton", "command-and-ready"],
)
def test_rp507_breaker_in_init_of_a_class_made_per_call(files: dict[str, str], expected: list[int]) -> None:
    """The breaker and the factory call of `__init__` are flagged only when the project makes the
    class on each call; the configured factory's call is reported too (line 10) when the breaker is."""
    factories = {"breaker-factories": ["integrations.breakers.make_breaker"]}
    found = lines(CircuitBreakerPerCall, SERVICE, "vision/services.py", {**BREAKERS, **files}, **factories)
    assert found == ([*expected, 10] if expected else [])


# -- RP501 and RP510: counters and their time windows --

THROTTLE = """
    from datetime import datetime

    from django_redis import get_redis_connection
    from rest_framework.throttling import BaseThrottle

    class BurstThrottle(BaseThrottle):
        def allow_request(self, request, view):
            redis = get_redis_connection("default")
            now = datetime.now()
            burst = f"throttle:burst:{request.user.pk}:{now:%H%M}"
            sustained = "throttle:sustained:{}:{}".format(request.user.pk, now.strftime("%Y%m%d%H"))
            pipe = redis.pipeline()
            pipe.incr(burst)
            pipe.expire(burst, 60)
            pipe.incr(sustained)
            counts = pipe.execute()
            return counts[0] <= 10 and counts[2] <= 100
    """

DAILY = """
    from datetime import datetime

    from celery import shared_task
    from django.core.cache import cache
    from django_redis import get_redis_connection

    @shared_task
    def count_machine_translation(project_id, characters):
        redis = get_redis_connection("default")
        day = f"mt:chars:{project_id}:{datetime.now():%Y-%m-%d}"  # the local calendar day, on purpose
        calls = f"mt:calls:{project_id}:{datetime.now().date()}"
        redis.incrby(day, characters)
        redis.incr(calls)
        redis.expire(day, 2 * 86400)
        redis.expire(calls, 2 * 86400)
        cache.set(f"mt:last:{project_id}", 1, 60)
    """


def test_throttle_with_a_second_counter_and_a_naive_window() -> None:
    """The sustained counter gets no expiry though the burst one does (RP501); both keys are cut
    from the server's clock by the hour and minute (RP510, once, at the naive call)."""
    assert lines(CounterWithoutExpiry, THROTTLE, "api/throttling.py") == [16]
    assert lines(NaiveDatetime, THROTTLE, "api/throttling.py") == [10]


def test_daily_counters_all_expired_stay_silent() -> None:
    assert lines(CounterWithoutExpiry, DAILY, "machinery/tasks.py") == []
    assert lines(NaiveDatetime, DAILY, "machinery/tasks.py") == []


# -- the quota-manager bonus --


def test_fixture_quota_manager_earns_the_bonus_and_nothing_else_does() -> None:
    report = lint_paths([PROJECT], Config(), cwd=PROJECT)
    awarded = {(r.path, b.name, b.points) for r in report.files for b in r.bonuses if b.name == "quota-manager"}
    assert awarded == {("quota/manager.py", "quota-manager", 2)}


MANAGER = """
    import logging

    from django.core.cache import cache

    logger = logging.getLogger(__name__)

    def has_quota(api):
        return cache.get(f"quota:{api}", 0) < LIMITS[api]

    def record_usage(api):
        cache.add(f"quota:{api}", 0, QUOTA_WINDOW)
        count = cache.incr(f"quota:{api}")
        if count > LIMITS[api] * WARN_RATIO:
            logger.warning("%s quota at %s", api, count)
    """


def test_bonus_for_module_functions() -> None:
    assert bonuses(MANAGER) == ["quota-manager"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('        logger.warning("%s quota at %s", api, count)', "        pass"),  # no warning
        ('    cache.add(f"quota:{api}", 0, QUOTA_WINDOW)\n', ""),  # no expiry
        ("def has_quota(api):", "def quota_left(api):"),  # no guard
        ('count = cache.incr(f"quota:{api}")', 'count = cache.get(f"quota:{api}") + 1'),  # not atomic
    ],
)
def test_no_bonus_for_an_incomplete_pattern(old: str, new: str) -> None:
    code = textwrap.dedent(MANAGER)
    assert textwrap.dedent(old) in code or old in code
    assert bonuses(code.replace(old if old in code else textwrap.dedent(old), new)) == []


def test_bonus_needs_the_expiry_on_the_first_increment_only() -> None:
    code = (
        textwrap.dedent(MANAGER)
        .replace('    cache.add(f"quota:{api}", 0, QUOTA_WINDOW)\n', "")
        .replace(
            'count = cache.incr(f"quota:{api}")',
            'count = cache.incr(f"quota:{api}")\n    cache.expire(f"quota:{api}", QUOTA_WINDOW)',
        )
    )
    assert bonuses(code) == []  # every increment pushes the window: a steady user is never reset


def test_quota_manager_is_not_a_code() -> None:
    assert QuotaManager.code == "" and QuotaManager.bonuses == {"quota-manager": 2}


def test_example_shop_payments_shows_rp504_when_configured() -> None:
    path = "shop/payments.py"
    code = (FIXTURES.parent.parent / "examples" / path).read_text()
    options = {"service-modules": [path], "paid-hosts": ["fraud.example.com"]}
    source = code.splitlines()
    functions = [
        next(line for line in reversed(source[:n]) if line.startswith("def ")).split("(")[0][4:]
        for n in lines(MissingQuotaCheck, code, path, **options)
    ]
    # the unguarded fraud call, and (by default paid) the calls through the provider's breaker
    assert functions == ["rescore_order", "capture", "refund"]


def test_a_module_level_breaker_held_by_a_service_under_another_name_is_paid() -> None:
    """`self.cb = vision_breaker` (built by a project factory, imported): `self.cb.call` is paid."""
    files = {
        "quota/manager.py": "class Quota:\n    def check_quota(self, api):\n        return True\n",
        "integrations/breakers.py": (
            "import pybreaker\n\n"
            "def make_breaker(name):\n    return pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60, name=name)\n\n"
            "vision_breaker = make_breaker('vision')\n"
        ),
        "vision/services.py": (
            "from integrations import breakers\n"
            "from integrations.cache import lookup\n\n"
            "class VisionService:\n"
            "    cache = lookup\n\n"
            "    def __init__(self, client):\n"
            "        self.client = client\n"
            "        self.cb = breakers.vision_breaker\n\n"
            "    def label(self, url):\n"
            "        return self.cb.call(self.client.post, url)\n\n"
            "    def cached(self, url):\n"
            "        return self.cache.call(url)\n"
        ),
    }
    context = ProjectContext.from_sources(files)
    result = lint(files["vision/services.py"], "vision/services.py", context, Config(), rules=(MissingQuotaCheck,))
    assert [f.line for f in result.findings] == [12]


def test_rp506_runs_only_where_a_receiver_can_be_written() -> None:
    """`hasattr` alone (a serializer's duck typing) is no reason to parse a file for RP506."""
    from review_patterns.syntax.files import SourceFile

    duck = "def to_representation(self, instance):\n    return instance.pk if hasattr(instance, 'pk') else None\n"
    assert not SignalHasattrCheck.applies_to(SourceFile("api/serializers.py", duck))
    for receiver in ("from django.dispatch import receiver\n", "post_save.connect(audit)\n"):
        assert SignalHasattrCheck.applies_to(SourceFile("shop/signals.py", receiver + duck))


ACCESS_MODELS = """
    from django.db import models

    class Token(models.Model):
        expires_at = models.DateTimeField()
        finished_at = models.DateTimeField(null=True)
    """


def test_rp510_an_attribute_a_module_gives_a_plain_object_is_not_a_model_field() -> None:
    """Sentry's in-memory store (`Record.expires_at`, a dataclass) and GitHub client (`self.expires_at`)
    hold naive times in attributes named like a `DateTimeField` of some model: in that module the
    name alone says nothing. A model's instance in another module still counts."""
    store = """
        from dataclasses import dataclass
        from datetime import datetime, timedelta
        from typing import Optional

        @dataclass
        class Record:
            value: str
            expires_at: Optional[datetime] = None

        class Client:
            def __init__(self):
                self.expires_at = None

            def token(self):
                if self.expires_at is None or self.expires_at < datetime.utcnow():
                    self.expires_at = datetime.utcnow() + timedelta(hours=1)

        def expired(record):
            return record.expires_at is not None and datetime.now() > record.expires_at
        """
    assert lines(NaiveDatetime, store, "utils/kvstore.py", {"access/models.py": ACCESS_MODELS}) == []
    grant = """
        from datetime import datetime

        from access.models import Token

        def renew(token: Token):
            token.expires_at = datetime.now()
            token.save()
        """
    assert lines(NaiveDatetime, grant, "access/services.py", {"access/models.py": ACCESS_MODELS}) == [7]
    form = """
        from datetime import datetime

        from django import forms

        class TokenForm(forms.Form):
            expires_at = forms.DateTimeField()

            def save(self, token):
                token.expires_at = datetime.now()
                token.save()
        """
    assert lines(NaiveDatetime, form, "access/forms.py", {"access/models.py": ACCESS_MODELS}) == [10]
    # label-studio's `ExportMixin`: a model's mixin sets the model's fields in its methods.
    mixin = """
        from datetime import datetime

        class ExportMixin:
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.progress = 0

            def finish(self):
                self.finished_at = datetime.now()
                self.save()
        """
    assert lines(NaiveDatetime, mixin, "access/mixins.py", {"access/models.py": ACCESS_MODELS}) == [10]
