"""The per-file semantic model: what a name is bound to at a node, qualified names, enclosing nodes."""

from __future__ import annotations

import textwrap
from typing import Any

import libcst as cst
import pytest

from review_patterns import Config, ProjectContext, lint
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.semantic import BindingKind, SemanticModel


def probe(source: str, path: str = "shop/services.py") -> dict[str, Any]:
    """Runs the model over `source`; at each `probe(expr)` call records what the model says of `expr`."""
    source = textwrap.dedent(source)
    model = SemanticModel(SourceFile(path, source))
    seen: dict[str, Any] = {}

    class Probe(cst.BatchableCSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "probe":
                expr = node.args[0].value
                key = cst.Module([]).code_for_node(expr)
                binding = model.binding_of(expr)
                seen[key] = (
                    binding.kind if binding is not None else None,
                    model.qualified_name(expr),
                    model.imported(expr),
                )
                seen[f"{key}@"] = (model.function, model.class_, model.handler, model.loop)

    cst.visit_batched(cst.parse_module(source), [model.entering, Probe(), model.leaving])
    return seen


def test_a_local_hides_an_import_for_the_whole_function() -> None:
    seen = probe(
        """
        import requests

        def fetch(url):
            requests = session_factory()
            probe(requests.get)

        def later(url):
            probe(requests.get)
        """
    )
    # Recorded last: the other function still sees the library.
    assert seen["requests.get"] == (BindingKind.IMPORT, "requests.get", "requests.get")
    hidden = probe(
        """
        import requests

        def fetch(url):
            requests = session_factory()
            probe(requests.get)
        """
    )
    assert hidden["requests.get"] == (BindingKind.ASSIGNMENT, None, None)


def test_decorators_defaults_and_annotations_are_read_where_the_function_is_defined() -> None:
    """Python evaluates them in the enclosing scope: a parameter named like an import (`cache=cache`)
    hides the import in the body only, for a `def` and for a `lambda`."""
    seen = probe(
        """
        from django.core.cache import cache as default_cache
        from django.views.decorators.cache import cache_page
        from shop.types import Backend

        @probe(cache_page)
        def warm(keys, cache_page=probe(default_cache), default_cache: probe(Backend.Kind) = None, Backend=None):
            probe(Backend)

        read = lambda key, default_cache=probe(default_cache.set): probe(default_cache.get)(key)
        """
    )
    assert seen["cache_page"] == (
        BindingKind.IMPORT,
        "django.views.decorators.cache.cache_page",
        "django.views.decorators.cache.cache_page",
    )
    assert seen["default_cache"] == (BindingKind.IMPORT, "django.core.cache.cache", "django.core.cache.cache")
    assert seen["Backend.Kind"] == (BindingKind.IMPORT, "shop.types.Backend.Kind", "shop.types.Backend.Kind")
    assert seen["Backend"] == (BindingKind.PARAMETER, None, None)
    assert seen["default_cache.set"] == (
        BindingKind.IMPORT,
        "django.core.cache.cache.set",
        "django.core.cache.cache.set",
    )
    assert seen["default_cache.get"] == (BindingKind.PARAMETER, None, None)
    assert seen["Backend@"][0] is not None, "the decorators and parameters are still the function's"


def test_a_name_assigned_later_in_the_function_is_already_local() -> None:
    seen = probe(
        """
        from django.core.cache import cache

        def count(keys):
            for key in keys:
                if key:
                    probe(cache)
                cache = {}
        """
    )
    assert seen["cache"][0] is BindingKind.ASSIGNMENT and seen["cache"][2] is None


def test_imports_aliases_and_module_level_definitions() -> None:
    seen = probe(
        """
        from django.db import models as m
        from .helpers import send

        class Order(m.Model):
            pass

        def run():
            probe(m.F)
            probe(send)
            probe(Order.objects)
            probe(print)
        """,
        path="shop/services.py",
    )
    assert seen["m.F"][1] == "django.db.models.F"
    assert seen["send"][1] == "shop.helpers.send"
    assert seen["Order.objects"] == (BindingKind.CLASS, "shop.services.Order.objects", None)
    assert seen["print"] == (None, "print", None)


def test_try_import_fallback_does_not_hide_the_import() -> None:
    seen = probe(
        """
        try:
            import redis
        except ImportError:
            redis = None

        def connect():
            probe(redis.Redis)
        """
    )
    assert seen["redis.Redis"][2] == "redis.Redis"


def test_self_attributes_and_parameters() -> None:
    seen = probe(
        """
        import requests

        class Client:
            timeout = 5

            def __init__(self, session: requests.Session):
                self.session = session

            def get(self, url):
                probe(self.session)
                probe(self.timeout)
                probe(url)
        """
    )
    assert seen["self.session"][0] is BindingKind.ATTRIBUTE
    assert seen["self.timeout"][0] is BindingKind.ASSIGNMENT
    assert seen["url"][0] is BindingKind.PARAMETER


def test_global_declarations_bind_the_module_name() -> None:
    seen = probe(
        """
        import redis

        def connect():
            global redis
            redis = make()

        def use():
            probe(redis)
        """
    )
    assert seen["redis"][0] is BindingKind.ASSIGNMENT


def test_functions_are_read_ahead_of_the_traversal() -> None:
    """A rule can ask what a later function binds and returns, and a `global` in a later function
    already binds the module name, as it will when the program runs."""
    source = textwrap.dedent(
        """
        import redis
        from django_redis import get_redis_connection as connect

        _client = None

        def use():
            probe(_client)

        def shared():
            global _client
            from redis import StrictRedis as Redis
            if _client is None:
                _client = Redis()
            return _client
        """
    )
    model = SemanticModel(SourceFile("shop/services.py", source))
    module = cst.parse_module(source)
    shared = next(s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "shared")
    seen: dict[str, Any] = {}

    class Probe(cst.BatchableCSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "probe":
                seen["_client"] = model.binding_of(node.args[0].value)
                scope = model.scope_of(shared)
                assert scope is not None
                seen["Redis"] = model.imported(cst.parse_expression("Redis"), scope)
                seen["connect"] = model.imported(cst.parse_expression("connect.x"), scope)
                seen["returned"] = model.resolve("_client", scope)

    cst.visit_batched(module, [model.entering, Probe(), model.leaving])
    binding = seen["_client"]
    assert binding.kind is BindingKind.ASSIGNMENT and binding.scope is model.module_scope
    assert isinstance(binding.value, cst.Call)  # `Redis()`, set in `shared`, not `None`
    assert seen["Redis"] == "redis.StrictRedis"  # imported inside `shared`
    assert seen["connect"] == "django_redis.get_redis_connection.x"
    assert seen["returned"] is binding


def test_a_fallback_reached_after_the_import_keeps_the_import() -> None:
    seen = probe(
        """
        try:
            import redis
        except ImportError:
            redis = None
        probe(redis.Redis)
        """
    )
    assert seen["redis.Redis"][2] == "redis.Redis"


def test_enclosing_function_class_handler_and_loop() -> None:
    seen = probe(
        """
        class Sync:
            def run(self, rows):
                for row in rows:
                    try:
                        save(row)
                    except ValueError:
                        probe(row)
                probe(rows)
        """
    )
    function, class_, handler, loop = seen["row@"]
    assert isinstance(function, cst.FunctionDef) and function.name.value == "run"
    assert isinstance(class_, cst.ClassDef) and isinstance(handler, cst.ExceptHandler) and isinstance(loop, cst.For)
    assert seen["rows@"][2:] == (None, None)


def test_a_comprehension_variable_is_not_a_local_of_the_function() -> None:
    seen = probe(
        """
        import requests

        def fetch(urls):
            pages = [requests.get(requests) for requests in urls]
            probe(requests)
        """
    )
    assert seen["requests"][2] == "requests"


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        # The case: a local session named like the library is not the library.
        (
            """
            import requests

            def fetch(url):
                requests = session_factory()
                return requests.get(url)
            """,
            False,
        ),
        (
            """
            import requests

            def fetch(url):
                return requests.get(url)
            """,
            True,
        ),
    ],
)
def test_rp509_sees_a_local_hiding_the_import(source: str, flagged: bool) -> None:
    source = textwrap.dedent(source).lstrip()
    result = lint(source, "shop/services.py", ProjectContext.from_sources({}), Config(select=("RP509",)))
    assert [f.code for f in result.findings] == (["RP509"] if flagged else [])


