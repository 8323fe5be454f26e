"""What changed since a git revision: the files and the lines, for `check --diff REV`."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path

from review_patterns.project.releases import GitError, git

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")

#: Absolute path -> the changed line numbers, or None when the whole file is new.
Changes = Mapping[Path, "frozenset[int] | None"]

__all__ = ["Changes", "GitError", "changed_since", "git", "parse_diff"]


def _unquote(path: str) -> str:
    """git C-quotes paths with unusual characters: `"caf\\303\\251.py"`."""
    if not path.startswith('"'):
        return path
    raw = codecs.escape_decode(path[1:-1].encode("latin-1", "backslashreplace"))[0]
    return raw.decode("utf-8", "surrogateescape")


def parse_diff(patch: str, top: Path) -> dict[Path, frozenset[int]]:
    """The added or changed lines of each file in a `git diff -U0` patch."""
    changes: dict[Path, set[int]] = {}
    current: set[int] | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            target = line[4:].rstrip("\t")
            current = None if target == "/dev/null" else changes.setdefault(top / _unquote(target)[2:], set())
        elif current is not None and (hunk := _HUNK.match(line)):
            start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
            current.update(range(start, start + count))
    return {path: frozenset(lines) for path, lines in changes.items()}


def changed_since(rev: str, cwd: Path) -> tuple[str, Changes]:
    """The commit compared with (the merge base of REV and HEAD) and what changed since, in the
    working tree, including files not yet committed or not yet added."""
    try:
        top = Path(git("rev-parse", "--show-toplevel", cwd=cwd).strip())
    except GitError as error:
        raise GitError(f"--diff needs a git repository: {error}") from None
    try:
        git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=top)
    except GitError:
        raise GitError(f"--diff: unknown git revision {rev!r} (in {top})") from None
    try:
        base = git("merge-base", rev, "HEAD", cwd=top).strip()
    except GitError:  # no common history: compare with REV itself
        base = git("rev-parse", f"{rev}^{{commit}}", cwd=top).strip()
    patch = _diff(top, base)
    changes: dict[Path, frozenset[int] | None] = dict(parse_diff(patch, top))
    untracked = git("ls-files", "--others", "--exclude-standard", "-z", cwd=top)
    changes.update({top / name: None for name in untracked.split("\0") if name})
    return base, {path.resolve(): lines for path, lines in changes.items()}


#: git's empty tree: what a first commit is compared with.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _diff(top: Path, *args: str) -> str:
    """`git diff -U0` of the changed lines (deletions left out), with stable prefixes and plain paths."""
    return git(
        "-c",
        "core.quotepath=off",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "-U0",
        "-M",
        "--diff-filter=d",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        *args,
        "--",
        cwd=top,
    )


def staged_changes(cwd: Path) -> tuple[str, Changes]:
    """The commit compared with (HEAD, or the empty tree before the first commit) and what the index
    changes: the change pre-commit is about to commit."""
    try:
        top = Path(git("rev-parse", "--show-toplevel", cwd=cwd).strip())
    except GitError as error:
        raise GitError(f"--staged needs a git repository: {error}") from None
    try:
        base = git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", cwd=top).strip()
    except GitError:
        base = EMPTY_TREE
    patch = _diff(top, "--cached", base)
    return base, {path.resolve(): lines for path, lines in parse_diff(patch, top).items()}
