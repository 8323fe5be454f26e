"""The model index: models read statically from the project and from installed packages."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES

from review_patterns import Config, ProjectContext, lint_paths
from review_patterns.project import models as model_index
from review_patterns.project.models import ModelIndex, without_function_bodies

PROJECT = FIXTURES / "nplusone_project"


@pytest.fixture(scope="module")
def index() -> ModelIndex:
    return ProjectContext(root=PROJECT).models


def project(files: dict[str, str]) -> ModelIndex:
    return ProjectContext.from_sources({p: textwrap.dedent(t) for p, t in files.items()}).models


def own(index: ModelIndex) -> set[str]:
    """The labels of the project's models: Django's own are always known (installed or shipped)."""
    return {label for label in index.models if not label.startswith(("auth.", "contenttypes."))}


def relation(index: ModelIndex, label: str, name: str) -> tuple[str, str | None, bool] | None:
    model = index.get(label)
    assert model is not None, label
    found = index.relation(model, name)
    return None if found is None else (found.field, found.target, found.many)


def test_models_across_files_and_packages_are_indexed_by_app_label(index: ModelIndex) -> None:
    assert {
        "users.User",
        "users.Profile",
        "users.Badge",
        "blog.Post",
        "blog.Tag",
        "blog.Category",
        "blog.Comment",
        "blog.Flag",
        "blog.TimeStamped",
        "forum.Forum",
        "forum.Topic",
        "forum.PinnedTopic",
        "forum.Announcement",
        "forum.Reply",
    } <= set(index.models)
    post = index.get("blog.Post")
    assert post is not None and post.module == "blog.models.post" and post.path == "blog/models/post.py"
    assert "PublishedManager" not in {m.name for m in index.by_name_values()}  # a manager, not a model


def test_auth_user_model_is_read_from_settings(index: ModelIndex) -> None:
    assert index.auth_user_model == "users.User"
    assert relation(index, "blog.Post", "author") == ("ForeignKey", "users.User", False)


@pytest.mark.parametrize(
    ("label", "name", "expected"),
    [
        ("blog.Post", "category", ("ForeignKey", "blog.Category", False)),  # "Model" in the same app
        ("blog.Comment", "post", ("ForeignKey", "blog.Post", False)),  # "app.Model"
        ("blog.Category", "parent", ("ForeignKey", "blog.Category", False)),  # "self"
        ("blog.Post", "tags", ("ManyToManyField", "blog.Tag", True)),  # a class
        ("forum.Topic", "starter", ("ForeignKey", "users.User", False)),  # an imported class
        ("users.Profile", "user", ("OneToOneField", "users.User", False)),
        ("blog.Flag", "target", ("GenericForeignKey", None, False)),
    ],
)
def test_forward_relations_resolve_every_target_form(
    index: ModelIndex, label: str, name: str, expected: tuple[str, str | None, bool]
) -> None:
    assert relation(index, label, name) == expected


@pytest.mark.parametrize(
    ("label", "name", "expected"),
    [
        ("users.User", "posts", ("reverse ForeignKey", "blog.Post", True)),  # related_name
        ("users.User", "comment_set", ("reverse ForeignKey", "blog.Comment", True)),  # default <model>_set
        ("users.User", "profile", ("reverse OneToOneField", "users.Profile", False)),  # one-to-one reverse
        ("users.User", "badges", ("reverse ManyToManyField", "users.Badge", True)),
        ("users.User", "blog_post_created", ("reverse ForeignKey", "blog.Post", True)),  # %(app_label)s_%(class)s
        ("blog.Tag", "posts", ("reverse ManyToManyField", "blog.Post", True)),
        ("forum.Topic", "reply_set", ("reverse ForeignKey", "forum.Reply", True)),
        ("forum.Topic", "announcement", ("reverse OneToOneField", "forum.Announcement", False)),  # multi-table child
    ],
)
def test_reverse_accessors(index: ModelIndex, label: str, name: str, expected: tuple[str, str | None, bool]) -> None:
    assert relation(index, label, name) == expected


def test_related_name_plus_creates_no_accessor(index: ModelIndex) -> None:
    user = index.get("users.User")
    comment = index.get("blog.Comment")
    assert user is not None and comment is not None
    assert not any(
        r.target == "blog.Post" and r.name.startswith("post") and r.name != "posts" for r in user.reverse.values()
    )
    assert "comment_set" not in comment.reverse and "comment" not in comment.reverse
    assert "post_set" not in user.reverse  # editors: related_name="+"


def test_inheritance(index: ModelIndex) -> None:
    # Abstract base: the field is inherited, and its reverse accessor names the concrete model.
    assert relation(index, "blog.Post", "created_by") == ("ForeignKey", "users.User", False)
    assert "blog_timestamped_created" not in index.get("users.User").reverse  # type: ignore[union-attr]
    assert index.get("blog.TimeStamped").abstract  # type: ignore[union-attr]
    # Multi-table: the child reaches the parent's relations and reverse accessors, and links to it.
    assert relation(index, "forum.Announcement", "forum") == ("ForeignKey", "forum.Forum", False)
    assert relation(index, "forum.Announcement", "reply_set") == ("reverse ForeignKey", "forum.Reply", True)
    assert relation(index, "forum.Announcement", "topic_ptr") == ("OneToOneField", "forum.Topic", False)
    # Proxy: same relations, no parent link.
    pinned = index.get("forum.PinnedTopic")
    assert pinned is not None and pinned.proxy
    assert relation(index, "forum.PinnedTopic", "starter") == ("ForeignKey", "users.User", False)
    assert relation(index, "forum.PinnedTopic", "topic_ptr") is None
    assert index.has_field(pinned, "title") and index.has_field(pinned, "starter_id")


def test_fields_and_managers(index: ModelIndex) -> None:
    post = index.get("blog.Post")
    assert post is not None
    assert post.fields["title"] == "CharField" and "author_id" in post.fields
    assert index.has_field(post, "created")  # from the abstract base
    assert {"objects", "live", "_default_manager"} <= index.managers(post)


def test_lookup_by_qualified_name(index: ModelIndex) -> None:
    post = index.get("blog.Post")
    assert index.lookup("blog.models.Post") is post  # re-exported by the models package
    assert index.lookup("blog.models.post.Post") is post
    assert index.lookup("home.me.site.blog.models.Post") is post  # a file checked by its absolute path
    assert index.lookup("Post", "blog/models/post.py") is post  # a bare name in its own module
    assert index.lookup("Post", "blog/views.py") is None
    assert index.lookup("forum.models.Post") is None


def test_app_label_from_app_config_and_meta() -> None:
    index = project(
        {
            "src/shop/apps.py": """
            from django.apps import AppConfig

            class ShopConfig(AppConfig):
                name = "shop"
                label = "shopcore"
            """,
            "src/shop/models.py": """
            from django.db import models

            class Order(models.Model):
                pass

            class Legacy(models.Model):
                order = models.ForeignKey("shopcore.Order", models.CASCADE)

                class Meta:
                    app_label = "archive"
            """,
        }
    )
    assert own(index) == {"shopcore.Order", "archive.Legacy"}
    assert relation(index, "archive.Legacy", "order") == ("ForeignKey", "shopcore.Order", False)
    assert relation(index, "shopcore.Order", "legacy_set") == ("reverse ForeignKey", "archive.Legacy", True)


def test_app_label_from_an_app_config_in_the_package_init() -> None:
    # shuup: `AppConfig` beside `default_app_config` in `__init__.py`, as before Django 3.2; no apps.py.
    files = {
        "shop/cms/__init__.py": """
        from django.apps import AppConfig as BaseConfig

        class AppConfig(BaseConfig):
            name = "shop.cms"
            label = "shop_cms"

        default_app_config = __name__ + ".AppConfig"
        """,
        "shop/cms/models.py": """
        from django.db import models

        class Page(models.Model):
            parent = models.ForeignKey("shop_cms.Page", models.CASCADE, null=True, related_name="children")
        """,
    }
    index = project(files)
    assert own(index) == {"shop_cms.Page"}
    assert relation(index, "shop_cms.Page", "children") == ("reverse ForeignKey", "shop_cms.Page", True)
    # A package's __init__.py that does not name AppConfig declares no label.
    files["shop/cms/__init__.py"] = 'default_app_config = "shop.cms.config.CmsConfig"\nlabel = "other"\n'
    assert own(project(files)) == {"cms.Page"}


def test_classes_deriving_from_models_outside_models_modules() -> None:
    index = project(
        {
            "core/base.py": """
            from django.db import models

            class Base(models.Model):
                class Meta:
                    abstract = True
            """,
            "core/documents.py": """
            from core.base import Base
            from django.db import models

            class Document(Base):
                owner = models.ForeignKey("auth.User", models.CASCADE, related_name="documents")
            """,
            "core/forms.py": """
            from django import forms

            class DocumentForm(forms.ModelForm):
                title = forms.CharField()
            """,
        }
    )
    assert own(index) == {"core.Base", "core.Document"}


FAKE_DJANGO = {
    "django/__init__.py": "",
    "django/apps/__init__.py": "",
    "django/db/__init__.py": "",
    "django/db/models/__init__.py": "from django.db.models.base import Model\nfrom django.db.models.fields import *\n",
    "django/db/models/base.py": "raise ImportError('the index must never import')\nclass Model:\n    pass\n",
    "django/db/models/fields.py": "class Field:\n    pass\n",
    "django/contrib/__init__.py": "",
    "django/contrib/auth/__init__.py": "",
    "django/contrib/auth/apps.py": "from django.apps import AppConfig\n\nclass AuthConfig(AppConfig):\n    name = 'django.contrib.auth'\n",
    "django/contrib/auth/base_user.py": """
        from django.db import models

        class AbstractBaseUser(models.Model):
            password = models.CharField(max_length=128)

            class Meta:
                abstract = True
        """,
    "django/contrib/auth/models.py": """
        from django.contrib.auth.base_user import AbstractBaseUser
        from django.db import models

        class Permission(models.Model):
            codename = models.CharField(max_length=100)

        class Group(models.Model):
            name = models.CharField(max_length=150)
            permissions = models.ManyToManyField(Permission, blank=True)

        class PermissionsMixin(models.Model):
            groups = models.ManyToManyField(Group, related_name="user_set", related_query_name="user")

            class Meta:
                abstract = True

        class AbstractUser(AbstractBaseUser, PermissionsMixin):
            username = models.CharField(max_length=150)

            class Meta:
                abstract = True

        class User(AbstractUser):
            class Meta:
                swappable = "AUTH_USER_MODEL"
        """,
}


@pytest.fixture
def installed_django(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Django stand-in installed along sys.path: CI may not have Django."""
    site = tmp_path / "site"
    for path, text in FAKE_DJANGO.items():
        file = site / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_installed_packages_are_read_without_importing(installed_django: Path) -> None:
    index = project(
        {
            "manage.py": "",
            "library/models.py": """
            from django.contrib.auth.models import Group, User
            from django.db import models

            class Loan(models.Model):
                borrower = models.ForeignKey(User, models.CASCADE, related_name="loans")
                team = models.ForeignKey(Group, models.CASCADE)
            """,
        }
    )
    imported = [
        m for m in list(sys.modules.values()) if str(getattr(m, "__file__", "")).startswith(str(installed_django))
    ]
    assert not imported
    assert {"auth.User", "auth.Group", "auth.Permission", "library.Loan"} <= set(index.models)
    assert index.auth_user_model == "auth.User"
    user = index.get("auth.User")
    assert user is not None and user.complete and user.path.startswith(installed_django.as_posix())
    assert relation(index, "auth.User", "groups") == ("ManyToManyField", "auth.Group", True)
    assert relation(index, "auth.User", "loans") == ("reverse ForeignKey", "library.Loan", True)
    assert relation(index, "auth.Group", "loan_set") == ("reverse ForeignKey", "library.Loan", True)
    assert relation(index, "auth.Group", "user_set") == ("reverse ManyToManyField", "auth.User", True)
    assert index.has_field(user, "password")  # from a base in another installed module


