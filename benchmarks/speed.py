"""Wall-clock comparison of whole runs, side by side in one run, with interleaved rounds.

    python benchmarks/speed.py TREE [--large PROJECT --file PATH] [--memory PROJECT] [--rounds R] [--jobs J]
                               [--only parse,cold,...] [--before SRC]

Stages (each a fresh process, as a user runs them, from bytecode as an installed package runs),
reported in seconds and as ratios to a bare LibCST parse of the same files with the same number of
processes, and to the cold run: wall time, then CPU time (user + system of the process and its
workers), which a loaded machine disturbs less:

- parse: `libcst.parse_module` of every file of TREE, nothing else;
- cold: `review-patterns check --no-cache`;
- warm: `review-patterns check` again over an unchanged tree: replayed (`core/replay.py`: the record
  of the previous run holds, the command line is not started), and the same run through the command
  line (`cli.main`, which never replays: every result from the result cache);
- flake8 + flake8-django + flake8-bugbear (`--select DJ,B`), when installed;
- plain `flake8` (its defaults) with review-patterns installed but not selected, and the same run
  with review-patterns' entry point hidden, as if it were not installed;
- fixit: `fixit lint` with its default rules, when installed;
- one file: `review-patterns check PROJECT/PATH` in a large project after editing that file (a comment
  appended, or with `--edit-body` a line written in its first function body: a model's method), with
  the cache warm (the pre-commit and editor case); the same file unchanged (its result cached);
  `--no-cache`; and the interpreter's start-up.

Then peak memory (the largest resident set of the run, `getrusage`) of `check --no-cache -j 1` on a
quarter, half and all of the files of the `--memory` project (default TREE), and on its 8 largest
files alone: flat when it does not grow with the number of files (the largest file sets the peak).

Rounds are interleaved so that noise from other processes spreads over every stage alike; on a
busy machine, `--best` keeps the fastest round of each stage instead of their mean.
`--only` runs some of the stages (parse, cold, warm, flake8, fixit, one-file, memory; all by default).
`--before SRC` adds the cold, warm and one-file runs of another copy of the tool's source (`SRC` is the
folder holding the `review_patterns` package, say main's `src` before a change), side by side with
this one (each with its own cache; their `x cold` ratios are to this tree's cold run).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: `review-patterns ARGS` through the command line itself, as a run that cannot be replayed goes.
NOT_REPLAYED = "import sys; from review_patterns.frontends.cli import main; sys.exit(main())"

PARSE = """
import sys
from multiprocessing import Pool
from pathlib import Path
import libcst

def parse(path):
    try:
        libcst.parse_module(Path(path).read_text(encoding="utf-8"))
    except Exception:
        pass

if __name__ == "__main__":
    files = [str(p) for p in Path(sys.argv[1]).rglob("*.py")]
    jobs = int(sys.argv[2])
    if jobs > 1:
        with Pool(jobs) as pool:
            pool.map(parse, files, chunksize=8)
    else:
        for f in files:
            parse(f)
