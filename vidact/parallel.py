"""Worker processes: `process_map` (an ordered map over spawned processes with a progress callback)
and the guards that make every worker vidact starts import the vidact this process runs.

Spawned, not forked: the parent may hold torch/OpenMP, decoder or OpenCV threads, which a
forked child inherits in a state it cannot use.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
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
    from concurrent.futures import ProcessPoolExecutor  # here: `vidact extract-frames` imports this module first thing

    with installed_vidact_in_children(), \
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return collect(pool.map(fn, items, chunksize=max(1, len(items) // (workers * 8))))


@contextlib.contextmanager
def installed_vidact_in_children() -> Iterator[None]:
    """Python processes started in this block import the vidact this process runs, whatever the
    current directory holds.

    A spawned worker and the fork server start as `python -c ...`, and torchrun's ranks as
    `python -m vidact`; both put the current directory first on `sys.path`, so a folder named
    `vidact` there (the parent of a clone, say) shadows the installed package: the fork server
    imports it while preloading, and every worker forked from it fails to unpickle its job. With
    PYTHONSAFEPATH=1 (Python 3.11+) they leave the current directory off. Nothing changes when the
    user sets PYTHONSAFEPATH, or when this process's vidact is the one in the current directory
    (`python -m vidact` run in a clone that is not installed), which the children then need.
    """
    if "PYTHONSAFEPATH" in os.environ or _vidact_root() == Path.cwd().resolve():
        yield
        return
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        os.environ.pop("PYTHONSAFEPATH", None)


def prepare_worker_start(context: Any = None) -> None:
    """Call before starting worker processes through `context` (default: multiprocessing's).

    Under the forkserver start method (Python 3.14's default on Linux) the fork server starts
    now, under `installed_vidact_in_children`: the workers forked from it later inherit its
    `sys.path` and modules. Fork needs nothing (workers inherit this process's modules), nor does
    spawn (a spawned worker takes this process's `sys.path` before importing anything of ours).
    """
    if context is None or isinstance(context, str):
        method = context or multiprocessing.get_start_method(allow_none=True) \
            or multiprocessing.get_all_start_methods()[0]  # the platform's default comes first
    else:
        method = context.get_start_method()
    if method == "forkserver":
        from multiprocessing import forkserver

        with installed_vidact_in_children():
            forkserver.ensure_running()


@contextlib.contextmanager
def environment_defaults(defaults: Mapping[str, str]) -> Iterator[None]:
    """Set the variables of `defaults` the user has not set, for processes started in this block."""
    added = {key: value for key, value in defaults.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def start_fork_server(preload: Sequence[str], env: Mapping[str, str] | None = None) -> bool:
    """Start multiprocessing's fork server now, preloading the modules `preload` names; False (and
    nothing started) where the platform has no fork server.

    For a command that starts worker processes after imports of its own: the server's start (an
    interpreter plus `preload`'s imports, ~0.3 s for OpenCV, NumPy and PyAV) then runs on another
    core meanwhile, instead of after them. The server does not import this process's main script
    (for the `vidact` console script, the whole CLI): its workers run library functions only.
    Pools created later with the forkserver context use this server. `env`: variables the
    server (and so every worker) starts with, unless the user set them.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is not None:
        del main.__file__
    try:
        with installed_vidact_in_children(), environment_defaults(env or {}):
            forkserver.ensure_running()
    finally:
        if path is not None:
            main.__file__ = path
    return True


def _vidact_root() -> Path:
    import vidact

    return Path(vidact.__file__).resolve().parents[1]
