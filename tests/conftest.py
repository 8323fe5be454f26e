"""Shared helpers: markers in example and fixture code, and running the engine on examples."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from review_patterns import Config, ProjectContext, lint
from review_patterns.core.model import FileResult
from review_patterns.core.rule import Example, Rule

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The example and fixture projects live inside this tool's repository, whose release tags (v0.2.0)
# are the tool's, not theirs: git must not find that repository from inside them, or their
# migrations would count as released. (Tests of releases build repositories of their own.)
os.environ["GIT_CEILING_DIRECTORIES"] = str(ROOT)
_ONE = r'RP\d{3}(?::\d+)?(?:\s+"[^"]*")?'
_MARKER = re.compile(rf"#\s*({_ONE}(?:\s*,\s*{_ONE})*)\s*$")
_PART = re.compile(r'(RP\d{3})(?::(\d+))?(?:\s+"([^"]*)")?')


@dataclass(frozen=True)
class Marker:
    """A trailing `# RP101` comment: a finding of `code` on `line`; `# RP101:9` also pins its
    column (1-based), `# RP101 "text"` a fragment of its message, `# RP101:9 "text"` both."""

    line: int
    code: str
    column: int | None = None
    text: str | None = None


def marker_list(source: str) -> list[Marker]:
    """Every marker of `source`; one comment may hold several, comma-separated (`# RP101, RP301`)."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        match = _MARKER.search(line)
        if match:
            for code, column, text in _PART.findall(match.group(1)):
                found.append(Marker(number, code, int(column) if column else None, text or None))
    return found


def markers(source: str) -> Counter[tuple[int, str]]:
    """(line, code) for every marker."""
    return Counter((m.line, m.code) for m in marker_list(source))


def unmatched(source: str, result: FileResult) -> list[Marker]:
    """The markers pinning a column or a message fragment that no finding of their code and line matches."""
    return [
        m
        for m in marker_list(source)
        if (m.column is not None or m.text is not None)
        and not any(
            f.line == m.line
            and f.code == m.code
            and (m.column is None or f.column == m.column)
            and (m.text is None or m.text in f.message)
            for f in result.findings
        )
    ]


def flagged(result: FileResult) -> Counter[tuple[int, str]]:
    return Counter((f.line, f.code) for f in result.findings)


def lint_example(rule: type[Rule], example: Example) -> FileResult:
    """Runs only `rule` on an example, inside a project made of the example's `files`."""
    context = ProjectContext.from_sources({**example.files, example.path: example.code})
    options = {rule.code: dict(example.options)} if example.options else {}
    config = Config(select=(rule.code,) if rule.code else (), options=options)
    return lint(example.code, example.path, context, config)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m review_patterns ARGS` in a subprocess, as a user would run it."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "review_patterns", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """The long fuzz run is opt-in: `pytest -m fuzz`."""
    if "fuzz" in (config.option.markexpr or ""):
        return
    import pytest

    skip = pytest.mark.skip(reason="opt-in: pytest -m fuzz")
    for item in items:
        if "fuzz" in item.keywords:
            item.add_marker(skip)