"""


#: Every stage runs from bytecode, as an installed package does: with PYTHONDONTWRITEBYTECODE set
#: (some shells and containers set it), each run would compile the tool's modules again.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, of the process and the workers it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env={**ENVIRONMENT, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


#: flake8 as if review-patterns were not installed: its distribution hidden from the plugin finder.
FLAKE8_WITHOUT = """
import importlib.metadata, sys
found = importlib.metadata.distributions
importlib.metadata.distributions = lambda **kw: (
    d for d in found(**kw) if (d.metadata["Name"] or "").lower() != "review-patterns"
)
from flake8.main.cli import main
sys.exit(main())
"""

#: Runs a command and prints the peak resident set size of its processes, in KiB.
PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_memory(command: list[str], cwd: Path | None = None) -> int:
    """The largest resident set, in KiB, of `command` and the processes it waited for."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK, *command], cwd=cwd, env=ENVIRONMENT, capture_output=True, text=True, check=False
    )
    return int(out.stdout.strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path)
    parser.add_argument("--large", type=Path, help="a large project for the one-file case")
    parser.add_argument("--file", help="the file to edit and check in --large, relative to it")
    parser.add_argument(
        "--edit-body",
        action="store_true",
        help="edit --file inside its first function body (a line before its first `return`), not by a comment",
    )
    parser.add_argument("--memory", type=Path, help="the project whose growing shares measure peak memory")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--best", action="store_true", help="the fastest round of each stage instead of the mean (a busy machine)"
    )
    parser.add_argument("--only", help=f"comma-separated stages among {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--before", type=Path, help="another source tree of the tool, cold, side by side")
    args = parser.parse_args()
    only = set(GROUPS) if args.only is None else {name.strip() for name in args.only.split(",")}
    if only - set(GROUPS):
        parser.error(f"unknown stages: {', '.join(sorted(only - set(GROUPS)))}")

    python = sys.executable
    jobs = str(args.jobs)
    work = Path(tempfile.mkdtemp(prefix="rp-bench-"))
    ENVIRONMENT["PYTHONPYCACHEPREFIX"] = str(work / "bytecode")  # written by the first runs, outside the trees
    tree = work / "tree"
    shutil.copytree(args.tree, tree, ignore=shutil.ignore_patterns(".review_patterns_cache"))
    cache = {"REVIEW_PATTERNS_CACHE_DIR": str(work / "cache")}
    # The default text report, piped (not a terminal): what CI logs and the pre-commit hooks print.
    check = [python, "-m", "review_patterns", "check", "--exit-zero", "-j", jobs]
    stages: dict[str, Callable[[], tuple[float, float]]] = {
        PARSE_STAGE: lambda: timed([python, "-c", PARSE, str(tree), jobs]),
        COLD_STAGE: lambda: timed([*check, "--no-cache", str(tree)]),
        "review-patterns, warm": lambda: timed([*check, str(tree)], env=cache),
        "review-patterns, warm, not replayed": lambda: timed(
            [python, "-c", NOT_REPLAYED, *check[3:], str(tree)], env=cache
        ),
    }
    before = {"PYTHONPATH": str(args.before.resolve())} if args.before is not None else None
    before_cache = {**cache, "REVIEW_PATTERNS_CACHE_DIR": str(work / "cache-before"), **(before or {})}
    if before is not None:
        stages[BEFORE_STAGE] = lambda: timed([*check, "--no-cache", str(tree)], env=before)
        stages["review-patterns, warm (--before)"] = lambda: timed([*check, str(tree)], env=before_cache)
    if shutil.which("flake8") or _has("flake8"):
        flake8 = [python, "-m", "flake8", "-j", jobs, "--exit-zero"]
        stages["flake8 + django + bugbear"] = lambda: timed([*flake8, "--select", "DJ,B", str(tree)])
        stages["flake8, RP installed, not selected"] = lambda: timed([*flake8, str(tree)])
        stages["flake8, RP not installed"] = lambda: timed(
            [python, "-c", FLAKE8_WITHOUT, "-j", jobs, "--exit-zero", str(tree)]
        )
    if _has("fixit"):
        stages["fixit (default rules)"] = lambda: timed([python, "-m", "fixit", "lint", str(tree)])
    if args.large and args.file and "one-file" in only:
        large = work / "large"
        shutil.copytree(args.large, large, ignore=shutil.ignore_patterns(".review_patterns_cache"))
        edited = large / args.file
        one = [*check[:-2], "-j", "1"]
        large_cache = {"REVIEW_PATTERNS_CACHE_DIR": str(work / "large-cache")}

        def edit() -> None:
            """A save: the file changed, the project around it did not."""
            if args.edit_body:
                _edit_body(edited)
            else:
                with edited.open("a") as out:
                    out.write("\n# edited\n")

        def one_file_warm() -> tuple[float, float]:
            edit()
            return timed([*one, str(edited)], env=large_cache)

        stages["one file edited, large project"] = one_file_warm
        stages["the same file unchanged (cached)"] = lambda: timed([*one, str(edited)], env=large_cache)
        if before is not None:
            large_before = {"REVIEW_PATTERNS_CACHE_DIR": str(work / "large-cache-before"), **before}

            def one_file_before() -> tuple[float, float]:
                edit()
                return timed([*one, str(edited)], env=large_before)

            stages["one file edited, large project (--before)"] = one_file_before
            stages["the same file unchanged (cached) (--before)"] = lambda: timed([*one, str(edited)], env=large_before)
            timed([*one, str(edited)], env=large_before)
        stages["one file, large project, --no-cache"] = lambda: timed([*one, "--no-cache", str(edited)])
        stages["interpreter start-up"] = lambda: timed([python, "-c", "pass"])
        timed([*one, str(edited)], env=large_cache)  # builds and keeps the context, as the first run of the day does
    stages = {name: stage for name, stage in stages.items() if _group(name) in only}
    if "warm" in only:
        timed([*check, str(tree)], env=cache)  # the warm stage's earlier run
        if before is not None:
            timed([*check, str(tree)], env=before_cache)
        time.sleep(2.1)  # the copy's files are too fresh for a record (`replay.RACY_NS`) until then
        timed([*check, str(tree)], env=cache)  # recorded: the warm rounds replay it

    wall_rounds: dict[str, list[float]] = {name: [] for name in stages}
    cpu_rounds: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(args.rounds):
        for name, stage in stages.items():
            wall, cpu = stage()
            wall_rounds[name].append(wall)
            cpu_rounds[name].append(cpu)
    pick = (lambda times: min(times) * args.rounds) if args.best else sum  # totals, as `rounds` means
    walls = {name: pick(times) for name, times in wall_rounds.items()}
    cpus = {name: pick(times) for name, times in cpu_rounds.items()}
    files = sum(1 for _ in tree.rglob("*.py"))
    kept = "the fastest of each stage" if args.best else "means"
    print(f"{args.tree.name}: {files} files, {args.jobs} processes, {args.rounds} interleaved rounds ({kept})")
    print(f"{'':36} {'wall':>8}    {'x parse':>7} {'x cold':>7} | {'CPU':>8}    {'x parse':>7} {'x cold':>7}")
    for name in stages:
        print(
            f"{name:36} {walls[name] / args.rounds:8.2f} s  {_ratio(walls, name, PARSE_STAGE):>7} "
            f"{_ratio(walls, name, COLD_STAGE):>7} | {cpus[name] / args.rounds:8.2f} s  "
            f"{_ratio(cpus, name, PARSE_STAGE):>7} {_ratio(cpus, name, COLD_STAGE):>7}"
        )
    if "memory" in only:
        memory(args.memory or args.tree, work)
    shutil.rmtree(work, ignore_errors=True)


