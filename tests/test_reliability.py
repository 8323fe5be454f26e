"""One bad file never costs the run: deep code, crashes in the engine, limits (issue 16)."""

from __future__ import annotations

import ast
import json
import os
import signal
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from conftest import ROOT, run_cli
from sample_rules import SaveInLoop

import review_patterns
from review_patterns import ALL_RULES, Config, ConfigError, FileResult, Report
from review_patterns.core import engine, runner
from review_patterns.core.config import parse_config
from review_patterns.core.engine import with_deep_stack
from review_patterns.core.rule import Rule
from review_patterns.frontends.output import OutputError, write_output
from review_patterns.report import baseline
from review_patterns.report.baseline import BaselineError
from review_patterns.report.fingerprint import Sources
from review_patterns.report.writers import WRITERS
from review_patterns.syntax.parsing import MAX_NESTING, check_source, nesting_depth, parse_expression

VIEW = """\
from blog.models import Post


def publish_all(request):
    for post in Post.objects.filter(draft=True):
        post.draft = False
        post.save()
"""

#: Valid Python that nests one level per repetition, in each way LibCST recurses.
DEEP: dict[str, Callable[[int], str]] = {
    "sum": lambda n: "total = " + " + ".join(["a"] * n),
    "not": lambda n: "flag = " + "not " * n + "a",
    "unary minus": lambda n: "value = " + "-" * n + "a",
    "attributes": lambda n: "value = request" + ".user" * n,
    "calls": lambda n: "value = factory" + "()" * n,
    "strings": lambda n: "text = (" + " ".join(["'a'"] * n) + ")",
    "and": lambda n: "ok = " + " and ".join(["a"] * n),
    "elif": lambda n: "if a:\n    pass\n" + "elif a:\n    pass\n" * n,
    "lambda": lambda n: "make = " + "lambda: " * n + "1",
    "conditional": lambda n: "value = " + "a if b else " * n + "c",
}


def lint(source: str, rules: tuple[type[Rule], ...] = (SaveInLoop,)) -> FileResult:
    return review_patterns.lint(source, "blog/views.py", rules=rules)


def codes(result: FileResult) -> list[str]:
    return [f.code for f in result.findings]


@pytest.mark.parametrize("kind", DEEP)
def test_deep_valid_code_is_analysed_and_keeps_its_findings(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    retried = []

    def spy(work: Callable[[], FileResult]) -> FileResult:
        retried.append(True)
        return with_deep_stack(work)

    monkeypatch.setattr(engine, "with_deep_stack", spy)
    deep = DEEP[kind](500) + "\n"
    result = lint(deep + VIEW)  # the deep code is printed before the finding is placed
    assert codes(result) == ["RP992"], result.findings
    assert result.error is None and result.findings[0].line == 7 + deep.count("\n")
    assert retried  # 500 levels exhaust the default recursion limit in LibCST: retried with room


@pytest.mark.parametrize("kind", [k for k in DEEP if k != "strings"])
def test_deeper_than_the_limit_is_rp001_without_reaching_libcst(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(source: str) -> None:
        raise AssertionError("handed to LibCST")

    monkeypatch.setattr(cst, "parse_module", no_parse)
    result = lint(VIEW + DEEP[kind](MAX_NESTING + 10) + "\n")
    ((finding),) = result.findings
    assert finding.code == "RP001" and finding.message.startswith("too deeply nested to analyse")
    assert result.error == finding.message and result.score is None


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "(" * 2000 + "\n",  # once a stack overflow in LibCST's native parser
        "x = " + "[" * 300 + "1" + "]" * 300 + "\n",
        "ok = " + " and ".join(["a"] * 20_000) + "\n",  # CPython accepts it flat; LibCST's parser crashed
        "total = " + " + ".join(["a"] * 8_000) + "\n",
    ],
    ids=["open parens", "nested lists", "20,000 and", "8,000-term sum"],
)
def test_input_that_crashed_the_native_parser_is_rp001(source: str) -> None:
    result = lint(source)
    assert codes(result) == ["RP001"]
    assert "too deeply nested" in result.findings[0].message


def test_every_rule_survives_deep_code() -> None:
    source = VIEW + "\n".join(make(250) for make in DEEP.values()) + "\n"
    result = lint(source, rules=ALL_RULES)
    assert not {"RP001", "RP002"} & set(codes(result)), result.findings


