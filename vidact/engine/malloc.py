"""glibc malloc settings for training and scoring on the CPU.

A CPU training step allocates and frees the same large activation and gradient buffers every
iteration (tens of MB each for a TSM R50 clip batch). With glibc's defaults those come from
mmap and go back to the system when freed, so every step faults all of their pages in again
(about 1.2 million minor page faults per TSM R50 step, a third of the step's CPU time in the
kernel); worse, glibc's dynamic mmap threshold makes the figure depend on the allocation history,
so identical loops run up to 1.6x apart. `keep_freed_memory()` makes the process keep freed
memory for reuse: no mmap for allocations and no trimming of the heap. The process's RSS then
stays at its peak (what a training process reaches anyway).

DataLoader workers undo this first thing (`vidact.data.build.configure_worker_process`): their
frame buffers are better served by mmap. Nothing is changed when the user tunes malloc through
its `MALLOC_*_` environment variables, or where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
_done = False


def keep_freed_memory() -> bool:
    """Keep freed memory in this process for reuse (glibc only); True when the settings changed."""
    global _done
    if _done:
        return True
    if any(name in os.environ for name in MALLOC_ENV):
        log.debug("MALLOC_*_ set in the environment; leaving malloc as configured")
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1
    except (OSError, AttributeError):  # not glibc
        return False
    _done = ok
    log.debug("malloc: mmap off, heap trimming off (CPU training keeps its freed buffers)")
    return ok