def test_project_user_model_inherits_from_installed_django(installed_django: Path, index: ModelIndex) -> None:
    fresh = ProjectContext(root=PROJECT).models
    user = fresh.get("users.User")
    assert user is not None and user.complete
    assert relation(fresh, "users.User", "groups") == ("ManyToManyField", "auth.Group", True)
    # Without Django installed, the description of Django's models shipped with the linter stands in.
    assert index.get("users.User").complete  # type: ignore[union-attr]
    assert relation(index, "users.User", "groups") == ("ManyToManyField", "auth.Group", True)


def test_index_is_built_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    builds = []
    original = ModelIndex._build

    def counting(self: ModelIndex) -> None:
        builds.append(1)
        original(self)

    monkeypatch.setattr(ModelIndex, "_build", counting)
    report = lint_paths([PROJECT], Config(select=("RP401", "RP402")), cwd=PROJECT)
    assert len(report.files) > 10
    assert builds == [1]


def test_unreadable_models_modules_are_skipped() -> None:
    index = project(
        {
            "app/models.py": "class Broken(models.Model:\n",
            "other/models.py": "from django.db import models\n\nclass Fine(models.Model):\n    pass\n",
        }
    )
    assert own(index) == {"other.Fine"}


def test_a_class_of_a_models_module_with_an_unread_base_is_taken_for_a_model_unless_the_base_is_known() -> None:
    """Where the project's packages are not installed (pre-commit), a class of a models module with
    fields and an unread base may be a model; a DRF serializer kept in a `models/` package (Sentry's
    `api/serializers/models/`) is not, nor is what derives from it."""
    files = {
        "billing/models.py": """
            from django.db import models
            from model_utils.models import TimeStampedModel
            from vendor.base import Tracked

            class Invoice(TimeStampedModel):
                total = models.DecimalField(max_digits=9, decimal_places=2)

            class Payment(Tracked):
                invoice = models.ForeignKey(Invoice, models.CASCADE, related_name="payments")
            """,
        "api/serializers/models/invoice.py": """
            from rest_framework import serializers

            class BaseInvoiceSerializer(serializers.Serializer):
                total = serializers.DecimalField(max_digits=9, decimal_places=2)
            """,
        "api/endpoints/invoice_details.py": """
            from api.serializers.models.invoice import BaseInvoiceSerializer
            from rest_framework import serializers

            class InvoiceSerializer(BaseInvoiceSerializer):
                note = serializers.CharField()
            """,
    }
    sources = {path: textwrap.dedent(text) for path, text in files.items()}
    index = ModelIndex(sorted(sources), sources.get, search=[])
    assert own(index) == {"billing.Invoice", "billing.Payment"}
    assert relation(index, "billing.Invoice", "payments") == ("reverse ForeignKey", "billing.Payment", True)
    assert not index.by_name.get("BaseInvoiceSerializer") and not index.by_name.get("InvoiceSerializer")


