"""RP302-RP307 on the false alarms found on real projects: whose exception text reaches whom.

Each test is a look-alike of a pattern met in a real project, with the finding that must stay beside it.
"""

from __future__ import annotations

import textwrap

import pytest

from review_patterns import Config, ProjectContext, lint
from review_patterns.project.exceptions import ExceptionIndex


def flagged(source: str, code: str, path: str = "shop/views.py", files: dict[str, str] | None = None) -> list[int]:
    source = textwrap.dedent(source)
    context = ProjectContext.from_sources({**{p: textwrap.dedent(t) for p, t in (files or {}).items()}, path: source})
    return [f.line for f in lint(source, path, context, Config(select=(code,))).findings]


# -- RP302: what reaches a client --

ERRORS = {
    "shop/errors/__init__.py": """
        from .api import CheckoutFailed, ShopError
        """,
    "shop/errors/api.py": """
        from rest_framework import exceptions

        class ShopError(exceptions.APIException):
            status_code = 409

        class CheckoutFailed(ShopError):
            pass

        class LedgerError(Exception):
            pass
        """,
}


def test_the_projects_rendered_exceptions_are_read_from_its_sources() -> None:
    source = """
        from django.db import IntegrityError

        from shop.errors import CheckoutFailed
        from shop.errors.api import LedgerError

        def checkout(request, cart):
            try:
                return pay(cart)
            except IntegrityError as e:
                raise CheckoutFailed(f"payment not recorded: {e}")
            except OSError as e:
                raise LedgerError(str(e)) from e
        """
    assert flagged(source, "RP302", files=ERRORS) == [11]  # LedgerError is internal: chaining


def test_exception_index_follows_suffixes_and_reexports() -> None:
    files = {path: textwrap.dedent(text) for path, text in ERRORS.items()}
    index = ExceptionIndex(files.items(), files.get)
    assert index.find("shop.errors.CheckoutFailed") == "shop.errors.api.CheckoutFailed"
    assert index.find("errors.api.ShopError") == "shop.errors.api.ShopError"
    assert index.rendered("shop.errors.CheckoutFailed")
    assert not index.rendered("shop.errors.api.LedgerError")
    assert index.is_project_module("errors.api") and not index.is_project_module("rest_framework")


@pytest.mark.parametrize(
    "caught",
    ["ValueError", "(TypeError, KeyError)", "json.JSONDecodeError", "serializers.ValidationError"],
)
def test_the_users_own_input_errors_become_validation_messages(caught: str) -> None:
    source = f"""
        import json

        from rest_framework import serializers

        class RowsSerializer(serializers.Serializer):
            def validate_rows(self, raw):
                try:
                    return parse_rows(json.loads(raw))
                except {caught} as e:
                    raise serializers.ValidationError(f"invalid rows: {{e}}")
        """
    assert flagged(source, "RP302", path="shop/serializers.py") == []


@pytest.mark.parametrize(
    "caught",
    ["Exception", "OSError", "DatabaseError", "requests.RequestException", "psycopg2.OperationalError"],
)
def test_internal_errors_in_a_validation_message(caught: str) -> None:
    source = f"""
        import psycopg2
        import requests
        from django.db import DatabaseError
        from rest_framework import serializers

        class RowsSerializer(serializers.Serializer):
            def validate_rows(self, raw):
                try:
                    return store_rows(raw)
                except {caught} as e:
                    raise serializers.ValidationError(f"invalid rows: {{e}}")
        """
    assert flagged(source, "RP302", path="shop/serializers.py") == [12]


def test_responses_show_library_text_but_not_the_projects_own() -> None:
    source = """
        import stripe
        from django.http import JsonResponse

        from .errors import OutOfStock

        def buy(request, pk):
            try:
                order = place(pk)
            except OutOfStock as e:
                return JsonResponse({"error": str(e)}, status=409)
            except stripe.error.StripeError as e:
                return JsonResponse({"error": str(e)}, status=402)
            except (KeyError, ValueError) as e:
                return JsonResponse({"error": f"bad request: {e}"}, status=400)
            return JsonResponse({"id": order.pk})
        """
    errors = {"shop/errors.py": "class OutOfStock(Exception):\n    pass\n"}
    assert flagged(source, "RP302", files=errors) == [13]


