"""Edge cases of the ORM update rules (RP101, RP102, RP103) beyond their examples."""

from __future__ import annotations

import textwrap

import pytest
from conftest import markers

from review_patterns import Config, ProjectContext, lint
from review_patterns.checks.orm.unknown_orm_method import INSTANCE_TYPOS, QUERYSET_TYPOS


def check(
    code: str, source: str, path: str = "forum/views.py", context: ProjectContext | None = None
) -> list[tuple[int, str]]:
    """(line, message) of each finding of `code` in `source`."""
    result = lint(textwrap.dedent(source), path, context, Config(select=(code,)))
    assert not any(f.code == "RP002" for f in result.findings), result.findings
    return [(f.line, f.message) for f in result.findings if f.code == code]


def lines(code: str, source: str, **kwargs: object) -> list[int]:
    return [line for line, _ in check(code, source, **kwargs)]  # type: ignore[arg-type]


def expected(source: str) -> list[int]:
    return sorted(line for line, _ in markers(textwrap.dedent(source)))


# -- RP101 --


@pytest.mark.parametrize(
    "imports, f",
    [
        ("from django.db.models import F", "F"),
        ("from django.db.models import F as Fx", "Fx"),
        ("from django.db import models", "models.F"),
        ("import django.db.models", "django.db.models.F"),
        ("from django.db.models.expressions import F", "F"),
        ("from django.db import models as m", "m.F"),
    ],
)
def test_rp101_resolves_f_through_imports(imports: str, f: str) -> None:
    source = f"""
        {imports}

        def like(request, pk):
            post = Post.objects.get(pk=pk)
            post.likes = {f}("likes") + 1
            post.save()  # RP101
            return JsonResponse({{"likes": post.likes}})
        """
    assert lines("RP101", source) == expected(source)


def test_rp101_f_imported_inside_the_function() -> None:
    source = """
        def like(request, pk):
            from django.db.models import F

            post = Post.objects.get(pk=pk)
            post.likes = F("likes") + 1
            post.save()  # RP101
            return render(request, "post.html", {"post": post})
        """
    assert lines("RP101", source) == expected(source)


@pytest.mark.parametrize(
    "header",
    [
        "def F(name):\n    return name\n",  # the project's own F
        "from forum.scoring import F\n",
        "",  # F never imported: a star import or a typo, not provably Django's
        "from django.db.models import F\nfrom forum.scoring import formula\nF = formula\n",
    ],
)
def test_rp101_other_f_is_not_flagged(header: str) -> None:
    source = header + textwrap.dedent("""
        def like(request, pk):
            post = Post.objects.get(pk=pk)
            post.likes = F("likes") + 1
            post.save()
            return JsonResponse({"likes": post.likes})
        """)
    assert lines("RP101", source) == []


def test_rp101_a_local_f_hides_djangos() -> None:
    """Resolved by the semantic model: a parameter or local named `F` is not Django's `F`."""
    source = """
        from django.db.models import F

        def like(request, pk, F=score_of):
            post = Post.objects.get(pk=pk)
            post.likes = F("likes") + 1
            post.save()
            return JsonResponse({"likes": post.likes})

        def share(request, pk):
            post = Post.objects.get(pk=pk)
            post.shares = F("shares") + 1
            post.save()  # RP101
            return JsonResponse({"shares": post.shares})
        """
    assert lines("RP101", source) == expected(source)


