"""The engine: one parse and one traversal per file, noqa, bad input, crashes, selection."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from conftest import ROOT
from sample_rules import Crashes, SaveInLoop

import review_patterns
from review_patterns import Config, FileResult, ProjectContext, Report, Rule
from review_patterns.core import grading
from review_patterns.core.config import parse_config
from review_patterns.core.model import Severity
from review_patterns.project.context import find_project_root, part
from review_patterns.syntax import traversal
from review_patterns.syntax.files import FileKind

RULES = (SaveInLoop,)  # the engine is tested with stand-in rules, handed to it like the registry


def write_files(root: Path, files: dict[str, str]) -> None:
    """Writes each file of `files` (path -> text) under `root`, making its folders."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def lint(source: str, path: str, *, rules: Sequence[type[Rule]] = RULES, **options: Any) -> FileResult:
    return review_patterns.lint(source, path, rules=rules, **options)


def lint_paths(paths: list[Path], config: Config, *, rules: Sequence[type[Rule]] = RULES, **options: Any) -> Report:
    return review_patterns.lint_paths(paths, config, rules=rules, **options)


VIEW = """\
from blog.models import Post


def publish_all(request):
    for post in Post.objects.filter(draft=True):
        post.draft = False
        post.save()
    return redirect("blog:index")
"""


def test_finding_has_one_based_position_and_rule_metadata() -> None:
    result = lint(VIEW, "blog/views.py")
    (finding,) = result.findings
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (7, 9, 7, 20)
    assert (finding.code, finding.name, finding.message) == ("RP992", "save-in-loop", "`post.save()` in a loop")
    assert finding.path == "blog/views.py"
    assert result.score == 97 and grading.file_grade(result) == "A+"
    assert result.lines == 6


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("# noqa", True),
        ("# noqa: RP992", True),
        ("#noqa:RP992,RP301", True),
        ("# NOQA: rp992", True),
        ("# noqa: RP9", True),
        ("# noqa: E501", False),
        ("# noqa: RP301", False),
        ("# see RP992", False),
    ],
)
def test_noqa(comment: str, suppressed: bool) -> None:
    source = VIEW.replace("post.save()", f"post.save()  {comment}")
    result = lint(source, "blog/views.py")
    assert len(result.findings) == (0 if suppressed else 1)
    assert result.suppressed == (1 if suppressed else 0)
    shown = lint(source, "blog/views.py", config=Config(ignore_noqa=True))
    assert len(shown.findings) == 1


def test_select_ignore_and_per_file_ignores() -> None:
    assert lint(VIEW, "blog/views.py", config=Config(ignore=("RP9",))).findings == ()
    assert lint(VIEW, "blog/views.py", config=Config(select=("RP1",))).findings == ()
    assert len(lint(VIEW, "blog/views.py", config=Config(select=("RP992",))).findings) == 1
    per_file = Config(per_file_ignores={"*/views.py": ("RP992",)})
    assert lint(VIEW, "blog/views.py", config=per_file).findings == ()
    assert len(lint(VIEW, "blog/services.py", config=per_file).findings) == 1


def test_severity_and_penalty_overrides() -> None:
    config = Config(severity={"RP992": Severity.BLOCKER}, penalty={"RP992": 12})
    (finding,) = lint(VIEW, "blog/views.py", config=config).findings
    assert (finding.severity, finding.penalty) == (Severity.BLOCKER, 12)


def test_a_crashing_rule_is_reported_and_the_others_keep_their_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = (SaveInLoop, Crashes)
    result = lint(VIEW, "blog/views.py", rules=rules)
    codes = [f.code for f in result.findings]
    assert codes.count("RP992") == 1 and codes.count("RP002") == 1
    crash = next(f for f in result.findings if f.code == "RP002")
    assert "RP993" in crash.message and "KeyError" in crash.message
    assert crash.penalty == 0


def test_each_file_is_parsed_once_and_traversed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"parse": 0, "visit": 0}
    parse, visit = cst.parse_module, traversal.visit_batched

    def counting_parse(source: str):
        calls["parse"] += 1
        return parse(source)

    def counting_visit(node, visitors):
        calls["visit"] += 1
        return visit(node, visitors)

    monkeypatch.setattr(cst, "parse_module", counting_parse)
    monkeypatch.setattr(traversal, "visit_batched", counting_visit)
    rules = (SaveInLoop, SaveInLoop)
    lint(VIEW, "blog/views.py", rules=rules)
    assert calls == {"parse": 1, "visit": 1}