def test_nesting_depth_counts_the_operands_of_and_as_levels() -> None:
    flat = ast.parse("x = [" + ", ".join(["a"] * 50) + "]")
    chained = ast.parse("x = " + " or ".join(["a"] * 50))
    assert nesting_depth(flat) < 10 < 50 < nesting_depth(chained)


def test_check_source_reports_syntax_errors_in_cpythons_words() -> None:
    rejected = check_source("def publish(post:\n    post.save()\n")
    assert rejected is not None and rejected.line == 1 and rejected.reason.startswith("syntax error")
    assert check_source(VIEW) is None


def test_parse_expression_refuses_what_would_crash_libcst() -> None:
    assert parse_expression("Optional[redis.Redis]") is not None
    assert parse_expression("(" * 3000) is None
    assert parse_expression(" or ".join(["a"] * 20_000)) is None
    assert parse_expression("no such python") is None


class Exhausting(Rule):
    """## What it does
    Recurses without end on every function, as a buggy rule would.

    ## Why is this bad?
    Test only.
    """

    code = "RP983"
    name = "exhausting"
    message = "never reported"
    severity = review_patterns.Severity.WARNING
    dimension = review_patterns.Dimension.RELIABILITY

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        def down(n: int) -> int:
            return down(n + 1) + 1

        down(0)


class Hungry(Exhausting):
    code = "RP984"
    name = "hungry"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        raise MemoryError


def test_a_rule_that_recurses_forever_is_rp002_and_the_others_keep_their_findings() -> None:
    result = lint(VIEW, rules=(SaveInLoop, Exhausting))
    assert codes(result) == ["RP002", "RP992"]
    assert "RP983" in result.findings[0].message and "RecursionError" in result.findings[0].message


def test_memory_error_is_rp001_too_large() -> None:
    result = lint(VIEW, rules=(SaveInLoop, Hungry))
    assert codes(result) == ["RP001"] and result.findings[0].message.startswith("too large to analyse")


def test_a_failure_outside_the_rules_is_rp002_for_that_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("positions")

    monkeypatch.setattr(engine, "positions_of", broken)
    result = lint(VIEW)
    assert codes(result) == ["RP002"]
    assert "KeyError" in result.findings[0].message and result.error is not None


def test_position_lookup_on_deep_code_is_guarded() -> None:
    # the deep expression comes before the finding: placing it prints the deep expression too
    result = lint("value = request" + ".user" * 400 + "\n" + VIEW)
    assert codes(result) == ["RP992"]


# Limits and the file system: only regular files, a size limit, a time budget, dead workers.

FAST = Config(select=("RP992",))


def project(tmp_path: Path) -> Path:
    (tmp_path / "blog").mkdir(parents=True)
    (tmp_path / "blog" / "views.py").write_text(VIEW)
    return tmp_path


def by_path(report: Report) -> dict[str, list[str]]:
    return {Path(r.path).name: [f.code for f in r.findings] for r in report.files}


def check(paths: list[Path], config: Config = FAST, **options: Any) -> Report:
    return review_patterns.lint_paths(paths, config, rules=(SaveInLoop,), **options)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_skipped_with_a_note_not_read(tmp_path: Path) -> None:
    root = project(tmp_path)
    os.mkfifo(root / "blog" / "pipe.py")  # reading it would wait forever
    report = check([root])
    assert by_path(report) == {"views.py": ["RP992"]}
    assert any("pipe.py" in w and "a FIFO" in w for w in report.warnings), report.warnings
    named = check([root / "blog" / "pipe.py", root / "blog" / "views.py"])
    assert by_path(named) == {"views.py": ["RP992"]} and named.warnings


