"""`review-patterns merge`: the JSON reports of a run split with `check --shard K/N`, put back together.

Each shard report holds its files' results and their places in the whole run, so the merged report
lists the files in the order one run would, and is graded as one run: the gate is applied once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from review_patterns.core.grading import grade_report
from review_patterns.core.model import Bonus, Dimension, Edit, FileChange, FileResult, Finding, Fix, Report, Severity


class MergeError(Exception):
    """Shard reports that cannot be merged: unreadable, not shard reports, or not one whole run."""


def read_report(path: Path) -> dict[str, Any]:
    """The JSON document in `path`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MergeError(f"cannot read {path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MergeError(f"{path} is not a JSON report: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("shard"), dict):
        raise MergeError(f"{path} is not the JSON report of a shard (`check --shard K/N --output-format json`)")
    return document


def merge(reports: Mapping[str, Mapping[str, Any]], min_grade: str | None = None) -> Report:
    """One graded report from the shard reports (name -> JSON document) of one run.

    The gate is the shards' `--min-grade` unless `min_grade` is given. Raises MergeError when
    the reports are not the N shards of one run, each once.
    """
    if not reports:
        raise MergeError("no reports to merge")
    shards: dict[int, str] = {}
    placed: dict[int, FileResult] = {}
    warnings: dict[str, None] = {}
    runs = set()
    for name, document in reports.items():
        try:
            shard = document["shard"]
            summary = document["summary"]
            runs.add((document["version"], shard["count"], shard["total"], summary["kind"], summary["min_grade"]))
            if len(runs) > 1:
                raise MergeError(
                    "the reports are not shards of one run (version, shard count, files, kind or gate differ)"
                )
            if shard["index"] in shards:
                raise MergeError(f"{name} and {shards[shard['index']]} are both shard {shard['index']}")
            shards[shard["index"]] = name
            for entry in document["files"]:
                placed[int(entry["position"])] = _file_result(entry)
            warnings.update(dict.fromkeys(str(w) for w in document["warnings"]))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise MergeError(
                f"{name} is not a shard report of review-patterns ({type(error).__name__}: {error})"
            ) from None
    _, count, total, kind, shards_min_grade = runs.pop()
    missing = sorted(set(range(1, count + 1)) - set(shards))
    if set(shards) - set(range(1, count + 1)):
        raise MergeError(f"shard numbers must run from 1 to {count}, not {', '.join(map(str, sorted(shards)))}")
    if missing:
        raise MergeError(f"shard {', '.join(map(str, missing))} of {count} is missing")
    if sorted(placed) != list(range(total)):
        raise MergeError(f"the shards hold {len(placed)} of the run's {total} files")
    files = [placed[position] for position in range(total)]
    return grade_report(files, min_grade or shards_min_grade, review=kind == "review", warnings=tuple(warnings))


def _file_result(entry: Mapping[str, Any]) -> FileResult:
    path = str(entry["path"])
    return FileResult(
        path,
        tuple(_finding(path, f) for f in entry["findings"]),
        tuple(_bonus(path, b) for b in entry["bonuses"]),
        lines=int(entry["lines"]),
        error=entry["error"],
        suppressed=int(entry["suppressed"]),
        score=None if entry["score"] is None else float(entry["score"]),
        dimensions={Dimension(d): float(v) for d, v in entry["dimensions"].items()},
    )


def _finding(path: str, f: Mapping[str, Any]) -> Finding:
    return Finding(
        path=path,
        line=int(f["line"]),
        column=int(f["column"]),
        end_line=int(f["end_line"]),
        end_column=int(f["end_column"]),
        code=str(f["code"]),
        name=str(f["name"]),
        message=str(f["message"]),
        severity=Severity(f["severity"]),
        dimension=Dimension(f["dimension"]),
        penalty=int(f["penalty"]),
        fix=_fix(f["fix"]),
    )


def _fix(fix: Mapping[str, Any] | None) -> Fix | None:
    if fix is None:
        return None
    edits = tuple(
        Edit(
            e["location"]["row"],
            e["location"]["column"],
            e["end_location"]["row"],
            e["end_location"]["column"],
            str(e["content"]),
        )
        for e in fix["edits"]
    )
    files = tuple(FileChange(str(f["path"]), f["before"], str(f["after"])) for f in fix.get("files", ()))
    return Fix(safe=fix["applicability"] == "safe", edits=edits, description=str(fix["message"]), files=files)


def _bonus(path: str, b: Mapping[str, Any]) -> Bonus:
    return Bonus(path, int(b["line"]), str(b["name"]), int(b["points"]), Dimension(b["dimension"]), str(b["message"]))
