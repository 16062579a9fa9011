"""`process_map`: an ordered map over spawned worker processes with a progress callback.

Spawned, not forked: the parent may hold torch/OpenMP, decoder or OpenCV threads, which a
forked child inherits in a state it cannot use.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

ProgressCallback = Callable[[int, int], Any]
"""Called with (items done, items in all) after each item."""


def process_map(fn: Callable[[T], Any], items: Sequence[T], workers: int,
                progress: ProgressCallback | None = None) -> list:
    """`[fn(item) for item in items]`, in order, over `workers` spawned processes when > 1.

    `fn` and the items must be picklable (a module-level function and plain data).
    """

    def collect(results: Iterable[Any]) -> list:
        done = []
        for result in results:
            done.append(result)
            if progress is not None:
                progress(len(done), len(items))
        return done

    if workers <= 1 or len(items) <= 1:
        return collect(fn(item) for item in items)
    workers = min(workers, len(items))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return collect(pool.map(fn, items, chunksize=max(1, len(items) // (workers * 8))))
