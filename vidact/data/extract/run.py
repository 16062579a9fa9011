"""A whole `extract-frames` run: plan (skip what is done), then extract in worker processes."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import functools
import logging
import logging.handlers
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vidact.data.extract.inputs import discover_videos, shard_jobs
from vidact.data.extract.manifest import done_state, read_manifest, skipped_result
from vidact.data.extract.options import (
    ExtractOptions,
    ExtractSummary,
    Progress,
    VideoJob,
    VideoResult,
)
from vidact.errors import InputError
from vidact.parallel import environment_defaults, installed_vidact_in_children
from vidact.threads import available_cores

log = logging.getLogger(__name__)

# What the fork server imports once for all workers (`vidact extract-frames` starts it early with
# the same list). This module leaves OpenCV, NumPy and PyAV to the workers (`video`, `av`), so that
# the parent, which only plans and hands out the videos, does not wait ~0.2 s for them. Python 3.10
# cannot keep the current directory off the server's sys.path (`installed_vidact_in_children`), so
# there the workers import vidact after the fork.
WORKER_PRELOAD = ("__main__", __name__, "vidact.data.extract.video", "av") if sys.version_info >= (3, 11) \
    else ("av",)
# The workers do no linear algebra: one OpenBLAS thread instead of one per core, started (and
# spinning) in the fork server at NumPy's import, halves the server's start-up CPU.
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1"}


def extract_frames(
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    options: ExtractOptions = ExtractOptions(),
    *,
    workers: int = 1,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    decode_threads: int | None = None,
    progress: Progress | None = None,
) -> ExtractSummary:
    """Extract every input video (of one shard) into `out_dir`, skipping videos already done.

    Failed videos are recorded in the summary and the run goes on.

    Args:
        inputs: folders, `.txt` lists and video files (see `discover_videos`).
        workers: processes extracting videos in parallel (1: in this process).
        shard: (index, count): extract only `shard_jobs(jobs, index, count)`.
        overwrite: redo videos that are already done (also after a settings change).
        decode_threads: FFmpeg threads per video; None: see `_thread_plan` (1, plus a JPEG
            encoding thread when a worker has a core to spare; 2 frame threads when other jobs
            compete for the cores, checked before each video).
        progress: called with (None, 0, total) first, then after each video with (result,
            finished, total).

    Raises:
        InputError: bad inputs, or done videos were extracted with other settings (without
            `overwrite`).
    """
    start = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    jobs = discover_videos(inputs)
    if shard is not None:
        jobs = shard_jobs(jobs, *shard)
    summary = ExtractSummary(str(out), shard)
    if progress is not None:
        progress(None, 0, len(jobs))
    todo = _plan(jobs, out, options, overwrite, summary, progress)
    if todo:
        busy = min(max(1, workers), len(todo))
        share = max(1, available_cores() // busy)
        _run(todo, out, options, busy, share, lambda r: _finish(summary, r, len(jobs), progress),
             decode_threads=decode_threads)
    summary.results.sort(key=lambda r: r.output)
    summary.seconds = time.perf_counter() - start
    return summary


def _plan(jobs: list[VideoJob], out: Path, options: ExtractOptions, overwrite: bool,
          summary: ExtractSummary, progress: Progress | None) -> list[VideoJob]:
    """Record the videos already done as skipped; return the ones to extract."""
    todo, stale = [], []
    for job in jobs:
        target = out / job.rel
        manifest = None if overwrite else read_manifest(target)
        state = done_state(job, manifest, target, options)
        if state == "done":
            _finish(summary, skipped_result(job, manifest, target), len(jobs), progress)
        else:
            (stale if state == "stale" else todo).append(job)
    if stale:
        raise InputError(f"{out / stale[0].rel}: extracted with other settings"
                         + (f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""),
                         hint="pass --overwrite to extract them again with these options")
    return todo


def _finish(summary: ExtractSummary, result: VideoResult, total: int, progress: Progress | None) -> None:
    if result.status == "failed":
        log.warning("%s: failed: %s", result.source, result.reason)
    summary.results.append(result)
    if progress is not None:
        progress(result, len(summary.results), total)


def _thread_plan(share: int, decode_threads: int | None, contended: bool = False) -> tuple[int, bool]:
    """(FFmpeg decoding threads, whether to JPEG-encode on a second thread) for a worker owning
    `share` cores, `contended` when other jobs are running beside the workers.

    Measured on 340x256 H.264 (benchmarks/README.md): FFmpeg frame threading costs ~20% more CPU
    per frame than decoding in one thread, so on a quiet machine a worker with one core decodes
    in one thread and encodes inline. Beside other jobs, that worker gets a single thread's share
    of the cores; with two frame threads decoding ahead while its main thread converts and
    encodes, it takes up the cycles the other jobs leave (1.5-1.8x the frames/s on the shared
    2-core machine, at about the same CPU per frame). A worker with a spare core hands JPEG
    encoding and writing (about half the per-frame work) to a second thread, which also keeps
    decoding while writes block.
    """
    encode = share >= 2
    if decode_threads:
        return decode_threads, encode
    if contended and not encode:
        return 2, False
    return max(1, share - encode), encode


def _cores_contended(ours: int, root: int | None = None) -> bool:
    """Whether tasks other than ours are runnable right now (other jobs are competing for the
    cores). Ours: the runnable threads of the process tree under `root` (the process running
    `extract_frames`: its fork server, its workers and their decoding threads); where that tree
    cannot be read, `ours` tasks (one per worker). Linux's instantaneous count of runnable tasks
    (/proc/loadavg) less ours, the lowest of three reads a millisecond apart, so a passing
    wake-up does not count; False where it cannot be read.

    Counting our own threads out matters: a worker that decodes with two frame threads would
    otherwise make the others see a busy machine, and they would all stay in that costlier mode.
    """
    others = []
    for attempt in range(3):
        if attempt:
            time.sleep(0.001)
        try:
            with open("/proc/loadavg", "rb") as fh:
                running = int(fh.read().split()[3].split(b"/")[0])
        except (OSError, ValueError, IndexError):
            return False
        mine = _tree_running(root) if root is not None else None
        others.append(running - (ours if mine is None else mine))
    return min(others) > 0


def _tree_running(root: int, depth: int = 2) -> int | None:
    """Runnable threads of process `root` and of its descendants `depth` generations down
    (Linux's /proc); None where that cannot be read (no /proc, a kernel without the children
    lists, or `root` is gone)."""
    if not os.path.exists(f"/proc/{root}/task/{root}/children"):
        return None
    count, generation = 0, [root]
    for level in range(depth + 1):
        children: list[int] = []
        for pid in generation:
            running, started = _process_threads(pid, children=level < depth)
            count += running
            children += started
        generation = children
    return count


def _process_threads(pid: int, children: bool) -> tuple[int, list[int]]:
    """(runnable threads of process `pid`, with `children` the processes its threads started);
    (0, []) for a process that has exited."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, []
    running, started = 0, []
    for tid in tids:
        task = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{task}/stat", "rb") as fh:
                stat = fh.read()
            running += stat[stat.rfind(b")") + 2:][:1] == b"R"  # the state follows the command's name
            if children:
                with open(f"{task}/children", "rb") as fh:
                    started += map(int, fh.read().split())
        except OSError:
            continue  # the thread ended meanwhile
    return running, started