@pytest.mark.parametrize(
    "after, flagged",
    [
        ('return JsonResponse({"likes": post.likes})', True),  # reads the F() field
        ("return post", True),
        ("yield post", True),
        ("return [post]", True),
        ("cache.set('post', post)", True),
        ('context["post"] = post', True),  # put in a template context
        ("PostSerializer(instance=post)", True),
        ("comment.post = post", False),  # linked as a foreign key: nothing reads its counters
        ("Notification.objects.create(post=post, user=request.user)", False),
        ("post.save()", True),  # saves the expression again
        ('post.save(update_fields=["likes", "title"])', True),
        ('post.save(update_fields=["title"])', False),  # leaves the expression out
        ("post.likes = F('likes') + 1\n    post.save()", False),  # a new expression, written once
        ("notify_followers(post)", True),  # handed on to be read
        ('return JsonResponse({"title": post.title, "id": post.id, "pk": post.pk})', False),
        ("assert isinstance(post, Post)", False),
        ("return redirect(post)", False),  # only its URL is read
        ("post.likes = 0\n    return post", False),  # a plain value replaces the expression
        ("post.refresh_from_db()\n    return post", False),
        ('post.refresh_from_db(fields=("likes", "title"))\n    return post', False),
        ("post.refresh_from_db(fields=wanted)\n    return post", False),  # not literal: trusted
        ('post.refresh_from_db(fields=["title"])\n    return post', True),
        ("post = Post.objects.get(pk=post.pk)\n    return post", False),  # a fresh object
        ("", False),  # a local never touched again
    ],
)
def test_rp101_uses_after_save(after: str, flagged: bool) -> None:
    source = (
        textwrap.dedent("""\
        from django.db.models import F

        def like(request, pk, wanted=()):
            post = Post.objects.get(pk=pk)
            post.likes = F("likes") + 1
            post.save()
        """)
        + textwrap.indent(after.replace("\n    ", "\n"), "    ")
        + "\n"
    )
    assert lines("RP101", source) == ([6] if flagged else [])


def test_rp101_message_names_the_object_the_fields_and_the_fix() -> None:
    source = """
        from django.db.models import F

        def like(request, pk):
            post = Post.objects.get(pk=pk)
            post.likes = F("likes") + 1
            post.views = F("views") + 1
            post.save()
            return post
        """
    [(line, message)] = check("RP101", source)
    assert line == 8
    assert message == (
        "`post.{likes, views}` still holds F() expressions after `post.save()`; "
        "call `post.refresh_from_db()` before using it again"
    )


def test_rp101_one_finding_per_save_at_that_call() -> None:
    source = """
        from django.db.models import F

        def sell(product, quantity):
            product.stock = F("stock") - quantity
            product.save(
                update_fields=["stock"],
            )  # the finding is on the line of `product.save(`
            return product.stock
        """
    assert lines("RP101", source) == [6]


def test_rp101_queryset_update_by_pk_then_use() -> None:
    source = """
        from django.db.models import F

        def like(request, pk):
            post = get_object_or_404(Post, pk=pk)
            Post.objects.filter(pk=post.pk).update(likes=F("likes") + 1, title="x")  # RP101
            return render(request, "post.html", {"likes": post.likes})

        def rename(request, pk):
            post = get_object_or_404(Post, pk=pk)
            Post.objects.filter(pk=post.pk).update(likes=F("likes") + 1)
            return render(request, "post.html", {"title": post.title})

        def rename_plain(request, pk):
            post = get_object_or_404(Post, pk=pk)
            Post.objects.filter(pk=post.pk).update(title="x")
            return JsonResponse(PostSerializer(post).data)
        """
    assert lines("RP101", source) == expected(source)


def test_rp101_async_save_and_refresh() -> None:
    source = """
        from django.db.models import F

        async def like(request, pk):
            post = await Post.objects.aget(pk=pk)
            post.likes = F("likes") + 1
            await post.asave(update_fields=["likes"])  # RP101
            return JsonResponse({"likes": post.likes})

        async def like_and_reload(request, pk):
            post = await Post.objects.aget(pk=pk)
            post.likes = F("likes") + 1
            await post.asave(update_fields=["likes"])
            await post.arefresh_from_db(fields=["likes"])
            return JsonResponse({"likes": post.likes})
        """
    assert lines("RP101", source) == expected(source)


