"""The pre-commit hook, with the real `pre-commit try-repo` on a temporary git repository.

The hook repository is a committed copy of this project, so the test sees the working tree.
It runs by default; it is skipped (saying so) only when pre-commit is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = [
    pytest.mark.precommit,
    pytest.mark.skipif(
        importlib.util.find_spec("pre_commit") is None, reason='pre-commit is not installed: pip install -e ".[test]"'
    ),
]
IDENTITY = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}
GOOD = """from django.http import JsonResponse

from .models import Order


def order_detail(request, pk):
    order = Order.objects.get(pk=pk)
    return JsonResponse({"id": order.pk, "total": str(order.total)})
"""
BAD = GOOD.replace("def order_detail(request, pk):", "def order_detail(request, pk:")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **IDENTITY})


def commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", message)


def test_hook_passes_a_good_commit_and_fails_a_bad_one(tmp_path: Path) -> None:
    hooks = tmp_path / "review-patterns"
    hooks.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hooks / name)
    shutil.copytree(ROOT / "src", hooks / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    git(hooks, "init", "-q")
    commit(hooks, {}, "review-patterns")

    project = tmp_path / "shop-project"
    project.mkdir()
    git(project, "init", "-q")
    # Only RP001 (a file that does not parse, a blocker): the outcome cannot change as rules are added.
    commit(
        project,
        {
            "manage.py": "",
            "pyproject.toml": '[tool.review-patterns]\nselect = ["RP001"]\n',
            "shop/__init__.py": "",
            "shop/models.py": "from django.db import models\n",
        },
        "start",
    )
    commit(project, {"shop/views.py": GOOD}, "good: order detail view")
    commit(project, {"shop/views.py": BAD}, "bad: a typo")

    env = {**os.environ, **IDENTITY, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never"}
    env.pop("PYTHONPATH", None)  # the hook must run from its own installed copy

    def try_repo(commit: str) -> subprocess.Popen[str]:
        """The hook on the files that `commit` changed, in a clone checked out at `commit`."""
        clone = tmp_path / commit.replace("~", "-")
        git(tmp_path, "clone", "-q", str(project), str(clone))
        git(clone, "checkout", "-q", commit)
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(hooks),
                "review-patterns",
                "--verbose",
                "--from-ref",
                "HEAD~1",
                "--to-ref",
                "HEAD",
            ],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    # try-repo installs the hook into a fresh environment each time: both run at once to halve the wait
    runs = [try_repo("HEAD~1"), try_repo("HEAD")]
    (good, _), (bad, _) = (run.communicate(timeout=600) for run in runs)
    assert runs[0].returncode == 0, good
    assert "PASSED: grade A+ meets A-, no blockers." in good

    assert runs[1].returncode == 1, bad
    assert "review-patterns" in bad and "Failed" in bad
    assert "shop/views.py  error" in bad and "RP001" in bad
    assert "FAILED: 1 blocker finding." in bad


PROFILES = """from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    bio = models.TextField(blank=True)
"""
LEGACY = """from django.contrib.auth.models import User
from django.http import JsonResponse


def bios(request):
    return JsonResponse({u.username: u.profile.bio for u in User.objects.all()})
"""
NEW_VIEW = """

def staff_bios(request):
    return JsonResponse({u.username: u.profile.bio for u in User.objects.filter(is_staff=True)})
"""


def hook_repository(tmp_path: Path) -> tuple[Path, str]:
    """A git repository of this project's working tree, as pre-commit fetches hooks: its folder and commit."""
    hooks = tmp_path / "review-patterns"
    hooks.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hooks / name)
    shutil.copytree(ROOT / "src", hooks / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    git(hooks, "init", "-q")
    commit(hooks, {}, "review-patterns")
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], check=True, cwd=hooks, capture_output=True, text=True
    ).stdout.strip()
    return hooks, sha


