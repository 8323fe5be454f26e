"""The flake8 plugin, through the real `flake8` command in a subprocess.

It needs the project installed with its entry point (`pip install -e ".[test]"`, as CI does);
elsewhere these tests are skipped, saying so. They run the real rules on a small Django project and
select the two codes it is made for, so that rules added later do not change what they expect.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from conftest import ROOT, markers, run_cli
from django_shop import SELECT, SHOP, SWALLOWING
from sample_rules import write_project

from review_patterns import ALL_RULES
from review_patterns.core.rule import Bad, BonusCheck

registered = [e for e in entry_points(group="flake8.extension") if e.name == "RP"]
needs_plugin = pytest.mark.skipif(
    not registered and not os.environ.get("CI"),
    reason='the flake8 entry point RP is not installed in this Python: run `pip install -e ".[test]"`',
)


def test_pyproject_declares_the_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["flake8.extension"] == {"RP": "review_patterns.frontends.flake8:Plugin"}


def test_the_plugin_loads_neither_click_nor_rich() -> None:
    code = "import sys, review_patterns.frontends.flake8; print(sorted({'click', 'rich'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert result.stdout.strip() == "[]", result.stderr


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project", SHOP)


def flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
        check=False,
    )


VIEWS_FINDINGS = [
    "./shop/views.py:12:5: RP301 `email` is personal data in a log message; log an id or pseudonymize it"
    " (`mask_*`, `hash_*`)",
    "./shop/views.py:15:5: RP304 `except Exception` swallows every error; catch what you expect, re-raise,"
    " or log the traceback",
]


@needs_plugin
def test_select_reports_what_check_reports(project: Path) -> None:
    result = flake8(project, "--select", SELECT, ".")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == VIEWS_FINDINGS
    concise = run_cli(
        "check",
        "--format",
        "concise",
        "--select",
        SELECT,
        "--exit-zero",
        ".",
        cwd=project,
    )
    *lines, total = concise.stdout.splitlines()
    assert ["./" + line for line in lines] == VIEWS_FINDINGS  # same columns, 1-based
    assert total.startswith(f"{len(VIEWS_FINDINGS)} findings")


@needs_plugin
def test_extend_select_keeps_flake8s_own_checks(project: Path) -> None:
    (project / "shop/services.py").write_text("import os\n" + (project / "shop/services.py").read_text())
    result = flake8(project, "--extend-select", "RP301,RP304", ".")
    lines = result.stdout.splitlines()
    assert "./shop/services.py:1:1: F401 'os' imported but unused" in lines
    assert all(line in lines for line in VIEWS_FINDINGS)


@needs_plugin
def test_noqa_is_flake8s(project: Path) -> None:
    views = project / "shop/views.py"
    views.write_text(
        views.read_text()
        .replace("email)\n", "email)  # noqa: RP301\n")
        .replace("except Exception:", "except Exception:  # noqa: E501")
    )
    assert flake8(project, "--select", SELECT, ".").stdout.splitlines() == VIEWS_FINDINGS[1:]
    shown = flake8(project, "--select", SELECT, "--disable-noqa", ".")
    assert [line.split(": ")[1][:5] for line in shown.stdout.splitlines()] == ["RP301", "RP304"]


@needs_plugin
def test_ignores_and_per_file_ignores(project: Path) -> None:
    ignored = flake8(project, "--select", SELECT, "--extend-ignore", "RP301", ".")
    assert ignored.stdout.splitlines() == VIEWS_FINDINGS[1:]
    (project / "setup.cfg").write_text(f"[flake8]\nselect = {SELECT}\nper-file-ignores =\n    shop/views.py: RP304\n")
    assert flake8(project, ".").stdout.splitlines() == VIEWS_FINDINGS[:1]


@needs_plugin
def test_format_statistics_count_and_jobs(project: Path) -> None:
    for name in ("orders", "payments", "accounts"):
        write_project(project / name, {"__init__.py": "", "views.py": SWALLOWING})
    serial = flake8(project, "--select", SELECT, "-j", "1", "--format", "%(path)s|%(row)d|%(col)d|%(code)s", ".")
    parallel = flake8(
        project,
        "--select",
        SELECT,
        "-j",
        "2",
        "--format",
        "%(path)s|%(row)d|%(col)d|%(code)s",
        "--statistics",
        "--count",
        ".",
    )
    rows = sorted(serial.stdout.splitlines())
    assert rows == [
        "./accounts/views.py|4|5|RP304",
        "./orders/views.py|4|5|RP304",
        "./payments/views.py|4|5|RP304",
        "./shop/views.py|12|5|RP301",
        "./shop/views.py|15|5|RP304",
    ]
    out = parallel.stdout.splitlines()
    assert sorted(out[:5]) == rows
    assert [line.split(" `")[0] for line in out[5:]] == ["1     RP301", "4     RP304", "5"]


@needs_plugin
def test_rule_options_from_pyproject_and_flake8(project: Path) -> None:
    # notify_admins() mails the error: named an error reporter, the handler no longer swallows it
    (project / "pyproject.toml").write_text('[tool.review-patterns.rp304]\nerror-reporters = ["notify_admins"]\n')
    assert flake8(project, "--select", SELECT, ".").stdout.splitlines() == VIEWS_FINDINGS[:1]
    (project / "pyproject.toml").unlink()
    assert flake8(project, "--select", SELECT, ".").stdout.splitlines() == VIEWS_FINDINGS
    (project / "setup.cfg").write_text(
        f'[flake8]\nselect = {SELECT}\nrp-options =\n    RP304.error-reporters = ["notify_admins"]\n'
    )
    assert flake8(project, ".").stdout.splitlines() == VIEWS_FINDINGS[:1]


@needs_plugin
@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[flake8]\nrp-options = RP304.nope = 1\n", "unknown option `RP304.nope`"),
        ("[flake8]\nrp-options = RP304 = 1\n", "expected CODE.option = value"),
    ],
)
def test_bad_flake8_options_are_clear(project: Path, config: str, message: str) -> None:
    (project / "setup.cfg").write_text(config)
    result = flake8(project, "--select", SELECT, ".")
    assert result.returncode == 1 and message in result.stdout and "Traceback" not in result.stderr


@needs_plugin
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_sub_folders_bad_pyproject_is_one_rp001_per_file_it_governs(project: Path, jobs: str) -> None:
    """Found while checking files, possibly in a worker, where raising makes flake8 terminate its pool
    (which can hang): each file under it is reported not checked, the others are checked as usual."""
    (project / "shop/pyproject.toml").write_text("[tool.review-patterns]\nmin-grade = 'Z'\n")
    result = flake8(project, "--select", SELECT, "-j", jobs, ".")
    governed = sorted(str(p.relative_to(project)) for p in (project / "shop").rglob("*.py"))
    reported = sorted(line.split(":")[0].removeprefix("./") for line in result.stdout.splitlines())
    assert result.returncode == 1 and reported == governed, result.stdout
    for line in result.stdout.splitlines():
        assert ":1:1: RP001 review-patterns: configuration error: " in line and "min-grade" in line
    assert result.stderr == ""


@needs_plugin
def test_every_rule_first_bad_example_through_flake8(tmp_path: Path) -> None:
    """Whatever rules are registered, flake8 reports exactly the marked lines of each one's first Bad example."""
    cases = []
    for rule in ALL_RULES:
        bad = next((e for e in rule.examples if isinstance(e, Bad)), None)
        if issubclass(rule, BonusCheck) or bad is None:
            continue
        try:
            ast.parse(bad.code)
        except SyntaxError:  # flake8 reports E999 and runs no AST plugin
            continue
        root = write_project(tmp_path / rule.code, {"manage.py": "", **bad.files, bad.path: bad.code})
        if bad.options:
            values = "\n".join(f"{k} = {_toml(v)}" for k, v in bad.options.items())
            (root / "pyproject.toml").write_text(f"[tool.review-patterns.{rule.code.lower()}]\n{values}\n")
        cases.append((rule.code, root, bad))
    assert cases

    def run(case: tuple[str, Path, Bad]) -> tuple[str, list[tuple[int, str]], list[tuple[int, str]]]:
        code, root, bad = case
        out = flake8(root, "-j", "1", "--select", code, bad.path).stdout.splitlines()
        found = sorted((int(line.split(":")[1]), line.split(": ")[1].split()[0]) for line in out)
        return code, found, sorted(markers(bad.code).elements())

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        mismatches = [(code, found, expected) for code, found, expected in pool.map(run, cases) if found != expected]
    assert not mismatches