def test_rp101_nested_function_has_its_own_scope() -> None:
    source = """
        from django.db.models import F

        def like(request, pk):
            post = Post.objects.get(pk=pk)

            def bump():
                post.likes = F("likes") + 1
                post.save()  # RP101
                return post.likes

            post.likes = F("likes") + 1
            post.save()
            bump()
            return HttpResponse(status=204)
        """
    # The outer save is not used by the outer function: what `bump` reads is `bump`'s business.
    assert lines("RP101", source) == expected(source)


def test_rp101_outliving_the_function_is_not_a_use() -> None:
    """The object keeps the expression after the function, but nothing here reads it: the caller's
    next use is what matters, and for the counter idiom there usually is none (issue 11)."""
    source = """
        from django.db import models
        from django.db.models import F

        class Post(models.Model):
            views = models.IntegerField(default=0)

            def add_view(self):
                self.views = models.F("views") + 1
                self.save(update_fields=["views"])

        def award_karma(badge, points):
            badge.karma = F("karma") + points
            badge.save(update_fields=["karma"])

        class CommentViewSet(ModelViewSet):
            def perform_update(self, serializer):
                comment = serializer.save()  # DRF renders `serializer.data` from it afterwards
                comment.score = F("score") + 1
                comment.save(update_fields=["score"])  # RP101
        """
    assert lines("RP101", source, path="forum/models.py") == expected(source)


@pytest.mark.parametrize(
    "requirements, flagged",
    [
        ({}, True),  # unknown: any release
        ({"requirements.txt": "Django==5.2.8\n"}, True),
        ({"requirements.txt": "Django>=5.2,<6.1\n"}, True),  # may run on 5.2
        ({"requirements.txt": "Django==6.0.1\n"}, False),
        ({"pyproject.toml": '[project]\ndependencies = ["django>=6.0"]\n'}, False),
    ],
)
def test_rp101_save_form_depends_on_the_django_version(requirements: dict[str, str], flagged: bool) -> None:
    """Django 6.0 reloads fields assigned expressions after `save()`; a queryset `update()` still leaves
    the held instance stale on every version."""
    source = textwrap.dedent("""        from django.db.models import F

        def like(request, pk):
            post = Post.objects.get(pk=pk)
            post.likes = F("likes") + 1
            post.save()
            Post.objects.filter(pk=post.pk).update(views=F("views") + 1)
            return JsonResponse({"likes": post.likes, "views": post.views})
        """)
    context = ProjectContext.from_sources({"forum/views.py": source, **requirements})
    assert lines("RP101", source, context=context) == ([6, 7] if flagged else [7])


def test_rp101_django_version_setting_overrides_the_project() -> None:
    source = textwrap.dedent("""        from django.db.models import F

        def like(request, pk):
            post = Post.objects.get(pk=pk)
            post.likes = F("likes") + 1
            post.save()
            return JsonResponse({"likes": post.likes})
        """)
    declared = {"forum/views.py": source, "requirements.txt": "Django==4.2\n"}
    for version, found in (((6, 0), []), ((5, 2), [6])):
        result = lint(source, "forum/views.py", None, Config(select=("RP101",), django_version=version))
        assert [f.line for f in result.findings] == found
    context = ProjectContext.from_sources(declared, django_version=(6, 0))
    assert lines("RP101", source, context=context) == []


def test_rp101_saved_in_one_branch_used_in_the_other() -> None:
    source = """
        from django.db.models import F

        def like(request, pk):
            post = Post.objects.get(pk=pk)
            if request.user.is_staff:
                post.likes = F("likes") + 1
                post.save()
            elif request.user.is_anonymous:
                messages.info(request, post.likes)
            else:
                return JsonResponse(PostSerializer(post).data)
            return HttpResponse(status=204)
        """
    assert lines("RP101", source) == []


def test_rp101_use_after_the_if_is_reachable() -> None:
    source = """
        from django.db.models import F

        def like(request, pk):
            post = Post.objects.get(pk=pk)
            if request.user.is_staff:
                post.likes = F("likes") + 1
                post.save()  # RP101
            return JsonResponse(PostSerializer(post).data)
        """
    assert lines("RP101", source) == expected(source)


