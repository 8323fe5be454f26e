"""Runs review-patterns on every pinned project and writes one JSON report per project.

python benchmarks/precision/run.py --corpora /path/to/corpora --out /tmp/precision [--select RP3] [--fetch]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from corpora import PROJECTS, config_for, fetch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpora", type=Path, default=Path.home() / ".cache" / "review-patterns-corpora")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--select", default="", help="codes or prefixes, comma-separated (default: every rule)")
    parser.add_argument("--project", action="append", default=[], help="only these distributions")
    parser.add_argument("--fetch", action="store_true", help="download the pinned sdists that are missing")
    parser.add_argument("--jobs", default="1")
    args = parser.parse_args(argv)
    if args.fetch:
        fetch(args.corpora)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, version, folder in PROJECTS:
        if args.project and name not in args.project:
            continue
        tree = args.corpora / folder
        if not tree.is_dir():
            print(f"skipped {name} {version}: {tree} missing (use --fetch)", file=sys.stderr)
            continue
        report = args.out / f"{name}.json"
        command = [
            sys.executable,
            "-m",
            "review_patterns",
            "check",
            ".",
            "--format",
            "json",
            "-o",
            str(report.resolve()),
        ]
        command += ["--exit-zero", "-j", args.jobs] + (["--select", args.select] if args.select else [])
        config = config_for(name)
        if config is not None:  # what a user of the project would configure (corpora.PAID_CALLS)
            settings = args.out / f"{name}.toml"
            settings.write_text(config, encoding="utf-8")
            command += ["--config", str(settings.resolve())]
        subprocess.run(command, cwd=tree, check=True, stdout=subprocess.DEVNULL)
        print(f"{name} {version}: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
