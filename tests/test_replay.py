"""Replaying the report of an unchanged `check` (`core/replay.py`): the same output and exit status
without starting the command line, and never a stale report."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ROOT

from review_patterns.core import cache, replay
from review_patterns.frontends import cli

VIEWS = """\
from rest_framework.response import Response
from rest_framework.views import APIView

from blog.models import Post
from blog.services import refund


class RefundView(APIView):
    def post(self, request, pk):
        try:
            refund(pk)
        except Exception as error:
            return Response({"error": str(error)}, status=500)
        return Response({"titles": [post.topic.title for post in Post.objects.all()]})
"""

MODELS = """\
from django.db import models


class Topic(models.Model):
    title = models.CharField(max_length=200)


class Post(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="posts")
"""

MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(name="Topic", fields=[("id", models.BigAutoField(primary_key=True))]),
    ]
"""

SERVICES = """\
def refund(pk):
    return pk
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in {
        "manage.py": "",
        "config/settings.py": 'INSTALLED_APPS = ["blog"]\n',
        "blog/models.py": MODELS,
        "blog/views.py": VIEWS,
        "blog/services.py": SERVICES,
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


class Command:
    """`review-patterns ARGS` in this process, from `project`: `run` as the command runs it (recorded),
    `replay` as it first tries (the recorded output, or None)."""

    def __init__(self, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        monkeypatch.chdir(project)
        # The fixture's files were all written just now: a record needs paths older than the run, and
        # the result cache reads again the files changed just before a run.
        monkeypatch.setattr(replay, "RACY_NS", 0)
        monkeypatch.setattr(cache, "RACY_NS", 0)
        self.project, self.capsys = project, capsys
        self.records = project / replay.FOLDER_NAME / replay.RECORDS

    def run(self, *args: str) -> tuple[int, str]:
        argv = ["check", *args]
        status = replay.recorded(lambda: cli.main(argv), argv)
        return status, self.capsys.readouterr().out

    def replay(self, *args: str) -> tuple[int, str] | None:
        status = replay.replayed(["check", *args])
        out = self.capsys.readouterr().out
        return None if status is None else (status, out)

    def recorded(self, *args: str) -> tuple[int, str]:
        """Runs until the run is recorded (the first creates the cache folder, which changes the
        project's folder during the run); returns the last output."""
        first = self.run(*args)
        assert self.replay(*args) is None
        second = self.run(*args)
        assert second == first
        return second


@pytest.fixture
def command(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Command:
    return Command(project, monkeypatch, capsys)


def test_an_unchanged_check_is_replayed_with_its_output_and_status(command: Command) -> None:
    status, out = command.recorded(".")
    assert status == 1 and "RP302" in out and "RP401" in out
    assert command.replay(".") == (1, out)
    assert command.replay(".", "--format", "json") is None  # another command


def test_a_project_checked_from_the_folder_above_is_replayed(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record goes to the project's cache folder, found above the path named (`check backend/`)."""
    monkeypatch.chdir(command.project.parent)
    name = command.project.name
    command.run(name)
    assert not (command.project.parent / replay.FOLDER_NAME).exists()
    status, out = command.run(name)
    assert status == 1 and f"{name}/blog/views.py" in out
    assert command.replay(name) == (status, out)
    assert command.replay(name, "--select", "RP3") is None


def _same_size_and_time(path: Path, old: str, new: str) -> None:
    before = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize(
    ("change", "findings"),
    [
        # the text of the error no longer reaches the client; same size and time, a new inode change time
        (lambda p: _same_size_and_time(p / "blog/views.py", "str(error)", '"failed!!"'), {"RP401"}),
        (lambda p: (p / "blog/views.py").unlink(), set()),
        # a new file in a folder of the tree
        (lambda p: (p / "blog/more.py").write_text(VIEWS.replace("RefundView", "MoreView")), {"RP302", "RP401"}),
        # the project's model index: the relation is gone, so is the query per row
        (lambda p: (p / "blog/models.py").write_text(MODELS.replace("Post(", "Entry(")), {"RP302"}),
        (lambda p: (p / "pyproject.toml").write_text('[tool.review-patterns]\nignore = ["RP401"]\n'), {"RP302"}),
    ],
    ids=["a-checked-file-edited", "a-file-removed", "a-file-added", "a-model-changed", "the-config-changed"],
)
def test_a_change_to_what_the_run_read_runs_the_check_again(command: Command, change, findings) -> None:  # type: ignore[no-untyped-def]
    command.recorded(".")
    change(command.project)
    assert command.replay(".") is None
    _, out = command.run(".")
    assert {code for code in ("RP302", "RP401") if code in out} == findings


def test_another_environment_or_terminal_is_another_command(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    _, out = command.recorded(".")
    monkeypatch.setenv("REVIEW_PATTERNS_SOMETHING", "1")
    assert command.replay(".") is None
    monkeypatch.delenv("REVIEW_PATTERNS_SOMETHING")
    monkeypatch.setenv("OLDPWD", "/elsewhere")  # what `cd` changes, and nothing reads
    assert command.replay(".") == (1, out)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert command.replay(".") is None


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True, capture_output=True
    )


def test_a_new_tag_or_commit_is_a_change_though_no_file_of_the_tree_changed(command: Command) -> None:
    """The release of each migration comes from git: its state is read again before replaying."""
    migrations = command.project / "blog/migrations"
    migrations.mkdir()
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text(MIGRATION)
    git(command.project, "init", "-q")
    git(command.project, "add", ".")
    git(command.project, "commit", "-q", "-m", "start")
    _, out = command.recorded(".")
    assert command.replay(".") == (1, out)
    git(command.project, "tag", "v1.0")
    assert command.replay(".") is None
    assert command.recorded(".") == (1, out)
    git(command.project, "commit", "-q", "--allow-empty", "-m", "next")
    assert command.replay(".") is None


def test_the_record_holds_what_the_run_looked_at_and_not_the_cache(command: Command) -> None:
    command.recorded(".")
    (record,) = command.records.glob("*.json")
    inputs = {path for path, _, _ in json.loads(record.read_text())["inputs"]}
    assert str(command.project / "blog/views.py") in inputs  # looked at, not read: its state is as last run
    assert str(command.project / "blog") in inputs  # listed: a file added there is a change
    assert not any(path.startswith(str(command.project / replay.FOLDER_NAME)) for path in inputs)


def test_the_record_keeps_no_variable_of_the_environment(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", "s3cr3t-t0ken")
    command.recorded(".")
    (record,) = command.records.glob("*.json")
    assert "s3cr3t-t0ken" not in record.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ("--no-cache", "."),
        ("-o", "report.txt", "."),  # a file written outside the cache folder
        ("--write-baseline", "baseline.json", "."),
        ("--fix", "."),
        ("--format", "github", "."),  # with GITHUB_STEP_SUMMARY, appends the report to that file
    ],
    ids=["no-cache", "output-file", "baseline-written", "fix", "github-step-summary"],
)
def test_a_run_with_effects_beyond_its_output_is_never_replayed(
    command: Command, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(command.project.parent / "summary.md"))
    command.run(".")  # the cache folder exists
    for _ in range(2):
        command.run(*args)
        (command.project / "report.txt").unlink(missing_ok=True)
        assert command.replay(*args) is None
    assert not list(command.records.glob("*.json"))


def test_standard_input_is_never_replayed(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    command.run(".")
    for _ in range(2):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(VIEWS.encode())))
        status, out = command.run("--stdin-filename", "blog/views.py", "-")
        assert status == 1 and "RP302" in out
    assert command.replay("--stdin-filename", "blog/views.py", "-") is None


def test_a_run_that_started_worker_processes_leaves_no_record(command: Command) -> None:
    """The workers read files this process does not see: such a run is not recorded; the next, with
    every result cached, checks nothing in another process and is."""
    command.run(".")
    for index in range(3):
        (command.project / f"blog/views_{index}.py").write_text(VIEWS.replace("RefundView", f"View{index}"))
    _, out = command.run("-j", "2", ".")
    assert not list(command.records.glob("*.json"))
    assert command.run("-j", "2", ".")[1] == out
    assert command.replay("-j", "2", ".") == (1, out)


def test_a_path_changed_just_before_the_run_leaves_no_record(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second write in the same tick of the file system's clock could leave size and times equal."""
    monkeypatch.setattr(replay, "RACY_NS", 3_600 * 10**9)
    command.run(".")
    command.run(".")
    assert not list(command.records.glob("*.json"))


def test_a_corrupt_or_foreign_record_is_a_miss(command: Command) -> None:
    _, out = command.recorded(".")
    (record,) = command.records.glob("*.json")
    for text in ("{trunc", "[]", json.dumps({**json.loads(record.read_text()), "key": "another"}), "\x00\xff"):
        record.write_text(text, errors="surrogateescape")
        assert command.replay(".") is None
    assert command.run(".") == (1, out)
    assert command.replay(".") == (1, out)
    kept = json.loads(record.read_text())
    record.write_text(json.dumps({**kept, "output": [[1, 42]]}))
    assert command.replay(".") is None
    assert command.run(".") == (1, out)
    assert command.replay(".") == (1, out)


def test_a_cache_folder_where_no_record_can_be_written_is_no_error(command: Command) -> None:
    command.run(".")
    command.records.parent.mkdir(exist_ok=True)
    command.records.write_text("not a folder")  # as unwritable as a read-only one, even for root
    status, out = command.run(".")
    assert (status, out) == command.run(".")
    assert command.replay(".") is None


def test_the_records_stay_bounded(command: Command) -> None:
    command.run(".")
    command.records.mkdir()
    for index in range(replay.MAX_RECORDS + 5):
        old = command.records / f"{index:032x}.json"
        old.write_text("{}")
        os.utime(old, ns=(10**18, 10**18 + index))
    _, out = command.run(".")
    assert len(list(command.records.glob("*.json"))) <= replay.MAX_RECORDS
    assert not (command.records / f"{0:032x}.json").exists()  # the least recently used go first
    assert command.replay(".") == (1, out)


def _command(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "review_patterns", "check", "."],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )


def _imports(done: subprocess.CompletedProcess[str]) -> tuple[str, set[str]]:
    """The run's own lines on standard error, and the modules `-X importtime` says it imported."""
    lines = done.stderr.splitlines(keepends=True)
    imported = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    return "".join(line for line in lines if not line.startswith("import time:")), imported


def test_the_command_replays_without_importing_the_command_line(project: Path) -> None:
    (project / "config/settings.py").write_text("INSTALLED_APPS = ['blog', 'missing_app']\n")  # a warning on stderr
    _command(project)  # the cache folder is made: the project's folder changed during the run
    time.sleep(replay.RACY_NS / 1e9 + 0.1)
    recorded = _command(project)
    replayed = _command(project)
    assert recorded.returncode == replayed.returncode == 1
    assert replayed.stdout == recorded.stdout and "RP302" in recorded.stdout
    (recorded_err, recorded_imports), (replayed_err, replayed_imports) = map(_imports, (recorded, replayed))
    assert "missing_app" in recorded_err and replayed_err == recorded_err
    assert "click" in recorded_imports and "review_patterns.frontends.cli" in recorded_imports
    assert "click" not in replayed_imports and "review_patterns.core.config" not in replayed_imports
    # A rule the recorded run never imported (every result came from the cache) is still in the record:
    # editing it is a new tool.
    (record,) = (project / replay.FOLDER_NAME / replay.RECORDS).glob("*.json")
    inputs = {path for path, _, _ in json.loads(record.read_text())["inputs"]}
    assert "review_patterns.checks.orm.lost_update" not in recorded_imports
    assert str(Path(replay.__file__).resolve().parent.parent / "checks/orm/lost_update.py") in inputs
    (project / "blog/views.py").write_text(textwrap.dedent(VIEWS).replace("str(error)", '"failed"'))
    changed = _command(project)
    assert changed.returncode == 1 and "RP302" not in changed.stdout and "RP401" in changed.stdout