def test_the_engines_parse_builds_libcsts_tree_without_checking_each_node_then_checks_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from review_patterns.syntax.parsing import parse_module

    checked: list[str] = []
    check = cst.Name._validate

    def counting(node: cst.Name) -> None:
        checked.append(node.value)
        check(node)

    monkeypatch.setattr(cst.Name, "_validate", counting)
    source = (ROOT / "examples" / "shop" / "api.py").read_text(encoding="utf-8")
    ours = parse_module(source)
    assert checked == []  # the parser's nodes are valid by construction
    theirs = cst.parse_module(source)
    assert len(checked) > 50 and ours.deep_equals(theirs) and ours.code == source
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def publish(post:\n")
    with pytest.raises(cst.CSTValidationError):  # nodes made after a parse, even a failed one, are checked
        cst.Name("")


def test_positions_are_resolved_only_for_files_with_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[cst.CSTNode] = []
    original = cst.CSTNode._codegen

    def spy(self, state, **kwargs):
        printed.append(self)
        return original(self, state, **kwargs)

    monkeypatch.setattr(cst.CSTNode, "_codegen", spy)
    lint("from blog.models import Post\nPost.objects.get(pk=1).save()\n", "blog/views.py")
    assert printed == []
    result = lint(VIEW, "blog/views.py")
    assert printed and result.findings


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("def publish(post:\n    post.save()\n", 1, "syntax error"),
        ("class Post(models.Model):\n    title = models.CharField(\n", 2, "never closed"),
        ("print 'hello'\n", 1, "Missing parentheses"),
    ],
)
def test_unparsable_source_is_rp001_with_the_parsers_message(source: str, line: int, message: str) -> None:
    result = lint(source, "blog/views.py")
    (finding,) = result.findings
    assert (finding.code, finding.line, finding.severity) == ("RP001", line, Severity.BLOCKER)
    assert message in finding.message
    assert result.score is None and result.error == finding.message


def test_bad_files_on_disk_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "latin.py").write_bytes("# -*- coding: latin-1 -*-\nname = 'Müller'\n".encode("latin-1"))
    (tmp_path / "not_utf8.py").write_bytes(b"x = 1\nname = '\xff\xfe'\n")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02")
    (tmp_path / "bad_coding.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfx = 1\n")
    (tmp_path / "views.py").write_text(VIEW)
    report = lint_paths([tmp_path], Config(), cwd=tmp_path)
    by_path = {r.path: r for r in report.files}
    assert by_path["latin.py"].error is None and by_path["bom.py"].error is None
    assert "not valid utf-8" in by_path["not_utf8.py"].error and by_path["not_utf8.py"].findings[0].line == 2
    assert "binary" in by_path["binary.py"].error
    assert "encoding" in by_path["bad_coding.py"].error
    assert [f.code for f in by_path["views.py"].findings] == ["RP992"]
    assert not report.passed


def test_missing_path_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        lint_paths([tmp_path / "nope"], Config())


def test_collection_skips_virtualenvs_caches_and_excluded_globs(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        dict.fromkeys(
            [
                "app/views.py",
                ".venv/lib/x.py",
                "env2/lib/y.py",
                "node_modules/z.py",
                "build/b.py",
                "app/__pycache__/c.py",
                "legacy/old.py",
                "app/generated/g.py",
                "notes.txt",
            ],
            "x = 1\n",
        ),
    )
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    config = parse_config({"exclude": ["legacy/**", "*/generated/*"]}, root=tmp_path, rules=RULES)
    report = lint_paths([tmp_path], config, cwd=tmp_path)
    assert [r.path for r in report.files] == ["app/views.py"]
    # A file named explicitly is always checked.
    named = lint_paths([tmp_path / "legacy" / "old.py"], config, cwd=tmp_path)
    assert [r.path for r in named.files] == ["legacy/old.py"]


def test_the_context_reads_the_project_files_in_order_past_environments_and_links(tmp_path: Path) -> None:
    from review_patterns.project.context import walk_python_files

    names = "manage.py b/views.py b/a/models.py a.py b/notes.txt env/pyvenv.cfg env/lib/site.py .git/hooks/hook.py"
    write_files(tmp_path, dict.fromkeys([*names.split(), "node_modules/p/x.py", "pkg.egg-info/x.py"], "x = 1\n"))
    (tmp_path / "linked").symlink_to(tmp_path / "b")  # a link to a folder is not followed
    assert list(walk_python_files(tmp_path)) == ["a.py", "manage.py", "b/views.py", "b/a/models.py"]