def test_a_link_to_a_device_is_not_read(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "blog" / "zero.py").symlink_to("/dev/zero")
    report = check([root / "blog" / "zero.py", root / "blog" / "views.py"])
    assert by_path(report) == {"views.py": ["RP992"]}
    assert any("a device" in w for w in report.warnings)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_special_files_inside_the_project_do_not_hold_its_context(tmp_path: Path) -> None:
    """The project context reads models, settings, migrations and dependency declarations besides the
    checked files: a FIFO there would wait forever, a link to /dev/zero fill the memory. Each rule that
    reads the context runs (every rule is selected), in a process given a minute."""
    root = project(tmp_path)
    (root / "manage.py").write_text("")
    (root / "blog" / "__init__.py").write_text("")
    (root / "blog" / "migrations").mkdir()
    os.mkfifo(root / "blog" / "models.py")
    os.mkfifo(root / "blog" / "migrations" / "0001_initial.py")
    (root / "blog" / "apps.py").symlink_to("/dev/zero")
    (root / "mysite").mkdir()
    (root / "mysite" / "settings.py").symlink_to("/dev/zero")
    (root / "blog" / "services.py").write_text("def f():\n    pass\n")
    (root / "requirements.txt").symlink_to("/dev/zero")
    os.mkfifo(root / "poetry.lock")
    (root / "blog" / "huge_models.py").write_text("class Big:\n    pass\n" + "#" * 3_000_000)
    command = [sys.executable, "-m", "review_patterns", "check", "--no-cache", "-j", "1", "--output-format", "json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([*command, "."], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert by_path_json(report)["views.py"] == [] and by_path_json(report)["services.py"] == []
    assert by_path_json(report)["huge_models.py"] == ["RP001"]
    assert {w.split(":")[0].rsplit("/", 1)[-1] for w in report["warnings"] if "skipped" in w} >= {
        "models.py",
        "0001_initial.py",
        "apps.py",
        "settings.py",
    }


def by_path_json(report: dict[str, Any]) -> dict[str, list[str]]:
    return {Path(r["path"]).name: [f["code"] for f in r["findings"]] for r in report["files"]}


def test_the_context_reads_with_the_engines_limits(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "blog" / "models.py").write_text("from django.db import models\n\nclass Post(models.Model):\n    pass\n")
    (root / "requirements.txt").symlink_to("/dev/zero")
    context = review_patterns.ProjectContext(root=root)
    assert context.read("blog/models.py") is not None and "blog.Post" in context.models.models
    assert context.django_version is None or context.django_version.source == "installed django"
    small = review_patterns.ProjectContext(root=root, max_file_size=20)
    assert small.read("blog/models.py") is None and "blog.Post" not in small.models.models


def test_a_file_over_max_file_size_is_reported_not_analysed(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "blog" / "generated.py").write_text("DATA = [\n" + "    1,\n" * 2000 + "]\n")
    report = check([root], replace(FAST, max_file_size=10_000))
    assert by_path(report) == {"generated.py": ["RP001"], "views.py": ["RP992"]}
    (result,) = [r for r in report.files if r.path.endswith("generated.py")]
    assert result.error is not None and "too large" in result.error and "max-file-size" in result.error


def test_max_file_size_setting(tmp_path: Path) -> None:
    assert parse_config({"max-file-size": "500 kB"}, rules=ALL_RULES).max_file_size == 500_000
    assert parse_config({"max-file-size": 4096}, rules=ALL_RULES).max_file_size == 4096
    assert parse_config({}, rules=ALL_RULES).max_file_size == 2_000_000
    for bad in ("big", -1, True, "2 parsecs"):
        with pytest.raises(ConfigError, match="max-file-size"):
            parse_config({"max-file-size": bad}, rules=ALL_RULES)


def test_a_symlink_loop_is_a_note(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "blog" / "a.py").symlink_to(root / "blog" / "b")
    (root / "blog" / "b").symlink_to(root / "blog" / "a.py")
    (root / "blog" / "up").symlink_to(root)  # a folder link back up the tree
    report = check([root])
    assert by_path(report) == {"views.py": ["RP992"]}
    assert any("a.py" in w and "loop" in w for w in report.warnings), report.warnings


def test_an_unreadable_folder_is_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    (root / "secret").mkdir()
    scandir = os.scandir

    def denied(path: Any) -> Any:
        if os.path.basename(path) == "secret":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)  # chmod 000 does not stop root
    report = check([root])
    assert by_path(report) == {"views.py": ["RP992"]}
    assert any("secret" in w and "Permission denied" in w for w in report.warnings)


def test_a_link_out_of_the_checked_folders_is_not_followed(tmp_path: Path) -> None:
    root = project(tmp_path / "project")
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "id_rsa.py").write_text("KEY = 'private'\n")
    (root / "blog" / "key.py").symlink_to(outside / "id_rsa.py")
    (root / "blog" / "home").symlink_to(outside)
    report = check([root])
    assert by_path(report) == {"views.py": ["RP992"]}
    assert sum("out of the checked folders" in w for w in report.warnings) == 2
    named = check([root / "blog" / "key.py"])  # named on the command line, it is read
    assert [r.path.endswith("id_rsa.py") for r in named.files] == [True]


