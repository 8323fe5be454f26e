"""The release each migration shipped in, read from git (temporary repositories with tags), and how
the migration rules use it: a table or column created in the release under review has no rows."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from review_patterns import Config, ProjectContext, lint_paths
from review_patterns.checks import ALL_RULES
from review_patterns.frontends.cli import main
from review_patterns.project.releases import DEFAULT_RELEASE_TAGS, NEXT, Releases, state

INITIAL = """
    from django.db import migrations, models

    class Migration(migrations.Migration):
        initial = True
        operations = [
            migrations.CreateModel(
                name="Order",
                fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
            ),
        ]
    """
ADD_CURRENCY = """
    from django.db import migrations, models

    class Migration(migrations.Migration):
        dependencies = [("shop", "0001_initial")]
        operations = [
            migrations.AddField("order", "currency", models.CharField(max_length=3)),
        ]
    """
ADDED = "shop/migrations/0002_order_currency.py"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository holding a Django project (manage.py), its first commit tagged `v0.1`."""
    for key, value in {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }.items():
        monkeypatch.setenv(key, value)
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "shop/migrations").mkdir(parents=True)
    (tmp_path / "shop/migrations/__init__.py").write_text("")
    commit(tmp_path, "start")
    git(tmp_path, "tag", "v0.1")
    return tmp_path


def commit(root: Path, message: str, **files: str) -> None:
    for path, text in files.items():
        (root / path).write_text(textwrap.dedent(text))
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def rp201(root: Path, config: Config | None = None) -> list[str]:
    report = lint_paths([root], config or Config(select=("RP201",)), cwd=root, rules=ALL_RULES)
    return [r.path for r in report.files for f in r.findings if f.code == "RP201"]


def test_a_migration_ships_in_the_first_release_tag_holding_its_commit(repo: Path) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    git(repo, "tag", "-a", "v1.0", "-m", "release 1.0")  # an annotated tag
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    git(repo, "tag", "v1.1")
    git(repo, "tag", "v1.2")
    commit(repo, "later", **{"shop/models.py": "# later\n"})
    (repo / "shop/migrations/0003_draft.py").write_text("# not committed yet\n")

    releases = Releases.read(repo)
    assert releases.of("shop/migrations/0001_initial.py") == "v1.0"
    assert releases.of(ADDED) == "v1.1"
    assert releases.of("shop/migrations/0003_draft.py") == NEXT
    # The model shipped in 1.0 with rows; 1.1 adds a NOT NULL column to it.
    assert rp201(repo) == [ADDED]


def test_a_version_after_the_projects_name_is_a_release() -> None:
    # weblate tags `weblate-2026.7`: the GitHub installation table and its NOT NULL workspace both
    # first shipped in it, while a deployment date is still no version.
    tags = re.compile(DEFAULT_RELEASE_TAGS, re.IGNORECASE)
    for tag in ("weblate-2026.7", "django-cms-5.0.1", "release/4.0", "v1.2.3", "2.0rc1", "version-3.1"):
        assert tags.match(tag), tag
    for tag in ("deployed-2024-05-01", "latest", "v1", "2024-05-01", "stable"):
        assert not tags.match(tag), tag


def test_a_field_added_to_a_model_of_the_same_release_is_not_flagged(repo: Path) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})  # both after the last tag: the next release
    assert rp201(repo) == []
    git(repo, "tag", "v1.0")  # now both shipped together in 1.0
    assert rp201(repo) == []


def test_a_moved_migration_keeps_the_release_it_first_shipped_in(repo: Path) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    git(repo, "tag", "v1.0")
    (repo / "src").mkdir()
    git(repo, "mv", "shop", "src/shop")
    commit(repo, "move into src/")
    commit(repo, "currency", **{"src/" + ADDED: ADD_CURRENCY})
    assert Releases.read(repo).of("src/shop/migrations/0001_initial.py") == "v1.0"
    assert rp201(repo) == ["src/" + ADDED]


def test_release_tags_are_configurable(repo: Path) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    git(repo, "tag", "deployed-2024-05-01")  # not a version: not a release by default
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    assert rp201(repo) == []
    config = Config(select=("RP201",), release_tags=r"^deployed-")
    assert Releases.read(repo, r"^deployed-").of("shop/migrations/0001_initial.py") == "deployed-2024-05-01"
    assert rp201(repo, config) == [ADDED]