def test_without_function_bodies_keeps_what_the_index_reads() -> None:
    source = textwrap.dedent('''
        from django.db import models

        class Post(models.Model):
            title = models.CharField(
                max_length=200,
            )

            @property
            def slug(
                self,
            ) -> str:
                text = """
        not indented
        """
                return text

            @admin.display(
                description="x",
            )
            def shown(self): return 1
            author = models.ForeignKey("auth.User", models.CASCADE)

        def helper():
            pass
        ''')
    pruned = without_function_bodies(source)
    assert pruned is not None
    assert "title = models.CharField(" in pruned and 'author = models.ForeignKey("auth.User"' in pruned
    assert "return 1" not in pruned and "@property" not in pruned
    # The docstring at column 0 breaks the pruned text: the module is then parsed whole.
    module = model_index.Module.parse("blog.models", "blog/models.py", source)
    assert module is not None and "Post" in module.classes
    post = module.classes["Post"]
    assert post is not None
    body = post.body
    assert [type(s).__name__ for s in body if type(s).__name__ == "Assign"] == ["Assign", "Assign"]


def test_a_model_read_only_while_resolving_a_relation_gets_its_own_relations_resolved() -> None:
    # `Author` lives in a module the index reads only when `Book.author` is resolved (its base is
    # imported under another name, so nothing on its class line says "model"). Reading it while the
    # relations are resolved once crashed the run ("dictionary changed size during iteration"); a
    # snapshot then left Author's own relations unresolved.
    index = project(
        {
            "library/__init__.py": "",
            "library/base.py": """
                from django.db import models

                class Named(models.Model):
                    name = models.CharField(max_length=50)

                    class Meta:
                        abstract = True
            """,
            "library/people.py": """
                from django.db import models
                from library.base import Named as Base

                class Author(Base):
                    publisher = models.ForeignKey("library.Publisher", on_delete=models.CASCADE)
            """,
            "library/models.py": """
                from django.db import models
                from library.people import Author

                class Publisher(models.Model):
                    name = models.CharField(max_length=50)

                class Book(models.Model):
                    author = models.ForeignKey(Author, on_delete=models.CASCADE)
            """,
        }
    )
    assert relation(index, "library.Book", "author") == ("ForeignKey", "library.Author", False)
    assert relation(index, "library.Author", "publisher") == ("ForeignKey", "library.Publisher", False)
    assert relation(index, "library.Publisher", "author_set") == ("reverse ForeignKey", "library.Author", True)
