"""Part of a computation in a forked child, its result in memory shared with the parent.

For the command line's one-shot numeric jobs (e.g. `vidact eval` at ActivityNet scale) on a
machine with a free core: the child inherits every array it needs without copying, computes its
share and writes a fixed-shape float64 result where the parent reads it. A child that fails, for
any reason, leaves no result, and the caller computes that share itself: the outcome never
depends on the child. Only where `os.fork` exists; callers fall back to one process elsewhere.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable

import numpy as np


def can_fork(workers: int) -> bool:
    return workers > 1 and hasattr(os, "fork")


def compute_in_child(compute: Callable[[], np.ndarray], shape: tuple[int, ...]) -> Callable[[], np.ndarray | None]:
    """Start `compute()` (returning a float64 array of `shape`) in a forked child; return `join`,
    which waits for the child and gives its result, or None when the child produced none."""
    size = int(np.prod(shape))
    shared = mmap.mmap(-1, 8 * (1 + size))  # anonymous and shared with the child
    done = np.frombuffer(shared, np.int64, 1)
    result = np.frombuffer(shared, np.float64, size, 8).reshape(shape)
    done[0] = 0
    pid = os.fork()
    if pid == 0:  # the child: compute, publish, and leave without any clean-up
        try:
            value = np.asarray(compute(), dtype=np.float64)
            if value.shape == tuple(shape):
                result[...] = value
                done[0] = 1
        finally:
            os._exit(0)

    def join() -> np.ndarray | None:
        os.waitpid(pid, 0)
        return result.copy() if done[0] == 1 else None

    return join