def test_an_exception_class_nested_in_a_project_class_is_the_projects_own() -> None:
    # pretix: `class Quota(Model): class QuotaExceededException(Exception)`, re-exported by `models/__init__.py`.
    files = {
        "shop/models/__init__.py": "from .items import Quota\n",
        "shop/models/items.py": """
            from django.db import models

            class Quota(models.Model):
                size = models.PositiveIntegerField()

                class QuotaExceededException(Exception):
                    pass
            """,
    }
    source = """
        from rest_framework import status
        from rest_framework.response import Response

        from shop.models import Quota

        def approve(request, pk):
            try:
                approve_order(pk)
            except Quota.QuotaExceededException as e:
                return Response({"detail": str(e)}, status=status.HTTP_400_BAD_REQUEST)
            except Quota.DoesNotExist as e:
                return Response({"detail": str(e)}, status=status.HTTP_400_BAD_REQUEST)
        """
    assert flagged(source, "RP302", files=files) == [13]  # Django's DoesNotExist names the model
    index = ExceptionIndex({p: textwrap.dedent(t) for p, t in files.items()}.items(), lambda _: None)
    assert index.find("shop.models.Quota.QuotaExceededException") == "shop.models.items.Quota.QuotaExceededException"
    assert index.find("shop.models.Quota.DoesNotExist") is None


def test_logs_are_rp307s_business() -> None:
    source = """
        def export(request):
            try:
                return build_export(request.user)
            except OSError as e:
                logger.error("export failed: %s", e)
                raise
        """
    assert flagged(source, "RP302") == []


def test_flash_messages_template_contexts_and_form_errors_reach_the_user() -> None:
    source = """
        from django.contrib import messages
        from django.shortcuts import render

        def upload(request, form):
            try:
                store(request.FILES["file"])
            except Exception as e:
                messages.error(request, f"upload failed: {e}")
                form.add_error(None, str(e))
                return render(request, "upload.html", {"error": str(e)})
            messages.success(request, "uploaded")
        """
    assert flagged(source, "RP302") == [9, 10, 11]


def test_a_method_taking_the_request_that_returns_text_is_not_a_view() -> None:
    source = """
        class SafeReporterFilter:
            def cleanse_special_types(self, request, value):
                try:
                    is_multivalue_dict = isinstance(value, MultiValueDict)
                except Exception as e:
                    return "{!r} while evaluating {!r}".format(e, value)
                return value

        def checkout(request, cart):
            try:
                return pay(cart)
            except Exception as e:
                return error_page(request, "payment failed: {}".format(e))
        """
    assert flagged(source, "RP302") == [14]  # a helper building the page from the request is a response


def test_text_stored_in_one_attribute_does_not_taint_its_owner() -> None:
    source = """
        from django.contrib import messages
        from django.template import TemplateSyntaxError

        def send_preview(self, form):
            try:
                msgs = render_messages(form)
            except TemplateSyntaxError as e:
                form.errors["__all__"] = form.error_class([str(e)])
                return self.render_to_response({"form": form})
            email = form.cleaned_data["preview_email"]
            messages.success(self.request, "A preview was sent to %s" % email)
        """
    assert flagged(source, "RP302") == []


STORAGES = {
    "storages/serializers.py": """
        from rest_framework import serializers

        from .models import Storage, SyncRun

        class StorageSerializer(serializers.ModelSerializer):
            class Meta:
                model = Storage
                fields = ["id", "status", "last_error"]

        class SyncRunSerializer(serializers.ModelSerializer):
            class Meta:
                model = SyncRun
                exclude = ["operator_note"]
        """,
}
STORAGE_MODELS = """
    from django.db import models

    class Storage(models.Model):
        status = models.CharField(max_length=20)
        last_error = models.TextField(blank=True)
        operator_note = models.TextField(blank=True)

        def sync(self):
            try:
                self.pull()
            except Exception as e:
                self.status = "failed"
                self.last_error = str(e)
                self.operator_note = str(e)
                self.save()

    class SyncRun(models.Model):
        storage = models.ForeignKey(Storage, on_delete=models.CASCADE)
        error = models.TextField(blank=True)
        operator_note = models.TextField(blank=True)
    """


def test_text_stored_in_a_model_field_that_the_projects_api_serves() -> None:
    assert flagged(STORAGE_MODELS, "RP302", path="storages/models.py", files=STORAGES) == [14]  # not the note
    tasks = """
        from storages.models import Storage, SyncRun

        def sync(pk):
            storage = Storage.objects.get(pk=pk)
            try:
                storage.pull()
            except Exception as e:
                storage.last_error = f"sync failed: {e}"
                storage.save(update_fields=["last_error"])
            try:
                storage.pull()
            except OSError as e:
                SyncRun.objects.create(storage=storage, error=str(e), operator_note=str(e))

        def probe(pk):
            storage = Storage.objects.get(pk=pk)
            try:
                storage.pull()
            except Exception as e:
                storage.last_error = str(e)  # never saved here: a value in memory only
            return storage
        """
    assert flagged(
        tasks, "RP302", path="storages/tasks.py", files={**STORAGES, "storages/models.py": STORAGE_MODELS}
    ) == [
        9,
        14,
    ]


