"""RP401 n-plus-one-in-loop and RP402 repeated-count-queries on realistic code."""

from __future__ import annotations

import textwrap

import pytest
from conftest import FIXTURES
from test_model_index import installed_django  # noqa: F401 - a fixture

from review_patterns import Config, ProjectContext, lint, lint_paths
from review_patterns.core.model import Finding

PROJECT = FIXTURES / "nplusone_project"
SELECT = Config(select=("RP401", "RP402"))

MODELS = textwrap.dedent("""
    from django.conf import settings
    from django.db import models

    class Forum(models.Model):
        name = models.CharField(max_length=100)

    class Topic(models.Model):
        forum = models.ForeignKey(Forum, on_delete=models.CASCADE, related_name="topics")
        title = models.CharField(max_length=200)

    class Post(models.Model):
        topic = models.ForeignKey(Topic, on_delete=models.CASCADE)
        author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
        tags = models.ManyToManyField("Tag", related_name="posts")
        title = models.CharField(max_length=200)

    class Tag(models.Model):
        name = models.CharField(max_length=50)

    class Reply(models.Model):
        post = models.ForeignKey(Post, on_delete=models.CASCADE)
        body = models.TextField()
    """)


def check(code: str, path: str = "forum/views.py", select: str = "RP401") -> list[Finding]:
    source = textwrap.dedent(code)
    context = ProjectContext.from_sources({"forum/models.py": MODELS, path: source})
    return list(lint(source, path, context, Config(select=(select,))).findings)


def lines(findings: list[Finding]) -> list[int]:
    return [f.line for f in findings]


VIEWS = sorted(
    p.relative_to(PROJECT).as_posix()
    for p in PROJECT.rglob("*.py")
    if "models" not in p.parts and p.name != "__init__.py"
)


@pytest.fixture(scope="module")
def whole_project() -> dict[str, list[tuple[int, str, str]]]:
    report = lint_paths([PROJECT], SELECT, cwd=PROJECT)
    return {r.path: [(f.line, f.code, f.message) for f in r.findings] for r in report.files}


@pytest.mark.parametrize("path", VIEWS)
def test_one_file_finds_what_the_whole_project_finds(
    path: str, whole_project: dict[str, list[tuple[int, str, str]]]
) -> None:
    report = lint_paths([PROJECT / path], SELECT, cwd=PROJECT)
    (result,) = report.files
    assert [(f.line, f.code, f.message) for f in result.findings] == whole_project[path]


def test_single_view_file_still_knows_the_models(whole_project: dict[str, list[tuple[int, str, str]]]) -> None:
    assert len(whole_project["blog/views.py"]) == 7
    assert any('select_related("category__parent")' in m for _, _, m in whole_project["blog/views.py"])


def test_message_names_the_deepest_path_once() -> None:
    findings = check("""
        from forum.models import Post

        def index(request):
            for post in Post.objects.all():
                print(post.topic.forum.name)
                print(post.topic.title, post.topic.forum.name)
        """)
    assert lines(findings) == [6]
    assert findings[0].message == (
        "`post.topic.forum` runs one query per row of the loop over `Post`: "
        'add `select_related("topic__forum")` to the queryset'
    )


def test_a_loop_body_ending_in_continue_still_loops() -> None:
    findings = check("""
        from forum.models import Post

        def index(request):
            for post in Post.objects.all():
                print(post.topic.title)
                continue
            for post in Post.objects.all():
                print(post.topic.title)
                break
        """)
    assert lines(findings) == [6]


def test_a_shorter_path_first_then_a_longer_one_are_two_queries() -> None:
    findings = check("""
        from forum.models import Post

        def index(request):
            for post in Post.objects.all():
                print(post.topic.title)
                print(post.topic.forum.name)
        """)
    assert lines(findings) == [6, 7]


def test_nested_lookups_cover_each_step_and_ids_need_no_query() -> None:
    assert (
        check("""
        from forum.models import Post

        def index(request):
            for post in Post.objects.select_related("topic__forum").only("title"):
                print(post.topic.title, post.topic.forum.name, post.author_id, post.topic.forum_id)
        """)
        == []
    )