def _cv2_threads(share: int, options: ExtractOptions) -> int:
    """OpenCV threads for a worker: its cores for optical flow, else 1 (colour conversion and
    resizing of one frame are too small to split, and idle pool threads spin)."""
    return share if options.flow else 1


def _extract_job(args: tuple[VideoJob, str, ExtractOptions, int, int | None, int]) -> VideoResult:
    job, out, options, share, decode_threads, workers = args
    # decided per video, so a run adapts when other jobs start or end
    contended = workers > 1 and share == 1 and decode_threads is None and _cores_contended(workers, _ROOT)
    threads, encode_thread = _thread_plan(share, decode_threads, contended)
    from vidact.data.extract.video import extract_video  # preloaded by the fork server

    return extract_video(job.source, Path(out) / job.rel, options, threads=threads, encode_thread=encode_thread)


@contextlib.contextmanager
def _cv2_threads_set(count: int) -> Iterator[None]:
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


_ROOT: int | None = None
"""In a worker: the process running `extract_frames` (the root of our process tree)."""


def _init_worker(cv2_threads: int, log_queue: Any, log_level: int, root_pid: int | None = None) -> None:
    global _ROOT
    import cv2

    _ROOT = root_pid

    cv2.setNumThreads(cv2_threads)  # OpenCV's own pool would oversubscribe the cores
    # Send vidact's log records to the parent, whose handlers know about the progress bar.
    root = logging.getLogger("vidact")
    root.handlers[:] = [logging.handlers.QueueHandler(log_queue)]
    root.setLevel(log_level)
    root.propagate = False


