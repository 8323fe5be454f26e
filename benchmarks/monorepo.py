"""Builds a project of about 6,000 files from two pinned corpora, for the one-file stage of `speed.py`.

    python benchmarks/monorepo.py --corpora DIR --out TREE
    python benchmarks/speed.py SMALL_TREE --only one-file --large TREE --file sentry/sentry/models/organization.py

No Django project published on the package index has 4,000 Python files (the largest pinned, Sentry
23.7.1's wheel, has 3,108). As a monorepo would, TREE holds Sentry 23.7.1 and Django 5.2.8 (with its
tests) as the folders of one project: their own project markers are removed and one
`pyproject.toml` at the top pins Sentry's Django, so the model index, migration history and the
other project knowledge are read across all of it. The corpora come from
`precision/corpora.py` (`fetch`).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

#: (folder in the corpora, folder in TREE)
PARTS = (("sentry-23.7.1", "sentry"), ("django-5.2.8", "django"))
#: The markers that would make a part its own project (`project.context.ROOT_MARKERS`, less `.git`).
MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "manage.py")
PYPROJECT = '[project]\nname = "monorepo"\nversion = "1"\ndependencies = ["Django>=3.2.20,<3.3"]\n'


def build(corpora: Path, out: Path) -> int:
    """Writes TREE and returns its number of Python files."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for source, folder in PARTS:
        if not (corpora / source).is_dir():
            raise SystemExit(f"{corpora / source} is missing: fetch the corpora first (precision/corpora.py)")
        shutil.copytree(corpora / source, out / folder)
        for marker in MARKERS:
            (out / folder / marker).unlink(missing_ok=True)
    (out / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return sum(1 for _ in out.rglob("*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, required=True, help="the folder `corpora.fetch` unpacked into")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(f"{args.out}: {build(args.corpora, args.out)} Python files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