def _toml(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return f'"{value}"' if isinstance(value, str) else str(value)


def test_context_is_built_once_per_project_and_columns_are_0_based(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from review_patterns.core import runner
    from review_patterns.frontends import flake8 as plugin

    built: list[Path] = []

    class Counted(runner.ProjectContext):
        def __init__(self, root: Path, **settings: Any) -> None:
            built.append(root)
            super().__init__(root=root, **settings)

    monkeypatch.setattr(runner, "ProjectContext", Counted)
    monkeypatch.setattr(plugin, "_CONTEXTS", {})
    plugin.config_for.cache_clear()
    monkeypatch.chdir(tmp_path)
    shop, blog = write_project(tmp_path / "shop", SHOP), write_project(tmp_path / "blog", SHOP)
    for root in (shop, blog):  # the project's two rules only, whatever else is registered
        (root / "pyproject.toml").write_text('[tool.review-patterns]\nselect = ["RP301", "RP304"]\n')
    results = []
    for root, name in ((shop, "shop/views.py"), (shop, "shop/services.py"), (blog, "shop/views.py")):
        path = root / name
        checker = plugin.Plugin(ast.parse(path.read_text()), path.read_text().splitlines(True), str(path))
        results += [(Path(path).parent.parent.name, row, col, text.split()[0]) for row, col, text, _ in checker.run()]
    assert built == [shop, blog]
    assert results == [
        ("shop", 12, 4, "RP301"),
        ("shop", 15, 4, "RP304"),
        ("blog", 12, 4, "RP301"),
        ("blog", 15, 4, "RP304"),
    ]


PLAIN_PROJECT = {
    "manage.py": "",
    "shop/__init__.py": "",
    "shop/payments.py": "import requests\n\n\ndef charge(url):\n    return requests.post(url, json={})\n",
}
IN_PROCESS = (
    "import sys\n"
    "from flake8.main.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "print('libcst imported:', 'libcst' in sys.modules, file=sys.stderr)\n"
    "sys.exit(status)\n"
)


@needs_plugin
def test_a_plain_flake8_run_neither_reports_nor_loads_rp(tmp_path: Path) -> None:
    """Installing the package changes no plain `flake8` run: RP is opt-in and costs nothing until chosen."""
    root = write_project(tmp_path / "plain", PLAIN_PROJECT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", IN_PROCESS, "-j", "1", *args, "."]
        return subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, timeout=120, check=False)

    plain = run()
    assert plain.stdout == "" and plain.returncode == 0, plain.stdout + plain.stderr
    assert "libcst imported: False" in plain.stderr  # the plugin parsed nothing
    chosen = run("--extend-select", "RP5")
    assert "./shop/payments.py:5:12: RP509" in chosen.stdout.split(" `")[0], chosen.stdout + chosen.stderr
    assert "libcst imported: True" in chosen.stderr
    assert run("--select", "E,W,F").stdout == ""


@needs_plugin
def test_max_file_size_applies_to_the_plugin(project: Path) -> None:
    """A generated module over `max-file-size` is one RP001 (reported whichever RP rules are selected), not minutes
    of analysis; the other files are checked as usual. flake8 itself reads the file: the limit spares the engine."""
    (project / "shop" / "generated.py").write_text("ROWS = [\n" + "    {'id': 1},\n" * 2000 + "]\n")
    (project / "pyproject.toml").write_text('[tool.review-patterns]\nmax-file-size = "20 kB"\n')
    result = flake8(project, "--select", SELECT, ".")
    assert result.stdout.splitlines() == [
        "./shop/generated.py:1:1: RP001 too large to analyse (30 kB; max-file-size is 20 kB); not analysed",
        *VIEWS_FINDINGS,
    ]
    (project / "pyproject.toml").write_text('[tool.review-patterns]\nmax-file-size = "1 MB"\n')
    assert flake8(project, "--select", SELECT, ".").stdout.splitlines() == VIEWS_FINDINGS


def test_a_file_over_the_time_budget_is_one_rp001_in_flake8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flake8 calls the plugin in its processes' main threads: the engine's time budget applies."""
    import time

    from review_patterns.core import engine, runner
    from review_patterns.frontends import flake8 as plugin

    real = engine.lint

    def stalling(source: str, *args: Any, **kwargs: Any) -> Any:
        if "stall" in source:
            time.sleep(60)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(runner, "FILE_TIME_BUDGET", 0.5)
    monkeypatch.setattr(engine, "lint", stalling)
    monkeypatch.setattr(plugin, "_CONTEXTS", {})
    monkeypatch.setattr(plugin.Plugin, "rules", None)
    plugin.config_for.cache_clear()
    monkeypatch.chdir(tmp_path)
    shop = write_project(tmp_path / "shop", SHOP)
    (shop / "pyproject.toml").write_text('[tool.review-patterns]\nselect = ["RP301", "RP304"]\n')

    def run(path: Path) -> list[tuple[int, int, str]]:
        checker = plugin.Plugin(ast.parse(path.read_text()), path.read_text().splitlines(True), str(path))
        return [(row, col, text) for row, col, text, _ in checker.run()]

    (shop / "shop" / "slow.py").write_text("stall = True\n")
    started = time.monotonic()
    assert run(shop / "shop" / "slow.py") == [(1, 0, "RP001 took longer than 0.5 s to analyse; not analysed")]
    assert time.monotonic() - started < 30
    assert [text.split()[0] for _, _, text in run(shop / "shop" / "views.py")] == ["RP301", "RP304"]
