"""The models of Django's contrib apps without Django installed (pre-commit's isolated environment),
and the warning for apps whose models cannot be found."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli

from review_patterns import Config, ProjectContext, lint
from review_patterns.project import models as model_index
from review_patterns.project import settings as project_settings
from review_patterns.project.contrib import bundled_django_module

APPS = ("auth", "contenttypes", "sessions", "admin", "sites", "flatpages", "redirects")

PROFILES = """\
from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    bio = models.TextField(blank=True)
"""
REPORTS = """\
from django.contrib.auth.models import Permission, User
from django.http import JsonResponse


def user_bios(request):
    return JsonResponse({u.username: u.profile.bio for u in User.objects.filter(is_active=True)})


def permission_apps(request):
    apps = []
    for permission in Permission.objects.all():
        apps.append(permission.content_type.app_label)
    return JsonResponse({"apps": apps})


def permission_apps_joined(request):
    rows = Permission.objects.select_related("content_type")
    return JsonResponse({"apps": [p.content_type.app_label for p in rows]})
"""
SETTINGS = """
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "allauth.account",
    "accounts.apps.AccountsConfig",
]
"""


@pytest.fixture
def without_django(monkeypatch: pytest.MonkeyPatch) -> None:
    """Django not importable, whatever this environment has."""
    find = model_index.find_installed_module

    def find_without_django(name: str, search: object = None) -> Path | None:
        return None if name.split(".")[0] == "django" else find(name, search)  # type: ignore[arg-type]

    monkeypatch.setattr(model_index, "find_installed_module", find_without_django)
    monkeypatch.setattr(project_settings, "find_installed_module", find_without_django)


def test_every_supported_version_describes_the_contrib_apps() -> None:
    data = json.loads((Path(model_index.__file__).parent / "django_contrib.json").read_text())
    assert {"4.2", "5.0", "5.1", "5.2"} <= set(data)
    for version, modules in data.items():
        assert {f"django.contrib.{app}.models" for app in APPS} <= set(modules), version
    assert "class Permission(models.Model)" in data["4.2"]["django.contrib.auth.models"]
    assert "def get_session_store_class" in data["5.2"]["django.contrib.sessions.base_session"]


def test_contrib_models_and_their_relations_without_django(without_django: None) -> None:
    everything = "INSTALLED_APPS = [{}]\n".format(", ".join(f"'django.contrib.{app}'" for app in APPS))
    index = ProjectContext.from_sources(
        {"manage.py": "", "mysite/settings.py": everything, "accounts/models.py": PROFILES}
    ).models
    assert {"auth.User", "auth.Group", "auth.Permission", "contenttypes.ContentType"} <= set(index.models)
    assert {"sessions.Session", "admin.LogEntry", "sites.Site", "flatpages.FlatPage", "redirects.Redirect"} <= set(
        index.models
    )
    user = index.get("auth.User")
    assert user is not None and user.complete  # AbstractUser -> AbstractBaseUser, PermissionsMixin read too
    assert index.relation(user, "groups") is not None and index.relation(user, "profile") is not None
    permission = index.get("auth.Permission")
    assert permission is not None
    found = index.relation(permission, "content_type")
    assert found is not None and found.target == "contenttypes.ContentType"
    assert index.has_field(user, "date_joined") and index.has_field(user, "last_login")
    assert bundled_django_module("django.contrib.auth.models", "4.2") != bundled_django_module(
        "django.contrib.auth.models", "5.2"
    )


def test_n_plus_one_through_contrib_relations_without_django(without_django: None) -> None:
    context = ProjectContext.from_sources(
        {"manage.py": "", "accounts/models.py": PROFILES, "accounts/views.py": REPORTS}
    )
    result = lint(REPORTS, "accounts/views.py", context, Config(select=("RP401",)))
    assert [(f.line, f.message.split(" runs")[0]) for f in result.findings] == [
        (6, "`u.profile`"),
        (12, "`permission.content_type`"),
    ]


def test_apps_whose_models_cannot_be_found_are_named_once(tmp_path: Path) -> None:
    files = {
        "manage.py": "",
        "mysite/__init__.py": "",
        "mysite/settings.py": SETTINGS,
        "accounts/__init__.py": "",
        "accounts/apps.py": "from django.apps import AppConfig\n\nclass AccountsConfig(AppConfig):\n    name = 'accounts'\n",
        "accounts/models.py": PROFILES,
        "accounts/views.py": REPORTS,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip())
    result = run_cli("check", "--select", "RP401", "--format", "json", ".", cwd=tmp_path)
    report = json.loads(result.stdout)
    (warning,) = report["warnings"]
    assert "2 apps whose models were not found: rest_framework, allauth.account" in warning
    assert "project's environment" in warning and "python-path" in warning
    assert result.stderr.count("whose models were not found") == 1
    assert [f["line"] for r in report["files"] for f in r["findings"]] == [6, 12]  # contrib models still known


def test_an_app_config_class_named_outside_apps_py_is_the_app_of_its_module(tmp_path: Path) -> None:
    """`INSTALLED_APPS` may name any `AppConfig` class by its path, such as an admin site's replacing
    `django.contrib.admin`: its module is the project's, so nothing is missing."""
    settings = SETTINGS.replace('"django.contrib.admin",', '"mysite.admin_site.SiteAdminConfig",')
    settings = settings.replace('"rest_framework",', '"billing.config.BillingConfig",')
    files = {
        "manage.py": "",
        "mysite/__init__.py": "",
        "mysite/settings.py": settings,
        "mysite/admin_site.py": "from django.contrib.admin.apps import AdminConfig\n\n"
        "class SiteAdminConfig(AdminConfig):\n    default_site = 'mysite.admin_site.Site'\n",
        "accounts/__init__.py": "",
        "accounts/apps.py": "from django.apps import AppConfig\n\nclass AccountsConfig(AppConfig):\n    name = 'accounts'\n",
        "accounts/models.py": PROFILES,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip())
    report = json.loads(run_cli("check", "--select", "RP401", "--format", "json", ".", cwd=tmp_path).stdout)
    (warning,) = report["warnings"]
    assert "2 apps whose models were not found: billing.config, allauth.account;" in warning