def test_without_git_or_release_tags_each_migration_is_judged_on_its_own(repo: Path, tmp_path: Path) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    git(repo, "tag", "-d", "v0.1")  # no release tag at all: releases unknown
    assert not Releases.read(repo).known
    assert rp201(repo) == [ADDED]
    plain = tmp_path / "plain"  # not a repository
    plain.mkdir()
    assert Releases.read(plain) == Releases()
    assert Releases.read(tmp_path / "missing") == Releases()


def test_a_shallow_clone_keeps_todays_behaviour(repo: Path, tmp_path: Path) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    git(repo, "tag", "v1.0")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    assert not Releases.read(clone).known  # the cut history would put every file in one commit
    assert rp201(clone) == [ADDED]


def test_git_is_asked_twice_for_the_whole_project(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    git(repo, "tag", "v1.0")
    commit(repo, "currency", **{ADDED: ADD_CURRENCY, "shop/migrations/0003_more.py": ADD_CURRENCY})
    calls: list[tuple[str, ...]] = []
    run = subprocess.run

    def counting(args: list[str], **kwargs: object) -> object:
        calls.append(tuple(args))
        return run(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", counting)  # git is run through it (imported on use)
    context = ProjectContext(root=repo)
    assert [m.release for m in context.migrations.order] == ["v1.0", NEXT, NEXT]
    assert len(calls) == 2


def test_a_missing_git_is_not_fatal(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object, **kwargs: object) -> object:
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", missing)
    assert Releases.read(repo) == Releases()


def test_git_is_not_started_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree with no `.git` at or above it (an unpacked release, a CI artifact) has unknown releases, as
    git would say; it is asked on every run, so it is not started for nothing."""
    (tmp_path / "shop/migrations").mkdir(parents=True)
    (tmp_path / "shop/migrations/0001_initial.py").write_text(INITIAL)

    def refused(*args: object, **kwargs: object) -> object:
        raise AssertionError("git was started")

    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.setattr(subprocess, "run", refused)
    assert Releases.read(tmp_path / "shop") == Releases()
    assert state(tmp_path / "shop") is None  # nothing to keep the releases under: not kept


def review(capsys: pytest.CaptureFixture[str]) -> list[str]:
    main(["check", "--format", "json", "--select", "RP201", "--exit-zero", "--diff", "main"])
    report = json.loads(capsys.readouterr().out)
    return [r["path"] for r in report["files"] for f in r["findings"]]


def test_under_diff_a_table_from_before_the_base_has_rows(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git(repo, "tag", "-d", "v0.1")  # no release tags: only the diff tells releases apart
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    git(repo, "checkout", "-qb", "feature")
    monkeypatch.chdir(repo)
    (repo / ADDED).write_text(textwrap.dedent(ADD_CURRENCY))  # not even committed: part of the change
    assert review(capsys) == [ADDED]


def test_under_diff_everything_added_since_the_base_is_one_release(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git(repo, "tag", "-d", "v0.1")
    git(repo, "checkout", "-qb", "feature")
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    monkeypatch.chdir(repo)
    (repo / ADDED).write_text(textwrap.dedent(ADD_CURRENCY))
    assert review(capsys) == []  # the model and its new field both come with the change: no rows yet


def test_a_new_tag_is_seen_by_a_cached_run(repo: Path) -> None:
    # The history is kept between runs while the files stay; the releases while HEAD and the tags stay.
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    config = Config(select=("RP201",))

    def cached() -> list[str]:
        report = lint_paths([repo], config, cwd=repo, rules=ALL_RULES, cache=repo / ".cache")
        return [r.path for r in report.files for f in r.findings]

    assert cached() == []
    git(repo, "tag", "v1.0", "HEAD~1")  # the model shipped before the field: the table has rows
    assert cached() == [ADDED]


class Recorded:
    """The git commands a cached run starts (git is run through `subprocess.run`, imported on use)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.commands: list[list[str]] = []
        self.started: list[list[str]] = []  #: by the last cached run
        run = subprocess.run

        def recording(args: list[str], **kwargs: object) -> object:
            self.commands.append(list(args))
            return run(args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(subprocess, "run", recording)

    def check(self, config: Config | None = None) -> tuple[list[str], bool]:
        """RP201's findings of a cached run, and whether it walked the history (`git log`)."""
        config = config or Config(select=("RP201",))
        self.commands.clear()
        report = lint_paths([self.root], config, cwd=self.root, rules=ALL_RULES, cache=self.root / ".cache")
        self.started = list(self.commands)
        walked = any("log" in command for command in self.started)
        assert [r.path for r in report.files for f in r.findings] == rp201(self.root, config)  # as uncached
        return [r.path for r in report.files for f in r.findings], walked


def test_a_warm_run_in_a_repository_walks_no_history(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    git(repo, "tag", "v1.0")
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    runs = Recorded(repo, monkeypatch)
    assert runs.check() == ([ADDED], True)
    assert runs.check() == ([ADDED], False)
    assert [command[1] for command in runs.started] == ["rev-parse", "for-each-ref"]  # HEAD and the tags
    (repo / "shop/views.py").write_text("def index(request):\n    return None\n")  # a file edited, git unchanged
    assert runs.check() == ([ADDED], False)


def test_the_kept_releases_are_read_again_when_git_says_otherwise(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    runs = Recorded(repo, monkeypatch)
    assert runs.check() == ([], True)  # both in the next release
    git(repo, "tag", "v1.0", "HEAD~1")  # a new tag: the model shipped before the field
    assert runs.check() == ([ADDED], True)
    assert runs.check() == ([ADDED], False)
    git(repo, "tag", "-f", "v1.0", "HEAD")  # the tag moved: both shipped together
    assert runs.check() == ([], True)
    git(repo, "tag", "-f", "v1.0", "HEAD~1")
    assert runs.check() == ([ADDED], True)
    deployed = Config(select=("RP201",), release_tags=r"^deployed-")  # v1.0 is no release for it
    git(repo, "tag", "deployed-1", "HEAD")
    assert runs.check(deployed) == ([], True)  # both shipped in deployed-1
    git(repo, "tag", "-f", "deployed-1", "HEAD~1")
    git(repo, "tag", "deployed-2", "HEAD")
    assert runs.check(deployed) == ([ADDED], True)
    assert runs.check(deployed) == ([ADDED], False)
    assert runs.check() == ([ADDED], True)  # the setting changed back: read again


def test_a_new_commit_adding_a_migration_is_read_again(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    runs = Recorded(repo, monkeypatch)
    assert runs.check() == ([], True)
    (repo / ADDED).write_text(textwrap.dedent(ADD_CURRENCY))  # not committed: the next release, as the model
    assert runs.check() == ([], False)
    git(repo, "tag", "v1.0")  # the model released; then the field, committed and released after
    commit(repo, "currency")
    git(repo, "tag", "v1.1")
    assert Releases.read(repo).of(ADDED) == "v1.1"
    assert runs.check() == ([ADDED], True)
    assert runs.check() == ([ADDED], False)


def test_kept_releases_that_cannot_be_read_are_read_again(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, "order", **{"shop/migrations/0001_initial.py": INITIAL})
    git(repo, "tag", "v1.0")
    commit(repo, "currency", **{ADDED: ADD_CURRENCY})
    runs = Recorded(repo, monkeypatch)
    assert runs.check() == ([ADDED], True)
    kept = [p for p in (repo / ".cache").glob("context-*.json") if {"key", "state"} <= json.loads(p.read_text()).keys()]
    assert len(kept) == 1
    kept[0].write_text("{not json")
    assert runs.check() == ([ADDED], True)
    assert runs.check() == ([ADDED], False)
    kept[0].with_suffix(".pickle").write_bytes(b"\x80\x05truncated")  # the part itself
    for result in (repo / ".cache").glob("*.json"):
        if not result.name.startswith("context-"):
            result.unlink()  # the files are checked again: they need the releases
    assert runs.check() == ([ADDED], True)
    summary = json.loads(kept[0].read_text())
    kept[0].write_text(json.dumps({**summary, "state": "another repository"}))  # a foreign entry
    assert runs.check() == ([ADDED], True)
    assert runs.check() == ([ADDED], False)