def test_graphql_errors_cleaned_by_the_projects_formatter() -> None:
    source = """
        from graphql import GraphQLError

        def resolve_order(root, info, pk):
            try:
                return load(pk)
            except Exception as e:
                raise GraphQLError(str(e))
        """
    assert flagged(source, "RP302", path="shop/schema.py") == [8]
    formatter = {
        "shop/graphql_view.py": """
            from graphene_django.views import GraphQLView

            class CleanGraphQLView(GraphQLView):
                @staticmethod
                def format_error(error):
                    return {"message": "internal error"}
            """
    }
    assert flagged(source, "RP302", path="shop/schema.py", files=formatter) == []


def test_drf_errors_cleaned_by_an_exception_handler_outside_debug() -> None:
    source = """
        from rest_framework.exceptions import APIException

        def refund(request, pk):
            try:
                return do_refund(pk)
            except Exception as e:
                raise APIException(str(e))
        """
    settings = 'REST_FRAMEWORK = {"EXCEPTION_HANDLER": "shop.api.handler"}\n'
    handler = """
        from django.conf import settings
        from rest_framework.views import exception_handler

        def handler(exc, context):
            response = exception_handler(exc, context)
            if response is not None and not settings.DEBUG:
                response.data = {"detail": "error"}
            return response
        """
    passes_through = handler.replace("not settings.DEBUG", "response.status_code >= 500")
    assert flagged(source, "RP302", files={"shop/settings.py": settings, "shop/api.py": handler}) == []
    assert flagged(source, "RP302", files={"shop/settings.py": settings, "shop/api.py": passes_through}) == [8]


# -- RP307: the text of a broad catch in a log --


def test_rp307_only_for_broad_catches_without_an_unconditional_traceback() -> None:
    source = """
        from django.conf import settings

        def sync(shop):
            try:
                push(shop)
            except KeyError as e:
                logger.warning("missing field %s", e)
            except Exception as e:
                logger.warning("sync failed: %s", e)
                logger.warning("sync failed: %s", e, exc_info=settings.DEBUG)
                if settings.DEBUG:
                    logger.warning("sync failed: %s", e)
            try:
                push(shop)
            except Exception as e:
                logger.error("sync failed: %s", e, exc_info=True)
                logger.error("sync failed: %s", e)
        """
    assert flagged(source, "RP307") == [10, 11]


def test_rp307_follows_the_text_through_a_variable() -> None:
    source = """
        import traceback

        def sync(shop):
            try:
                push(shop)
            except BaseException:
                text = "sync failed: " + traceback.format_exc()
                log.error(text)
                raise
        """
    assert flagged(source, "RP307") == [9]


def test_an_isinstance_test_in_a_broad_handler_names_the_exception() -> None:
    # NetBox's job runner: `except Exception as e:` then `if type(e) is AbortScript:` logs the abort
    # message the script's author wrote; the other branch logs any exception's text.
    source = """
        from django.contrib import messages
        from django.db import DatabaseError
        from rq.timeouts import JobTimeoutException

        from extras.exceptions import AbortScript

        def run(script, request):
            try:
                script.run()
            except Exception as e:
                if type(e) is AbortScript:
                    logger.error(f"Script aborted with error: {e}")
                elif isinstance(e, (JobTimeoutException, KeyError)):
                    logger.error(e)
                elif isinstance(e, DatabaseError):
                    messages.error(request, str(e))
                else:
                    logger.error(f"Exception raised during script execution: {e}")
                if isinstance(e, Exception):
                    logger.error("failed: %s", e)
        """
    assert flagged(source, "RP307") == [19, 21]
    assert flagged(source, "RP302") == [17]  # a database error's text is still internal


# -- RP303, RP304, RP305 --


def test_rp303_bare_except_that_reraises() -> None:
    source = """
        def save_all(rows):
            try:
                save(rows)
            except:
                rollback()
                raise
            try:
                save(rows)
            except:
                try:
                    rollback()
                except OSError:
                    raise
        """
    assert flagged(source, "RP303") == [10]  # the inner `raise` re-raises the OSError, not the outer exception


def test_rp304_a_retry_another_way_lets_the_second_failure_propagate() -> None:
    source = """
        def load(raw, path):
            try:
                data = json.loads(raw)
            except Exception:
                data = json.loads(raw.decode("latin-1"))
            try:
                data = json.loads(raw)
            except Exception:
                data = {}
            try:
                fileuri = base64.urlsafe_b64decode(path.encode()).decode()
            except Exception:
                fileuri = unquote(path)
            try:
                fileuri = base64.urlsafe_b64decode(path.encode()).decode()
            except Exception:
                fileuri = default_uri()
            return data, fileuri
        """
    assert flagged(source, "RP304") == [9, 17]