def test_an_unreadable_file_named_is_rp001(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    secret = root / "blog" / "secret.py"
    secret.write_text("x = 1\n")
    real_open = os.open

    def denied(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("secret.py"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    report = check([secret, root / "blog" / "views.py"])
    assert by_path(report) == {"secret.py": ["RP001"], "views.py": ["RP992"]}
    assert "Permission denied" in (report.files[0].error or "")


class Slow(Rule):
    """## What it does
    Takes forever on a file that calls `stall()`.

    ## Why is this bad?
    Test only.
    """

    code = "RP985"
    name = "slow"
    message = "never reported"
    severity = review_patterns.Severity.WARNING
    dimension = review_patterns.Dimension.RELIABILITY

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "stall":
            time.sleep(600)
        if isinstance(node.func, cst.Name) and node.func.value == "crash":
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would


def many_files(root: Path, bad: str) -> list[Path]:
    files = []
    for n in range(6):
        path = root / f"view_{n}.py"
        path.write_text(VIEW + (f"{bad}()\n" if n == 3 else ""))
        files.append(path)
    return files


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_over_the_time_budget_costs_only_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(runner, "FILE_TIME_BUDGET", 1.0)  # the workers are forked with it
    files = many_files(tmp_path, "stall")
    started = time.monotonic()
    report = review_patterns.lint_paths(files, Config(), rules=(SaveInLoop, Slow), jobs=jobs)
    assert time.monotonic() - started < 120
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    assert by_path(report) == {f.name: ["RP001"] if f.name == "view_3.py" else ["RP992"] for f in files}
    assert "took longer than 1 s" in (report.files[3].error or "")


def test_fixing_a_file_over_the_time_budget_leaves_it_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from review_patterns.core.fixer import fix_paths

    monkeypatch.setattr(runner, "FILE_TIME_BUDGET", 1.0)
    files = many_files(tmp_path, "stall")
    before = files[3].read_text()
    started = time.monotonic()
    outcomes = fix_paths(files, Config(), rules=(SaveInLoop, Slow))
    assert time.monotonic() - started < 120
    assert [Path(o.path).name for o in outcomes] == [f.name for f in files if f.name != "view_3.py"]
    assert files[3].read_text() == before


def test_the_time_budget_leaves_the_callers_own_timer_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with runner.time_budget(0.1):
            time.sleep(0.3)  # not cut short: the budget is not armed over the caller's timer
        time.sleep(0.5)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == [signal.SIGALRM]


def test_a_dead_worker_costs_only_its_file(tmp_path: Path) -> None:
    files = many_files(tmp_path, "crash")
    report = review_patterns.lint_paths(files, Config(), rules=(SaveInLoop, Slow), jobs=2)
    assert by_path(report) == {f.name: ["RP001"] if f.name == "view_3.py" else ["RP992"] for f in files}
    assert "died" in (report.files[3].error or "")


@pytest.mark.parametrize("chunk", [2, 4])
def test_a_dead_worker_costs_only_its_file_when_files_go_out_several_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(runner, "MAX_CHUNK", chunk)
    files = []
    for n in range(16 * chunk):
        path = tmp_path / f"view_{n:02}.py"
        path.write_text(VIEW + ("crash()\n" if n == 9 else ""))
        files.append(path)
    assert runner._chunk_size(len(files), 2) == chunk
    report = review_patterns.lint_paths(files, Config(), rules=(SaveInLoop, Slow), jobs=2)
    assert by_path(report) == {f.name: ["RP001"] if f.name == "view_09.py" else ["RP992"] for f in files}
    assert "died" in (report.files[9].error or "")


_LINT_IN_WORKER = runner._lint_in_worker


def _failing_with_file_9(indices: Sequence[int]) -> list[FileResult]:
    """A worker's hand that fails after `lint` when it holds file 9 (sent to workers by name: module level)."""
    if 9 in indices:
        raise ValueError("cannot send the result")  # as an unpicklable result would
    return _LINT_IN_WORKER(indices)


def test_a_hand_that_fails_outside_the_engine_has_its_files_checked_again_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = []
    for n in range(32):
        path = tmp_path / f"view_{n:02}.py"
        path.write_text(VIEW)
        files.append(path)
    monkeypatch.setattr(runner, "_lint_in_worker", _failing_with_file_9)  # the workers are forked with it
    assert runner._chunk_size(len(files), 2) == 2
    report = review_patterns.lint_paths(files, Config(), rules=(SaveInLoop,), jobs=2)
    assert by_path(report) == {f.name: ["RP002"] if f.name == "view_09.py" else ["RP992"] for f in files}
    assert "ValueError: cannot send the result" in (report.files[9].error or "")


def test_files_go_out_a_few_at_a_time_while_every_worker_gets_eight_hands() -> None:
    assert runner._chunk_size(632, 2) == runner.MAX_CHUNK
    assert runner._chunk_size(40, 2) == 2  # 20 hands, ten per worker
    assert runner._chunk_size(15, 2) == 1
    assert runner._chunk_size(0, 4) == 1


# Ctrl-C and SIGTERM with worker processes.


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
@pytest.mark.parametrize(
    ("target", "signum", "presses", "status"),
    [
        ("group", signal.SIGINT, 3, 130),  # Ctrl-C in a terminal, pressed three times
        ("parent", signal.SIGINT, 1, 130),  # timeout -s INT
        ("parent", signal.SIGTERM, 1, 143),  # timeout, a CI runner cancelling the job
    ],
)
def test_a_signal_stops_the_run_and_its_workers(
    tmp_path: Path, target: str, signum: int, presses: int, status: int
) -> None:
    deep = "try:\n    value = request" + ".user" * 900 + "\nexcept KeyError:\n    value = None\n"  # a handler: parsed
    for n in range(12):  # each takes LibCST a second or more: the run is still going when signalled
        (tmp_path / f"deep_{n}.py").write_text(deep)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "review_patterns", "check", "-j", "2", "--no-cache", str(tmp_path)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(workers := children(process.pid)) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert len(workers) >= 2, "the workers never started"
        for _ in range(presses):
            if target == "group":
                os.killpg(process.pid, signum)
            else:
                os.kill(process.pid, signum)
            time.sleep(0.1)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == status, err.decode()
    assert err.decode().splitlines() == [f"review-patterns: {'interrupted' if status == 130 else 'terminated'}"]
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "a worker was left behind"


# Writing reports and baselines.


def test_a_report_through_a_symlink_writes_its_target(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "report.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_output(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the mode is kept
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_report_onto_a_device_never_replaces_it(tmp_path: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    except (PermissionError, AttributeError, OSError):
        pytest.skip("cannot make a device node here")
    write_output(null, "report\n")
    assert stat.S_ISCHR(null.stat().st_mode)


def test_a_report_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(OutputError, match=r"folder\.json: it is a folder"):
        write_output(tmp_path / "folder.json", "x")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot write"):
        write_output(tmp_path / "file" / "report.json", "x")


def test_the_command_line_writes_safely_and_says_what_failed(tmp_path: Path) -> None:
    root = project(tmp_path / "project")
    target = tmp_path / "report.json"
    (tmp_path / "link.json").symlink_to(target)
    done = run_cli("check", "--format", "json", "-o", str(tmp_path / "link.json"), str(root))
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / "link.json").is_symlink() and json.loads(target.read_text())["files"]
    (tmp_path / "taken").write_text("")
    failed = run_cli("check", "-o", str(tmp_path / "taken" / "report.txt"), str(root))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith("review-patterns: cannot write ") and len(failed.stderr.splitlines()) == 1
    both = run_cli("check", "--write-baseline", "b.json", "--baseline", "other.json", str(root), cwd=tmp_path)
    assert both.returncode == 2 and "--baseline" in both.stderr and not (tmp_path / "b.json").exists()
    summary = run_cli(
        "check", "--format", "github", str(root), env={"GITHUB_STEP_SUMMARY": str(tmp_path / "taken" / "x" / "y")}
    )
    assert summary.returncode in (0, 1) and "cannot write GITHUB_STEP_SUMMARY" in summary.stderr


# Reports that cannot be broken: control characters, newlines, file names that are not UTF-8.


class EchoString(Rule):
    """## What it does
    Reports every string literal with its raw text, as RP506 and RP204 quote the source.

    ## Why is this bad?
    Test only.
    """

    code = "RP986"
    name = "echo-string"
    message = "string {text}"
    severity = review_patterns.Severity.BLOCKER
    dimension = review_patterns.Dimension.RELIABILITY

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.report(node, text=node.evaluated_value)


def test_every_writer_survives_control_characters_newlines_and_undecodable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module_name, module in list(sys.modules.items()):  # the writers describe the rule from the registry
        if module_name.startswith("review_patterns") and hasattr(module, "ALL_RULES"):
            monkeypatch.setattr(module, "ALL_RULES", (*ALL_RULES, EchoString))
    folder = os.fsencode(tmp_path)
    name = folder + b"/caf\xe9_\x1b.py"  # Latin-1 bytes and an ESC: not UTF-8
    with open(name, "w", encoding="utf-8") as handle:
        handle.write('TITLE = "bell\\x07 esc\\x1b[31m red"\nHELP = """two\nlines"""\n')
    report = review_patterns.lint_paths([Path(os.fsdecode(name))], Config(), cwd=tmp_path, rules=(EchoString,))
    (result,) = report.files
    assert result.path == "caf\ufffd_\\x1b.py"
    assert [f.message for f in result.findings] == ["string bell\\x07 esc\\x1b[31m red", "string two\\nlines"]
    sources = Sources(tmp_path)
    for format_name, writer in WRITERS.items():
        output = writer(report, sources, rules=(EchoString,))
        output.encode("utf-8")  # no lone surrogate left
        assert "\x1b" not in output and "\x07" not in output, format_name
        if format_name == "junit":
            ET.fromstring(output.split("\n", 1)[1])
        if format_name == "concise":
            assert len([line for line in output.splitlines() if "RP986" in line]) == 2


# Configuration: prefixes, what cannot be ignored, malformed shapes.


def test_severity_and_penalty_accept_prefixes_and_the_longer_one_wins() -> None:
    config = parse_config(
        {"severity": {"RP3": "suggestion", "RP301": "blocker"}, "penalty": {"RP1": 1}}, rules=ALL_RULES
    )
    privacy = [rule.code for rule in ALL_RULES if rule.code.startswith("RP3")]
    assert len(privacy) > 1 and config.severity["RP301"] == review_patterns.Severity.BLOCKER
    assert all(config.severity[code] == review_patterns.Severity.SUGGESTION for code in privacy if code != "RP301")
    assert {code for code, points in config.penalty.items() if points == 1} == {
        rule.code for rule in ALL_RULES if rule.code.startswith("RP1")
    }
    source = "from blog.models import Post\n\ndef f(pk):\n    post = Post.objects.get(pk=pk)\n    post.views += 1\n    post.save()\n"
    finding = review_patterns.lint(source, "blog/views.py", config=replace(config, select=("RP103",))).findings[0]
    assert finding.code == "RP103" and finding.penalty == 1


@pytest.mark.parametrize("table", [{"ignore": ["RP001"]}, {"ignore": ["rp002"]}, {"per-file-ignores": {"*": ["RP00"]}}])
def test_the_tools_own_codes_cannot_be_ignored(table: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="cannot be ignored"):
        parse_config(table, rules=ALL_RULES)
    assert parse_config({"ignore": ["RP"]}, rules=ALL_RULES).ignore == ("RP",)  # every rule, not RP001 alone


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (b"tool = 5\n", "`tool`"),
        (b'tool = "x"\n', "`tool`"),
        (b"[tool]\nreview-patterns = 5\n", "`tool.review-patterns`"),
        (b'[tool.review-patterns]\nselect = ["RP1"]\n# caf\xe9\n', "not valid UTF-8"),
    ],
)
def test_a_malformed_pyproject_is_a_configuration_error_naming_file_and_key(
    tmp_path: Path, text: bytes, named: str
) -> None:
    (tmp_path / "pyproject.toml").write_bytes(text)
    with pytest.raises(ConfigError) as error:
        review_patterns.load_config(tmp_path)
    assert str(tmp_path / "pyproject.toml") in str(error.value) and named in str(error.value)
    done = run_cli("check", str(tmp_path))
    assert done.returncode == 2 and "configuration error" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "document",
    [
        {"version": 1, "findings": [[1, 2]]},
        {"version": 1, "findings": [{"code": ["RP1"], "path": [], "fingerprint": {}}]},
        {"version": 1, "findings": [{"code": "RP101", "path": "a.py", "fingerprint": "x", "line": [1]}]},
    ],
)
def test_a_malformed_baseline_is_a_clear_error(tmp_path: Path, document: object) -> None:
    (tmp_path / "baseline.json").write_text(json.dumps(document))
    with pytest.raises(BaselineError, match="malformed entry"):
        baseline.load(tmp_path / "baseline.json")
