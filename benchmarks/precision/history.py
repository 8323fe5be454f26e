"""Rebuilds, from the package index, the release history that a git clone of a pinned project shows.

    python benchmarks/precision/history.py --corpora /work/corpora/src --out /work/corpora/history [--project NAME]

The migration rules ask whether two migrations shipped in the same release: a column made NOT
NULL a week after its table was created, in the same release, has no rows to lock. In a clone
they read that from the release tags (`src/review_patterns/project/releases.py`); an sdist has
no git, and the rules then guess from the migrations' header dates. So that the benchmark
measures the rules as a user with git sees them, this script gives each pinned tree a history:

1. Every release of the project on the index uploaded up to the pinned one (ordered by upload
   time, pre-releases included, as their tags would be) and the migration files it packaged,
   read from its wheel's zip directory with HTTP range requests (a few kB per release), or from
   its sdist (or egg) when it has no wheel.
2. For each migration of the pinned tree, the first release that packaged it (matched by path,
   from the package folder down, so that a move to `src/` is followed).
3. A git repository, OUT/FOLDER, holding a copy of the pinned tree: one commit per release that
   adds the migrations first packaged in it (with their pinned content) tagged with the version,
   and the last commit, tagged with the pinned version, adding everything else.

Run the tool on OUT (`run.py --corpora OUT`): the folders are named as in the corpora.
Listings are cached under OUT/.cache (with the index's answer, so a rebuild is repeatable
offline); the repositories are rebuilt from scratch each run.

Limits (what git would know and this does not):
- A migration counts from the first release that *packaged* it. A file committed but shipped
  later (a release with no wheel and no sdist on the index) gets the next release uploaded.
- A path reused by an unrelated file is told apart only for South's migrations (read in the
  archives): another reuse counts from the first release packaging the path.
- Renames of a file are not followed: a renamed migration counts from its new name's first
  release (git follows renames with similar content). A moved migrations folder is followed
  when it keeps at least half of its files' names. Edits are not replayed: every commit holds the
  pinned content.
- Files no release packaged (test apps' migrations outside the wheel, when the sdists of
  earlier releases are not read) belong to the pinned release.
- Branches are flattened: a maintenance release uploaded after a newer one is a later commit,
  so a migration it backported counts from whichever of the two was uploaded first.
- Versions that do not look like versions to the tool (`1.0.dev3`) are tagged but not read as
  releases, as in a clone; the script reports them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

from corpora import INDEX, PROJECTS

#: Where a migration lives: a `migrations` folder (any depth), a Python file.
MIGRATION = re.compile(r"(?:^|/)migrations/[^/]+\.py$")
#: The tool's default release tag pattern (kept in step with project/releases.py).
RELEASE_TAG = re.compile(
    r"^(?:[a-z][\w.-]*[-_/])?v?\d+(?:\.\d+)+(?:[-._]?(?:a|b|c|rc|alpha|beta|post)\.?\d*)?$", re.IGNORECASE
)


#: A South migration: Django's own migrations replaced South's, often at the same path (`0001_initial.py`).
SOUTH = re.compile(rb"^\s*(?:from|import)\s+south\b", re.MULTILINE)


class _Remote(io.RawIOBase):
    """A file on the index read by HTTP range requests: enough for `zipfile` to read a directory."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.position = url, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        end = min(self.size, self.position + len(buffer))
        if end <= self.position:
            return 0
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={self.position}-{end - 1}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            data = response.read()
            if response.status == 200:  # the host ignored the range: the whole file came
                data = data[self.position : end]
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def index(name: str, cache: Path) -> dict:
    """The index's JSON answer for `name`, cached (a rebuild must not see releases made since)."""
    page = cache / f"{name}.json"
    if not page.is_file():
        with urllib.request.urlopen(f"{INDEX}/{name}/json", timeout=60) as response:
            page.write_bytes(response.read())
    return json.loads(page.read_text())


def _choose(files: list[dict]) -> dict | None:
    """The archive to list: a pure-Python wheel, any wheel, an sdist zip or egg, a tarball."""
    order = (
        lambda f: f["filename"].endswith("-none-any.whl"),
        lambda f: f["filename"].endswith(".whl"),
        lambda f: f["filename"].endswith((".zip", ".egg")),
        lambda f: f["filename"].endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")),
    )
    for wanted in order:
        for file in files:
            if wanted(file):
                return file
    return None


def _url(name: str, file: dict) -> str:
    return urllib.parse.urljoin(f"{INDEX}/{name}/json", file["url"])


def _download(name: str, file: dict, cache: Path) -> Path:
    """The archive, downloaded once into the cache."""
    path = cache / name / file["filename"]
    if not path.is_file():
        with urllib.request.urlopen(_url(name, file), timeout=300) as response:
            path.write_bytes(response.read())
    return path