# -- RP102 --


@pytest.mark.parametrize("wrong, right", sorted(QUERYSET_TYPOS.items()))
def test_rp102_each_queryset_typo_names_the_right_method(wrong: str, right: str) -> None:
    [(line, message)] = check("RP102", f"Post.objects.filter(published=True).{wrong}()\n")
    assert line == 1
    assert message == f"`.{wrong}()` is not a Django queryset method; use `.{right}()`"


@pytest.mark.parametrize("wrong, right", sorted(INSTANCE_TYPOS.items()))
def test_rp102_each_instance_typo_names_the_right_method(wrong: str, right: str) -> None:
    [(_, message)] = check("RP102", f"def f(post):\n    post.{wrong}()\n")
    assert message == f"`.{wrong}()` is not a Django model method; use `.{right}()`"


def test_rp102_method_defined_later_in_the_same_file_without_context() -> None:
    source = """
        def clear(product):
            Review.objects.filter(product=product).delete_all()

        class ReviewQuerySet(models.QuerySet):
            def delete_all(self):
                return self.delete()
        """
    assert lines("RP102", source, context=ProjectContext.empty()) == []


def test_rp102_method_defined_elsewhere_in_the_project() -> None:
    context = ProjectContext.from_sources(
        {"forum/managers.py": "class M:\n    def filter_by(self, **kw):\n        pass\n"}
    )
    assert lines("RP102", "Post.objects.filter_by(author=user)\n", context=context) == []
    assert lines("RP102", "Post.objects.filter_by(author=user)\n", context=ProjectContext.empty()) == [1]


@pytest.mark.parametrize(
    "call",
    [
        "session.query(User).filter_by(name=name)",  # SQLAlchemy
        "session.query(User).order_by(User.id).filter_by(name=name)",
        "User.select().where(User.active).order(User.id)",  # peewee-like
        "self.order(basket)",
        "basket.order()",
        "sorting.order(items)",
    ],
)
def test_rp102_other_libraries_are_not_flagged(call: str) -> None:
    assert lines("RP102", f"def f(self, session, basket, items, name):\n    return {call}\n") == []


def test_rp102_queryset_held_in_a_local_name() -> None:
    source = """
        def top(request):
            reviews = Review.objects.select_related("product")
            best = reviews.filter(upvotes__gt=10)
            return best.order("-upvotes")  # RP102
        """
    assert lines("RP102", source) == expected(source)


# -- RP103 --


@pytest.mark.parametrize(
    "change",
    [
        "badge.karma += 1",
        "badge.karma -= points",
        "badge.karma = badge.karma + 1",
        "badge.karma = 1 + badge.karma",
        "badge.karma = badge.karma - points * 2",
        "badge.karma = max(0, badge.karma - points)",
        "badge.karma = min(100, badge.karma + points)",
        "badge.karma += order.lines.count()",
    ],
)
def test_rp103_read_modify_write(change: str) -> None:
    source = f"""
        def reward(user, points, order):
            badge = Badge.objects.get(user=user)
            {change}
            badge.save()
        """
    assert lines("RP103", source) == [4]


@pytest.mark.parametrize(
    "change",
    [
        "badge.karma = badge.level + 1",  # another field
        "badge.karma = 1 - badge.karma",  # not an increment of itself
        'badge.title += " (gold)"',
        "badge.tags += ['gold']",
        "badge.karma = F('karma') + 1",
        "badge.karma = badge.karma",
        "badge.karma *= 2",
    ],
)
def test_rp103_not_a_counter_update(change: str) -> None:
    source = f"""
        from django.db.models import F

        def reward(user):
            badge = Badge.objects.get(user=user)
            {change}
            badge.save()
        """
    assert lines("RP103", source) == []