PARSE_STAGE = "parse (LibCST only)"
COLD_STAGE = "review-patterns, cold"
BEFORE_STAGE = "review-patterns, cold (--before)"
#: The stages `--only` can name, each by the start of its stages' names.
GROUPS = {
    "parse": (PARSE_STAGE,),
    "cold": (COLD_STAGE, BEFORE_STAGE),
    "warm": ("review-patterns, warm",),
    "flake8": ("flake8",),
    "fixit": ("fixit",),
    "one-file": ("one file", "the same file", "interpreter"),
    "memory": (),
}


def _group(stage: str) -> str:
    return next(group for group, starts in GROUPS.items() if stage.startswith(starts))


def _ratio(totals: dict[str, float], name: str, base: str) -> str:
    return f"{totals[name] / totals[base]:.3f}x" if totals.get(base) else "-"


def memory(project: Path, work: Path) -> None:
    """Peak memory of one process checking growing shares of the project's files (the context is the
    whole project's each time, so what grows is what the run keeps per file)."""
    copy = work / "memory"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".review_patterns_cache"))
    files = sorted(str(p.relative_to(copy)) for p in copy.rglob("*.py"))
    check = [sys.executable, "-m", "review_patterns", "check", "--exit-zero", "--no-cache", "-j", "1", "-q"]
    print(f"peak memory, {project.name}, one process, --no-cache:")
    for share in (4, 2, 1):
        chosen = files[: len(files) // share]
        kib = peak_memory([*check, *chosen], cwd=copy)
        print(f"  {len(chosen):6} files  {kib / 1024:8.1f} MiB")
    # The peak is set by the largest file analysed: a share holding the largest files peaks as high.
    largest = sorted(files, key=lambda f: (copy / f).stat().st_size)[-LARGEST:]
    kib = peak_memory([*check, *largest], cwd=copy)
    print(f"  {len(largest):6} files  {kib / 1024:8.1f} MiB  (the largest alone)")


#: How many of the largest files the memory stage checks alone.
LARGEST = 8


_RETURN = re.compile(r"^([ \t]+)return \S", re.MULTILINE)
_EDITED = re.compile(r"^[ \t]+_edited = \d+\n", re.MULTILINE)


def _edit_body(path: Path) -> None:
    """Writes a new line (`_edited = N`, N never the same) before the first `return` of the file's
    first function that has one: a change inside a body, which no project knowledge reads."""
    text = _EDITED.sub("", path.read_text(encoding="utf-8"))
    found = _RETURN.search(text)
    if found is None:
        raise SystemExit(f"--edit-body: {path} has no `return` to write before")
    line = f"{found.group(1)}_edited = {time.time_ns()}\n"
    path.write_text(text[: found.start()] + line + text[found.start() :], encoding="utf-8")


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


if __name__ == "__main__":
    main()