class Members:
    """Reads files inside the releases' archives (whether a migration is South's), cached per run."""

    def __init__(self, name: str, cache: Path) -> None:
        self.name, self.cache = name, cache
        self.saved = cache / name / "south.json"
        self.known: dict[str, bool] = json.loads(self.saved.read_text()) if self.saved.is_file() else {}
        self.opened: dict[str, zipfile.ZipFile | tarfile.TarFile] = {}

    def south(self, version: str, files: list[dict], member: str, wanted: int = 1) -> bool:
        """Whether `member` of `version`'s archive is a South migration; `wanted`: how many members
        of that archive will be read (many: the archive is downloaded rather than read by ranges)."""
        key = f"{version}\t{member}"
        if key not in self.known:
            self.known[key] = bool(SOUTH.search(self._read(version, files, member, wanted)))
        return self.known[key]

    def _read(self, version: str, files: list[dict], member: str, wanted: int) -> bytes:
        if version not in self.opened:
            file = _choose(files)
            assert file is not None  # the listing named the member
            if file["filename"].endswith((".whl", ".zip", ".egg")):
                source = (
                    _download(self.name, file, self.cache)
                    if wanted > 10
                    else _Remote(_url(self.name, file), int(file["size"]))
                )
                self.opened[version] = zipfile.ZipFile(source)  # type: ignore[arg-type]
            else:
                self.opened[version] = tarfile.open(_download(self.name, file, self.cache))
        archive = self.opened[version]
        if isinstance(archive, zipfile.ZipFile):
            return archive.read(member)
        extracted = archive.extractfile(member)
        return extracted.read() if extracted is not None else b""

    def save(self) -> None:
        self.saved.write_text(json.dumps(self.known, indent=0, sort_keys=True))
        for archive in self.opened.values():
            archive.close()


def listing(name: str, version: str, files: list[dict], cache: Path) -> list[str]:
    """The migration files packaged in one release, cached as OUT/.cache/NAME/VERSION.txt."""
    saved = cache / name / f"{version}.txt"
    if saved.is_file():
        return saved.read_text().split()
    file = _choose(files)
    names: list[str] = []
    if file is not None:
        if file["filename"].endswith((".whl", ".zip", ".egg")):
            with zipfile.ZipFile(_Remote(_url(name, file), int(file["size"]))) as archive:  # type: ignore[arg-type]
                names = archive.namelist()
        else:
            with tarfile.open(_download(name, file, cache)) as tar:
                names = tar.getnames()
    found = sorted(n for n in names if MIGRATION.search(n))
    saved.write_text("".join(f"{n}\n" for n in found))
    return found


def released(name: str, pinned: str, cache: Path) -> list[tuple[str, str, list[dict]]]:
    """(version, upload time, files) of every release uploaded up to `pinned`, oldest first."""
    data = index(name, cache)
    rows = [
        (version, min(f["upload_time_iso_8601"] for f in files), files)
        for version, files in data["releases"].items()
        if files
    ]
    cut = next(upload for version, upload, _ in rows if version == pinned)
    return sorted((row for row in rows if row[1] <= cut), key=lambda row: row[1])


#: Names any migrations folder may hold: they tell no folder from another.
_COMMON = frozenset({"__init__.py", "0001_initial.py"})


def _folders(paths: list[str]) -> dict[str, set[str]]:
    """Migration files grouped by folder: folder -> file names."""
    folders: dict[str, set[str]] = {}
    for path in paths:
        folder, _, name = path.rpartition("/")
        folders.setdefault(folder, set()).add(name)
    return folders


def _same_folder(archived: str, names: set[str], pinned: dict[str, set[str]]) -> str | None:
    """The migrations folder of the pinned tree that a folder of an archive is.

    The one ending with its last parts (`base/migrations`: a wheel has no `src/`, an sdist adds its
    own folder; the longest such ending wins), else the one holding most of its migrations' names,
    when that is at least half of them: a package moved (wagtail's `wagtail/wagtailcore/migrations`
    is `wagtail/migrations` since 3.0), which git follows as renames.
    """
    parts = archived.split("/")

    def shared(folder: str) -> int:
        theirs = folder.split("/")
        return next(
            (n for n in range(min(len(parts), len(theirs))) if parts[-1 - n] != theirs[-1 - n]),
            min(len(parts), len(theirs)),
        )

    ends = sorted(((shared(f), f) for f in pinned if shared(f) >= 2), reverse=True)
    if ends:
        return ends[0][1] if len(ends) == 1 or ends[1][0] < ends[0][0] else None
    own = names - _COMMON
    best = max((len(own & pinned[f]) for f in pinned), default=0)
    if best < max(2, len(own) / 2):
        return None
    app = parts[-2] if len(parts) > 1 else ""
    tied = [f for f in pinned if len(own & pinned[f]) == best]
    if len(tied) > 1:  # `0002_add_verbose_names` is in every wagtail app: `wagtailembeds` is `embeds`
        tied = [f for f in tied if f.split("/")[-2] in app or app in f.split("/")[-2]]
    return tied[0] if len(tied) == 1 else None


