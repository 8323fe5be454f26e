"""Every realistic project under tests/fixtures: each `# RPxxx` marker is found, nothing else is.

Each folder directly under tests/fixtures is one Django project (it holds a `manage.py`, which
makes it a project root); all rules run on a copy of it outside this repository (whose release
tags would otherwise date its migrations), as `review-patterns check` would run them.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, flagged, markers

from review_patterns import Config, lint_paths

PROJECTS = sorted(p for p in FIXTURES.glob("*/") if (p / "manage.py").exists())


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_fixture_project(project: Path, tmp_path: Path) -> None:
    project = Path(shutil.copytree(project, tmp_path / project.name))
    report = lint_paths([project], Config(), cwd=project)
    assert report.files, f"no Python files in {project}"
    mismatches = {}
    for result in report.files:
        expected = markers((project / result.path).read_text(encoding="utf-8"))
        found: Counter[tuple[int, str]] = flagged(result)
        if found != expected:
            mismatches[result.path] = {"missing": sorted(expected - found), "unexpected": sorted(found - expected)}
    assert not mismatches, mismatches
