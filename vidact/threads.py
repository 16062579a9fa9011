"""CPU thread policy: OpenMP threads that sleep when idle, and how many torch intra-op threads to use.

Kept free of heavy imports: `vidact/__init__.py` calls `default_passive_wait()` before anything
can load torch, and torch is imported only inside `configure_torch_threads`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


def default_passive_wait(environ: Any = None) -> None:
    """Make idle OpenMP threads sleep instead of spinning, unless the user chose a wait policy.

    With the default (active) policy each of torch's OpenMP threads spins for a while after every
    parallel region. Alone on a machine that costs little; beside another CPU job the spinning
    threads steal the cores the other job needs, and both slow down many times over (one epoch of
    the toy TSM: 36 s alone, 292 s each for two copies at once; 59 s each with the passive
    policy). The OpenMP runtime reads the variable once, when torch loads it, so this must run
    before torch is imported; child processes (loader workers, torchrun ranks, extraction
    workers) inherit it through the environment.
    """
    env = os.environ if environ is None else environ
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def decoder_threads(pipeline: Iterable[Any], cores: int) -> int:
    """Threads one video decoder of `pipeline` (step specs or dicts with a `type`) runs.

    `PyAVDecode` with `multi_thread` and `DecordInit` with `num_threads: 0` let the library use
    every core; otherwise PyAV decodes in one thread and decord in `num_threads`.
    """
    threads = 1
    for step in pipeline:
        get = step.get if isinstance(step, dict) else (lambda key, default=None, s=step: getattr(s, key, default))
        kind = get("type")
        if kind == "PyAVDecode" and get("multi_thread", False):
            threads = max(threads, cores)
        elif kind == "DecordInit":
            threads = max(threads, int(get("num_threads", 1) or cores))
    return threads


def intra_op_threads(loader_workers: int, decode_threads: int = 1, *, cores: int | None = None,
                     local_ranks: int = 1) -> int:
    """Torch intra-op threads for a training or testing process.

    The rule: take the cores this process may use, split them evenly between the processes of
    this node (`local_ranks`, torchrun's LOCAL_WORLD_SIZE), and leave one core per decoder thread
    of every loader worker, since workers decode the next batches while the model computes. At
    least one thread. With no loader workers the data is decoded in this process between steps,
    so decoding takes no core away from the model.

    Example: 2 cores and 1 loader worker decoding in 1 thread give 1 intra-op thread (torch's
    own default, one per core, would oversubscribe the machine by one thread).
    """
    cores = available_cores() if cores is None else cores
    share = max(1, cores // max(1, local_ranks))
    return max(1, share - max(0, loader_workers) * max(1, decode_threads))


def configure_torch_threads(loader_workers: int, decode_threads: int = 1) -> int:
    """Set torch's intra-op threads by `intra_op_threads`, unless OMP_NUM_THREADS is set.

    An OMP_NUM_THREADS in the environment (the user's, or the 1 torchrun sets for several
    processes) is the user's choice and wins. Returns the thread count torch now uses.
    """
    import torch

    if "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    threads = intra_op_threads(loader_workers, decode_threads, local_ranks=local_ranks)
    torch.set_num_threads(threads)
    log.debug("torch intra-op threads: %d (%d cores, %d loader workers x %d decoder threads, %d local ranks)",
              threads, available_cores(), loader_workers, decode_threads, local_ranks)
    return threads