def test_rp304_a_result_returned_by_another_call_of_the_same_input_is_a_retry() -> None:
    # Sentry's Vercel webhook: the new id format tried first, then the old one; a failure of the
    # second propagates. A default computed from something else swallows the first failure.
    source = """
        def external_id(request):
            try:
                return parse_new_external_id(request)
            except Exception:
                return parse_old_external_id(request)

        def total(order, rates):
            try:
                return convert(order.total, rates)
            except Exception:
                return default_total(order.currency)
        """
    assert flagged(source, "RP304") == [11]


def test_rp304_a_lock_released_by_its_exit_is_best_effort_cleanup() -> None:
    # Sentry's file blobs: `lock.__exit__(None, None, None)` in a `finally`, each lock released alone.
    source = """
        def release(locks):
            for lock in locks:
                try:
                    lock.__exit__(None, None, None)
                except Exception:
                    pass
        """
    assert flagged(source, "RP304") == []


def test_rp304_each_branch_of_an_if_releasing_a_resource_is_cleanup() -> None:
    # geonode's backup command: `empty_folder` unlinks a file or removes a folder, whichever it is.
    source = """
        import os
        import shutil

        def empty_folder(folder):
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                try:
                    if os.path.isfile(path) or os.path.islink(path):
                        os.unlink(path)
                    elif os.path.isdir(path):
                        shutil.rmtree(path)
                except Exception as e:
                    print(f"Failed to delete {path}. Reason: {e}")

        def reset(folder, path):
            try:
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.makedirs(path)
            except Exception:
                pass
        """
    assert flagged(source, "RP304") == [22]  # making a folder is not releasing one


def test_rp304_template_filters_and_nodes_fail_silently_as_django_asks() -> None:
    source = """
        from django import template
        from django.utils import timezone

        register = template.Library()

        @register.filter(is_safe=True)
        def localtime(value):
            try:
                return timezone.localtime(value)
            except Exception:
                return ""

        class ChartNode(template.Node):
            def render(self, context):
                try:
                    return draw_chart(context["series"])
                except Exception:
                    return ""

        def chart_data(series):
            try:
                return draw_chart(series)
            except Exception:
                return ""
        """
    assert flagged(source, "RP304", path="shop/templatetags/charts.py") == [24]  # a plain helper is not a filter


def test_rp304_a_filter_registered_by_a_call_fails_silently_too() -> None:
    # django-helpdesk's `register.filter("load_helpdesk_settings", load_helpdesk_settings)`, after the def.
    source = """
        from django.template import Library

        def localtime(value):
            try:
                return value.astimezone()
            except Exception:
                return ""

        def chart_data(series):
            try:
                return draw_chart(series)
            except Exception:
                return ""

        register = Library()
        register.filter("localtime", localtime)
        other = Registry()
        other.filter("chart_data", chart_data)
        """
    assert flagged(source, "RP304", path="shop/templatetags/charts.py") == [13]  # not a template library


def test_rp304_a_tags_function_runs_in_its_nodes_render_and_fails_silently_too() -> None:
    # tendenci's `@register.inclusion_tag("meta/image_urls.html")` returning {} when an image cannot be read.
    source = """
        from django import template

        register = template.Library()

        @register.inclusion_tag("shop/cart.html", takes_context=True)
        def cart(context):
            try:
                return {"items": context["request"].cart.items()}
            except Exception:
                return {}

        @register.simple_tag
        def price(product):
            try:
                return product.price_for(currency())
            except Exception:
                return ""

        def stock(product):
            try:
                return warehouse.stock(product.sku)
            except Exception:
                return ""

        def badge(product):
            try:
                return product.badge()
            except Exception:
                return ""

        @register.tag
        def do_cart(parser, token):
            try:
                return CartNode(token.split_contents()[1])
            except Exception:
                return None

        register.simple_tag(stock)
        register.inclusion_tag("shop/badge.html")(badge)
        """
    # `@register.tag` registers the tag's compiling function, which should raise TemplateSyntaxError.
    assert flagged(source, "RP304", path="shop/templatetags/shop.py") == [36]


def test_rp304_a_try_that_only_logs_retried_by_another_log_line() -> None:
    source = """
        def start_job(job, args, kwargs):
            try:
                args_info = truncate_for_logging(args, kwargs)
                logger.info(f"Start async job {job.__name__} with {args_info}.")
            except Exception:
                logger.info(f"Start async job {job.__name__}.")
            try:
                queue.enqueue(job, *args)
                logger.info("queued %s", job.__name__)
            except Exception:
                logger.info("could not queue %s", job.__name__)
        """
    assert flagged(source, "RP304") == [11]  # the second `try` does more than log: its failure is lost


