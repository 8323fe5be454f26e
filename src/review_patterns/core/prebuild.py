"""Builds parts of a project's context in several processes at once, before the workers are forked.

A run over several processes builds the parts its rules read once, in the parent, so that every
forked worker inherits them (`runner.prepare_workers`). Built one after the other, they hold up
every worker. Here `jobs - 1` forked helpers take parts in turn with the parent (one byte each from
a shared pipe) and send back what they built, pickled as the context cache stores parts. A part a
helper could not build or send is built by the parent afterwards: the context ends the same as if
the parent had built every part itself.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

from review_patterns.core import collector
from review_patterns.core.cache import ContextPickler, ContextUnpickler
from review_patterns.project.context import ProjectContext


def build_parts(
    context: ProjectContext, parts: Sequence[str], jobs: int, meanwhile: Callable[[], None] = lambda: None
) -> None:
    """Builds `parts` of `context` (see the module's docstring); raises what building one in the parent raises.

    The parent does `meanwhile()` (say, import the engine) while the helpers start on the parts.
    """
    with collector.paused():  # the parts are kept, and the trees read for them die by reference counting
        _build(context, parts, jobs, meanwhile)


def _build(context: ProjectContext, parts: Sequence[str], jobs: int, meanwhile: Callable[[], None]) -> None:
    helpers = min(jobs, len(parts)) - 1
    if helpers < 1 or len(parts) > 255 or not hasattr(os, "fork"):  # a part's turn is one byte
        meanwhile()
        for part in parts:
            getattr(context, part)
        return
    turns, handing = os.pipe()
    os.write(handing, bytes(range(len(parts))))
    os.close(handing)  # before forking: each process reads the pipe to its end
    started: list[tuple[int, int]] = []  # (pid, the pipe its parts come back on)
    done = False
    try:
        for _ in range(helpers):
            back, sending = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(back)
                _help(context, parts, turns, sending)  # never returns
            os.close(sending)
            started.append((pid, back))
        meanwhile()
        _take_turns(context, parts, turns)
        for _, back in started:
            _receive(context, _read_all(back))
        done = True
    finally:
        os.close(turns)
        for pid, back in started:
            os.close(back)  # a helper still sending stops (broken pipe)
            if not done:
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    for part in parts:  # what no helper could send
        getattr(context, part)


def _take_turns(context: ProjectContext, parts: Sequence[str], turns: int) -> None:
    while turn := os.read(turns, 1):
        getattr(context, parts[turn[0]])


def _help(context: ProjectContext, parts: Sequence[str], turns: int, sending: int) -> None:
    """A helper's life: build parts in turn, send them all, exit. Ctrl-C is the parent's to handle."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        before = {name for name, _, _ in context.built_parts()}
        _take_turns(context, parts, turns)
        data = _pickled(context, [part for part in context.built_parts() if part[0] not in before])
        view = memoryview(data)
        while view:
            view = view[os.write(sending, view) :]
        status = 0
    finally:
        os._exit(status)  # no cleanup of the parent's state: it is the parent's


def _pickled(context: ProjectContext, built: list[tuple[str, Any, str | None]]) -> bytes:
    """The parts pickled together (shared objects stay shared), else each that can be on its own."""
    out = io.BytesIO()
    try:
        ContextPickler(out, context).dump(built)
    except Exception:
        kept = []
        for part in built:
            try:
                ContextPickler(io.BytesIO(), context).dump(part)
            except Exception:
                continue
            kept.append(part)
        out = io.BytesIO()
        ContextPickler(out, context).dump(kept)
    return out.getvalue()


def _read_all(back: int) -> bytes:
    chunks = []
    while chunk := os.read(back, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(context: ProjectContext, data: bytes) -> None:
    """Adds the parts a helper sent that the parent has not built meanwhile; a broken message adds none."""
    try:
        built = ContextUnpickler(io.BytesIO(data), context).load()
    except Exception:
        return
    for name, value, fingerprint in built:
        context.adopt(name, value, fingerprint)
