"""Instructions a cold run executes, against a bare LibCST parse: a count that a shared machine does not disturb.

    python benchmarks/instructions.py TREE [--before SRC]

Runs, under valgrind's cachegrind (`--cache-sim=no`), the bare parse of `speed.py` and
`review-patterns check --no-cache -j 1` on TREE, and with `--before SRC` the same check from another
copy of the tool's source, and prints each run's instructions and their ratios. The count is the
same from run to run within a few parts in a thousand, where wall times on a shared machine move by
a third; it does not see what memory and caches cost, nor time spent waiting, so it complements
`speed.py`'s wall and CPU times rather than replacing them. One process only: a process forked under
valgrind starts with its parent's count, so the counts of a run's workers cannot be summed. Expect
about fifty times a normal run's time.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from speed import ENVIRONMENT, PARSE

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """The instructions `command` executed (one process)."""
    out = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            *command,
        ],
        cwd=cwd,
        env={**ENVIRONMENT, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    found = _REFS.search(out.stderr)
    if found is None:
        raise SystemExit(f"valgrind counted nothing for {' '.join(command)}:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path)
    parser.add_argument("--before", type=Path, help="another source tree of the tool, counted side by side")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt install valgrind)")
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="rp-instructions-"))
    env = {"PYTHONPYCACHEPREFIX": str(work / "bytecode")}
    check = [python, "-m", "review_patterns", "check", "--exit-zero", "--quiet", "--no-cache", "-j", "1", "."]
    before = None if args.before is None else {**env, "PYTHONPATH": str(args.before.resolve())}
    for source in (env, before):  # each copy's bytecode written first, as an installed package has it
        if source is not None:
            subprocess.run(check, cwd=args.tree, env={**ENVIRONMENT, **source}, stdout=subprocess.DEVNULL, check=False)
    runs = {
        "parse (LibCST only)": instructions([python, "-c", PARSE, ".", "1"], args.tree, env),
        "review-patterns, cold": instructions(check, args.tree, env),
    }
    if before is not None:
        runs["review-patterns, cold (--before)"] = instructions(check, args.tree, before)
    parse = runs["parse (LibCST only)"]
    print(f"{args.tree.name}: instructions of one process (valgrind)")
    print(f"{'':40} {'instructions':>16} {'x parse':>8}")
    for name, count in runs.items():
        print(f"{name:40} {count:16,} {count / parse:7.3f}x")


if __name__ == "__main__":
    main()
