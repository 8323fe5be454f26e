"""Measures the engine against a plain LibCST parse, side by side in one run.

    python benchmarks/bench.py PATH [--files N] [--rounds R]

Prints seconds per stage and, more usefully on a shared machine, ratios to the bare parse:
the cost of the traversal with every rule, and of resolving positions for every file (which
the engine does only for files with findings). Rounds are interleaved so that noise from
other processes spreads over every stage alike.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from review_patterns import ALL_RULES, Config, ProjectContext, lint
from review_patterns.project.context import walk_python_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    files = [args.path / p for p in walk_python_files(args.path)][: args.files]
    sources = []
    for p in files:
        try:
            source = p.read_text(encoding="utf-8")
            cst.parse_module(source)
        except Exception:
            continue
        sources.append((p.relative_to(args.path).as_posix(), source))
    context = ProjectContext(root=args.path)
    config = Config()

    def parse() -> None:
        for _, source in sources:
            cst.parse_module(source)

    def parse_and_positions() -> None:
        for _, source in sources:
            MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True).resolve(PositionProvider)

    def engine() -> None:
        for path, source in sources:
            lint(source, path, context, config, rules=ALL_RULES)

    stages = {"parse": parse, "parse+positions (every file)": parse_and_positions, "engine, all rules": engine}
    engine()  # builds the project context once, as a run does, outside the timing
    totals = dict.fromkeys(stages, 0.0)
    for _ in range(args.rounds):
        for name, stage in stages.items():
            start = time.perf_counter()
            stage()
            totals[name] += time.perf_counter() - start
    lines = sum(source.count("\n") for _, source in sources)
    print(f"{len(sources)} files, {lines} lines, {args.rounds} interleaved rounds")
    base = totals["parse"]
    for name, total in totals.items():
        print(f"{name:32} {total / args.rounds:8.2f} s/round  {total / base:5.2f}x parse")


if __name__ == "__main__":
    main()