def permissions_mixin_methods(context: ProjectContext) -> set[str]:
    found = context.models.find_class("django.contrib.auth.models.PermissionsMixin")
    assert found is not None
    module, name = found
    node = module.classes[name]
    assert node is not None
    return {n.name for n in node.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize(
    ("declared", "shipped"),
    [
        ("Django==4.2.11", "4.2"),
        ("Django>=5.0,<5.1", "5.0"),
        ("Django~=5.2.8", "5.2"),
        ("Django==3.2.25", "4.2"),  # older than any shipped: the oldest
        ("Django>=6.0", "5.2"),  # newer: the newest shipped before it
        ("djangorestframework==3.16", "5.2"),  # unknown: the newest
    ],
)
def test_the_contrib_models_are_those_of_the_projects_django(without_django: None, declared: str, shipped: str) -> None:
    context = ProjectContext.from_sources({"requirements.txt": declared + "\n", "accounts/models.py": PROFILES})
    assert context.contrib_version == shipped
    methods = permissions_mixin_methods(context)
    # the async permission checks (`ahas_perm`) came with Django 5.2
    assert ("ahas_perm" in methods) == (shipped == "5.2"), methods
    assert "has_perm" in methods


def test_the_django_version_setting_chooses_the_contrib_models(without_django: None) -> None:
    context = ProjectContext.from_sources({"requirements.txt": "Django==5.2\n"}, django_version=(4, 2))
    assert context.contrib_version == "4.2" and "ahas_perm" not in permissions_mixin_methods(context)


LIBRARY_MODELS = """\
from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100)


class Invoice(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    total = models.DecimalField(max_digits=10, decimal_places=2)
"""
INVOICE_VIEWS = """\
from billing.models import Invoice
from django.http import JsonResponse


def invoice_owners(request):
    return JsonResponse({"owners": [invoice.customer.name for invoice in Invoice.objects.all()]})
"""


def test_python_path_finds_apps_outside_the_project(tmp_path: Path) -> None:
    """`billing` lives in a sibling folder (a monorepo's shared library), installed nowhere: the
    warning names it and the setting; with `python-path` its models are known and the N+1 found."""
    library = tmp_path / "libs" / "billing"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text("")
    (library / "models.py").write_text(LIBRARY_MODELS)
    project = tmp_path / "shop"
    (project / "shop").mkdir(parents=True)
    (project / "manage.py").write_text("")
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "settings.py").write_text("INSTALLED_APPS = ['django.contrib.auth', 'billing']\n")
    (project / "shop" / "views.py").write_text(INVOICE_VIEWS)
    (project / "pyproject.toml").write_text("[tool.review-patterns]\nselect = ['RP401']\n")

    before = run_cli("check", "--output-format", "json", ".", cwd=project)  # cached: the setting must invalidate
    report = json.loads(before.stdout)
    (warning,) = report["warnings"]
    assert "models were not found: billing" in warning and "`python-path` setting" in warning
    assert [f for r in report["files"] for f in r["findings"]] == []

    (project / "pyproject.toml").write_text("[tool.review-patterns]\nselect = ['RP401']\npython-path = ['../libs']\n")
    after = run_cli("check", "--output-format", "json", ".", cwd=project)
    report = json.loads(after.stdout)
    assert report["warnings"] == []
    assert [(r["path"], f["line"], f["code"]) for r in report["files"] for f in r["findings"]] == [
        ("shop/views.py", 6, "RP401")
    ]
    shown = run_cli("check", "--show-settings", ".", cwd=project).stdout
    assert f"python-path = [{(tmp_path / 'libs').as_posix()!r}]  # {(project / 'pyproject.toml').as_posix()}:3" in shown


def test_python_path_setting_is_checked(tmp_path: Path) -> None:
    from review_patterns import ALL_RULES
    from review_patterns.core.config import ConfigError, parse_config

    config = parse_config({"python-path": ["../libs", "/opt/apps"]}, root=tmp_path / "shop", rules=ALL_RULES)
    assert config.python_path == (str(tmp_path / "libs"), "/opt/apps")
    assert parse_config({"python-path": "src"}, root=tmp_path, rules=ALL_RULES).python_path == (str(tmp_path / "src"),)
    for bad in (5, [""], [1]):
        with pytest.raises(ConfigError, match="python-path"):
            parse_config({"python-path": bad}, rules=ALL_RULES)