def first_releases(tree: Path, releases: list[tuple[str, list[dict], list[str]]], members: Members) -> dict[str, str]:
    """The first release that packaged each migration of `tree`, by path relative to it.

    An archive's migration is the file of the same name in the same folder (`_same_folder`). A
    South migration at the same path is another file: the path counts from the first release
    whose file is not South's (South gave way to Django's migrations once, so a binary search).
    """
    pinned = _folders(
        [p.relative_to(tree).as_posix() for p in tree.rglob("*.py") if MIGRATION.search(p.relative_to(tree).as_posix())]
    )
    matched: dict[tuple[str, frozenset[str]], str | None] = {}
    seen: dict[str, list[tuple[str, str]]] = {}  # path -> (version, archived name), oldest first
    for version, _, names in releases:
        for archived_folder, archived_names in _folders(names).items():
            key = (archived_folder, frozenset(archived_names))  # South's folder may share Django's name
            if key not in matched:
                matched[key] = _same_folder(archived_folder, archived_names, pinned)
            folder = matched[key]
            if folder is None:
                continue
            for name in sorted(archived_names & pinned[folder]):
                path = f"{folder}/{name}"
                if not seen.get(path) or seen[path][-1][0] != version:
                    seen.setdefault(path, []).append((version, f"{archived_folder}/{name}"))
    files = {version: release_files for version, release_files, _ in releases}
    wanted = Counter(found[0][0] for found in seen.values())
    first: dict[str, str] = {}
    for path, found in seen.items():
        version, archived = found[0]
        if not members.south(version, files[version], archived, wanted[version]):
            first[path] = version
            continue
        low, high = 1, len(found)
        while low < high:
            middle = (low + high) // 2
            version, archived = found[middle]
            if members.south(version, files[version], archived):
                low = middle + 1
            else:
                high = middle
        if low < len(found):
            first[path] = found[low][0]
    members.save()
    return first


def _git(repo: Path, *args: str, date: str | None = None) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="history.py", GIT_AUTHOR_EMAIL="history@localhost")
    env.update(GIT_COMMITTER_NAME=env["GIT_AUTHOR_NAME"], GIT_COMMITTER_EMAIL=env["GIT_AUTHOR_EMAIL"])
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)


def build(name: str, pinned: str, tree: Path, out: Path) -> dict[str, object]:
    """Writes OUT/FOLDER, a git copy of `tree` with one tagged commit per release; returns a summary."""
    cache = out / ".cache"
    (cache / name).mkdir(parents=True, exist_ok=True)
    releases = released(name, pinned, cache)
    listings = [(version, files, listing(name, version, files, cache)) for version, _, files in releases]
    first = first_releases(tree, listings, Members(name, cache))
    repo = out / tree.name
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(tree, repo, symlinks=True)
    _git(repo, "init", "-q", "-b", "main")
    added_by: dict[str, list[str]] = {}
    for path, version in first.items():
        added_by.setdefault(version, []).append(path)
    for version, upload, _ in releases:
        paths = sorted(added_by.get(version, []))
        if version == pinned:
            _git(repo, "add", "-A", "-f", "--", ".")  # the last release: everything else too
        for start in range(0, len(paths), 500):
            _git(repo, "add", "-f", "--", *paths[start : start + 500])
        _git(
            repo,
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            f"{version}: {len(paths)} migrations first packaged",
            date=upload,
        )
        _git(repo, "tag", version)
    migrations = sum(
        1 for p in repo.rglob("*.py") if MIGRATION.search(p.relative_to(repo).as_posix()) and ".git" not in p.parts
    )
    return {
        "project": name,
        "pinned": pinned,
        "releases": len(releases),
        "read from a wheel": sum(
            1 for _, _, files in releases if (_choose(files) or {}).get("packagetype") == "bdist_wheel"
        ),
        "migrations": migrations,
        "dated by a release before the pinned one": sum(1 for v in first.values() if v != pinned),
        "first packaged in the pinned release, or never": migrations - sum(1 for v in first.values() if v != pinned),
        "tags the tool does not read as releases": [v for v, _, _ in releases if not RELEASE_TAG.search(v)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, required=True, help="the unpacked pinned sdists (corpora.py)")
    parser.add_argument("--out", type=Path, required=True, help="where the git copies and the cache go")
    parser.add_argument("--project", action="append", default=[], help="only these distributions")
    args = parser.parse_args(argv)
    for name, version, folder in PROJECTS:
        if args.project and name not in args.project:
            continue
        tree = args.corpora / folder
        if not tree.is_dir():
            raise SystemExit(f"{tree} is missing: run corpora.py (run.py --fetch) first")
        print(json.dumps(build(name, version, tree, args.out)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