def test_context_is_read_from_disk_around_the_checked_file(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "models.py").write_text("class Post:\n    def publish(self):\n        pass\n")
    (tmp_path / "blog" / "views.py").write_text("x = 1\n")
    context = ProjectContext.for_path(tmp_path / "blog" / "views.py")
    assert context.root == tmp_path.resolve()
    assert "publish" in context.method_names
    assert ProjectContext.from_sources({"a.py": "class A:\n    def go(self): ...\n"}).method_names == {"go"}


def test_a_package_holding_manage_py_is_imported_from_the_folder_above(tmp_path: Path) -> None:
    """Review Board keeps `reviewboard/manage.py` inside its package: the code imports
    `reviewboard.diffviewer.errors`, so the project is the folder above. A `startproject` layout (no
    `__init__.py` beside `manage.py`) and a package with nothing marked above keep their folder."""
    write_files(
        tmp_path,
        dict.fromkeys(
            (
                "rb/pyproject.toml",
                "rb/reviewboard/__init__.py",
                "rb/reviewboard/manage.py",
                "rb/reviewboard/diffviewer/__init__.py",
                "rb/reviewboard/diffviewer/errors.py",
                "site/manage.py",
                "site/site/__init__.py",
                "site/site/settings.py",
            ),
            "",
        ),
    )
    root = tmp_path.resolve()
    known: dict[str, str | None] = {}
    assert find_project_root(tmp_path / "rb/reviewboard/diffviewer", known) == root / "rb"
    assert find_project_root(tmp_path / "rb/reviewboard", known) == root / "rb"
    assert find_project_root(tmp_path / "site/site") == root / "site"
    if not any((folder / m).exists() for folder in tmp_path.parents for m in (".git", "pyproject.toml", "setup.py")):
        (tmp_path / "rb/pyproject.toml").unlink()
        assert find_project_root(tmp_path / "rb/reviewboard/diffviewer") == root / "rb/reviewboard"


def test_the_projects_own_errors_are_known_when_manage_py_sits_in_its_package(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": "",
        "reviewboard/__init__.py": "",
        "reviewboard/manage.py": "",
        "reviewboard/diffviewer/__init__.py": "",
        "reviewboard/diffviewer/errors.py": "class DiffTooBigError(ValueError):\n    pass\n",
        "reviewboard/webapi/__init__.py": "",
        "reviewboard/webapi/views.py": (
            "from django.http import JsonResponse\n\n"
            "from reviewboard.diffviewer.errors import DiffTooBigError\n\n\n"
            "def upload(request):\n"
            "    try:\n        save_diff(request.FILES['diff'])\n"
            "    except DiffTooBigError as e:\n"
            "        return JsonResponse({'error': str(e)}, status=400)\n"
            "    except Exception as e:\n"
            "        return JsonResponse({'error': str(e)}, status=500)\n"
        ),
    }
    write_files(tmp_path, files)
    report = review_patterns.lint_paths([tmp_path], Config(select=("RP302",)), cwd=tmp_path)
    assert [(f.path, f.line) for f in report.findings] == [("reviewboard/webapi/views.py", 12)]


def test_each_folder_finds_the_nearest_project_marker_above_it(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        dict.fromkeys(
            ("shop/manage.py", "shop/orders/api/views.py", "shop/legacy/pyproject.toml", "shop/legacy/app/x.py"), ""
        ),
    )
    (tmp_path / "loose" / "deep").mkdir(parents=True)
    shop = (tmp_path / "shop").resolve()
    expected = {
        "shop/orders/api": shop,
        "shop/orders": shop,
        "shop/legacy/app": shop / "legacy",  # a project inside a project: the nearest marker
        "shop/orders/api/views.py": shop,
    }
    known: dict[str, str | None] = {}
    for folder, root in expected.items():  # the deepest first: what a walk found is reused above it
        assert find_project_root(tmp_path / folder, known) == root == find_project_root(tmp_path / folder)
    if not any((folder / ".git").exists() or (folder / "pyproject.toml").exists() for folder in tmp_path.parents):
        assert find_project_root(tmp_path / "loose" / "deep", known) == (tmp_path / "loose" / "deep").resolve()