def test_match_statements_bind_in_their_cases() -> None:
    seen = probe(
        """
        import redis

        def handle(event):
            match event:
                case {"kind": "reset"}:
                    redis = None
                case _:
                    probe(redis)
        """
    )
    assert seen["redis"][0] is BindingKind.ASSIGNMENT


def test_rp510_reads_each_function_with_its_own_names() -> None:
    """RP510 reads functions ahead of the traversal; it asks the model what each one imports and
    hides: a parameter named `datetime` is not the module, an import inside a function counts."""
    source = textwrap.dedent(
        """
        import datetime

        def stamp(order, datetime):
            order.paid_at = datetime.now()
            order.save()

        def stamp_now(order):
            order.paid_at = datetime.datetime.now()
            order.save()

        def stamp_local(order):
            from datetime import datetime as dt
            order.paid_at = dt.utcnow()
            order.save()
        """
    ).lstrip()
    models = "from django.db import models\n\nclass Order(models.Model):\n    paid_at = models.DateTimeField()\n"
    context = ProjectContext.from_sources({"shop/models.py": models, "shop/services.py": source})
    result = lint(source, "shop/services.py", context, Config(select=("RP510",)))
    assert [(f.line, f.code) for f in result.findings] == [(8, "RP510"), (13, "RP510")]


def test_rp401_loops_over_the_queryset_the_comprehension_replaces() -> None:
    """A comprehension runs in place: the name it reads is the function's binding at that point,
    not the one its own statement makes (wagtail's `thread_users = [... for user in thread_users]`)."""
    models = textwrap.dedent(
        """
        from django.db import models

        class Author(models.Model):
            name = models.CharField(max_length=50)

        class Post(models.Model):
            author = models.ForeignKey(Author, on_delete=models.CASCADE)
        """
    )
    source = textwrap.dedent(
        """
        from shop.models import Post

        def names():
            posts = Post.objects.all()
            posts = [post.author.name for post in posts]
            return posts
        """
    ).lstrip()
    context = ProjectContext.from_sources({"shop/models.py": models, "shop/services.py": source})
    result = lint(source, "shop/services.py", context, Config(select=("RP401",)))
    assert [f.line for f in result.findings] == [5]
