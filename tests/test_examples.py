"""The bundled example project shows every rule and every bonus, as the README promises."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT, run_cli

from review_patterns import ALL_RULES, Config, lint_paths

TOOL_CODES = {"RP001", "RP002"}  # parse and internal errors: no example project should have them


def test_example_project_shows_every_rule_and_bonus(tmp_path: Path) -> None:
    # A copy outside this repository, whose release tags would date the example's migrations.
    examples = Path(shutil.copytree(ROOT / "examples", tmp_path / "examples"))
    report = lint_paths([examples], Config(), cwd=tmp_path)
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