def test_a_folder_named_without_a_project_marker_is_one_project(tmp_path: Path) -> None:
    """An unpacked wheel or an exported tree holds no marker: its folders are read as one project (the
    folder named), not each as a project of its own, whose model index would know none of the others."""
    markers = ("manage.py", "pyproject.toml", "setup.py", "setup.cfg", ".git")
    if any((folder / marker).exists() for folder in tmp_path.parents for marker in markers):
        pytest.skip("a project marker above the temporary folder")
    site = tmp_path / "site"
    (site / "blog").mkdir(parents=True)
    (site / "shop").mkdir()
    (site / "blog" / "models.py").write_text(
        "from django.db import models\n\n\nclass Topic(models.Model):\n    title = models.CharField(max_length=9)\n\n\n"
        "class Post(models.Model):\n    topic = models.ForeignKey(Topic, on_delete=models.CASCADE)\n"
    )
    (site / "shop" / "views.py").write_text(
        "from blog.models import Post\n\n\ndef titles(request):\n"
        "    return [post.topic.title for post in Post.objects.filter(topic__isnull=False)]\n"
    )
    report = review_patterns.lint_paths([site], Config(select=("RP401",)), cwd=tmp_path)
    assert [(f.path, f.code) for f in report.findings] == [("site/shop/views.py", "RP401")]
    from review_patterns.checks import RULES
    from review_patterns.core.fixer import fix_paths

    (fixed,) = [
        o for o in fix_paths([site], Config(select=("RP401",)), rules=RULES, unsafe=True, write=False) if o.applied
    ]
    assert fixed.path.endswith("shop/views.py") and 'select_related("topic")' in fixed.fixed
    named_alone = review_patterns.lint_paths([site / "shop" / "views.py"], Config(select=("RP401",)), cwd=tmp_path)
    assert named_alone.findings == ()  # its own folder: the models are not known


def test_engine_imports_neither_click_nor_rich() -> None:
    code = (
        "import sys, review_patterns.core.engine, review_patterns;"
        "print(sorted(m for m in ('click', 'rich') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""},
    )
    assert out.stdout.strip() == "[]"


def test_parallel_run_gives_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "manage.py").write_text("")
    for index in range(6):
        (tmp_path / "blog" / f"views_{index}.py").parent.mkdir(exist_ok=True)
        (tmp_path / "blog" / f"views_{index}.py").write_text(VIEW if index % 2 else "x = 1\n")
    (tmp_path / "blog" / "broken.py").write_text("def f(:\n")
    serial = lint_paths([tmp_path], Config(), cwd=tmp_path)
    parallel = lint_paths([tmp_path], Config(), cwd=tmp_path, jobs=2)
    assert parallel == serial
    assert sum(len(r.findings) for r in serial.files) == 4  # 3 views + the parse error


def test_the_parts_the_rules_read_are_built_once_before_the_workers_start(tmp_path: Path) -> None:
    from review_patterns.checks import RULES
    from review_patterns.core import runner

    (tmp_path / "manage.py").write_text("")
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "models.py").write_text(
        "from django.db import models\n\n\nclass Post(models.Model):\n    title = models.CharField(max_length=9)\n"
    )
    (tmp_path / "blog" / "views.py").write_text(VIEW)
    config = Config()

    def task(name: str) -> Any:
        return (tmp_path / "blog" / name, f"blog/{name}", tmp_path, config, tuple(RULES), None, None, None)

    runner._WORKER_CONTEXTS.clear()
    try:
        runner.prepare_workers([task("views.py"), task("models.py")])
        built = set(runner._WORKER_CONTEXTS[tmp_path]._parts)
        assert {"models", "endpoints"} <= built  # the N+1 and paid-endpoint rules run on the view
        assert not built & {"migration_files", "redis_clients"}  # no migration or Redis rule runs on these files
        runner._WORKER_CONTEXTS.clear()
        (tmp_path / "blog" / "migrations").mkdir()
        (tmp_path / "blog" / "migrations" / "0001_initial.py").write_text(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    operations = []\n"
        )
        runner.prepare_workers([task("migrations/0001_initial.py")])
        assert {"migration_files", "releases"} <= set(runner._WORKER_CONTEXTS[tmp_path]._parts)
    finally:
        runner._WORKER_CONTEXTS.clear()


#: Parts whose fingerprints (what the result cache compares) cover what they know.
_PARTS = ("models", "migration_files", "function_names", "method_names", "redis_clients", "exceptions", "served_fields")


def _no_child_left() -> bool:
    import os

    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize("project", ["api_project", "migrations_project", "nplusone_project", "privacy_project"])