def site_with_hook(
    tmp_path: Path, hook: str, config: str, files: dict[str, str]
) -> Callable[[str, str], tuple[int, str]]:
    """A Django site in a git repository (profiles of `auth.User`, a legacy view with an N+1 through
    them, and `files`) with pre-commit's `hook` installed and no Django in the hook's environment.
    Returns `commit_with_hook(name, text)`: the exit status and output of committing `text` as `name`."""
    hooks, sha = hook_repository(tmp_path)
    project = tmp_path / "site"
    project.mkdir()
    git(project, "init", "-q")
    commit(
        project,
        {
            "manage.py": "",
            "pyproject.toml": f"[tool.review-patterns]\n{config}",
            "mysite/__init__.py": "",
            "mysite/settings.py": 'INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "accounts"]\n',
            "accounts/__init__.py": "",
            "accounts/models.py": PROFILES,
            "accounts/views.py": LEGACY,
            **files,
            ".pre-commit-config.yaml": f"repos:\n  - repo: {hooks}\n    rev: {sha}\n    hooks:\n      - id: {hook}\n",
        },
        "a legacy view with an N+1",
    )
    env = {**os.environ, **IDENTITY, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never"}
    env.pop("PYTHONPATH", None)  # the hook runs from its own environment: no Django there
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=project, env=env, check=True)

    def commit_with_hook(name: str, text: str) -> tuple[int, str]:
        (project / name).write_text(text)
        git(project, "add", name)
        done = subprocess.run(
            ["git", "commit", "-m", f"edit {name}"],
            check=False,
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            git(project, "reset", "-q", "--hard")  # the next commit starts from the last one that passed
        return done.returncode, done.stdout + done.stderr

    return commit_with_hook


def test_the_hook_reviews_the_staged_change_without_django(tmp_path: Path) -> None:
    """A commit touching a legacy file passes despite its old N+1; a commit adding a new one through
    `auth.User`'s reverse one-to-one fails, though the hook's environment has no Django."""
    commit_with_hook = site_with_hook(tmp_path, "review-patterns", 'select = ["RP401"]\n', {})
    code, output = commit_with_hook("accounts/views.py", LEGACY.replace("def bios", "# Public bios.\ndef bios"))
    assert code == 0, output
    code, output = commit_with_hook("accounts/views.py", LEGACY + NEW_VIEW)
    assert code != 0, output
    assert "accounts/views.py" in output and "10:" in output and "RP401" in output and "`u.profile`" in output
    assert "6:" not in output.split("accounts/views.py", 1)[1].split("Summary")[0]  # the old N+1 stays quiet
    assert "Review: 100 - 4 (RP401) = 96 -> A" in output and "FAILED: 1 blocker finding." in output


def test_the_files_hook_checks_the_staged_files_whole(tmp_path: Path) -> None:
    """`review-patterns-files` checks each staged file whole, graded file by file: a comment added to
    the legacy view fails on its old N+1 (which the default hook lets pass); a clean file passes; a
    file the config excludes passes though pre-commit names it (`--force-exclude`). No Django installed."""
    commit_with_hook = site_with_hook(
        tmp_path,
        "review-patterns-files",
        'select = ["RP401"]\nexclude = ["accounts/legacy/*"]\n',
        {"accounts/legacy/__init__.py": "", "accounts/legacy/reports.py": LEGACY},
    )
    code, output = commit_with_hook("accounts/views.py", "# Public bios.\n" + LEGACY)
    assert code != 0, output
    assert "review-patterns (whole files)" in output and "Failed" in output
    assert "accounts/views.py" in output and "7:" in output and "RP401" in output and "`u.profile`" in output
    assert "Review:" not in output and "FAILED: 1 blocker finding." in output  # graded file by file

    code, output = commit_with_hook("accounts/models.py", PROFILES + "\n# Profiles of users.\n")
    assert code == 0, output
    assert "PASSED" in output or "Passed" in output

    code, output = commit_with_hook("accounts/legacy/reports.py", "# Kept for the old reports.\n" + LEGACY)
    assert code == 0, output
    assert "accounts/legacy/reports.py" not in output.split("review-patterns (whole files)", 1)[1]


RENAMED = """from shop.models import Order


def mark_paid(order_id):
    order = Order.objects.get(pk=order_id)
    order.refresh_from_database()  # reread the status
    return order
"""


def test_the_fix_hook_applies_safe_fixes_and_fails_so_they_are_reviewed(tmp_path: Path) -> None:
    hooks, _ = hook_repository(tmp_path)
    project = tmp_path / "shop-project"
    project.mkdir()
    git(project, "init", "-q")
    commit(
        project,
        {
            "manage.py": "",
            "pyproject.toml": '[tool.review-patterns]\nexclude = ["legacy/**"]\n',
            "shop/__init__.py": "",
            "shop/services.py": RENAMED,
            "legacy/services.py": RENAMED,
        },
        "services",
    )
    env = {**os.environ, **IDENTITY, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never"}
    env.pop("PYTHONPATH", None)

    def run_hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "review-patterns-fix", "--all-files"],
            check=False,
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    fixed = run_hook()
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "files were modified by this hook" in fixed.stdout
    assert (project / "shop/services.py").read_text() == RENAMED.replace(
        "refresh_from_database()  # reread", "refresh_from_db()  # reread"
    )
    assert (project / "legacy/services.py").read_text() == RENAMED, "`exclude` applies to the files pre-commit names"
    git(project, "add", ".")
    again = run_hook()
    assert again.returncode == 0, again.stdout + again.stderr
