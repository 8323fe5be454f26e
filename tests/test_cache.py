"""The result cache: reused while nothing a file's findings depend on changed, re-checked when it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT

import review_patterns
from review_patterns import Config, Report
from review_patterns.checks import ALL_RULES
from review_patterns.checks.queries.n_plus_one_in_loop import NPlusOneInLoop
from review_patterns.core import cache, engine, version
from review_patterns.core.cache import ResultCache
from review_patterns.project import context as context_module
from review_patterns.project.context import ProjectContext

MODELS = """\
from django.conf import settings
from django.db import models


class Topic(models.Model):
    title = models.CharField(max_length=200)


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="posts")
    title = models.CharField(max_length=200)
"""

VIEWS = """\
from blog.models import Post


def post_list(request):
    return [(post.title, post.topic.title) for post in Post.objects.filter(title__startswith="a")]
"""

# Reads nothing of the project: no loop, no migration, no client.
HELPERS = """\
def slug(text):
    return text.lower().replace(" ", "-")
"""

USERS = """\
from django.contrib.auth import get_user_model


def emails():
    return [user.profile.email for user in get_user_model().objects.all()]
"""

ACCOUNTS = """\
from django.db import models


class Profile(models.Model):
    email = models.EmailField()


class User(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE)
"""

MIGRATIONS = {
    "shop/migrations/0001_initial.py": """\
        from django.db import migrations, models

        class Migration(migrations.Migration):
            initial = True
            operations = [
                migrations.CreateModel(
                    name="Order",
                    fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],
                ),
            ]
        """,
    "shop/migrations/0002_order_currency.py": """\
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [
                migrations.AddField("order", "currency", models.CharField(max_length=3, null=True)),
            ]
        """,
    "shop/migrations/0003_alter_order_currency.py": """\
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0002_order_currency")]
            operations = [
                migrations.AlterField(model_name="order", name="currency", field=models.CharField(max_length=3)),
            ]
        """,
}

BACKFILLED_0002 = """\
from django.db import migrations, models


def fill_currency(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(currency__isnull=True).update(currency="EUR")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField("order", "currency", models.CharField(max_length=3, null=True)),
        migrations.RunPython(fill_currency, migrations.RunPython.noop),
    ]
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(
        tmp_path,
        {
            "manage.py": "",
            "config/settings.py": 'INSTALLED_APPS = ["blog", "shop", "accounts"]\n',
            "blog/models.py": MODELS,
            "blog/views.py": VIEWS,
            "blog/helpers.py": HELPERS,
            "accounts/models.py": ACCOUNTS,
            "accounts/users.py": USERS,
            **MIGRATIONS,
        },
    )
    return tmp_path


class Run:
    """Runs the engine with the result cache, counting the files actually checked."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.folder = root / cache.FOLDER_NAME
        self.checked: list[str] = []
        real = engine.lint

        def counting(source: str, path: str, *args: object, **kwargs: object) -> object:
            self.checked.append(path)
            return real(source, path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(engine, "lint", counting)

    def __call__(self, config: Config | None = None, jobs: int = 1) -> Report:
        self.checked.clear()
        return review_patterns.lint_paths([self.root], config or Config(), cwd=self.root, jobs=jobs, cache=self.folder)


def stored_entries(folder: Path) -> list[Path]:
    """The result entries in a cache folder: neither the context cache's files nor the records of last runs."""
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith(("context-", "run-")))


def codes(report: Report) -> Counter[tuple[str, str]]:
    return Counter((f.path, f.code) for f in report.findings)


def test_an_unchanged_tree_is_not_checked_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    cold = run()
    assert len(run.checked) == 10
    assert codes(cold)[("blog/views.py", "RP401")] == 1
    assert codes(cold)[("shop/migrations/0003_alter_order_currency.py", "RP202")] == 1
    warm = run()
    assert run.checked == []
    assert warm == cold
    assert (run.folder / ".gitignore").read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rerun_reads_no_file_whose_state_is_as_the_last_run_found_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    run = Run(project, monkeypatch)
    read: list[str] = []
    real = cache.read_regular_file

    def counting(path: Path, *args: object) -> bytes:
        read.append(path.relative_to(project).as_posix())
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "read_regular_file", counting)
    cold = run(jobs=jobs)
    assert len(read) == 10
    # Changed shortly before the last run started (as a test's files are): a write in the same tick
    # of the file system's clock could have left size and times as they were, so each is read again.
    monkeypatch.setattr(cache, "RACY_NS", 10**15)
    read.clear()
    assert run(jobs=jobs) == cold and len(read) == 10 and run.checked == []
    monkeypatch.setattr(cache, "RACY_NS", 0)  # as if they had been written long before
    read.clear()
    assert run(jobs=jobs) == cold and read == [] and run.checked == []
    (project / "blog/views.py").write_text(VIEWS.replace("post_list", "posts_list"))
    read.clear()
    assert codes(run(jobs=jobs)) == codes(cold)
    assert read == ["blog/views.py"] and run.checked == ["blog/views.py"]
    read.clear()
    assert codes(run(jobs=jobs)) == codes(cold) and read == [] and run.checked == []


