"""Python's cycle collector held off while work makes many objects that live on or die by reference
counting: each collection meanwhile would traverse them all, to find little or no garbage."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off inside the block, and afterwards as it was before.

    It counts objects made less objects freed, so once it is back it runs as soon as what the block
    left behind, cycles included, calls for it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
