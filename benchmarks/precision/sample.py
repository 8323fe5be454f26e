"""Samples up to N findings of one rule across the projects' reports, with a fixed seed.

    python benchmarks/precision/sample.py --runs /tmp/precision --rule RP302 [--n 30] [--seed 0]

Writes `verdicts/RP302.csv` with an empty verdict for each sampled finding. Verdicts already
given for the same finding (project, file, line, rule, message) are kept, also those of a finding
that left the sample and is drawn again: a judged row that leaves it is kept in
`verdicts/out_of_sample/RP302.csv`, which counts in no table. Projects without a
report in RUNS keep their rows and counts: a measurement can add projects without running the
others again (the sample then holds up to N findings of the projects run, besides theirs).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from corpora import PROJECTS

HERE = Path(__file__).resolve().parent
#: The key of a count made before counts were kept per project (the first nine projects).
EARLIER = "earlier run of the first nine projects"
COLUMNS = ("project", "version", "file", "line", "rule", "message", "verdict", "reason")


def reported(runs: Path) -> set[str]:
    """The projects with a report in `runs`."""
    return {name for name, _, _ in PROJECTS if (runs / f"{name}.json").is_file()}


def findings(runs: Path, rule: str) -> list[dict[str, str]]:
    rows = []
    for name, version, _ in PROJECTS:
        report = runs / f"{name}.json"
        if not report.is_file():
            continue
        for file in json.loads(report.read_text())["files"]:
            for f in file.get("findings", []):
                if f["code"] == rule:
                    rows.append(
                        {
                            "project": name,
                            "version": version,
                            "file": file["path"],
                            "line": str(f["line"]),
                            "rule": rule,
                            "message": f["message"],
                            "verdict": "",
                            "reason": "",
                        }
                    )
    return sorted(rows, key=lambda r: (r["project"], r["file"], int(r["line"]), r["message"]))


def key(row: dict[str, str]) -> tuple[str, ...]:
    """What names a finding across runs: its project, file, line, rule and message."""
    return (row["project"], row["file"], row["line"], row["rule"], row["message"])


def order(row: dict[str, str]) -> tuple[str, str, int, str]:
    return (row["project"], row["file"], int(row["line"]), row["message"])


def read(path: Path) -> list[dict[str, str]]:
    """The rows of a verdicts file, none when it does not exist."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--rule", required=True)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    found = findings(args.runs, args.rule)
    run = reported(args.runs)
    sample = random.Random(args.seed).sample(found, min(args.n, len(found)))
    target = HERE / "verdicts" / f"{args.rule}.csv"
    kept = HERE / "verdicts" / "out_of_sample" / f"{args.rule}.csv"
    known: dict[tuple[str, ...], dict[str, str]] = {key(row): row for row in read(kept) if row["verdict"]}
    for row in read(target):
        known[key(row)] = row
        if row["project"] not in run:
            sample.append(row)  # measured in another run
    target.parent.mkdir(exist_ok=True)
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for row in sorted(sample, key=order):
            old = known.get(key(row))
            if old:
                row["verdict"], row["reason"] = old["verdict"], old["reason"]
            writer.writerow(row)
    drawn = {key(row) for row in sample}
    left = sorted((row for k, row in known.items() if k not in drawn and row["verdict"]), key=order)
    if left:
        kept.parent.mkdir(exist_ok=True)
        with kept.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows({column: row[column] for column in COLUMNS} for row in left)
    counts = HERE / "verdicts" / "counts.json"
    totals = json.loads(counts.read_text()) if counts.is_file() else {}
    earlier = totals.get(args.rule, {})
    if isinstance(earlier, int):  # one total for the projects of an earlier run
        earlier = {EARLIER: earlier}
    per_project = {p: n for p, n in earlier.items() if p not in run}
    if all(name in run for name, _, _ in PROJECTS[:9]):
        per_project.pop(EARLIER, None)  # the first nine projects were counted again, one by one
    per_project.update({p: sum(r["project"] == p for r in found) for p in sorted(run)})
    totals[args.rule] = dict(sorted(per_project.items()))
    counts.write_text(json.dumps(totals, indent=2, sort_keys=True) + "\n")
    print(f"{args.rule}: {len(found)} findings, {len(sample)} rows in {target.relative_to(HERE)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