def test_results_equal_an_uncached_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    run()
    assert run() == review_patterns.lint_paths([project], Config(), cwd=project)


def test_editing_a_view_rechecks_that_view_only(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    run()
    (project / "blog/views.py").write_text(VIEWS.replace("post.topic.title", "post.title.upper()"))
    report = run()
    assert run.checked == ["blog/views.py"]
    assert ("blog/views.py", "RP401") not in codes(report)


def test_a_file_that_cannot_matter_to_the_kept_knowledge_is_looked_at_once_after_it_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = context_module._looks_like_migration  # whether a changed file may change the migration history

    def looking(text: str) -> bool:
        asked.append(text)
        return real(text)

    monkeypatch.setattr(context_module, "_looks_like_migration", looking)
    run = Run(project, monkeypatch)
    cold = run()
    (project / "blog/helpers.py").write_text(HELPERS.replace('"-"', '"_"'))
    monkeypatch.setattr(cache, "RACY_NS", 10**15)  # as if changed a moment ago
    asked.clear()
    assert codes(run()) == codes(cold) and run.checked == ["blog/helpers.py"]
    assert asked == [(project / "blog/helpers.py").read_text()]
    asked.clear()  # a second write in the same tick of the file system's clock could go unseen
    assert codes(run()) == codes(cold) and run.checked == [] and len(asked) == 1
    monkeypatch.setattr(cache, "RACY_NS", 0)  # as if changed long before
    asked.clear()
    assert codes(run()) == codes(cold) and run.checked == [] and len(asked) == 1
    asked.clear()
    assert codes(run()) == codes(cold) and run.checked == [] and asked == []


def test_changing_a_model_rechecks_the_files_that_read_the_model_index(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Run(project, monkeypatch)
    run()
    # `topic` becomes a plain field: reading it in the loop no longer queries.
    (project / "blog/models.py").write_text(
        MODELS.replace('models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="posts")', "models.TextField()")
    )
    report = run()
    assert "blog/views.py" in run.checked and "blog/models.py" in run.checked
    assert "blog/helpers.py" not in run.checked  # reads nothing of the project
    assert not any(m.startswith("shop/migrations") for m in run.checked)  # read the history, not the models
    assert ("blog/views.py", "RP401") not in codes(report)


def test_a_comment_in_models_changes_no_knowledge_and_rechecks_only_that_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Run(project, monkeypatch)
    run()
    (project / "blog/models.py").write_text("# Blog models.\n" + MODELS)
    run()
    assert run.checked == ["blog/models.py"]


def test_changing_a_migration_rechecks_the_later_ones(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    run()
    (project / "shop/migrations/0002_order_currency.py").write_text(BACKFILLED_0002)
    report = run()
    assert "shop/migrations/0003_alter_order_currency.py" in run.checked
    assert "blog/views.py" not in run.checked
    assert ("shop/migrations/0003_alter_order_currency.py", "RP202") not in codes(report)


def test_an_app_label_declared_in_the_package_init_rechecks_its_migrations(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "shop/__init__.py").write_text("")
    run = Run(project, monkeypatch)
    run()
    # `AppConfig.label` beside `default_app_config`, as apps declared it before Django 3.2
    (project / "shop/__init__.py").write_text(
        'from django.apps import AppConfig\n\n\nclass ShopConfig(AppConfig):\n    name = "shop"\n    label = "store"\n'
    )
    report = run()
    assert "shop/migrations/0003_alter_order_currency.py" in run.checked
    assert codes(report) == codes(review_patterns.lint_paths([project], Config(), cwd=project))


def test_changing_a_setting_rechecks_what_depends_on_it(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    assert ("accounts/users.py", "RP401") not in codes(run())  # auth.User, which the project cannot read
    (project / "config/settings.py").write_text(
        'INSTALLED_APPS = ["blog", "shop", "accounts"]\nAUTH_USER_MODEL = "accounts.User"\n'
    )
    report = run()
    assert "accounts/users.py" in run.checked and "blog/helpers.py" not in run.checked
    assert codes(report)[("accounts/users.py", "RP401")] == 1


def test_turning_use_tz_off_in_the_settings_rechecks_the_naive_times(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "blog/stamps.py").write_text(
        "from datetime import datetime\n\nfrom blog.models import Post\n\n\n"
        "def recent():\n    return Post.objects.filter(published_at__gte=datetime.now())\n"
    )
    (project / "blog/models.py").write_text(MODELS + "    published_at = models.DateTimeField(null=True)\n")
    run = Run(project, monkeypatch)
    assert ("blog/stamps.py", "RP510") in codes(run())
    (project / "config/settings.py").write_text('INSTALLED_APPS = ["blog", "shop", "accounts"]\nUSE_TZ = False\n')
    report = run()
    assert "blog/stamps.py" in run.checked
    assert ("blog/stamps.py", "RP510") not in codes(report)


def test_a_helper_that_stops_logging_the_traceback_rechecks_its_callers(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = "import traceback\n\n\ndef log_trace(message):\n    print(message, traceback.format_exc())\n"
    (project / "blog/logs.py").write_text(logs)
    (project / "blog/sync.py").write_text(
        "from blog.logs import log_trace\n\n\ndef sync(feed):\n    try:\n        feed.pull()\n"
        "    except Exception:\n        log_trace('feed not pulled')\n"
    )
    run = Run(project, monkeypatch)
    assert ("blog/sync.py", "RP304") not in codes(run())
    (project / "blog/logs.py").write_text(logs.replace(", traceback.format_exc()", ""))
    report = run()
    assert "blog/sync.py" in run.checked and "blog/helpers.py" not in run.checked
    assert codes(report)[("blog/sync.py", "RP304")] == 1
    (project / "blog/logs.py").write_text(logs)
    assert ("blog/sync.py", "RP304") not in codes(run())


def test_an_edit_that_defines_no_traceback_logger_keeps_the_kept_ones(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from review_patterns.project import tracebacks

    (project / "blog/logs.py").write_text("import traceback\n\n\ndef log_trace():\n    traceback.print_exc()\n")
    sync = "from blog.logs import log_trace\n\n\ndef sync(feed):\n    try:\n        feed.pull()\n    except Exception:\n        log_trace()\n"
    (project / "blog/sync.py").write_text(sync)
    run = Run(project, monkeypatch)
    assert ("blog/sync.py", "RP304") not in codes(run())
    built = []
    real = tracebacks.traceback_loggers
    monkeypatch.setattr(tracebacks, "traceback_loggers", lambda sources: built.append(1) or real(sources))
    audit = "\n\ndef audit(feed):\n    try:\n        feed.check()\n    except ValueError:\n        logger.exception('audit')\n"
    (project / "blog/sync.py").write_text(sync + audit)  # logs its own failure: no logger for others
    report = run()
    assert "blog/sync.py" in run.checked and "blog/helpers.py" not in run.checked
    assert built == []  # the edit might have defined a logger: asked, the kept part says it did not
    assert ("blog/sync.py", "RP304") not in codes(report)


def test_changing_the_config_rechecks(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    run()
    quiet = run(Config(ignore=("RP401",)))
    assert ("blog/views.py", "RP401") not in codes(quiet)
    louder = run(Config(severity={"RP401": review_patterns.Severity.BLOCKER}))
    assert {f.severity for f in louder.findings if f.code == "RP401"} == {review_patterns.Severity.BLOCKER}
    # A file's own settings: ignoring a code for the views re-checks the views only.
    run(Config(severity={"RP401": review_patterns.Severity.BLOCKER}, per_file_ignores={"blog/views.py": ("RP4",)}))
    assert run.checked == ["blog/views.py"]


def test_a_new_version_of_the_tool_rechecks_everything(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    run()
    # A release that words the finding differently: the old wording must not come back from the cache.
    monkeypatch.setattr(NPlusOneInLoop, "message", "NEW: " + NPlusOneInLoop.message)
    monkeypatch.setattr(version, "__version__", "99.0")
    report = run()
    assert len(run.checked) == 10
    assert all(f.message.startswith("NEW") for f in report.findings if f.code == "RP401")


def test_a_corrupt_or_foreign_entry_is_a_miss(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    cold = run()
    entries = stored_entries(run.folder)
    for record in run.folder.glob("run-*.json"):  # the record of the last run, which holds its entries too
        record.write_bytes(b"{truncated")
    entries[0].write_bytes(b"\x00garbage")
    entries[1].write_text(json.dumps({"format": 1, "key": "someone else's", "parts": {}, "result": {}}))
    entries[2].write_text(json.dumps({"format": 1, "key": entries[2].stem, "parts": {"nothing": "x"}}))
    entries[3].write_text("[]")
    assert run() == cold
    assert len(run.checked) == 4
    assert run() == cold and run.checked == []
    for record in run.folder.glob("run-*.json"):  # rows of another shape: a miss, not a crash
        kept = json.loads(record.read_text())
        files = {path: row[:2] for path, row in kept["files"].items()}
        record.write_text(json.dumps({**kept, "started": 0, "files": files, "entries": dict.fromkeys(kept["entries"])}))
    assert run() == cold and run.checked == []


def test_a_read_only_cache_folder_is_used_without_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    cold = run()
    (project / "blog/views.py").write_text(VIEWS + "\n")
    run.folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes to read-only folders: fail as the system would for anyone else

        def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        assert run().files == cold.files
        assert run.checked == ["blog/views.py"]
    finally:
        run.folder.chmod(0o755)


def test_a_cache_that_cannot_be_written_is_skipped(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    uncached = review_patterns.lint_paths([project], Config(), cwd=project)
    run.folder.write_text("not a folder")  # as unwritable as a read-only one, even for root
    assert run() == uncached
    assert len(run.checked) == 10 and run.folder.is_file()


def test_the_cache_folder_stays_bounded(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    run()
    store = ResultCache(run.folder, Config(), ALL_RULES)
    store.prune(limit=5)
    assert len([p for p in run.folder.glob("*.json") if not p.name.startswith("context-")]) == 4
    assert (run.folder / ".gitignore").exists()


def test_the_kept_project_knowledge_stays_bounded_and_what_is_in_use_stays(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Run(project, monkeypatch)
    run()
    live = {p.name for p in run.folder.glob("context-*")}
    assert any(name.endswith(".pickle") for name in live)
    for n in range(3 * len(live)):  # answers kept for questions no longer asked (a module since renamed)
        (run.folder / f"context-{'f' * 30}{n:010x}.json").write_text('{"state": "", "fingerprint": ""}')
    for path in run.folder.glob("context-*"):
        os.utime(path, (1, 1))  # all unused for long...
    run()  # ...until this run reads what it needs
    assert run.checked == []
    ResultCache(run.folder, Config(), ALL_RULES).prune(context_limit=2 * len(live))
    left = {p.name for p in run.folder.glob("context-*")}
    assert live <= left and len(left) == 2 * len(live) * 4 // 5
    run()
    assert run.checked == []  # what the files' results rest on is still known


def test_parallel_runs_store_and_reuse_the_same_results(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(project, monkeypatch)
    parallel = run(jobs=2)
    assert run(jobs=1) == parallel and run.checked == []


def _cli(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "review_patterns", "check", "--format", "json", "--exit-zero", *args, "."],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


def test_two_concurrent_runs_share_the_cache_safely(project: Path) -> None:
    for index in range(30):
        (project / f"blog/views_{index}.py").write_text(VIEWS.replace("post_list", f"post_list_{index}"))
    first, second = _cli(project), _cli(project)
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]
    assert not list((project / cache.FOLDER_NAME).glob(".*.tmp"))
    third = _cli(project)
    assert third.communicate(timeout=120)[0] == outputs[0][0]
    uncached = _cli(project, "--no-cache")
    assert uncached.communicate(timeout=120)[0] == outputs[0][0]


_IMPORTED = (
    "import sys\n"
    "from review_patterns.frontends.cli import main\n"
    "status = main(['check', '--exit-zero', '--quiet', '--output-format', 'json', '-o', sys.argv[1], '.'])\n"
    "print(status, *sorted(m for m in sys.modules if m == 'libcst' or m.startswith('review_patterns.checks.')))\n"
)


def _imported_by_a_run(project: Path) -> list[str]:
    """The modules of LibCST and of the rules a `check` of `project` imports, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTED, str(project.parent / "report.json")],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    ).stdout.split()
    assert out[0] == "0", out
    return out[1:]


def test_a_run_of_cached_files_imports_neither_libcst_nor_a_rule(project: Path) -> None:
    """The catalogue (`checks/rules.json`) is all a run reads of the rules until a file is analysed."""
    cold = _imported_by_a_run(project)
    assert "libcst" in cold and "review_patterns.checks.queries.n_plus_one_in_loop" in cold
    assert _imported_by_a_run(project) == []
    (project / "blog/views.py").write_text(VIEWS.replace("post_list", "recent_posts"))
    edited = _imported_by_a_run(project)  # only the rules whose kinds and words fit the view
    assert "libcst" in edited and "review_patterns.checks.queries.n_plus_one_in_loop" in edited
    assert "review_patterns.checks.migrations.non_idempotent_backfill" not in edited
    assert "review_patterns.checks.registry" not in edited


def test_the_kept_context_serves_every_way_of_starting_the_tool(project: Path) -> None:
    """`python -m review_patterns`, the `review-patterns` script and `python -c` put different folders
    first on `sys.path`; none of them makes the others rebuild the project context."""

    def kept() -> dict[str, int]:  # each part is written through a new file: a rewrite changes its inode
        return {p.name: p.stat().st_ino for p in (project / cache.FOLDER_NAME).glob("context-*")}

    assert _cli(project).communicate(timeout=120)[1] == ""
    first = kept()
    assert any(name.endswith(".pickle") for name in first)
    _imported_by_a_run(project)  # `python -c`
    assert kept() == first
    script = project.parent / "bin" / "review-patterns"  # as the installed command starts it
    script.parent.mkdir()
    script.write_text(_IMPORTED)
    # The installed command's first line names the interpreter as `python3`; `python -m` as `python`:
    # two names of one interpreter.
    interpreter = Path(sys.executable)
    other = interpreter.with_name("python" if interpreter.name != "python" else "python3")
    for python in (interpreter, *([other] if other.exists() else [])):
        subprocess.run(
            [str(python), str(script), str(project.parent / "report.json")],
            cwd=project,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        assert kept() == first


def test_the_folder_comes_from_the_environment_then_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cache.ENVIRONMENT, raising=False)
    assert cache.cache_folder(Config(), tmp_path) == tmp_path / ".review_patterns_cache"
    assert (
        cache.cache_folder(Config(root=tmp_path / "cfg", cache_dir="build/rp"), tmp_path) == tmp_path / "cfg/build/rp"
    )
    monkeypatch.setenv(cache.ENVIRONMENT, str(tmp_path / "elsewhere"))
    assert cache.cache_folder(Config(cache_dir="x"), tmp_path) == tmp_path / "elsewhere"


def test_fingerprints_are_the_same_in_every_process(project: Path) -> None:
    """Workers and later runs must agree: nothing in a fingerprint may depend on the hash seed."""
    code = (
        "import sys; from pathlib import Path; from review_patterns.project.context import ProjectContext\n"
        "context = ProjectContext(root=Path(sys.argv[1]))\n"
        "for name in ('models', 'migration_files', 'releases', 'method_names', 'redis_clients',\n"
        "             'quota_facts [\"check_quota\",\"can_call_*\"]', 'unversioned_route null',\n"
        "             'per_call \"blog.helpers.Topic\"'):\n"
        "    print(name, context.fingerprint(name))\n"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code, str(project)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    ]
    assert outputs[0].count("\n") == 8 and outputs[0] == outputs[1] == outputs[2]


def test_the_model_index_is_kept_between_runs_until_a_model_changes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from review_patterns.project.models import ModelIndex

    built: list[Path] = []
    real = ModelIndex._build

    def counting(index: ModelIndex) -> None:
        built.append(project)
        real(index)

    monkeypatch.setattr(ModelIndex, "_build", counting)
    run = Run(project, monkeypatch)
    run()
    assert len(built) == 1
    (project / "blog/views.py").write_text(VIEWS.replace("post_list", "recent_posts"))
    report = run()
    assert run.checked == ["blog/views.py"] and len(built) == 1  # read from the cache, not rebuilt
    assert codes(report)[("blog/views.py", "RP401")] == 1
    (project / "blog/proxies.py").write_text("from blog.models import Post\n\n\nclass Draft(Post):\n    pass\n")
    run()
    assert len(built) == 2  # a new module may define models
    (project / "blog/helpers.py").write_text(HELPERS + "\n\nclass Featured(Post):\n    pass\n")
    run()
    assert len(built) == 3  # a class deriving from a model, in a file the index had no reason to read
    (project / "blog/__init__.py").write_text("")
    run()
    assert len(built) == 4  # a new module
    (project / "blog/__init__.py").write_text("# the blog app\n")
    run()
    assert len(built) == 4  # a package's __init__.py that declares no AppConfig
    (project / "blog/__init__.py").write_text(
        'from django.apps import AppConfig\n\n\nclass BlogConfig(AppConfig):\n    name = "blog"\n    label = "news"\n'
    )
    report = run()
    assert len(built) == 5  # its AppConfig's label names the app's models
    assert codes(report) == codes(review_patterns.lint_paths([project], Config(), cwd=project))


def test_the_model_index_holds_while_an_edited_models_module_declares_the_same(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _builds(monkeypatch, "models")
    method = "\n    def headline(self):\n        return self.title\n"
    (project / "blog/models.py").write_text(MODELS + method)
    run = Run(project, monkeypatch)
    run()
    assert len(built) == 1
    # The body of a model's method: the index reads no body.
    (project / "blog/models.py").write_text(MODELS + method.replace("self.title", "self.title.upper()  # shout"))
    run()
    assert len(built) == 1 and run.checked == ["blog/models.py"]
    # A field added: the index is rebuilt, and the files that read it are checked again.
    models = MODELS.replace("class Post(models.Model):\n", "class Post(models.Model):\n    slug = models.SlugField()\n")
    (project / "blog/models.py").write_text(models + method)
    run()
    assert len(built) == 2 and "blog/views.py" in run.checked
    # A models module imported inside a method body: the index may read more, so it is rebuilt.
    imports = method.replace("        return", "        from accounts.models import Profile\n\n        return")
    (project / "blog/models.py").write_text(models + imports)
    report = run()
    assert len(built) == 3
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_the_model_index_holds_while_settings_say_the_same_outside_function_bodies(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _builds(monkeypatch, "models")
    helper = "\n\ndef env(name, default=None):\n    return default\n"
    (project / "config/settings.py").write_text('INSTALLED_APPS = ["blog", "shop", "accounts"]\n' + helper)
    run = Run(project, monkeypatch)
    run()
    assert len(built) == 1
    (project / "config/settings.py").write_text(
        'INSTALLED_APPS = ["blog", "shop", "accounts"]\n' + helper.replace("return default", "return default or ''")
    )
    run()
    assert len(built) == 1  # a function's body: settings are read outside them
    (project / "config/settings.py").write_text(
        'INSTALLED_APPS = ["blog", "shop", "accounts"]\n' + helper.replace("return default", "return (default")
    )
    run()
    assert len(built) == 2  # a body that does not parse: the settings module is read as nothing
    (project / "config/settings.py").write_text('INSTALLED_APPS = ["blog", "shop"]\n' + helper)
    report = run()
    assert len(built) == 3
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_the_clients_are_kept_while_the_edited_module_binds_the_same(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _builds(monkeypatch, "redis_clients")
    connection = "import redis\n\nr = redis.Redis()\n\n\ndef ping():\n    return r.ping()\n"
    counter = "from shop.connection import r\n\n\ndef hit(key):\n    r.incr(key)\n"
    write(project, {"shop/connection.py": connection, "shop/counter.py": counter})
    run = Run(project, monkeypatch)
    assert ("shop/counter.py", "RP501") in codes(run())  # a counter on the project's client, never expiring
    assert len(built) == 1
    (project / "shop/connection.py").write_text(connection.replace("r.ping()", "bool(r.ping())"))
    run()
    assert len(built) == 1 and run.checked == ["shop/connection.py"]
    (project / "shop/connection.py").write_text("import redis\n\nr = None  # Redis is not used any more\n")
    report = run()
    assert len(built) == 2 and ("shop/counter.py", "RP501") not in codes(report)
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_the_exception_index_holds_beside_a_graphql_error_formatter(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _builds(monkeypatch, "exceptions")
    view = (
        "from graphene_django.views import GraphQLView\n\n\nclass CleanGraphQLView(GraphQLView):\n"
        "    @staticmethod\n    def format_error(error):\n        return {'message': 'internal error'}\n"
    )
    write(
        project,
        {"catalogue/errors.py": ERRORS, "catalogue/graphql_view.py": view, "catalogue/serializers.py": SERIALIZERS},
    )
    run = Run(project, monkeypatch)
    run()
    assert len(built) == 1
    (project / "catalogue/errors.py").write_text(ERRORS + '\n\nDEFAULT_MESSAGE = "could not import"\n')
    run()
    assert len(built) == 1  # another module than the formatter's, its classes unchanged
    (project / "catalogue/graphql_view.py").write_text(view.replace("internal error", "server error"))
    run()
    assert len(built) == 2  # the formatter's module is read again


def _slow_project(root: Path) -> Path:
    view = "def view_{}(request):\n    try:\n        return request.user.profile.name\n    except KeyError:\n        return None\n\n\n"
    body = "".join(view.format(i) for i in range(600))  # handlers: rules that LibCST must parse the file for
    for n in range(16):  # 4,200 lines each: the run lasts well over a second, even on a fast machine
        (root / f"views_{n}.py").write_text(body)
    return root


def test_the_progress_bar_shows_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    command = [sys.executable, "-m", "review_patterns", "check", "-j", "1", "--no-cache", "--exit-zero", "."]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "120", "TERM": "xterm"}
    project = _slow_project(tmp_path)
    plain = subprocess.run(command, cwd=project, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert plain.returncode == 0 and "checking" not in plain.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the run ended and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    out, _ = process.communicate(timeout=300)
    os.close(leader)
    assert process.returncode == 0
    assert b"checking" in shown and b"files" in shown and b"/16" in shown
    assert b"checking" not in out  # the report itself carries no trace of the bar


ERRORS = """\
class ImportFailed(Exception):
    pass
"""

SERIALIZERS = """\
from django.db import DatabaseError

from catalogue.errors import ImportFailed


def store(upload):
    try:
        return upload.save()
    except DatabaseError as exc:
        raise ImportFailed(f"could not store the rows: {exc}")
"""


def _builds(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """A list that grows each time the context part `name` is built (its compute, not a restore)."""
    kept = ProjectContext.__dict__[name]
    real = kept.compute
    built: list[str] = []

    def counting(context: ProjectContext) -> object:
        built.append(name)
        return real(context)

    monkeypatch.setattr(kept, "compute", counting)
    return built


def test_the_exception_index_is_kept_until_an_exception_class_changes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    built = _builds(monkeypatch, "exceptions")
    write(project, {"catalogue/errors.py": ERRORS, "catalogue/serializers.py": SERIALIZERS})
    run = Run(project, monkeypatch)
    assert ("catalogue/serializers.py", "RP302") not in codes(run())  # a plain exception: no client sees it
    assert len(built) == 1
    # A constant added to the module of exception classes, the classes unchanged: the index holds.
    (project / "catalogue/errors.py").write_text(ERRORS + '\n\nDEFAULT_MESSAGE = "could not import"\n')
    run()
    assert run.checked == ["catalogue/errors.py"] and len(built) == 1
    run()
    assert run.checked == [] and len(built) == 1
    # The class now derives from DRF's APIException: its message reaches clients.
    (project / "catalogue/errors.py").write_text(
        "from rest_framework.exceptions import APIException\n\n\nclass ImportFailed(APIException):\n    pass\n"
    )
    report = run()
    assert len(built) == 2
    assert "catalogue/serializers.py" in run.checked and "blog/helpers.py" not in run.checked
    assert ("catalogue/serializers.py", "RP302") in codes(report)
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_a_part_that_fails_to_build_is_reported_for_its_files_not_raised_by_the_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cache fingerprints the parts a stored result read before reusing it, outside the per-file
    # guard: a part that crashed there ("dictionary changed size during iteration") ended the run.
    (project / "blog/votes.py").write_text(  # RP101 reads the Django version where F() is used
        "from django.db.models import F\n\n\ndef upvote(post):\n    post.votes = F('votes') + 1\n    post.save()\n"
    )
    run = Run(project, monkeypatch)
    cold = run()
    stored = [json.loads(p.read_text()) for p in stored_entries(run.folder)]
    readers = {e["result"]["path"] for e in stored if "django_version" in e["parts"]}
    assert readers

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(context_module, "declared_django_version", broken)
    report = run()
    failed = {f.path for f in report.findings if f.code == "RP002"}
    assert readers <= failed == set(run.checked)  # and whatever else builds on the Django version
    assert [r for r in report.files if r.path not in failed] == [r for r in cold.files if r.path not in failed]


def test_the_served_fields_are_kept_until_a_serializer_or_model_may_change_them(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    built = _builds(monkeypatch, "served_fields")
    (project / "blog/tasks.py").write_text(
        "from blog.models import Post\n\n\ndef publish(post_id):\n    try:\n        Post.objects.get(pk=post_id)\n"
        "    except Exception as e:\n        Post.objects.filter(pk=post_id).update(title=str(e))\n"
    )
    run = Run(project, monkeypatch)
    run()
    assert len(built) == 1
    (project / "blog/helpers.py").write_text(HELPERS + "\n\ndef nothing():\n    return None\n")
    run()
    assert len(built) == 1  # a helper that names no model or serializer: kept
    (project / "blog/serializers.py").write_text(
        "from rest_framework import serializers\n\nfrom blog.models import Post\n\n\n"
        "class PostSerializer(serializers.ModelSerializer):\n    class Meta:\n        model = Post\n"
        '        fields = ["title"]\n'
    )
    report = run()
    assert len(built) == 2  # a new serializer: rebuilt
    assert codes(report)[("blog/tasks.py", "RP302")] == 1  # the title it serves now carries the error


def test_the_served_fields_are_kept_while_the_serializers_and_the_model_index_say_the_same(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serializers = (
        "from rest_framework import serializers\n\nfrom blog.models import Post\n\n\n"
        "class PostSerializer(serializers.ModelSerializer):\n    class Meta:\n        model = Post\n"
        '        fields = ["title"]\n'
    )
    write(
        project,
        {
            "blog/serializers.py": serializers,
            "blog/tasks.py": "from blog.models import Post\n\n\ndef publish(post_id):\n    try:\n"
            "        Post.objects.get(pk=post_id)\n    except Exception as e:\n"
            "        Post.objects.filter(pk=post_id).update(title=str(e))\n",
        },
    )
    built = _builds(monkeypatch, "served_fields")
    run = Run(project, monkeypatch)
    assert codes(run())[("blog/tasks.py", "RP302")] == 1
    assert len(built) == 1
    # A constant added beside the serializer, naming the model: the serializers say the same.
    constant = '\n\nORDERING = ["-id"]  # as Post lists are shown\n'
    (project / "blog/serializers.py").write_text(serializers + constant)
    run()
    assert len(built) == 1 and run.checked == ["blog/serializers.py"]
    # The serializer serves another field: rebuilt, and the title no longer reaches clients.
    (project / "blog/serializers.py").write_text(serializers.replace('"title"', '"id"') + constant)
    report = run()
    assert len(built) == 2 and ("blog/tasks.py", "RP302") not in codes(report)
    # The serializers unchanged, the model moved to another app label: the served fields, read through
    # the model index, are rebuilt with it.
    (project / "blog/serializers.py").write_text(serializers + constant)
    run()
    assert len(built) == 3
    (project / "blog/models.py").write_text(
        MODELS.replace(
            "    title = models.CharField(max_length=200)\n",
            "    title = models.CharField(max_length=200)\n\n    class Meta:\n        app_label = 'news'\n",
            1,
        )
    )
    report = run()
    assert len(built) == 4
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_a_model_index_restored_from_the_context_cache_answers_as_the_one_built(project: Path) -> None:
    import io

    context = context_module.ProjectContext(root=project)
    built = context.models
    out = io.BytesIO()
    cache.ContextPickler(out, context).dump(built)
    data = out.getvalue()
    assert b"ClassDef" not in data and b"_ast" not in data  # no syntax trees: they were most of its size
    restored = cache.ContextUnpickler(io.BytesIO(data), context).load()
    assert context_module.stable_digest(restored.models) == context_module.stable_digest(built.models)
    assert sorted(restored.by_name) == sorted(built.by_name) and built.models
    for model in built.models.values():
        for qualified in (
            f"{model.module}.{model.name}",
            model.name,
            f"blog.{model.name}",
            f"shop.models.{model.name}",
        ):
            ours, theirs = restored.lookup(qualified, model.path), built.lookup(qualified, model.path)
            assert (ours and ours.label) == (theirs and theirs.label)
        found = restored.find_class(f"{model.module}.{model.name}")
        assert found is not None and (found[0].name, found[1]) == (model.module, model.name)
        twin = restored.models[model.label]
        assert [restored.relation(twin, n) for n in model.relations] == list(model.relations.values())
    user = "django.contrib.auth.models.User"
    assert (restored.lookup(user) or built).label == (built.lookup(user) or restored).label == "auth.User"


def test_the_function_names_are_kept_until_a_file_defines_other_names(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = context_module.ProjectContext.__dict__["function_names"]
    built: list[Path] = []
    real = names.compute

    def counting(context: context_module.ProjectContext) -> object:
        built.append(project)
        return real(context)

    monkeypatch.setattr(names, "compute", counting)
    run = Run(project, monkeypatch)
    run()
    assert len(built) == 1
    stored = [json.loads(p.read_text()) for p in stored_entries(run.folder)]
    assert any("function_names" in e["parts"] for e in stored)
    # The view's body changes, the functions it defines do not: the names hold.
    (project / "blog/views.py").write_text(VIEWS.replace("post.topic.title", "post.title.upper()"))
    report = run()
    assert run.checked == ["blog/views.py"] and len(built) == 1
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)  # (builds them, uncached)
    # A file now defines a quota guard: the names are read again, and every result that read them is stale.
    (project / "blog/helpers.py").write_text(HELPERS + "\n\ndef check_quota(user):\n    return True\n")
    report = run()
    assert len(built) == 3
    readers = {e["result"]["path"] for e in stored if "function_names" in e["parts"]}
    assert readers <= {*run.checked, "blog/helpers.py"}
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_the_endpoints_answers_are_kept_until_what_they_say_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    project = tmp_path / "api_project"
    shutil.copytree(ROOT / "tests/fixtures/api_project", project)
    built = _builds(monkeypatch, "endpoints")
    run = Run(project, monkeypatch)
    cold = run()
    assert codes(cold)[("vision/views.py", "RP601")] == 3 and len(built) == 1
    stored = [json.loads(p.read_text()) for p in stored_entries(run.folder)]
    readers = {e["result"]["path"] for e in stored if any(n.startswith("module_endpoints ") for n in e["parts"])}
    assert "vision/views.py" in readers and "vision/services.py" not in readers  # modules of views only
    # Unchanged: the answers' fingerprints are recalled, the endpoints are not read again.
    assert run() == cold and run.checked == [] and len(built) == 1
    # A file the endpoints read changes without changing what they say: only that file is checked.
    permissions = project / "vision/permissions.py"
    permissions.write_text(permissions.read_text() + "\n\n# Partners are managed in the admin.\n")
    assert codes(run()) == codes(cold) and run.checked == ["vision/permissions.py"]
    run()
    assert run.checked == [] and len(built) == 2  # read once more to compare the answers, then recalled
    # The demo now requires a logged-in user: the views reading that answer are checked again.
    permissions.write_text(permissions.read_text().replace("return settings.DEBUG", "return request.user.is_staff"))
    report = run()
    assert "vision/views.py" in run.checked and "vision/services.py" not in run.checked
    assert codes(report)[("vision/views.py", "RP601")] == 2
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_where_a_class_is_made_is_recorded_per_class_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    project = tmp_path / "quota_project"
    shutil.copytree(ROOT / "tests/fixtures/quota_project", project)
    run = Run(project, monkeypatch)
    cold = run()
    stored = [json.loads(p.read_text()) for p in stored_entries(run.folder)]
    asked = {name for e in stored for name in e["parts"] if name.startswith("per_call ")}
    assert asked and "instantiations" not in {name for e in stored for name in e["parts"]}
    # A file that makes no instance of those classes changes: it alone is checked again.
    search = project / "pages/search.py"
    search.write_text(search.read_text() + "\n\n# Results are ranked by the search backend.\n")
    report = run()
    assert run.checked == ["pages/search.py"] and codes(report) == codes(cold)
    assert report == review_patterns.lint_paths([project], Config(), cwd=project)


def test_a_second_parallel_run_in_the_same_process_reads_the_changed_model(project: Path) -> None:
    """The parent builds the context for its workers: a later run (an editor, the API) must not reuse it."""
    first = review_patterns.lint_paths([project], Config(), cwd=project, jobs=2)
    assert ("blog/views.py", "RP401") in codes(first)
    (project / "blog/models.py").write_text(
        MODELS.replace('models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="posts")', "models.TextField()")
    )
    second = review_patterns.lint_paths([project], Config(), cwd=project, jobs=2)
    assert ("blog/views.py", "RP401") not in codes(second)
