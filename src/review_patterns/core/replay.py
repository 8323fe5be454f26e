"""The report of a `check` again, when nothing it read has changed, before anything else is imported.

A warm `check` of an unchanged tree finds every result in the cache, but still pays for starting the
command line, the engine and the report writers: most of its time on a small project. So, like the
dependency files of make and ninja, a `check` leaves a record in its cache folder (`replay/`): the exact
command (arguments, folder, environment, interpreter, terminal), every path it opened, listed or looked
at (with the size, times and inode each had), the state of git it read (a probe), and what it printed
with its exit status. The next run of the same command looks at those paths again and, when every one
is as recorded, prints the same text and exits with the same status. Any difference, and any missing,
unreadable or foreign record, runs the command as usual.

A run leaves no record unless the command permits it (`permit`: a plain `check` of files, not standard
input, with the cache on), and none when it wrote anything outside the cache folder, started a process
outside a probe (its worker processes included), or read a path changed within `RACY_NS` of its start.

Only the standard library is imported here: a replayed run costs the interpreter's start-up and the stat
of each recorded path.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

try:
    from _blake2 import blake2b  # what hashlib offers, without loading OpenSSL: a tenth of a replay
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b

FORMAT = 1  #: bumped when the layout of a record changes
FOLDER_NAME = ".review_patterns_cache"  #: the cache folder under the project root
ENVIRONMENT = "REVIEW_PATTERNS_CACHE_DIR"  #: the cache folder, when set
RECORDS = "replay"  #: the records' folder inside the cache folder
MAX_RECORDS = 64  #: beyond this many records, the least recently used fifth is removed
#: A path changed this close before a run started may change again in the same tick of the file
#: system's clock and leave its size and times equal: such a run leaves no record (and the result
#: cache reads such a file again).
RACY_NS = 2_000_000_000
#: Variables that change between two runs of the same command in one shell and that nothing reads.
_VOLATILE = frozenset({"_", "OLDPWD", "PWD", "SHLVL"})
_SPAWNING = frozenset(
    {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system", "os.startfile"}
    | {"subprocess.Popen", "pty.spawn"}
)
_MUTATING = frozenset(
    {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.utime", "os.truncate"}
    | {"os.link", "os.symlink", "shutil.rmtree", "shutil.move", "shutil.copyfile", "os.chflags", "os.mkfifo"}
)
#: The events a recorder looks at, besides git's state; the others (`builtins.id`, `exec`, `compile`:
#: thousands in a run) return at once.
_WATCHED = frozenset({"open", "os.listdir", "os.scandir"}) | _SPAWNING | _MUTATING
_WRITE_MODES = frozenset("wax+")
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _git_state(root: str, tags: str | None, since: str | None) -> str | None:
    """git's state as `project/releases.py` reads it (HEAD, tags), which a recorded run announces."""
    from pathlib import Path

    from review_patterns.project.releases import state

    return state(Path(root), tags, since)


def cache_folders(argv: Sequence[str], cwd: str) -> list[str]:
    """Where a record of the command is looked for: `$REVIEW_PATTERNS_CACHE_DIR`, else the nearest
    cache folder at or above the current folder and at or above each argument that names a path
    (`check backend/` from above the project). A run is recorded only in one of these."""
    named = os.environ.get(ENVIRONMENT)
    if named:
        return [os.path.normpath(os.path.join(cwd, named))]
    folders: list[str] = []
    for start in (cwd, *(os.path.join(cwd, arg) for arg in argv[1:] if not arg.startswith("-"))):
        folder = os.path.normpath(start)
        while start == cwd or os.path.exists(folder):
            candidate = os.path.join(folder, FOLDER_NAME)
            if os.path.isdir(candidate):
                if candidate not in folders:
                    folders.append(candidate)
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return folders


