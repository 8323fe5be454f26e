"""Every realistic project under tests/fixtures: each `# RPxxx` marker is found, nothing else is,
and a marker that pins a column (`# RP101:9`) or a message fragment (`# RP101 "text"`) matches it.

Each folder directly under tests/fixtures is one Django project (it holds a `manage.py`, which
makes it a project root); all rules run on a copy of it outside this repository (whose release
tags would otherwise date its migrations), as `review-patterns check` would run them.
"""

from __future__ import annotations

import shutil
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, flagged, marker_list, markers, unmatched

from review_patterns import Config, lint, lint_paths

PROJECTS = sorted(p for p in FIXTURES.glob("*/") if (p / "manage.py").exists())


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_fixture_project(project: Path, tmp_path: Path) -> None:
    project = Path(shutil.copytree(project, tmp_path / project.name))
    report = lint_paths([project], Config(), cwd=project)
    assert report.files, f"no Python files in {project}"
    mismatches = {}
    for result in report.files:
        source = (project / result.path).read_text(encoding="utf-8")
        expected = markers(source)
        found: Counter[tuple[int, str]] = flagged(result)
        if found != expected:
            mismatches[result.path] = {"missing": sorted(expected - found), "unexpected": sorted(found - expected)}
        elif wrong := unmatched(source, result):
            mismatches[result.path] = {
                "not as marked": wrong,
                "found": [(f.line, f.column, f.code, f.message) for f in result.findings],
            }
    assert not mismatches, mismatches


def test_markers_pin_the_code_and_line_and_optionally_the_column_and_message() -> None:
    source = textwrap.dedent(
        """
        from django.core.cache import cache

        def card(product_id, render):
            return cache.get_or_set(f"card:{product_id}", render, 1800)  # RP505:59 "30 minutes"
        """
    )
    assert markers(source) == Counter({(5, "RP505"): 1})
    result = lint(source, "shop/cards.py", None, Config(select=("RP505",)))
    assert flagged(result) == markers(source) and unmatched(source, result) == []
    for wrong in ('# RP505:58 "30 minutes"', '# RP505:59 "1 hour"', "# RP505:60"):
        moved = source.replace('# RP505:59 "30 minutes"', wrong)
        assert flagged(result) == markers(moved) and unmatched(moved, result) == marker_list(moved)
