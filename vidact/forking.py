"""Part of a computation in a forked child, its result in memory shared with the parent.

For the command line's one-shot numeric jobs (e.g. `vidact eval` at ActivityNet scale) on a
machine with a free core: the child inherits every array it needs without copying, computes its
share and writes its arrays where the parent reads them. A child that fails, for any reason,
leaves no result, and the caller computes that share itself: the outcome never depends on the
child. Only where `os.fork` exists; callers fall back to one process elsewhere.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Sequence

import numpy as np


def can_fork(workers: int) -> bool:
    return workers > 1 and hasattr(os, "fork")


def compute_in_child(compute: Callable[[], Sequence[np.ndarray] | None], dtypes: Sequence[type],
                     capacity: int) -> Callable[[], list[np.ndarray] | None]:
    """Start `compute()` in a forked child; return `join`, which waits for the child and gives the
    arrays it returned, flattened (one per entry of `dtypes`, 8-byte items), or None when the child
    returned None, failed, or returned more than `capacity` items in all.

    The shared memory is sized for `capacity` items; pages are only committed as they are written.
    """
    count = len(dtypes)
    shared = mmap.mmap(-1, 8 * (1 + count + capacity))  # anonymous and shared with the child
    header = np.frombuffer(shared, np.int64, 1 + count)  # [done, length of each array]
    header[0] = 0
    pid = os.fork()
    if pid == 0:  # the child: compute, publish, and leave without any clean-up
        try:
            arrays = compute()
            if arrays is not None and sum(np.size(a) for a in arrays) <= capacity:
                offset = 8 * (1 + count)
                for i, (array, dtype) in enumerate(zip(arrays, dtypes, strict=True)):
                    flat = np.asarray(array, dtype=dtype).reshape(-1)
                    np.frombuffer(shared, dtype, flat.shape[0], offset)[:] = flat
                    header[1 + i] = flat.shape[0]
                    offset += 8 * flat.shape[0]
                header[0] = 1
        finally:
            os._exit(0)

    def join() -> list[np.ndarray] | None:
        os.waitpid(pid, 0)
        if header[0] != 1:
            return None
        out, offset = [], 8 * (1 + count)
        for i, dtype in enumerate(dtypes):
            length = int(header[1 + i])
            out.append(np.frombuffer(shared, dtype, length, offset).copy())
            offset += 8 * length
        return out

    return join
