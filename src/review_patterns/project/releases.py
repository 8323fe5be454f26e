"""Which release each migration first shipped in, read from git once per run (never fatal).

A migration's release is the first release tag (a tag that looks like a version, or matches the
`release-tags` setting) whose commit contains the commit that added the file, following renames.
A file added after the last tag, or not committed yet, belongs to the next release. Under
`check --diff REV` everything added since REV is one release, the one under review.

Two git calls for the whole project: the commit graph with its tags, and the commits that added
migration files. They depend only on HEAD, the tags and the `--diff` base, which `state` reads with
two cheap calls: the context cache keeps the releases under that state. Without git, without release tags (and without `--diff`), or in a shallow
clone, the releases are unknown and the rules keep judging each migration on its own.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Tags that look like versions: `1.2`, `v1.2.3`, `2025.1.0`, `release-4.0`, `2.0rc1`, and the
#: project's name before one (`weblate-2026.7`, `django-cms-5.0.1`, `release/4.0`).
DEFAULT_RELEASE_TAGS = r"^(?:[a-z][\w.-]*[-_/])?v?\d+(?:\.\d+)+(?:[-._]?(?:a|b|c|rc|alpha|beta|post)\.?\d*)?$"
#: The release of what is not tagged yet (or, under `--diff`, what is new since the base).
NEXT = "(next release)"
_SINCE = "(released before the diff base)"
#: The files whose release is looked for (git pathspec, relative to the project root).
_MIGRATIONS = ":(glob)**/*migrations/*.py"
#: The audit events around reading git's state (`state`): a recorded run keeps the state with its
#: git calls, and `core/replay.py` reads it again before replaying the run.
READING_STATE, READ_STATE = "review_patterns.reading_git_state", "review_patterns.read_git_state"


class GitError(Exception):
    """git failed or is missing; the message says why."""


def git(*args: str, cwd: Path, timeout: float | None = None) -> str:
    """Runs git and returns its output; raises GitError with git's own message."""
    import subprocess  # only when git is asked

    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=timeout,
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took longer than {timeout}s") from None
    if done.returncode != 0:
        raise GitError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


@dataclass(frozen=True)
class Releases:
    """The release of each migration file, by its path relative to the project root."""

    #: path -> release name (a tag, or `NEXT`)
    by_path: Mapping[str, str] = field(default_factory=dict)
    #: the release of a file git does not show (not committed yet); None when releases are unknown
    default: str | None = None

    @property
    def known(self) -> bool:
        return self.default is not None

    def of(self, path: str) -> str | None:
        """The release `path` first shipped in, or None when unknown."""
        return self.by_path.get(path, self.default) if self.known else None

    @classmethod
    def read(cls, root: Path, tags: str | None = None, since: str | None = None) -> Releases:
        """Reads the releases of `root`'s migrations from git; unknown (never an error) when git cannot tell."""
        if not _in_repository(root):
            return cls()  # as git would say, without starting it (its state is read on every run)
        try:
            return _read(root, re.compile(tags or DEFAULT_RELEASE_TAGS, re.IGNORECASE), since)
        except (GitError, OSError, ValueError):
            return cls()


def state(root: Path, tags: str | None = None, since: str | None = None) -> str | None:
    """What the releases of `root` depend on, read cheaply (no history walked): HEAD's commit, whether
    the clone is shallow, every tag with its target, the `--diff` base's commit and the pattern of
    release tags. None when git cannot tell (no repository, no commit yet, a base git does not know)."""
    if not _in_repository(root):
        return None
    sys.audit(READING_STATE, str(root), tags, since)
    try:
        heads = git(
            "rev-parse", "--is-shallow-repository", "HEAD", *([f"{since}^{{commit}}"] if since else []), cwd=root
        )
        tagged = git("for-each-ref", "--format=%(objectname) %(refname)", "refs/tags/", cwd=root)
        value: str | None = "\n".join((tags or DEFAULT_RELEASE_TAGS, since or "", heads, tagged))
    except (GitError, OSError):
        value = None
    sys.audit(READ_STATE, value)
    return value


def _in_repository(root: Path) -> bool:
    """Whether git may find a repository for `root`: a `.git` at or above it, or one named by `GIT_DIR`."""
    return "GIT_DIR" in os.environ or any((folder / ".git").exists() for folder in (root, *root.parents))


def _read(root: Path, tags: re.Pattern[str], since: str | None) -> Releases:
    graph = git("log", "HEAD", "--topo-order", "--format=%x1e%H %P%x1f%D", "--decorate-refs=refs/tags/", cwd=root)
    parents: dict[str, list[str]] = {}
    tagged: list[tuple[str, str]] = []  # (commit, tag), newest first
    for record in graph.split("\x1e")[1:]:
        hashes, _, decorations = record.strip("\n").partition("\x1f")
        commit, *rest = hashes.split()
        parents[commit] = rest
        names = [d.strip() for d in decorations.split(",") if d.strip()]
        if "grafted" in names:
            return Releases()  # a shallow clone: the history (and which tag holds what) is cut
        releases = [n.removeprefix("tag: ") for n in names if n.startswith("tag: ") and tags.search(n[5:])]
        if releases:  # several tags on one commit are one release: named by the first in order
            tagged.append((commit, min(releases)))
    if not tagged and since is None:
        return Releases()
    release: dict[str, str] = {}
    for commit, tag in reversed(tagged):  # oldest first: each commit goes to the first tag holding it
        _mark(commit, tag, parents, release)
    if since is not None:
        below: dict[str, str] = {}
        _mark(git("rev-parse", f"{since}^{{commit}}", cwd=root).strip(), _SINCE, parents, below)
        release = {c: release.get(c, _SINCE) if c in below else NEXT for c in parents}

    added: dict[str, str] = {}  # path -> the commit that added it (or the file it was renamed from)
    log = git(
        "-c", "core.quotepath=off", "log", "HEAD", "--relative", "--reverse", "-M", "--diff-filter=AR", "--name-status", "--format=%x1e%H",
        "--", _MIGRATIONS, cwd=root,
    )  # fmt: skip
    for record in log.split("\x1e")[1:]:
        commit, *lines = record.strip("\n").split("\n")
        for line in lines:
            status, *paths = line.split("\t")
            if status.startswith("A") and paths:
                added[paths[-1]] = commit
            elif status.startswith("R") and len(paths) == 2:
                added[paths[1]] = added.pop(paths[0], commit)
    return Releases({path: release.get(commit, NEXT) for path, commit in added.items()}, NEXT)


def _mark(start: str, name: str, parents: Mapping[str, list[str]], release: dict[str, str]) -> None:
    """Gives `name` to `start` and every ancestor not given a release yet."""
    todo = [start]
    while todo:
        commit = todo.pop()
        if commit in release or commit not in parents:
            continue
        release[commit] = name
        todo.extend(parents[commit])