def test_rp103_one_race_is_one_finding_at_the_first_change() -> None:
    source = """
        def reward(user):
            badge = Badge.objects.get(user=user)
            badge.karma += 1  # RP103
            badge.level += 1
            badge.save(update_fields=["karma", "level"])
            badge.save()
        """
    [(line, message)] = check("RP103", source)
    assert line == 4 and message.startswith("`badge.{karma, level}` is read, changed in Python and saved")


def test_rp103_row_locked_by_the_caller() -> None:
    """`place_order` locks the vouchers and hands each to `record_usage`: its `self` is locked. The
    offer it reaches through `record_discount` is not, so that race stays."""
    order_utils = """
        from django.db import transaction

        class OrderCreator:
            def place_order(self, basket, order, user):
                with transaction.atomic():
                    for voucher in basket.vouchers.select_for_update():
                        self.record_voucher_usage(order, voucher=voucher)
                    for discount in basket.offer_discounts:
                        discount["offer"].record_usage(discount)

            def record_voucher_usage(self, order, voucher):
                voucher.record_usage(order)
        """
    models = """
        from django.db import models

        class Voucher(models.Model):
            num_orders = models.IntegerField(default=0)

            def record_usage(self, order):
                self.num_orders += 1
                self.save()

        class ConditionalOffer(models.Model):
            num_applications = models.IntegerField(default=0)

            def record_usage(self, discount):
                self.num_applications += discount["freq"]  # RP103
                self.save()
        """
    context = ProjectContext.from_sources(
        {"shop/utils.py": textwrap.dedent(order_utils), "shop/models.py": textwrap.dedent(models)}
    )
    assert lines("RP103", models, path="shop/models.py", context=context) == expected(models)


def test_rp103_row_locked_by_the_caller_reached_through_a_dict_entry() -> None:
    """The transaction keeps the vouchers locked while `place_order` records the discounts: the
    voucher a discount carries under the locked variable's name is one of them. The offer it
    carries is not locked, and neither is a voucher touched before the lock."""
    order_utils = """
        from django.db import transaction

        class OrderCreator:
            def place_order(self, basket, order):
                self.record_discount(basket.early_discount)
                with transaction.atomic():
                    for voucher in basket.vouchers.select_for_update():
                        voucher.check_available()
                    for application in basket.offer_applications:
                        self.record_discount(application)

            def record_discount(self, discount):
                discount["offer"].record_usage(discount)
                if discount.get("voucher"):
                    discount["voucher"].record_discount(discount)
        """
    models = """
        from django.db import models

        class AbstractVoucher(models.Model):
            total_discount = models.DecimalField(max_digits=12, decimal_places=2)

            def record_discount(self, discount):
                self.total_discount += discount["discount"]
                self.save()

        class ConditionalOffer(models.Model):
            num_applications = models.IntegerField(default=0)

            def record_usage(self, discount):
                self.num_applications += discount["freq"]  # RP103
                self.save()
        """
    context = ProjectContext.from_sources(
        {"shop/utils.py": textwrap.dedent(order_utils), "shop/models.py": textwrap.dedent(models)}
    )
    assert lines("RP103", models, path="shop/models.py", context=context) == expected(models)
    unlocked = order_utils.replace("self.record_discount(application)", "pass")
    context = ProjectContext.from_sources(
        {"shop/utils.py": textwrap.dedent(unlocked), "shop/models.py": textwrap.dedent(models)}
    )
    assert len(lines("RP103", models, path="shop/models.py", context=context)) == 2


def test_rp103_locked_rows_and_refreshed_objects() -> None:
    source = """
        def reward(user):
            qs = Badge.objects.select_for_update()
            badge = qs.get(user=user)
            badge.karma += 1
            badge.save()

        def reward_after_reload(user):
            badge = Badge.objects.get(user=user)
            badge.karma += 1
            badge.refresh_from_db()
            badge.save()

        def reward_through_locked_parent(order_id):
            order = Order.objects.select_for_update().select_related("customer").get(pk=order_id)
            customer = order.customer
            customer.loyalty_points += 10
            customer.save()

        def reward_created(user):
            badge = Badge.objects.create(user=user)
            badge.karma += 1
            badge.save()
        """
    assert lines("RP103", source) == []


