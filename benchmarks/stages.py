"""Where a cold run's time goes: CPU seconds per stage of checking a tree in one process, as shares.

    python benchmarks/stages.py TREE

Checks every file of TREE with every rule, in one process and without the cache (the project
context built on the way, as a worker builds it), timing each stage exclusively (a stage nested in
another counts only in the inner one): CPython's parse and the nesting check before LibCST, LibCST's
parse (as the engine calls it: `syntax.parsing.parse_module`), the walk with the semantic model and the rules, the project context's parts (when a rule
first asks), placing the reported nodes, the fixes, and what is left (reading, selecting and
setting up the rules, noqa, grading). The ratio printed is the whole check to LibCST's parse alone.
Run it with `PYTHONPATH` set to each tree to compare, one after the other: CPU time is what a
loaded machine disturbs least, but compare shares, and ratios from runs side by side.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from review_patterns.checks import RULES
from review_patterns.core import engine, runner
from review_patterns.core.config import Config
from review_patterns.project import context as project_context
from review_patterns.syntax import traversal

SPENT: defaultdict[str, float] = defaultdict(float)
_OPEN: list[float] = []  # time spent in nested stages, per stage being timed


def timed(stage: str, work: Callable[..., Any]) -> Callable[..., Any]:
    """`work`, its CPU time added to `stage` less what stages nested in it took."""

    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        _OPEN.append(0.0)
        try:
            return work(*args, **kwargs)
        finally:
            spent = time.process_time() - start
            SPENT[stage] += spent - _OPEN.pop()
            if _OPEN:
                _OPEN[-1] += spent

    return run


def instrument() -> None:
    """Times the engine's stages where it calls them (its own names, so nothing else is slowed)."""
    engine.checked_depth = timed("CPython parse and nesting check", engine.checked_depth)
    engine.parse_module = timed("LibCST parse", engine.parse_module)
    walk = ModuleType("traversal")
    walk.visit_batched = timed("walk: semantic model and rules", traversal.visit_batched)  # type: ignore[attr-defined]
    engine.traversal = walk  # type: ignore[attr-defined]
    engine.positions_of = timed("positions of reported nodes", engine.positions_of)
    engine.fix_of = timed("fixes", engine.fix_of)
    get = project_context.part.__get__

    def part(self: Any, context: Any, owner: type) -> Any:
        if context is None:
            return get(self, context, owner)
        return timed("project context parts", get)(self, context, owner)

    project_context.part.__get__ = part  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path)
    args = parser.parse_args()
    config = Config()
    files = list(runner.collect_files([args.tree], config))
    root = runner.find_project_root(args.tree.resolve())
    gc.freeze()
    gc.set_threshold(5000, 10, 10)  # as the command runs
    instrument()
    context = runner.configured_context(root, config)
    start = time.process_time()
    for path in files:
        engine.lint_file(path, str(path), context, config, RULES)
    total = time.process_time() - start
    parse = SPENT["LibCST parse"]
    print(f"{args.tree.name}: {len(files)} files, {total:.2f} s CPU, {total / parse:.2f}x LibCST's parse")
    SPENT["the rest"] = total - sum(SPENT.values())
    for stage, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {stage:34} {seconds:6.2f} s {100 * seconds / total:5.1f}%")


if __name__ == "__main__":
    main()
