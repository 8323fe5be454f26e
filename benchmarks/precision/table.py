"""Builds README.md (the precision table) from the judged samples in verdicts/*.csv.

python benchmarks/precision/table.py
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from corpora import PROJECTS

HERE = Path(__file__).resolve().parent


def total(count: int | dict[str, int]) -> int:
    """A rule's findings: one number (an earlier run) or one per project."""
    return count if isinstance(count, int) else sum(count.values())


#: What the rows do not cover yet (keep it true when re-measuring).
COVERAGE = """
Coverage: the RP1xx-RP5xx rows cover all fifteen projects. A rule with no finding has no
measured precision.

RP601, RP602 and RP604 find nothing with the defaults: no pinned project defines a quota guard, so
nothing is paid. Their rows are measured with what a user of the project would configure, the paid
API its views and tasks call (`corpora.PAID_CALLS`, passed by `run.py` with `--config`): pretix and
dj-stripe with `paid-calls = ["stripe.*"]`, weblate with its per-character translation downloads
(`weblate.machinery.*.download_translations`, `...download_multiple_translations`). Weblate was
checked with that configuration on its machinery modules (0 findings: its views reach a service
through the `MACHINERY` registry, which is not followed, and its translation cache is read and
written in different methods); its full run is not in the counts yet. The RP6xx rows also cover
label-studio, misago, pretalx, djangorestframework and django-oscar (RP604: the first three).
"""

#: How the migration rules' rows were measured (keep it true when re-measuring).
MIGRATIONS = """
Migration rules (RP201-RP206) were measured with the release history a user's git clone shows:
they ask whether a table or column was created in the same release as the change (then it has
no rows), which they read from release tags, and an sdist has no git. `history.py` rebuilds it
from the package index (every release up to the pinned one, the migration files its wheel or
sdist packaged) as a git copy of each pinned tree with one tagged commit per release:

    python benchmarks/precision/history.py --corpora DIR --out HISTORY
    (cd HISTORY/FOLDER && review-patterns check . --select RP2 -j 1 --no-cache --format json -o RUNS/NAME.json --exit-zero)

A migration counts from the first release that packaged it (a South migration at the same path,
read in the archive, does not count; a moved migrations folder is followed, a renamed file is
not), and files no release packaged count as the pinned release (the script's docstring lists
the limits). On the bare sdists (releases guessed from header days) RP201 was judged 0 of 1,
RP204 1 of 2 and RP206 9 of 14: each false alarm changed a table or column of the same release,
and so, the release history showed, did 8 of the findings judged true then.
"""


def main() -> int:
    counts = (
        json.loads((HERE / "verdicts" / "counts.json").read_text())
        if (HERE / "verdicts" / "counts.json").is_file()
        else {}
    )
    rows = []
    for path in sorted((HERE / "verdicts").glob("*.csv")):
        with path.open(newline="") as handle:
            judged = list(csv.DictReader(handle))
        tp = sum(r["verdict"] == "TP" for r in judged)
        fp = sum(r["verdict"] == "FP" for r in judged)
        open_ = len(judged) - tp - fp
        share = f"{100 * tp / (tp + fp):.0f}%" if tp + fp else "-"
        rows.append(
            f"| {path.stem} | {total(counts[path.stem]) if path.stem in counts else '?'} | {len(judged)}"
            f" | {tp} | {fp} | {share} |" + (f" {open_} not judged |" if open_ else " |")
        )
    projects = ", ".join(f"{name} {version}" for name, version, _ in PROJECTS)
    text = (
        f"""# Precision on real projects

Measured on pinned sdists nobody here wrote: {projects}.

Reproduce: `python benchmarks/precision/run.py --fetch --corpora DIR --out RUNS`, then
`python benchmarks/precision/sample.py --runs RUNS --rule RPxxx` (up to 30 findings per rule,
seed 0), judge each row of `verdicts/RPxxx.csv` as a reviewer would (TP or FP, and why), and
`python benchmarks/precision/table.py` to rebuild this page. Every row is there to be re-checked.

| rule | findings | sampled | true | false | precision | |
| --- | --- | --- | --- | --- | --- | --- |
"""
        + "\n".join(rows)
        + "\n"
        + COVERAGE
        + MIGRATIONS
    )
    (HERE / "README.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