def test_rp103_total_recomputed_from_scratch() -> None:
    source = """
        def recompute(order):
            order.total = 0
            for line in order.lines.all():
                order.total += line.price * line.quantity
            order.save(update_fields=["total"])

        def add_line(order, line):
            order.total += line.price  # RP103
            order.save(update_fields=["total"])
        """
    assert lines("RP103", source, path="shop/services.py") == expected(source)


def test_rp103_a_row_created_by_a_with_statement() -> None:
    source = """
        def migrate_artifacts(artifacts):
            with ProgressReport(message="Migrating", code="migrate", total=0) as pb:
                pb.total += len(artifacts)
                pb.save()

        async def download_all(artifacts):
            async with ProgressReport(message="Downloading", code="download") as pb:
                for artifact in artifacts:
                    pb.done += await download(artifact)
                    await pb.asave()

        def resume(task_id):
            with transaction.atomic():
                report = ProgressReport.objects.get(task_id=task_id)
                report.done += 1  # RP103
                report.save()

        def count_one(task):
            with progress_of(task) as report:
                report.done += 1  # RP103
                report.save()
        """
    # `with Model(...) as x` binds the new row (pulpcore's ProgressReport saves and returns itself in
    # `__enter__`); a row fetched inside a `with`, or handed back by a helper, may be anyone's
    assert lines("RP103", source, path="core/tasks.py") == expected(source)


def test_rp103_async_save() -> None:
    source = """
        async def reward(user):
            badge = await Badge.objects.aget(user=user)
            badge.karma += 1  # RP103
            await badge.asave()
        """
    assert lines("RP103", source) == expected(source)


def test_rp103_model_save_override_with_super() -> None:
    source = """
        class Post(models.Model):
            def save(self, *args, **kwargs):
                self.revision = self.revision + 1  # RP103
                super().save(*args, **kwargs)
        """
    assert lines("RP103", source, path="forum/models.py") == expected(source)


@pytest.mark.parametrize("path", ["forum/tests.py", "forum/tests/test_badges.py", "forum/migrations/0003_backfill.py"])
def test_rp103_skips_tests_and_migrations(path: str) -> None:
    source = """
        def reward(badge):
            badge.karma += 1
            badge.save()
        """
    assert lines("RP103", source, path=path) == []


@pytest.mark.parametrize(
    ("source", "applies"),
    [
        ("from django.db.models import F\nReview.objects.update(n=F('n') + 1)\n", True),
        ("from django.db import models\nreview.upvotes = models.F('upvotes') + 1\n", True),
        ("from django.db.models import F as Fx\nreview.upvotes = Fx('upvotes') + 1\n", True),
        ("from django.db.models import *\nreview.upvotes = F ('upvotes') + 1\n", True),
        ("from django.db import models\nreview.upvotes += 1\nreview.save()\n", False),
        ("from django.db.models import Func, FloatField\nFunc(F_total)\n", False),
        ("from django.db import models\nn = models.F(\n    'n') + models.F \\\n    ('m')\n", True),
        # `F` in text, not called: a date format, a docstring's grade, an enum member
        ('"""Grades A to F."""\nfrom django.utils import dateformat\ndateformat.format(d, "F j")\nGrade.F\n', False),
    ],
)
def test_rp101_reads_only_files_that_name_django_f(source: str, applies: bool) -> None:
    from review_patterns.checks.orm.f_expression_without_refresh import FExpressionWithoutRefresh
    from review_patterns.syntax.files import SourceFile

    assert FExpressionWithoutRefresh.applies_to(SourceFile("shop/views.py", source)) is applies
