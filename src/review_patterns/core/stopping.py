"""Stopping a run on Ctrl-C or SIGTERM: the front end's signal handler asks, the engine's loops obey.

The handler raises `Stopped` at once, except inside `polled()`, where the engine starts worker
processes: Python drops an exception raised in an at-fork callback. There the request is only
recorded, and the engine's waits `check()` it a few times a second.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

_requested: list[int] = []
_polling: list[bool] = []


class Stopped(BaseException):
    """Ctrl-C or SIGTERM: the run stops, its workers are stopped, and the exit status says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.status = 128 + signum
        self.why = "interrupted" if signum == signal.SIGINT else "terminated"


def request(signum: int) -> None:
    """Asks the run to stop (from a signal handler); raises `Stopped` unless the engine polls."""
    _requested.append(signum)
    if not _polling:
        raise Stopped(signum)


@contextmanager
def polled() -> Iterator[None]:
    """A block that calls `check()` often enough: a signal is recorded, not raised, inside it."""
    _polling.append(True)
    try:
        yield
    finally:
        _polling.pop()


def check() -> None:
    """Raises `Stopped` when a stop was asked for, even if the handler's own exception was lost."""
    if _requested:
        raise Stopped(_requested[0])
