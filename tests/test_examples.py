"""The bundled example project shows every rule and every bonus, as the README promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, run_cli

from review_patterns import ALL_RULES, Config, lint_paths

TOOL_CODES = {"RP001", "RP002"}  # parse and internal errors: no example project should have them


def test_example_project_shows_every_rule_and_bonus() -> None:
    report = lint_paths([ROOT / "examples"], Config(), cwd=ROOT)
    codes = {f.code for f in report.findings}
    bonuses = {b.name for b in report.bonuses}
    assert codes == {r.code for r in ALL_RULES if r.code} - TOOL_CODES
    assert bonuses == {name for r in ALL_RULES for name in r.bonuses}
    assert not report.passed


def test_readme_main_command_prints_a_graded_report() -> None:
    result = run_cli("check", "examples/", "--no-color", cwd=ROOT)
    assert result.returncode == 1, result.stderr  # the example's blockers fail the gate
    assert "Overall: " in result.stdout and "FAILED" in result.stdout
    assert "examples/shop/services.py" in result.stdout and " = " in result.stdout  # the arithmetic


def test_example_inside_a_tagged_repository_still_shows_the_migration_rules(tmp_path: Path) -> None:
    """A fresh clone of this repository carries the tool's own tags (v0.2.0); the example's
    `release-tags` says none of them is a shop release, so its migrations are judged on their own."""
    repository = tmp_path / "clone"
    shutil.copytree(ROOT / "examples", repository / "examples")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "example"], ["tag", "v0.2.0"]):
        subprocess.run([*git, *command], cwd=repository, check=True, capture_output=True)
    result = run_cli(
        "check", "examples/", "--statistics", cwd=repository, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    )
    assert result.returncode == 1, result.stderr
    for code in ("RP201", "RP202", "RP204", "RP205", "RP206"):
        assert code in result.stdout