def test_rp304_the_projects_failure_handling_and_a_failure_raised_later() -> None:
    source = """
        def sync(storage):
            try:
                export_rows(storage)
            except Exception:
                storage_background_failure(storage)
            try:
                export_rows(storage)
            except Exception:
                messages.error(request, "Export failed")

        def create_app_config(entry):
            app_module = None
            try:
                app_module = import_module(entry)
            except Exception:
                pass
            try:
                app_config_class = import_string(entry)
            except Exception:
                app_config_class = None
            if app_module is None and app_config_class is None:
                raise ImportError(f"{entry} is neither an app module nor an app config")
            try:
                label = app_config_class.label
            except Exception:
                label = None
            return label
        """
    # a flash message tells the user, not the operator; `label` is never checked
    assert flagged(source, "RP304") == [9, 26]


def test_rp304_a_value_left_unset_and_computed_another_way_after_the_try() -> None:
    # tendenci's `get_source_data`: the legacy default card, else the customer's payment methods.
    source = """
        def default_card(customer):
            card = None
            if not card:
                try:
                    card = customer.sources.retrieve(customer.default_card)
                except Exception:
                    card = None
            if not card:
                card = stripe.PaymentMethod.list(customer=customer.id, type="card").data[0]
            return card

        def nickname(user):
            try:
                name = user.profile.nickname
            except Exception:
                name = None
            if not name:
                log.info("no nickname")
            return name

        def avatar(user):
            url = None
            if not url:
                try:
                    url = storage.url(user.avatar)
                except Exception:
                    url = None
            return url
        """
    # `nickname` tests the name but never computes it again; in `avatar` the `if` holds the `try` itself
    assert flagged(source, "RP304") == [16, 27]


def test_rp304_a_name_tested_inside_the_try_or_a_handler_doing_more_than_unset_it() -> None:
    # pulpcore's worker: `if not should_skip:` inside the `try` assigns it; the handler logs and cleans up.
    source = """
        def fetch_task(tasks):
            for task in tasks:
                try:
                    should_skip = False
                    if not should_skip:
                        should_skip = task.blocked()
                    if should_skip:
                        continue
                    return claim(task)
                except Exception as e:
                    logger.error("Error processing task %s: %s", task.pk, e)
                    if task.locked:
                        release(task)
                    continue

        def load(entry):
            data = None
            try:
                data = fetch(entry)
            except Exception:
                if entry.cached:
                    data = entry.cached
            if data is None:
                raise LookupError(entry)
            return data
        """
    assert flagged(source, "RP304") == [11, 21]  # the second handler does more than leave `data` unset


def test_rp304_a_try_that_only_computes_a_value_from_what_it_holds() -> None:
    # tendenci's membership charts: `int(pk)` and `height * 1.0 / max_count` can fail only on those values.
    source = """
        from ast import literal_eval

        def chart_scale(height, max_count, pk, data):
            try:
                file_id = int(pk)
            except Exception:
                file_id = 0
            try:
                scale = height * 1.0 / max_count
            except Exception:
                scale = 1.0
            try:
                return literal_eval(data)["type"] == "file"
            except Exception:
                return False

        def copy_site(options, user):
            try:
                from_site = int(options.get("from_site"))
            except Exception:
                from_site = 1
            try:
                nickname = user.profile.nickname
            except Exception:
                nickname = None
            try:
                scale = 100 / max(count_rows(), 1)
            except Exception:
                scale = 1
            try:
                file_id = int(pk)
                attach(file_id)
            except Exception:
                file_id = 0
            return from_site, nickname, scale
        """
    # `literal_eval` parses a document, whose failure is bad data; `options.get`,
    # `user.profile` (a query) and `count_rows()` may fail another way; so may the second statement
    assert flagged(source, "RP304", path="members/charts.py") == [15, 21, 25, 29, 34]


def test_rp304_failures_collected_in_a_list_the_function_raises_on() -> None:
    # Saleor's `resolve_global_ids_to_primary_keys`: each id that does not decode is kept, and the
    # function raises a GraphQLError naming them after the loop. Kept and never raised on: swallowed.
    source = """
        def resolve_ids(ids):
            pks, invalid_ids = [], []
            for graphql_id in ids:
                try:
                    node_type, pk = from_global_id(graphql_id)
                except Exception:
                    invalid_ids.append(graphql_id)
                    continue
                pks.append(pk)
            if invalid_ids:
                raise GraphQLError(f"Could not resolve to a node: {invalid_ids}")
            return pks

        def decode_ids(ids):
            pks, skipped = [], []
            for graphql_id in ids:
                try:
                    pks.append(from_global_id(graphql_id)[1])
                except Exception:
                    skipped.append(graphql_id)
            return pks
        """
    assert flagged(source, "RP304") == [20]


