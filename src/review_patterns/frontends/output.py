"""Writing reports and baselines without ever destroying what is at the path, and stopping cleanly."""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from review_patterns.core import stopping
from review_patterns.core.stopping import Stopped


class OutputError(Exception):
    """A report or baseline that cannot be written; the message names the path and the reason."""


def write_output(path: Path, text: str) -> None:
    """Writes `text` to `path`: `-` is standard output; a symbolic link is written through to its target;
    a regular file (or a new one) is replaced atomically (a temporary file in its folder, then a rename),
    keeping its mode; a device or a FIFO is written directly and never replaced."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(os.path.realpath(path))
    try:
        try:
            info: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise OutputError(f"cannot write {path}: it is a folder")
        if info is not None and not stat.S_ISREG(info.st_mode):
            with open(target, "w", encoding="utf-8", errors="replace") as out:
                out.write(text)
            return
        _replace(target, text, None if info is None else stat.S_IMODE(info.st_mode))
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def _replace(target: Path, text: str, mode: int | None) -> None:
    """A temporary file beside `target`, renamed over it: a crash never leaves half a report."""
    import tempfile  # here: a report printed to the terminal writes no file

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask  # mkstemp's 0600 would make reports private to their writer
    try:
        os.chmod(temporary, mode)
        with os.fdopen(handle, "w", encoding="utf-8", errors="replace") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turns Ctrl-C and SIGTERM into `Stopped` while the block runs (in the main thread only).

    Not KeyboardInterrupt, which click turns into "Aborted." with status 1; and SIGTERM's default
    would leave the worker processes behind.
    """
    signals = [signal.SIGINT, signal.SIGTERM]
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    parent = os.getpid()

    def stop(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != parent:  # a worker forked before it could set its own handlers: the parent stops it
            return
        for each in signals:  # one line, whatever the number of presses
            signal.signal(each, signal.SIG_IGN)
        stopping.request(signum)

    previous = {each: signal.signal(each, stop) for each in signals}
    try:
        yield
    except Stopped:
        raise  # the signals stay ignored: a press while the process exits must not add a traceback
    except BaseException:
        _restore(previous)
        raise
    _restore(previous)


def _restore(handlers: dict[signal.Signals, Any]) -> None:
    for each, handler in handlers.items():
        signal.signal(each, handler)