def test_counts_suggest_an_annotation_with_the_query_name() -> None:
    (finding,) = check("""
        from forum.models import Post

        def index(request):
            return {post.pk: post.reply_set.count() for post in Post.objects.all()}
        """)
    assert 'annotate(Count("reply"))' in finding.message


def test_filter_on_a_prefetched_manager_queries_again() -> None:
    (finding,) = check("""
        from forum.models import Post

        def index(request):
            for post in Post.objects.prefetch_related("tags"):
                print(post.tags.all(), post.tags.count())
                print(post.tags.filter(name__startswith="a"))
        """)
    assert finding.line == 7 and "queries again" in finding.message


def test_a_values_list_per_row_is_not_served_by_a_prefetch() -> None:
    # `values_list()` queries even on prefetched rows: the advice is one query for the loop, with no
    # prefetch fix offered; `.all()` in the same shape is still told to prefetch, with the fix.
    values, listed = check("""
        from forum.models import Post

        def index(request):
            posts = Post.objects.filter(title__startswith="a")
            names = {post.pk: list(post.tags.values_list("name", flat=True)) for post in posts}
            return names, [list(post.tags.all()) for post in posts]
        """)
    assert values.line == 6 and "queries again even on prefetched rows" in values.message
    assert "prefetch_related" not in values.message and values.fix is None
    assert listed.line == 7 and 'prefetch_related("tags")' in listed.message and listed.fix is not None


def test_nested_loop_over_a_related_manager() -> None:
    findings = check("""
        from forum.models import Forum

        def index(request):
            for forum in Forum.objects.prefetch_related("topics"):
                for topic in forum.topics.all():
                    for post in topic.post_set.all():
                        print(post.author)
        """)
    assert lines(findings) == [7, 8]
    assert 'prefetch_related("topics__post_set")' in findings[0].message
    assert 'select_related("author")' in findings[1].message


def test_helper_function_of_the_same_module_is_flagged_at_the_access() -> None:
    findings = check("""
        from forum.models import Post

        def line(post):
            return f"{post.title}: {post.topic.title}"

        def unrelated(post):
            return post.topic.title

        def index(request):
            return [line(post) for post in Post.objects.all()] + [line(p) for p in Post.objects.select_related("topic")]
        """)
    assert lines(findings) == [5]


def test_unknown_model_flags_only_the_certain_cases() -> None:
    findings = check("""
        from vendor.models import Invoice

        def index(request):
            for invoice in Invoice.objects.filter(paid=True):
                print(invoice.customer.name)
                print(invoice.lines.all())
                print(invoice.notes.count("x"), invoice.meta.get("a"))
                print(invoice.payment_set.first())
        """)
    assert lines(findings) == [7, 9]


@pytest.mark.parametrize(
    "loop",
    [
        "for row in Post.objects.values('title', 'topic__title'):\n        print(row['topic'].forum)",
        "for title, topic in Post.objects.values_list('title', 'topic'):\n        print(topic.forum)",
        "for post in posts:\n        print(post.topic.forum)",
        "for post in [Post(title='x')]:\n        print(post.topic)",
        "for post in Post.objects.all():\n        post.topic = None\n        post.save()",
        "for post in Post.objects.all():\n        post.tags.add(1)\n        post.tags.set([])",
        "for post in Post.objects.all():\n        post.tags.filter(name='x').delete()\n        post.reply_set.all().update(body='')",
        "for post in Post.objects.prefetch_related(*lookups):\n        print(post.topic.forum, post.tags.all())",
        "for post in Post.objects.select_related():\n        print(post.topic.forum)",
        "posts = list(Post.objects.all())\n    prefetch_related_objects(posts, 'topic__forum')\n    for post in posts:\n        print(post.topic.forum)",
        "for post in Post.objects.all():\n        post.topic = topic\n        print(post.topic.title)",
        "last = None\n    for post in Post.objects.order_by('topic_id'):\n        if last != post.topic_id:\n            print(post.topic.title)\n            last = post.topic_id",
    ],
)
def test_look_alikes_stay_silent(loop: str) -> None:
    code = f"from forum.models import Post\n\n\ndef index(request, posts, lookups, topic):\n    {loop}\n"
    assert check(code) == []


