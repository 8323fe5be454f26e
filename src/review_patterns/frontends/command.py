"""The `review-patterns` command: the report of an unchanged `check` again, without starting the
command line (`core/replay.py`), else the command line, recorded for the next run."""

from __future__ import annotations

import sys

from review_patterns.core import replay


def main() -> int:
    argv = sys.argv[1:]
    status = replay.replayed(argv)
    if status is not None:
        return status

    def run() -> int:
        from review_patterns.frontends.cli import main as cli_main

        return cli_main()

    return replay.recorded(run, argv)
