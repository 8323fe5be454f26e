"""The `review-patterns` command: the report of an unchanged `check` again, without starting the
command line (`core/replay.py`), else the command line, recorded for the next run."""

from __future__ import annotations

import sys

from review_patterns.core import replay


def main() -> int:
    argv = sys.argv[1:]
    try:
        status = replay.replayed(argv)
    except KeyboardInterrupt:
        print("review-patterns: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `| head`: the reader has what it wanted, as when the report is written
        return 0
    if status is not None:
        return status

    def run() -> int:
        from review_patterns.frontends.cli import main as cli_main

        return cli_main()

    return replay.recorded(run, argv)