class _Forward(logging.Handler):
    """Hands records from worker processes to the parent's logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def _run(jobs: list[VideoJob], out: Path, options: ExtractOptions, workers: int, threads: int,
         report: Callable[[VideoResult], None], fn: Callable[[tuple], VideoResult] = _extract_job, *,
         decode_threads: int | None = None) -> None:
    """Extract `jobs` with `workers` processes (1: in this one), each owning `threads` cores,
    `report`ing each result.

    A worker that dies (say, the decoder crashing on a bad file) breaks the pool: the videos in
    flight (running or queued) become suspects and the others go on in a new pool; then each
    suspect runs alone in its own pool, so a second crash names the culprit, recorded as failed.
    """
    # Largest first, so no long video starts last while the other workers sit idle.
    jobs = sorted(jobs, key=lambda job: _size(job.source), reverse=True)
    args = functools.partial(_job_args, out=str(out), options=options, share=threads, decode_threads=decode_threads,
                             workers=workers)
    if workers <= 1:
        with _cv2_threads_set(_cv2_threads(threads, options)):
            for job in jobs:
                report(fn(args(job)))
        return
    queue, suspects = collections.deque(jobs), []
    cv2_threads = _cv2_threads(threads, options)
    while queue:
        suspects += _pool_pass(fn, args, queue, workers, cv2_threads, report)
    for job in suspects:
        if _pool_pass(fn, args, collections.deque([job]), 1, cv2_threads, report):
            report(VideoResult(job.source, str(out / job.rel), "failed",
                               reason="the worker process crashed while extracting it"))


def _job_args(job: VideoJob, *, out: str, options: ExtractOptions, share: int, decode_threads: int | None,
              workers: int) -> tuple[VideoJob, str, ExtractOptions, int, int | None, int]:
    return job, out, options, share, decode_threads, workers


def _pool_pass(fn: Callable[[tuple], VideoResult], args: Callable[[VideoJob], tuple], queue: collections.deque,
               workers: int, cv2_threads: int, report: Callable[[VideoResult], None]) -> list[VideoJob]:
    """Run jobs from `queue` until it is empty or the pool breaks; return the jobs then in flight."""
    # the workers run `fn` only (the CLI's main script is heavy), from the vidact this process runs
    with _main_path_hidden(fn), installed_vidact_in_children(), environment_defaults(WORKER_ENV):
        context = _mp_context()
        log_queue = context.Queue()
        listener = logging.handlers.QueueListener(log_queue, _Forward())
        listener.start()
        level = logging.getLogger("vidact").getEffectiveLevel()
        pool = cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                      initargs=(cv2_threads, log_queue, level, os.getpid()))
        running: dict[cf.Future, VideoJob] = {}
        try:
            while queue or running:
                # Two jobs per worker: a worker never waits for this process to hand it the next one.
                while queue and len(running) < 2 * workers:
                    job = queue.popleft()
                    running[pool.submit(fn, args(job))] = job
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                broken = [f for f in done if isinstance(f.exception(), cf.process.BrokenProcessPool)]
                for future in done:
                    if future not in broken:
                        report(future.result())
                        del running[future]
                if broken:
                    return list(running.values())
            return []
        finally:
            # On Ctrl-C or an error, drop the jobs no worker has started yet.
            pool.shutdown(wait=True, cancel_futures=True)
            listener.stop()  # after the pool: every record of the workers has arrived


@contextlib.contextmanager
def _main_path_hidden(fn: Callable) -> Iterator[None]:
    """Start worker processes without making them (or the fork server) import `__main__`.

    multiprocessing imports the parent's main script by path in new processes, so functions
    defined there unpickle. These workers run vidact functions only, and for the `vidact` console
    script that import is the whole CLI (typer, rich, every command): ~0.2 s before the first
    worker starts, and once more per spawned worker where there is no fork server.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(fn, "__module__", "__main__") == "__main__":
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver (spawn where missing), never fork: the parent may hold torch/OpenMP or rich
    threads. The fork server is one clean interpreter that imports this module and PyAV once and
    forks the workers, so N workers cost one interpreter start instead of N (~0.2 s CPU each)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))  # applies when the server starts
    return context


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