def test_rp304_a_comment_that_is_not_a_reason() -> None:
    source = """
        def refresh(feed):
            try:
                feed.refresh()
            except Exception:  # nosec
                pass
            try:
                feed.refresh()
            except Exception:
                pass  # TODO handle this
            try:
                feed.refresh()
            except Exception:
                # a dead feed must not stop the others; it is retried on the next run
                pass
            try:
                feed.refresh()
            except Exception:  # noqa: BLE001
                pass
            try:
                feed.refresh()
            except Exception:  # pylint: disable=broad-except
                pass
            try:
                feed.refresh()
            except Exception:  # noqa: S110  # try-except-pass: a dead feed must not stop the others
                pass
            try:
                feed.refresh()
            except Exception:  # nosec B110
                pass
            try:
                feed.refresh()
            except Exception:  # noqa: E722  # TODO
                pass
        """
    # another linter's broad-except check silenced on the line: reviewed and kept (wagtail, misago);
    # bandit's try-except-pass silenced, and a reason after the directive (nautobot's template tags)
    assert flagged(source, "RP304") == [5, 9, 34]


def test_rp304_a_logging_handler_that_reports_its_own_failure() -> None:
    source = """
        import logging

        class JobResultHandler(logging.Handler):
            def emit(self, record):
                try:
                    self.job_result.log(message=record.getMessage())
                except Exception:
                    self.handleError(record)

        class AuditHandler(logging.Handler):
            def emit(self, record):
                try:
                    self.store(record)
                except Exception:
                    self.dropped += 1
        """
    # `Handler.handleError` prints the traceback (nautobot's celery log handler); a count does not
    assert flagged(source, "RP304") == [15]


def test_rp304_wrappers_that_document_their_failure_and_release_methods() -> None:
    source = """
        def parse_http_date_safe(date):
            \"\"\"Same as parse_http_date, but return None if the input is invalid.\"\"\"
            try:
                return parse_http_date(date)
            except Exception:
                pass

        def get_system_encoding():
            \"\"\"The encoding of the locale; fall back to 'ascii' when it is unsupported.\"\"\"
            try:
                encoding = locale.getlocale()[1] or "ascii"
                codecs.lookup(encoding)
            except Exception:
                encoding = "ascii"
            return encoding

        def load_profile(user_id):
            \"\"\"The user's profile, or None if it cannot be read.\"\"\"
            if not user_id:
                return None
            try:
                return read_profile(user_id)
            except Exception:
                return None

        class StreamingResponse:
            def close(self):
                for closer in self._resource_closers:
                    try:
                        closer()
                    except Exception:
                        pass
                self._resource_closers.clear()
        """
    assert flagged(source, "RP304") == [24]  # the wrapper does more than its `try`


def test_rp305_mixed_network_and_parsing_errors_say_to_split_the_handler() -> None:
    source = textwrap.dedent(
        """
        import requests

        def rates():
            try:
                return requests.get(URL, timeout=5).json()
            except (requests.RequestException, ValueError):
                logger.exception("rates unavailable")
            except requests.Timeout:
                logger.exception("rates timed out")
        """
    )
    messages = [f.message for f in lint(source, "shop/rates.py", config=Config(select=("RP305",))).findings]
    assert messages == [
        "traceback logged on every requests.RequestException; split the handler: "
        "`requests.RequestException` with `exc_info=settings.DEBUG`, `ValueError` with the traceback",
        "traceback logged on every requests.Timeout; use `exc_info=settings.DEBUG`",
    ]


# -- test modules --


@pytest.mark.parametrize("code", ["RP302", "RP303", "RP304", "RP307"])
@pytest.mark.parametrize("path", ["shop/tests/test_views.py", "shop/tests.py", "conftest.py", "shop/views_test.py"])
def test_test_modules_are_not_checked(code: str, path: str) -> None:
    source = """
        def test_upload(request):
            try:
                upload(request)
            except:
                logger.error("failed: %s", traceback.format_exc())
                return JsonResponse({"error": traceback.format_exc()})
            try:
                upload(request)
            except Exception as e:
                logger.error("failed: %s", e)
        """
    assert flagged(source, code, path=path) == []
    assert flagged(source, code, path="shop/contests.py") != []