def _stream(stream: TextIO | None) -> list[Any] | None:
    if stream is None:
        return None
    try:
        tty = stream.isatty()
    except (OSError, ValueError, AttributeError):
        tty = False
    try:
        size = list(os.get_terminal_size(stream.fileno())) if tty else None
    except (OSError, ValueError, AttributeError):
        size = None
    return [tty, size, getattr(stream, "encoding", None), getattr(stream, "errors", None)]


def command_key(argv: Sequence[str], cwd: str) -> str:
    """A digest of everything beyond files that a run's output may depend on (a digest: the record
    keeps no variable of the environment, where secrets may be)."""
    key = {
        "format": FORMAT,
        "argv": list(argv),
        "cwd": cwd,
        "environment": {name: value for name, value in os.environ.items() if name not in _VOLATILE},
        "python": [sys.executable, sys.version, sys.path, sys.warnoptions, repr(sys.flags), repr(sys._xoptions)],
        "streams": [_stream(sys.stdout), _stream(sys.stderr)],
    }
    return blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=16).hexdigest()


def _record_path(folder: str, key: str) -> str:
    return os.path.join(folder, RECORDS, f"{key}.json")


def _state(path: str, how: str) -> list[int] | None:
    """What a recorded path looks like now. `how`: `s` looked at (following links), `l` looked at
    itself, `d` listed. A folder looked at is recorded by its kind alone (its listing is recorded when
    it was listed); anything else by kind, size, times and inode. None when it does not exist, and
    -1 with the error's number when it cannot be looked at."""
    try:
        info = os.lstat(path) if how == "l" else os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        return [-1, error.errno or 0]
    kind = stat.S_IFMT(info.st_mode)
    if stat.S_ISDIR(kind) and how != "d":
        return [kind]
    return [kind, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def replayed(argv: Sequence[str], cwd: str | None = None) -> int | None:
    """Prints the recorded output of this very command and returns its exit status, when a record of
    it holds; else None (and the command is to be run)."""
    if not argv or argv[0] != "check" or sys.stdout is None or sys.stderr is None:
        return None
    cwd = cwd or os.getcwd()
    key = command_key(argv, cwd)
    paths = [_record_path(folder, key) for folder in cache_folders(argv, cwd)]
    path = next((path for path in paths if os.path.exists(path)), None)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            record = json.loads(handle.read())
        if record["format"] != FORMAT or record["key"] != key:
            return None
        if any(_state(p, how) != state for p, how, state in record["inputs"]):
            return None
        if any(_git_state(root, tags, since) != value for root, tags, since, value in record["probes"]):
            return None
        status = record["status"]
        output = [(sys.stdout if fd == 1 else sys.stderr, text) for fd, text in record["output"]]
        if not isinstance(status, int) or not all(isinstance(text, str) for _, text in output):
            return None
    except Exception:  # none yet, unreadable, foreign, or a probe that fails: the command runs
        return None
    for stream, text in output:
        stream.write(text)
        stream.flush()
    try:
        os.utime(path)  # recently used: kept when the records are bounded
    except OSError:
        pass
    return status


class _Tee:
    """A text stream that writes through to `stream` and keeps what it wrote, in order with the other."""

    def __init__(self, stream: TextIO, fd: int, output: list[list[Any]]) -> None:
        self._stream, self._fd, self._output = stream, fd, output

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        written = self._stream.write(text)
        if self._output and self._output[-1][0] == self._fd:
            self._output[-1][1] += text
        else:
            self._output.append([self._fd, text])
        return written

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # bytes written past the copy would be missing from it
            raise AttributeError(name)
        return getattr(self._stream, name)


class Recorder:
    """Watches a run of the command and, when it may be replayed, writes its record (`finish`)."""

    def __init__(self, argv: Sequence[str], cwd: str, folders: Sequence[str], probe: tuple[str, str]) -> None:
        self.key = command_key(argv, cwd)
        self.cwd = cwd
        self.folders = [os.path.abspath(folder) for folder in folders]  # where the record may go
        self.folder: str | None = None  # the run's cache folder, once it permits
        self._inside = tuple(os.path.join(folder, "") for folder in self.folders)
        self.started = time.time_ns()
        # What the run looked at, as the events named it (made absolute only if a record is written):
        # (path, how), `how` as for `_state`; and the paths opened (a file edited just before the run is one).
        self.seen: list[tuple[Any, str]] = []
        self.read: list[Any] = []
        self.probes: list[list[Any]] = []
        self.output: list[list[Any]] = []
        self.spoiled: str | None = None  # why the run cannot be replayed
        self._probe = probe  # the audit events around reading git's state (`project/releases.py`)
        self._probing: list[Any] | None = None
        self._paths: dict[str, str | None] = {}  # an event's path -> `_path`

    def permit(self, folder: str) -> None:
        """The command's output depends on nothing but what was recorded, and it used `folder` as its cache."""
        if os.path.abspath(folder) in self.folders:
            self.folder = os.path.abspath(folder)

    def spoil(self, why: str) -> None:
        self.spoiled = self.spoiled or why

    def _path(self, value: Any) -> str | None:
        """The absolute path of an event's argument, or None for a descriptor or a cache file."""
        if isinstance(value, int):
            return None
        name = os.fsdecode(value)
        if name not in self._paths:
            plain = name.startswith(os.sep) and f"{os.sep}." not in name and os.sep * 2 not in name
            path = name if plain else os.path.normpath(os.path.join(self.cwd, name))
            self._paths[name] = None if (path + os.sep).startswith(self._inside) else path
        return self._paths[name]

    def on_event(self, event: str, args: tuple[Any, ...]) -> None:
        """The audit hook: files opened, folders listed, processes started, files changed."""
        if self.spoiled:
            return
        if event == "open":
            path, mode, flags = args
            writes = not _WRITE_MODES.isdisjoint(mode) if isinstance(mode, str) else bool((flags or 0) & _WRITING)
            if writes and self._path(path) is not None:
                self.spoil(f"wrote {os.fsdecode(path)}")
            elif not writes and path is not None:
                self.seen.append((path, "s"))
                self.read.append(path)
        elif event in ("os.listdir", "os.scandir"):
            if isinstance(args[0], int):
                self.spoil("listed a folder by descriptor")
            else:
                self.seen.append(("." if args[0] is None else args[0], "d"))
        elif event == self._probe[0]:
            self._probing = list(args)
        elif event == self._probe[1]:
            if self._probing is not None:
                self.probes.append([*self._probing, args[0]])
            self._probing = None
        elif event in _SPAWNING and self._probing is None:
            self.spoil(f"started a process ({event})")
        elif event in _MUTATING and any(self._path(a) for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))):
            self.spoil(f"changed a file ({event})")

    def watch(self, real: Callable[..., os.stat_result], how: str) -> Callable[..., os.stat_result]:
        """`os.stat` or `os.lstat`, noting each path looked at (the standard library audits no stat)."""

        def looked(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
            if self.spoiled:
                pass
            elif not kwargs:  # as nearly every call is: kept cheap, a run makes thousands
                self.seen.append((path, how))
            elif kwargs.get("dir_fd") is not None:
                self.spoil("looked at a path relative to a descriptor")
            else:
                self.seen.append((path, "s" if how == "s" and kwargs.get("follow_symlinks", True) else "l"))
            return real(path, *args, **kwargs)

        return looked

    def _code(self) -> Iterable[tuple[str, str]]:
        """The modules the run imported, and every file of the tool (a rule it did not import included)."""
        for module in list(sys.modules.values()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str):
                yield os.path.abspath(file), "s"
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for folder, names, files in os.walk(package):
            names[:] = [name for name in names if name != "__pycache__"]
            yield folder, "d"
            yield from ((os.path.join(folder, name), "s") for name in files)

    def finish(self, status: int) -> None:
        """Writes the record, when the run may be replayed; never fails the run."""
        from pathlib import Path  # both loaded by the run by now

        from review_patterns.core.cache import write_atomically

        if self.folder is None or self.spoiled or self._probing is not None or status not in (0, 1):
            return  # (an interrupted run, 130 or 143, printed part of its report)
        settled = self.started - RACY_NS
        try:
            if any(_racy(_state(path, "s"), settled) for path in map(self._path, self.read) if path is not None):
                return  # at once: a file edited just before the run was read again, the common case
            seen = dict(self._code())
            for value, how in self.seen:
                path = self._path(value)
                if path is not None and seen.get(path) != "d":
                    seen[path] = how
            inputs = [(path, how, _state(path, how)) for path, how in sorted(seen.items())]
            if any(_racy(state, settled) for _, _, state in inputs):
                return
            record = {
                "format": FORMAT,
                "key": self.key,
                "inputs": inputs,
                "probes": self.probes,
                "output": self.output,
                "status": status,
            }
            path = _record_path(self.folder, self.key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomically(Path(path), json.dumps(record, separators=(",", ":")).encode())  # C encoder: fast
            _bound(os.path.dirname(path))
        except (OSError, ValueError, TypeError):  # a cache folder that cannot be written: no record
            pass


def _racy(state: list[int] | None, settled: int) -> bool:
    """Whether a path's times are too recent for its size and times to tell a later write (`RACY_NS`)."""
    return state is not None and len(state) == 5 and max(state[2], state[3]) >= settled


def _bound(folder: str, limit: int = MAX_RECORDS) -> None:
    with os.scandir(folder) as listing:
        records = sorted((e.stat().st_mtime_ns, e.path) for e in listing if e.name.endswith(".json"))
    for _, path in records[: len(records) - limit * 4 // 5] if len(records) > limit else ():
        try:
            os.unlink(path)
        except OSError:
            pass


def _plain(stream: TextIO | None) -> bool:
    """A text stream click writes to as it is (an ASCII one it would wrap, past the copy)."""
    import codecs

    encoding = getattr(stream, "encoding", None)
    try:
        return stream is not None and encoding is not None and codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return False


class _Watch:
    """The recorder of the run in progress; the audit hook, once added, stays for the process."""

    active: Recorder | None = None
    hooked = False

    @staticmethod
    def on_event(event: str, args: tuple[Any, ...]) -> None:
        if _Watch.active is not None and (event in _WATCHED or event.startswith("review_patterns.")):
            _Watch.active.on_event(event, args)


def permit(folder: os.PathLike[str] | str) -> None:
    """Called by a command whose output depends on nothing but the paths it read, with its cache folder."""
    if _Watch.active is not None:
        _Watch.active.permit(os.fspath(folder))


def recorded(run: Callable[[], int], argv: Sequence[str], cwd: str | None = None) -> int:
    """Runs the command, recording it when a cache folder is there to keep the record."""
    cwd = cwd or os.getcwd()
    folders = cache_folders(argv, cwd) if argv and argv[0] == "check" else []
    if not folders or not _plain(sys.stdout) or not _plain(sys.stderr):
        return run()
    from review_patterns.project.releases import READ_STATE, READING_STATE

    recorder = Recorder(argv, cwd, folders, (READING_STATE, READ_STATE))
    if not _Watch.hooked:
        sys.addaudithook(_Watch.on_event)
        _Watch.hooked = True
    streams = sys.stdout, sys.stderr
    real_stat, real_lstat = os.stat, os.lstat
    sys.stdout = _Tee(streams[0], 1, recorder.output)
    sys.stderr = _Tee(streams[1], 2, recorder.output)
    os.stat, os.lstat = recorder.watch(real_stat, "s"), recorder.watch(real_lstat, "l")
    _Watch.active = recorder
    try:
        status = run()
    finally:
        _Watch.active = None
        os.stat, os.lstat = real_stat, real_lstat
        sys.stdout, sys.stderr = streams
    recorder.finish(status)
    return status
