"""Applies every fix, safe and unsafe, to a copy of real projects, and checks what it did.

For each project (a folder of `--corpora`, copied to a temporary folder first; the original is
never written): the findings that offer a fix, `fix --unsafe-fixes` through the API, then
- every file the fix changed must parse (`ast.parse`),
- no rule may fail (RP002) on the fixed files,
- a second run must change nothing (the fixes are idempotent),
and how many findings with a fix are left (a fix that does not remove its finding, or one that
waited for a round that never came).

python benchmarks/fix_all.py [--corpora /work/corpora/src] [PROJECT ...]
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from review_patterns import ALL_RULES, lint_paths, load_config
from review_patterns.core.fixer import fix_paths
from review_patterns.core.model import Finding

DEFAULT_PROJECTS = ("label_studio-1.21.0", "pretalx-2025.1.0")


def fixable(findings: Iterable[Finding]) -> Counter[str]:
    return Counter(f.code for f in findings if f.fix is not None)


def run(tree: Path) -> bool:
    """Fixes a copy of `tree` and prints what happened; False when a check failed."""
    with tempfile.TemporaryDirectory(prefix="review-patterns-fix-all-") as folder:
        copy = Path(folder) / tree.name
        shutil.copytree(tree, copy, symlinks=True)
        config = load_config(copy, rules=ALL_RULES)
        before = lint_paths([copy], config, cwd=copy, rules=ALL_RULES)
        offered = fixable(before.findings)

        started = time.perf_counter()
        outcomes = fix_paths([copy], config, rules=ALL_RULES, unsafe=True, cwd=copy)
        seconds = time.perf_counter() - started
        changed = [o for o in outcomes if o.changed]
        written = sorted({c.path for o in changed for c in o.files})  # new migrations, re-pointed ones
        broken = []
        for path in sorted({o.path for o in changed}.union(written)):
            try:
                ast.parse((copy / path).read_text(encoding="utf-8"))
            except SyntaxError as error:
                broken.append(f"{path}: {error}")
        left = [f for o in outcomes for f in o.result.findings]
        failures = [f"{f.path}:{f.line}: {f.message}" for f in left if f.code == "RP002"]

        again = fix_paths([copy], config, rules=ALL_RULES, unsafe=True, cwd=copy)
        unstable = [o.path for o in again if o.changed]

        print(f"## {tree.name}: {len(outcomes)} files, fixed in {seconds:.1f} s")
        print(f"findings with a fix: {sum(offered.values())} before, {sum(fixable(left).values())} after")
        print(
            f"fixes applied: {sum(o.applied for o in outcomes)} in {len(changed)} files, writing {len(written)} others"
        )
        for code, count in sorted(offered.items()):
            print(f"  {code}: {count} offered, {fixable(left)[code]} left")
        print(f"changed files that do not parse: {len(broken)}", *broken, sep="\n  ")
        print(f"rule failures (RP002) after fixing: {len(failures)}", *failures, sep="\n  ")
        print(
            f"second run: {sum(o.applied for o in again)} fixes, {len(unstable)} files changed", *unstable, sep="\n  "
        )
        return not (broken or failures or unstable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("projects", nargs="*", default=DEFAULT_PROJECTS, help="folders of --corpora")
    parser.add_argument("--corpora", type=Path, default=Path("/work/corpora/src"))
    args = parser.parse_args(argv)
    ok = True
    for name in args.projects:
        tree = args.corpora / name
        if not tree.is_dir():
            print(f"skipped {name}: {tree} is not a folder", file=sys.stderr)
            continue
        ok = run(tree) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