def test_tests_and_migrations_are_not_checked() -> None:
    code = """
        from forum.models import Post

        def test_titles():
            assert [p.topic.title for p in Post.objects.all()]
        """
    assert check(code, path="forum/tests/test_views.py") == []
    assert check(code, path="forum/migrations/0002_data.py") == []
    assert check(code, path="forum/tests.py") == []


def test_a_data_migration_body_outside_the_migrations_folder_is_not_checked() -> None:
    code = """
        from forum.models import Post

        def reparent_posts(apps):
            Post = apps.get_model("forum", "Post")
            if Post.objects.filter(title="").exists():
                print(f"{Post.objects.filter(title='').count()} untitled posts")
            for post in Post.objects.all():
                post.title = post.topic.title

        def titles(apps_list):
            return [p.topic.title for p in Post.objects.all()]  # RP401

        def untitled(request):
            if Post.objects.filter(title="").exists():  # RP402
                return Post.objects.filter(title="").count()
            return 0
        """
    # nautobot's ipam/utils/migrations.py: RunPython bodies that take the migration's `apps`, run once
    source = textwrap.dedent(code)
    expected = [i for i, line in enumerate(source.splitlines(), 1) if "# RP40" in line]
    findings = check(code, path="forum/utils/migrations.py") + check(
        code, path="forum/utils/migrations.py", select="RP402"
    )
    assert sorted(f.line for f in findings) == expected


def test_repeated_counts_once_per_function_and_model_at_the_first_call() -> None:
    findings = check(
        """
        from forum.models import Post, Topic

        def dashboard(request):
            topics = Topic.objects.count()
            drafts = Post.objects.filter(title="").count()
            total = Post.objects.count()
            tagged = Post.objects.filter(tags__isnull=False).distinct().count()
            sums = Post.objects.exclude(title="").aggregate(n=Count("id"))
            return topics, drafts, total, tagged, sums
        """,
        select="RP402",
    )
    assert lines(findings) == [6]
    assert findings[0].message.startswith("3 `count`/`exists`/`aggregate` queries on `Post` in `dashboard`")


def test_repeated_counts_in_exclusive_branches_stay_silent() -> None:
    assert (
        check(
            """
        from forum.models import Post

        def badge(request, mode):
            if mode == "drafts":
                return Post.objects.filter(title="").count()
            elif mode == "mine":
                n = Post.objects.filter(author=request.user).count()
            else:
                n = Post.objects.count()
            return n
        """,
            select="RP402",
        )
        == []
    )


def test_fallback_count_and_unrelated_exists_guard_stay_silent() -> None:
    assert (
        check(
            """
        from django.db.models import Count
        from forum.models import Post

        def heuristic(topic, request):
            result = Post.objects.filter(topic=topic).aggregate(n=Count("id"))
            if result["n"] < 100:
                result = Post.objects.filter(topic__forum=topic.forum).aggregate(n=Count("id"))
            if Post.objects.filter(author=request.user).exists():
                print("has posts")
            return result
        """,
            select="RP402",
        )
        == []
    )


def test_reading_a_relation_while_assigning_it_is_still_a_query() -> None:
    findings = check("""
        from forum.models import Post

        def copy(request, topics):
            for post in Post.objects.all():
                post.topic = topics[post.topic.pk]
                print(post.topic.title)
        """)
    assert lines(findings) == [6]


@pytest.mark.parametrize(
    "get_model",
    [
        'apps.get_model("forum", "Post")',
        'apps.get_model("forum.Post")',
        'apps.get_model(app_label="forum", model_name="Post")',
    ],
)
def test_models_from_apps_get_model_are_known(get_model: str) -> None:
    # Mayan EDMS reaches its models this way outside migrations, to avoid circular imports.
    findings = check(f"""
        from django.apps import apps

        def index(request):
            Post = {get_model}
            for post in Post.objects.all():
                print(post.topic.title)
        """)
    assert lines(findings) == [7]


@pytest.mark.usefixtures("installed_django")
def test_installed_auth_models_are_known() -> None:
    source = textwrap.dedent("""
        from django.contrib.auth.models import Group, User

        def staff(request):
            for user in User.objects.filter(is_staff=True):
                print(user.username, [g.name for g in user.groups.all()])
            for group in Group.objects.prefetch_related("user_set"):
                print(group.name, group.user_set.count(), group.permissions.exists())
        """)
    context = ProjectContext.from_sources({"staff/views.py": source})
    findings = list(lint(source, "staff/views.py", context, Config(select=("RP401",))).findings)
    assert lines(findings) == [6, 8]
    assert 'prefetch_related("groups")' in findings[0].message
    assert 'annotate(Count("permissions"))' in findings[1].message