def test_parts_built_over_several_processes_know_what_parts_built_in_one_know(project: str) -> None:
    from conftest import FIXTURES

    from review_patterns.core.prebuild import build_parts

    alone, shared = ProjectContext(root=FIXTURES / project), ProjectContext(root=FIXTURES / project)
    for name in _PARTS:
        getattr(alone, name)
    build_parts(shared, _PARTS, jobs=3)
    assert set(_PARTS) <= set(shared._parts) and _no_child_left()
    assert [shared.fingerprint(name) for name in _PARTS] == [alone.fingerprint(name) for name in _PARTS]


class _AwkwardContext(ProjectContext):
    @part
    def unpicklable(self) -> Any:
        return lambda: "built"  # a helper cannot send it back: the parent builds it

    @part
    def failing(self) -> Any:
        raise ValueError("cannot read the project")


def test_a_part_no_helper_can_send_is_built_by_the_parent_and_a_failing_part_raises_there(tmp_path: Path) -> None:
    from review_patterns.core.prebuild import build_parts

    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "models.py").write_text(
        "from django.db import models\n\n\nclass Post(models.Model):\n    title = models.CharField(max_length=9)\n"
    )
    context = _AwkwardContext(root=tmp_path)
    build_parts(context, ["unpicklable", "models", "function_names"], jobs=2)
    assert context._parts["unpicklable"]() == "built" and "blog.Post" in context.models.models
    assert _no_child_left()
    with pytest.raises(ValueError, match="cannot read the project"):
        build_parts(_AwkwardContext(root=tmp_path), ["failing", "models", "function_names"], jobs=2)
    assert _no_child_left()


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_parent_does_its_own_work_while_the_helpers_start_on_the_parts(jobs: int) -> None:
    from conftest import FIXTURES

    from review_patterns.core.prebuild import build_parts

    context = ProjectContext(root=FIXTURES / "nplusone_project")
    seen: list[set[str]] = []
    build_parts(context, ["models", "function_names"], jobs, meanwhile=lambda: seen.append(set(context._parts)))
    assert seen == [set()]  # once, before the parent built a part
    assert {"models", "function_names"} <= set(context._parts) and _no_child_left()


class _WatchedContext(ProjectContext):
    @part
    def collecting(self) -> Any:
        import gc

        return gc.isenabled()


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_parts_are_built_with_the_cycle_collector_waiting(tmp_path: Path, jobs: int) -> None:
    import gc

    from review_patterns.core.prebuild import build_parts

    context = _WatchedContext(root=tmp_path)
    build_parts(context, ["collecting", "function_names"], jobs)
    assert context.collecting is False and gc.isenabled() and _no_child_left()


def test_the_catalogue_says_which_parts_each_rule_reads() -> None:
    from review_patterns.checks import RULES

    assert {rule.code or rule.name: rule.reads for rule in RULES} == {
        rule.code or rule.name: rule.load().reads for rule in RULES
    }
    assert any("models" in rule.reads for rule in RULES)


def test_the_cycle_collector_waits_while_a_file_is_checked() -> None:
    import gc

    seen: list[bool] = []

    class Watches(SaveInLoop):
        def visit_Call(self, node: cst.Call) -> None:
            seen.append(gc.isenabled())
            super().visit_Call(node)

    assert gc.isenabled()
    assert lint(VIEW, "blog/views.py", rules=(Watches,)).findings
    assert seen and not any(seen) and gc.isenabled()
    gc.disable()
    try:
        lint(VIEW, "blog/views.py", rules=(Watches,))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_a_rule_failing_its_pre_check_in_a_parallel_run_is_reported_for_its_files(tmp_path: Path) -> None:
    class FailingPreCheck(SaveInLoop):
        code = "RP995"
        reads = ("models",)

        @classmethod
        def applies_to(cls, file: Any) -> bool:
            raise ValueError("cannot tell")

    (tmp_path / "manage.py").write_text("")
    (tmp_path / "blog").mkdir()
    for index in range(3):
        (tmp_path / "blog" / f"views_{index}.py").write_text(VIEW)
    rules = (SaveInLoop, FailingPreCheck)
    parallel = lint_paths([tmp_path], Config(), cwd=tmp_path, jobs=2, rules=rules)
    assert parallel == lint_paths([tmp_path], Config(), cwd=tmp_path, jobs=1, rules=rules)
    failed = [f for f in parallel.findings if f.code == "RP002"]
    assert len(failed) == 4 and all("ValueError: cannot tell" in f.message for f in failed)