def test_a_settings_test_shows_the_services_error_to_whoever_entered_the_settings() -> None:
    # pretalx/pretix "test these SMTP settings", weblate's machinery `validate_settings`: the service's
    # error is the answer. The same text from an ordinary send still leaks.
    source = """
        import requests
        from django.contrib import messages
        from django.core.exceptions import ValidationError

        class MailSettingsView(FormView):
            def form_valid(self, form):
                backend = get_connection(host=form.cleaned_data["smtp_host"])
                try:
                    backend.test(form.cleaned_data["mail_from"])
                except Exception as e:
                    messages.error(self.request, "could not contact the SMTP server: %s" % e)
                try:
                    send_welcome(form.cleaned_data["mail_from"])
                except Exception as e:
                    messages.error(self.request, "could not send: %s" % e)
                return super().form_valid(form)

        def oidc_validate_and_complete_config(config):
            try:
                provider = requests.get(config["base_url"], timeout=10).json()
            except requests.RequestException as e:
                raise ValidationError(f"Unable to retrieve the configuration: {e}")
            return provider

        class DeepLTranslation(MachineTranslation):
            def validate_settings(self):
                try:
                    self.download_languages()
                except Exception as error:
                    raise ValidationError("Could not fetch supported languages: %s" % error) from error
        """
    assert flagged(source, "RP302") == [16]


def test_a_validator_called_alone_gives_its_verdict_on_the_upload() -> None:
    # NetBox's script upload: `validate_script_content` compiles and runs the uploaded module, and its
    # error tells the uploader what is wrong with it. A `try` doing more than validate is still judged.
    source = """
        from rest_framework import serializers

        from extras.utils import validate_script_content

        class ScriptModuleSerializer(serializers.Serializer):
            def validate(self, data):
                content = data["file"].read()
                try:
                    validate_script_content(content, data["file"].name)
                except Exception as e:
                    raise serializers.ValidationError(f"Error loading script: {e}")
                try:
                    validate_script_content(content, data["file"].name)
                    save_script(content)
                except Exception as e:
                    raise serializers.ValidationError(f"Error saving script: {e}")
                return data
        """
    assert flagged(source, "RP302", path="extras/api/serializers.py") == [17]


def test_a_parser_called_alone_gives_its_verdict_on_what_it_was_given() -> None:
    # Sentry's JSON model field and MS Teams webhook: a broad catch around `json.loads(value)` or
    # `jwt.decode(token, ...)` alone, also through the project's own `sentry.utils.json`/`jwt`
    # modules, sees only the parser's verdict on that value. Parsing and then storing is judged.
    source = """
        from django.core.exceptions import ValidationError
        from rest_framework.exceptions import AuthenticationFailed

        from core.utils import json, jwt

        def to_python(value):
            try:
                return json.loads(value)
            except Exception as e:
                raise ValidationError(str(e))

        def claims(token, key):
            try:
                decoded = jwt.decode(token, key, audience="bot")
            except Exception as err:
                raise AuthenticationFailed(f"Could not validate JWT. Got {err}")
            return decoded

        def import_rows(value):
            try:
                rows = json.loads(value)
                store_rows(rows)
            except Exception as e:
                raise ValidationError(str(e))

        def archive(value):
            try:
                return json.dumps(value)
            except Exception as e:
                raise ValidationError(str(e))
        """
    assert flagged(source, "RP302", path="core/fields.py") == [25, 31]


def test_a_model_fields_conversion_for_the_database_is_never_shown() -> None:
    # Sentry's `social_auth` JSONField: `get_prep_value` runs when the row is saved, so its
    # ValidationError ends in a server error; `to_python` runs while a form validates, and is shown.
    source = """
        import json

        from django.core.exceptions import ValidationError
        from django.db import models

        class DocumentField(models.TextField):
            def to_python(self, value):
                try:
                    return load_document(value)
                except Exception as e:
                    raise ValidationError(str(e))

            def get_prep_value(self, value):
                try:
                    return json.dumps(value)
                except Exception as e:
                    raise ValidationError(str(e))
        """
    assert flagged(source, "RP302", path="core/fields.py") == [12]


def test_text_cleaned_by_the_projects_cleaner_is_not_the_raw_text() -> None:
    # weblate `vcs/ssh.py`: `detail = cleanup_error_message(str(error))` drops the data paths first.
    source = """
        from django.core.exceptions import ValidationError

        def validate_ssh_destination(host):
            try:
                destination = resolve_destination(host)
            except OSError as error:
                detail = cleanup_error_message(str(error))
                raise ValidationError("Could not determine the SSH destination: %s" % detail) from error
            try:
                return connect(destination)
            except OSError as error:
                detail = str(error).strip()
                raise ValidationError("Could not connect: %s" % detail) from error
        """
    assert flagged(source, "RP302", path="shop/ssh.py") == [14]