# -- RP402: what separates two counts (issue 11) --


def test_rp402_counts_at_different_loop_depths_do_not_pair() -> None:
    code = """
        from forum.models import Post

        def report(topics):
            total = Post.objects.count()
            for topic in topics:
                print(Post.objects.filter(topic=topic).count())
            return total
        """
    assert check(code, select="RP402") == []


def test_rp402_querysets_distinct_on_fields_pair_only_with_the_same_queryset() -> None:
    # tendenci's membership report: new and renewing members counted over `distinct("user__id", ...)`,
    # which `aggregate()` refuses, and where `Count("id", distinct=True)` would count memberships.
    code = """
        from forum.models import Post

        def authors_report(since):
            posts = Post.objects.filter(created__gte=since).distinct("author_id", "topic_id")
            new = posts.filter(edited=False).count()
            edited = posts.filter(edited=True).count()
            return {"new": new, "edited": edited, "again": posts.count(), "any": posts.exists()}

        def totals(since):
            posts = Post.objects.filter(created__gte=since).distinct()
            return posts.filter(edited=False).count(), posts.filter(edited=True).count()
        """
    found = check(code, select="RP402")
    assert [(f.line, "count once and reuse" in f.message) for f in found] == [(8, True), (12, False)]
    assert 'Count("id", distinct=True)' in found[1].message


def test_rp402_count_compared_with_zero_is_an_existence_guard() -> None:
    code = """
        from forum.models import Post

        def badge(user, topic):
            if Post.objects.filter(author=user).count() > 0:
                return Post.objects.filter(topic=topic).count()
            return 0
        """
    assert check(code, select="RP402") == []


def test_rp402_a_write_between_two_counts_separates_them() -> None:
    code = """
        from forum.models import Post

        def purge(user):
            stale = Post.objects.filter(author=user)
            removed = stale.count()
            stale.delete()
            removed += Post.objects.filter(title="").count()
            Post.objects.filter(title="").delete()
            return removed
        """
    assert check(code, select="RP402") == []


def test_rp402_a_branch_ending_in_continue_excludes_the_rest() -> None:
    code = """
        from forum.models import Post

        def counts(users):
            for user in users:
                if user.is_staff:
                    print(Post.objects.count())
                    continue
                print(Post.objects.filter(author=user).count())
        """
    assert check(code, select="RP402") == []


def test_rp402_the_same_queryset_counted_twice_says_reuse_it() -> None:
    code = """
        from forum.models import Post

        def migrate(topic):
            posts = Post.objects.filter(topic=topic)
            print("start", posts.count())
            renumber(posts)
            return {"total": posts.count()}
        """
    [finding] = check(code, select="RP402")
    assert finding.line == 6
    assert finding.message.endswith("it is the same queryset counted again: count once and reuse the number")


def test_rp402_distinct_counts_suggest_a_distinct_count() -> None:
    code = """
        from forum.models import Post

        def stats(user):
            posts = Post.objects.filter(tags__name="django").distinct()
            return posts.count(), posts.filter(author=user).count()
        """
    [finding] = check(code, select="RP402")
    assert 'Count("id", distinct=True' in finding.message


# -- RP401: per-row work that no prefetch serves (issue 11) --


def test_rp401_a_filtered_manager_feeding_writes_is_per_row_work() -> None:
    code = """
        from forum.models import Topic

        def prune(cutoff):
            for topic in Topic.objects.all():
                for post in topic.post_set.filter(title=""):
                    post.delete()
                for post in topic.post_set.all().filter(title="x"):
                    post.title = ""
                    post.save()

        def report():
            for topic in Topic.objects.all():
                print(list(topic.post_set.filter(title="")))  # RP401
        """
    assert lines(check(code)) == [14]


def test_rp401_a_lazy_queryset_handed_to_a_project_function_is_not_read_here() -> None:
    code = """
        from forum.models import Topic

        def recount(organisation):
            for topic in Topic.objects.filter(forum__name=organisation):
                start_job(update_counters, topic.post_set.all())
        """
    assert check(code) == []