def test_ignoring_a_bonus_keeps_the_rule_that_awards_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class Awarding(SaveInLoop):
        bonuses = {"batched-saves": 1}

        def visit_Module(self, node: cst.Module) -> None:
            self.award(node, "batched-saves", "saves in bulk")

    rules = (Awarding,)
    result = lint(VIEW, "blog/views.py", rules=rules)
    assert [b.name for b in result.bonuses] == ["batched-saves"] and len(result.findings) == 1
    quiet = lint(VIEW, "blog/views.py", config=Config(ignore=("batched-saves",)), rules=rules)
    assert quiet.bonuses == () and len(quiet.findings) == 1


def test_a_rule_failing_before_the_traversal_is_reported_too(monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenContext(SaveInLoop):
        code = "RP994"

        def setup(self) -> None:
            raise OSError("the project context could not be read")

    rules = (SaveInLoop, BrokenContext)
    result = lint(VIEW, "blog/views.py", rules=rules)
    assert sorted(f.code for f in result.findings) == ["RP002", "RP992"]
    assert "RP994" in result.findings[0].message or "RP994" in result.findings[1].message


def test_a_rule_from_the_catalogue_keeps_its_classs_own_pre_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from review_patterns.checks import RULES
    from review_patterns.checks.migrations.helpers import MigrationRule

    created: list[str] = []
    setup = MigrationRule.setup

    def spy(self: MigrationRule) -> None:
        created.append(self.file.path)
        setup(self)

    monkeypatch.setattr(MigrationRule, "setup", spy)
    entries = [rule for rule in RULES if rule.code == "RP201"]
    assert entries and entries[0].requires == ("class Migration",)  # the catalogue's word, not the class's check
    view = (
        "from shop.models import Order\n\n\ndef total(request):\n"
        "    # no class Migration here: the count is read live\n    return Order.objects.count()\n"
    )
    review_patterns.lint(view, "shop/views.py", rules=entries)
    assert created == []
    migration = "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    operations = []\n"
    review_patterns.lint(migration, "shop/migrations/0002_order.py", rules=entries)
    assert created == ["shop/migrations/0002_order.py"]


@pytest.fixture()
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources LibCST parses, in order."""
    sources: list[str] = []
    parse = cst.parse_module

    def counting_parse(source: str) -> cst.Module:
        sources.append(source)
        return parse(source)

    monkeypatch.setattr(cst, "parse_module", counting_parse)
    return sources


def test_a_file_no_selected_rule_applies_to_is_not_parsed_by_libcst(parsed: list[str]) -> None:
    class SaveInLoopInMigrations(SaveInLoop):
        kinds = frozenset({FileKind.MIGRATION})

    result = lint(VIEW, "blog/views.py", rules=(SaveInLoopInMigrations,))
    assert parsed == [] and result.findings == () and result.error is None and result.lines == 6
    assert result.score == lint(VIEW, "blog/views.py", rules=()).score
    assert lint(VIEW, "blog/migrations/0002_publish.py", rules=(SaveInLoopInMigrations,)).findings
    assert len(parsed) == 1
    broken = lint("def publish(post:\n    post.save()\n", "blog/views.py", rules=(SaveInLoopInMigrations,))
    assert [f.code for f in broken.findings] == ["RP001"]  # CPython's parser still says it is not Python


def test_a_rule_whose_setup_finds_nothing_to_check_is_dropped_and_the_file_not_parsed(parsed: list[str]) -> None:
    """`Rule.active`: what only the options or the project tell (RP504's service modules) decides,
    after `setup`, whether the file is parsed at all."""

    class SaveInLoopInConfiguredModules(SaveInLoop):
        options = {"modules": ("*/services.py",)}

        def setup(self) -> None:
            super().setup()
            self.active = any(Path(self.file.path).match(glob) for glob in self.settings["modules"])

    rules = (SaveInLoopInConfiguredModules,)
    result = lint(VIEW, "blog/views.py", rules=rules)
    assert parsed == [] and result.findings == () and result.error is None
    assert [f.line for f in lint(VIEW, "blog/services.py", rules=rules).findings] == [7]
    configured = Config(options={SaveInLoopInConfiguredModules.code: {"modules": ("*/views.py",)}})
    assert [f.line for f in lint(VIEW, "blog/views.py", rules=rules, config=configured).findings] == [7]
    assert len(parsed) == 2
    # Run alongside a rule that stays, the dropped one reports nothing and the file is parsed once.
    both = lint(VIEW, "blog/views.py", rules=(SaveInLoopInConfiguredModules, SaveInLoop))
    assert [f.code for f in both.findings] == [SaveInLoop.code] and len(parsed) == 3