def test_a_parsers_error_describes_the_users_upload() -> None:
    # pretix `control/views/pdf.py`: the reason pypdf could not read the uploaded background PDF.
    source = """
        from django.http import JsonResponse
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        def upload_background(request):
            upload = request.FILES["background"]
            try:
                PdfReader(upload, strict=False)
            except PdfReadError as e:
                return JsonResponse({"error": f"unable to process this PDF file ({e})"}, status=400)
            try:
                store(upload)
            except OSError as e:
                return JsonResponse({"error": f"could not store the file ({e})"}, status=500)
            return JsonResponse({"status": "ok"})
        """
    assert flagged(source, "RP302") == [15]


def test_an_address_parse_error_and_a_missing_template_name_what_was_asked() -> None:
    # nautobot `ipam/api/views.py` and `extras/views.py`: netaddr's AddrFormatError about the
    # client's own parameter; TemplateDoesNotExist, whose text is the name the code asked for
    source = """
        import netaddr
        from django.contrib import messages
        from django.template import TemplateDoesNotExist
        from django.template.loader import get_template
        from rest_framework.response import Response

        def parse_ip(request, name):
            try:
                return netaddr.IPAddress(request.query_params.get(name)), None
            except (netaddr.core.AddrFormatError, ValueError, TypeError) as e:
                return None, Response({"detail": f"Incorrectly formatted address in {name}: {e}"}, status=400)

        def job_template(request, job_class):
            try:
                return get_template(job_class.template_name)
            except TemplateDoesNotExist as err:
                messages.error(request, f"Unable to render {job_class.template_name}: {err}")
            try:
                return render_job_form(request, job_class)
            except netaddr.AddrConversionError as err:
                messages.error(request, f"Unable to render the form: {err}")
        """
    assert flagged(source, "RP302") == [22]


def test_rp304_the_async_twin_of_a_method_whose_handler_says_why() -> None:
    # django `sessions/backends/cache.py`: `aload()` repeats `load()`, whose comment gives the reason.
    source = """
        class SessionStore(SessionBase):
            def load(self):
                try:
                    data = self._cache.get(self.cache_key)
                except Exception:
                    # Some backends raise on invalid cache keys: start a new session then.
                    data = None
                return data or {}

            async def aload(self):
                try:
                    data = await self._cache.aget(await self.acache_key())
                except Exception:
                    data = None
                return data or {}

            async def aexists(self, key):
                try:
                    return await self._cache.ahas_key(key)
                except Exception:
                    return False
        """
    assert flagged(source, "RP304", path="shop/sessions.py") == [21]


def test_rp304_cleanup_swallowed_while_the_original_error_is_reraised() -> None:
    # weblate `trans/backups.py`: removing restored media after a failed restore, then `raise`.
    source = """
        def restore(self, archive):
            try:
                return self.extract(archive)
            except Exception:
                for storage, name in reversed(self.created_media):
                    try:
                        storage.delete(name)
                    except Exception as error:
                        warnings.warn(f"Could not remove restored media {name!r}: {error}", RuntimeWarning)
                raise

        def restore_quietly(self, archive):
            try:
                return self.extract(archive)
            except OSError:
                for storage, name in reversed(self.created_media):
                    try:
                        storage.delete(name)
                    except Exception:
                        pass
                return None
        """
    assert flagged(source, "RP304", path="shop/backups.py") == [20]


def test_rp304_a_string_in_the_handler_says_why_like_a_comment() -> None:
    # mayan-edms `file_caching/model_mixins.py`: the reason is a string standing as a statement.
    source = '''
        def create_partition_file(self, filename):
            try:
                self.cache.storage.delete(name=filename)
            except Exception as exception:
                """
                Some S3 implementations throw an error when deleting a missing key. Ignore it:
                any storage error of concern is raised by the `storage.save` call below.
                """
                logger.debug("cache.storage.delete exception: %s", exception)
            try:
                self.cache.storage.save(name=filename, content=b"")
            except Exception:
                "TODO"
        '''
    assert flagged(source, "RP304", path="shop/caching.py") == [13]


def test_rp304_a_failure_while_reporting_another_one() -> None:
    # django-cms `plugin_rendering.py`: describing the plugin inside `render_exception` may fail too.
    source = """
        class ContentRenderer:
            def render_exception(self, context, placeholder):
                exc, value, tb = context["exc_info"]
                message = f"{exc.__name__}: {value} when rendering {placeholder}"
                try:
                    description = context["_last_plugin"].get_short_description()
                except Exception:
                    description = "unknown plugin"
                logger.error(f"{message}, plugin {description}", exc_info=(exc, value, tb))

            def render_placeholder(self, context, placeholder):
                try:
                    description = context["_last_plugin"].get_short_description()
                except Exception:
                    description = "unknown plugin"
                return description
        """
    assert flagged(source, "RP304", path="shop/rendering.py") == [15]