def test_rp401_querysets_combined_with_a_bar_run_once_later() -> None:
    # Saleor's `collect_categories_tree_products`: each row's queryset is OR-ed into one, run once
    # after the loop. Reading each row's posts in the loop is still one query per row.
    code = """
        from forum.models import Post, Topic

        def posts_of(forum):
            posts = Post.objects.none()
            for topic in Topic.objects.filter(forum=forum):
                posts = posts | topic.post_set.all()
            return posts.values_list("id", flat=True)

        def counts(forum):
            return [len(topic.post_set.all()) for topic in Topic.objects.filter(forum=forum)]
        """
    assert lines(check(code)) == [11]


def test_rp401_a_second_loop_over_the_same_rows_finds_the_foreign_key_fetched() -> None:
    # A queryset evaluates once: the second loop gets the same rows, each holding the author the
    # first loop fetched. Its managers are not cached that way, and another queryset is new rows.
    findings = check("""
        from forum.models import Post

        def export(request):
            posts = Post.objects.filter(topic__forum_id=1)
            rows = []
            for post in posts:
                rows.append((post.author.email, post.tags.count()))
            rows += [(post.title, post.author.username) for post in posts]
            return rows

        def reassigned(request):
            posts = Post.objects.filter(topic__forum_id=1)
            for post in posts:
                print(post.author.email)
            posts = Post.objects.filter(topic__forum_id=2)
            for post in posts:
                print(post.author.email)
    """)
    assert [(f.line, f.message.split("`")[1]) for f in findings] == [
        (8, "post.author"),
        (8, "post.tags.count()"),
        (15, "post.author"),
        (18, "post.author"),
    ]


def test_rp401_a_comprehension_over_a_name_bound_twice_in_the_function() -> None:
    # The comprehension reads the binding the traversal has reached, as a `for` loop does, not the
    # name's first or last binding in the function (the rows of a queryset, not None or a list).
    findings = check("""
        from forum.models import Post

        def export(request):
            posts = Post.objects.filter(topic__forum_id=1)
            rows = [(post.title, post.author.email) for post in posts]
            posts = None
            return rows

        def mine(request):
            posts = Post.objects.all()
            if request.GET.get("mine"):
                posts = posts.filter(author=request.user)
            titles = {post.pk: post.topic.title for post in posts}
            posts = list(titles)
            return titles, sum(len(post.author.username) for post in Post.objects.all())
    """)
    assert [(f.line, f.message.split("`")[1]) for f in findings] == [
        (6, "post.author"),
        (14, "post.topic"),
        (16, "post.author"),
    ]


def test_rp401_an_empty_queryset_in_the_other_branch_leaves_the_loaded_one() -> None:
    # pretix's typeahead: the rows come from the queryset with `select_related`, or from none at all.
    # Without the select_related, the other branch's empty queryset hides nothing.
    findings = check("""
        from forum.models import Post

        def search(request, query):
            if query:
                posts = Post.objects.filter(title__startswith=query).select_related("author")
            else:
                posts = Post.objects.none()
            hits = []
            for post in posts:
                hits.append(post.author.username)
            return hits

        def unloaded(request, query):
            if query:
                posts = Post.objects.filter(title__startswith=query)
            else:
                posts = Post.objects.none()
            return [post.author.username for post in posts.order_by("id")]
    """)
    assert lines(findings) == [19]


def test_a_parameter_of_an_enclosing_function_hides_the_model() -> None:
    """Resolved by the semantic model: `Post` handed to the outer function (a proxy or a stand-in)
    hides the imported model in the nested function too, as Python reads it."""
    code = """
        from forum.models import Post

        def titles_by(Post, authors):
            def titles(author):
                return [p.topic.title for p in Post.objects.filter(author=author)]
            return {a.pk: titles(a) for a in authors}

        def all_titles():
            return [p.topic.title for p in Post.objects.all()]
        """
    assert lines(check(code)) == [10]


def test_a_loop_reached_only_through_request_user_is_still_checked() -> None:
    """`request.user` is one of the places a row comes from: the pre-check keeps such a view."""
    findings = check("""
        def my_posts(request):
            for post in request.user.post_set.all():
                print(post.topic.title)
        """)
    assert lines(findings) == [4]


