"""File kinds: decided once from the path (`syntax/files.py`), declared by each rule, applied by the engine."""

from __future__ import annotations

import textwrap

import pytest
from sample_rules import SaveInLoop

from review_patterns import Config, ProjectContext, lint
from review_patterns.syntax.files import FileKind, SourceFile, file_kinds

T, F, M, C = FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION, FileKind.COMMAND


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        ("shop/tests.py", {T}),
        ("shop/tests/test_orders.py", {T}),
        ("shop/tests/__init__.py", {T}),
        ("shop/test/helpers.py", {T}),
        ("shop/test_views.py", {T}),
        ("shop/views_test.py", {T}),
        ("conftest.py", {T}),
        ("pulpcore/pytest_plugin.py", {T}),  # fixtures shipped as a pytest11 plugin
        ("sentry/utils/pytest/fixtures.py", {T}),  # a package of pytest fixtures and plugins
        ("shop/testutils.py", {T}),
        ("shop/testutils/mock.py", {T}),
        ("shuup/testing/admin_module/mocker_view.py", {T}),  # a package of test and demo-data helpers
        ("django/contrib/staticfiles/testing.py", {T}),
        ("geonode/base/populate_test_data.py", {T}),
        ("shop/testdata.py", {T}),
        ("misago/core/testproject/urls.py", {T}),  # the project the test suite runs against
        ("test_project/settings.py", {T, FileKind.SETTINGS}),
        ("tests/fixtures/shop/views.py", {T, F}),
        ("tests/data/fixtures/app.py", {T, F}),
        ("pkg/testdata/sample.py", {F}),
        (".semgrep/rules/requests.py", {F}),
        ("shop/migrations/0002_order_currency.py", {M}),
        ("testapp/migrations/0002_order_currency.py", {T, M}),
        ("wagtail/test/testapp/migrations/0019_snippet.py", {T, M}),
        ("shop/migrations/__init__.py", set()),
        ("shop/management/commands/import_orders.py", {C}),
        ("shop/management/commands/__init__.py", set()),
        ("config/settings.py", {FileKind.SETTINGS}),
        ("config/settings/production.py", {FileKind.SETTINGS}),
        ("shop/models.py", {FileKind.MODELS}),
        ("shop/models/order.py", {FileKind.MODELS}),
        ("shop/services.py", {FileKind.SERVICES}),
        ("manage.py", {FileKind.SCRIPT}),
        ("scripts/backfill.py", {FileKind.SCRIPT}),
        ("sentry/utils/distutils/commands/build_assets.py", {FileKind.SCRIPT}),  # setup.py's commands
        # Look-alikes: a word ending in "test(s)" is not a test module.
        ("shop/contests.py", set()),
        ("shop/contest.py", set()),
        ("shop/latest.py", set()),
        ("contestproject/urls.py", set()),
        ("shop/views.py", set()),
        ("shop/fixtures.py", set()),
        ("shop/plugins.py", set()),
        ("shop/pytest_helpers.py", set()),
        ("shop/distutils_compat.py", set()),
        ("shop/load_testing.py", set()),
        ("shop/latest_data.py", set()),
        ("shop/contest_data.py", set()),
        ("shop/testing_views.py", set()),
        ("shop/ab_testing/views.py", set()),
        ("shop/migrations/0003_testapproval.py", {M}),
    ],
)
def test_file_kinds(path: str, kinds: set[FileKind]) -> None:
    assert file_kinds(path) == kinds
    assert SourceFile(path, "").is_test is (T in kinds)


VIEW = """\
from blog.models import Post


def publish_all(request):
    for post in Post.objects.filter(draft=True):
        post.draft = False
        post.save()
"""


class SaveInLoopOutsideTests(SaveInLoop):
    code = "RP995"
    skip_kinds = frozenset({FileKind.TEST})


class SaveInLoopInMigrations(SaveInLoop):
    code = "RP996"
    kinds = frozenset({FileKind.MIGRATION})


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("blog/views.py", ["RP995"]),
        ("blog/tests.py", []),
        ("blog/contests.py", ["RP995"]),
        ("blog/migrations/0003_publish.py", ["RP995", "RP996"]),
    ],
)
def test_the_engine_applies_declared_kinds(path: str, codes: list[str]) -> None:
    result = lint(VIEW, path, rules=(SaveInLoopOutsideTests, SaveInLoopInMigrations))
    assert sorted({f.code for f in result.findings}) == codes


MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Post(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
"""

LOOP = """\
from blog.models import Post


def authors():
    return [post.author.name for post in Post.objects.all()]
"""


@pytest.mark.parametrize(("path", "flagged"), [("blog/contests.py", True), ("blog/tests.py", False)])
def test_query_rules_check_contests_but_not_tests(path: str, flagged: bool) -> None:
    """RP401 skips test modules (declared `skip_kinds`); `contests.py` used to be skipped as one."""
    context = ProjectContext.from_sources({"blog/models.py": MODELS, path: LOOP})
    result = lint(textwrap.dedent(LOOP), path, context, Config(select=("RP401",)))
    assert [f.code for f in result.findings] == (["RP401"] if flagged else [])


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("cache.set(key, n + 1)", True),
        ("r.hset('hits', page, n)", True),
        ("(cache  # the shared cache\n    .set(key, n))", True),
        ("cache. \\\n    setex(key, 60, n)", True),
        ("settings.CACHES, queryset.filter(), set(), cache.setdefault", False),
        ("cache.incr(key)  # .settings", False),
    ],
)
def test_attribute_pattern_finds_an_attribute_however_it_is_written(source: str, found: bool) -> None:
    from review_patterns.syntax.files import attribute_pattern

    assert (attribute_pattern({"set", "hset", "setex"}).search(source) is not None) is found


def test_code_quoted_on_one_line_leaves_comments_out() -> None:
    import libcst as cst

    from review_patterns.syntax.names import code

    call = cst.parse_expression("(cache  # the shared cache, '#' included\n    .set('views#1', n + 1))")
    assert code(call, one_line=True) == "(cache .set('views#1', n + 1))"
    function = cst.parse_module("def f():\n    if ready:  # checked\n        return '#'\n").body[0]
    assert code(function, one_line=True) == "def f(): if ready: return '#'"
