"""The models of Django's contrib apps without Django installed (pre-commit's isolated environment),
and the warning for apps whose models cannot be found."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli

from review_patterns import Config, ProjectContext, lint
from review_patterns.project import models as model_index
from review_patterns.project.models import bundled_django_module

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
        return None if name.split(".")[0] == "django" else find(name)

    monkeypatch.setattr(model_index, "find_installed_module", find_without_django)


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
    assert "project's environment" in warning and "PYTHONPATH" in warning
    assert result.stderr.count("whose models were not found") == 1
    assert [f["line"] for r in report["files"] for f in r["findings"]] == [6, 12]  # contrib models still known