@pytest.mark.parametrize(
    ("source", "may"),
    [
        ("for post in Post.objects.all():\n    post.topic", True),
        ("for post in Post.published.all():\n    post.topic", True),  # a custom manager of the project
        ("for post in self.get_queryset():\n    post.topic", True),
        ("topic = get_object_or_404(Topic, pk=pk)", True),
        ("for post in request .user.post_set.all():\n    post.topic", True),
        # rows handed in by the caller, a dict's `objects`-free loop, `users` and `user_id`: nothing to follow
        ("def titles(posts):\n    for post in posts:\n        yield post.topic.title\n", False),
        ("for user_id, users in groups.items():\n    print(request_id, users)\n", False),
    ],
)
def test_query_rules_run_only_where_a_queryset_or_a_row_can_be_named(source: str, may: bool) -> None:
    from review_patterns.checks.queries.helpers import may_reach_rows

    assert may_reach_rows(source, frozenset({"objects", "published"})) is may


def test_a_module_that_names_no_queryset_is_not_parsed_for_the_query_rules() -> None:
    from review_patterns.checks.queries.n_plus_one_in_loop import NPlusOneInLoop
    from review_patterns.syntax.files import SourceFile

    source = "def titles(posts):\n    for post in posts:\n        yield post.topic.title\n"
    context = ProjectContext.from_sources({"forum/models.py": MODELS, "forum/services.py": source})
    assert not NPlusOneInLoop(SourceFile("forum/services.py", source), context).active
    imported = source.replace("posts:", "topic:").replace("in posts", "in topic.post_set.all()")
    assert not NPlusOneInLoop(SourceFile("forum/services.py", imported), context).active  # a parameter's relation


@pytest.mark.parametrize(
    ("source", "applies"),
    [
        ("n = Post.objects.count()\nif Post.objects.filter(topic=t).exists():\n    pass\n", True),
        ("total = (Post.objects\n    .count())\nshown = Post.objects.filter(hidden=False).count()\n", True),
        # one query in the file: nothing to pair it with (`.counter`, `.exists_in` are other names)
        ("n = Post.objects.count()\nstats.counter += n\nregistry.exists_in(n)\n", False),
    ],
)
def test_rp402_runs_only_where_two_counting_calls_are_written(source: str, applies: bool) -> None:
    from review_patterns.checks.queries.repeated_count_queries import RepeatedCountQueries
    from review_patterns.syntax.files import SourceFile

    assert RepeatedCountQueries.applies_to(SourceFile("forum/views.py", source)) is applies


def test_a_field_class_named_like_a_relation_is_read_where_the_project_defines_it() -> None:
    """Sentry's `HybridCloudForeignKey` holds an id across silos: a `BigIntegerField`, read without a
    query; its `FlexibleForeignKey` is a `ForeignKey`. The name alone says neither."""
    files = {
        "core/fields.py": """
            from django.db import models

            class HybridCloudForeignKey(models.BigIntegerField):
                def __init__(self, to, on_delete, **kwargs):
                    super().__init__(**kwargs)

            class FlexibleForeignKey(models.ForeignKey):
                pass
            """,
        "core/models.py": """
            from django.db import models

            from core.fields import FlexibleForeignKey, HybridCloudForeignKey

            class Team(models.Model):
                name = models.CharField(max_length=64)

            class Member(models.Model):
                user_id = HybridCloudForeignKey("auth.User", on_delete="CASCADE")
                team = FlexibleForeignKey(Team, on_delete=models.CASCADE)
            """,
        "core/views.py": """
            from core.models import Member

            def roster(request):
                return [(m.user_id, m.team.name) for m in Member.objects.all()]
            """,
    }
    sources = {path: textwrap.dedent(text) for path, text in files.items()}
    member = ProjectContext.from_sources(sources).models.get("core.Member")
    assert member is not None
    assert member.fields["user_id"] == "BigIntegerField" and "user_id" not in member.relations
    assert member.relations["team"].field == "ForeignKey"
    result = lint(
        sources["core/views.py"], "core/views.py", ProjectContext.from_sources(sources), Config(select=("RP401",))
    )
    assert [(f.line, f.message.split("`")[1]) for f in result.findings] == [(5, "m.team")]
