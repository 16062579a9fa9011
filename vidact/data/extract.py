"""Frame (and optical flow) extraction from videos to JPEG folders, behind `vidact extract-frames`.

Resumable and parallel across videos; each output folder carries a manifest that says what it holds.

Layout. Video `ROOT/a/b.mp4` found under an input folder `ROOT` becomes `OUT/a/b/` holding
`img_00001.jpg`... (the `RawframeDataset` defaults: `filename_tmpl='img_{:05}.jpg'`,
`start_index=1`), with `--flow` also `x_00001.jpg`/`y_00001.jpg`... (flow of written frame k to
written frame k + 1, so n frames give n - 1 flow pairs, as denseflow writes), and
`manifest.json`. Videos given as files, or listed in a `.txt` file, land at `OUT/<file stem>`
(a list's relative paths keep their folders: `OUT/<path without extension>`).

Frames. Written frame k (1-based) is source frame `(k - 1) * every` (0-based) of the frames
`vidact.data.decoding.count_frames` counts, decoded in one sequential PyAV pass; with
`every=1` exactly `count_frames(video)` images are written, so annotation frame indices match.

Safety. A video is written into a hidden temp folder beside its target (`.b.partial-XXXX`) and
renamed to `b/` once its manifest is written (atomically, fsynced), so a folder with a manifest
is complete; leftovers of interrupted runs are removed when the video is redone. Frame files
are not fsynced one by one (too slow): a killed run leaves at worst temp folders, but after an
OS crash or power loss a renamed folder may hold frames that never reached the disk.

Manifest (`OUT/<rel>/manifest.json`, format `MANIFEST_FORMAT`): source path, size and the sha256
of the whole file; frames written and their template; flow pairs, algorithm and bound; source
frame count (with the policy's name), fps, duration and size; decoder library versions, codec
and threads; the settings. A re-run skips a video whose manifest exists, whose settings equal
the requested ones and whose source size is unchanged (the checksum is not recomputed).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import json
import logging
import logging.handlers
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from vidact.data.decoding import open_video
from vidact.errors import DecodeError, InputError
from vidact.io.files import atomic_write_text

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".flv", ".mpg", ".mpeg",
                    ".wmv", ".3gp", ".ts", ".mts", ".ogv")
IMG_TMPL = "img_{:05d}.jpg"
FLOW_TMPL = "{}_{:05d}.jpg"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "vidact-extract-frames/1"
FRAME_COUNT_POLICY = "vidact.data.decoding.count_frames(backend='pyav'): demuxed picture packets"
FLOW_ALGOS = ("dis", "farneback")

Status = Literal["extracted", "skipped", "failed"]
# (result, videos finished, videos total); first called with (None, 0, total) once the videos
# are known, then after each video.
Progress = Callable[["VideoResult | None", int, int], None]


@dataclass(frozen=True)
class ExtractOptions:
    """What to write for each video.

    Attributes:
        short_side: resize so the shorter side has this many pixels (aspect ratio kept).
        new_size: resize to exactly (width, height). Exclusive with `short_side`.
        every: keep every `every`-th frame (source frames 0, every, 2 * every, ...).
        quality: JPEG quality, 0-100.
        flow: also write optical flow between consecutive written frames.
        flow_algo: 'dis' (OpenCV DIS, medium preset) or 'farneback'.
        bound: flow is clipped to [-bound, bound] pixels and stored as
            `clip(flow, -bound, bound) * 255 / (2 * bound) + 128`, rounded to uint8.
    """

    short_side: int | None = None
    new_size: tuple[int, int] | None = None
    every: int = 1
    quality: int = 95
    flow: bool = False
    flow_algo: str = "dis"
    bound: float = 20.0

    def __post_init__(self) -> None:
        if self.short_side is not None and self.new_size is not None:
            raise InputError("--short-side and --new-size cannot be used together")
        if self.short_side is not None and self.short_side < 1:
            raise InputError(f"--short-side {self.short_side}: must be at least 1")
        if self.new_size is not None and min(self.new_size) < 1:
            raise InputError(f"--new-size {self.new_size[0]} {self.new_size[1]}: must be at least 1x1")
        if self.every < 1:
            raise InputError(f"--every {self.every}: must be at least 1")
        if not 0 <= self.quality <= 100:
            raise InputError(f"--quality {self.quality}: must be in [0, 100]")
        if self.flow_algo not in FLOW_ALGOS:
            raise InputError(f"--flow-algo {self.flow_algo!r}: expected one of {FLOW_ALGOS}")
        if not self.bound > 0:
            raise InputError(f"--bound {self.bound}: must be positive")

    def settings(self) -> dict[str, Any]:
        """The options as stored in manifests (JSON types), compared on re-runs."""
        settings = dataclasses.asdict(self)
        settings["new_size"] = list(self.new_size) if self.new_size else None
        if not self.flow:
            settings["flow_algo"] = settings["bound"] = None
        return settings

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the written frames for a source of `width` x `height`."""
        if self.new_size is not None:
            return self.new_size
        if self.short_side is None:
            return width, height
        scale = self.short_side / min(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True)
class VideoJob:
    """One video to extract: its path and its output folder relative to the output root."""

    source: str
    rel: str


@dataclass(frozen=True)
class VideoResult:
    """What happened to one video; `reason` says why it failed."""

    source: str
    output: str
    status: Status
    frames: int = 0
    flow_frames: int = 0
    num_frames: int | None = None
    seconds: float = 0.0
    reason: str | None = None


@dataclass
class ExtractSummary:
    """Outcome of an extraction run (one shard of it when `shard` is set)."""

    out_dir: str
    shard: tuple[int, int] | None
    results: list[VideoResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        """Videos with this status."""
        return sum(r.status == status for r in self.results)

    @property
    def frames(self) -> int:
        """Frames written by this run (skipped videos excluded)."""
        return sum(r.frames for r in self.results if r.status == "extracted")

    @property
    def failures(self) -> list[VideoResult]:
        return [r for r in self.results if r.status == "failed"]

    def to_dict(self, *, videos: bool = False) -> dict[str, Any]:
        """Counts and failures; with `videos`, one entry per video as well (the report)."""
        summary = {
            "out_dir": self.out_dir,
            "shard": f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
            "videos": len(self.results),
            "extracted": self.count("extracted"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "frames": self.frames,
            "flow_frames": sum(r.flow_frames for r in self.results if r.status == "extracted"),
            "seconds": round(self.seconds, 3),
            "frames_per_sec": round(self.frames / self.seconds, 1) if self.seconds > 0 else None,
            "failures": [{"source": r.source, "reason": r.reason} for r in self.failures],
        }
        if videos:
            summary["results"] = [dataclasses.asdict(r) for r in self.results]
        return summary


# ---- inputs --------------------------------------------------------------------------------------


def discover_videos(inputs: Sequence[str | os.PathLike],
                    extensions: Sequence[str] = VIDEO_EXTENSIONS) -> list[VideoJob]:
    """Expand folders (recursively, by extension, hidden names skipped), `.txt` lists and files
    into jobs sorted by output path.

    A list holds one path per line (blank and `#` lines skipped; trailing integer fields, such as
    the labels of a video annotation list, ignored); relative paths are read against the list's
    folder and keep their folders in the output.

    Raises:
        InputError: an input is missing, a list names a missing file, no video was found, or two
            videos would land in the same output folder.
    """
    jobs: list[VideoJob] = []
    suffixes = tuple(ext.lower() for ext in extensions)
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = [p.relative_to(path) for p in path.rglob("*") if p.suffix.lower() in suffixes]
            jobs += [VideoJob(str(path / rel), rel.with_suffix("").as_posix()) for rel in found
                     if not any(part.startswith(".") for part in rel.parts) and (path / rel).is_file()]
        elif path.suffix.lower() == ".txt" and path.is_file():
            jobs += _read_list(path)
        elif path.is_file():
            jobs.append(VideoJob(str(path), path.stem))
        else:
            raise InputError(f"{path}: no such file or folder")
    if not jobs:
        raise InputError(f"no videos found in {', '.join(map(str, inputs))}",
                         hint=f"folders are searched for {', '.join(suffixes)}")
    jobs.sort(key=lambda job: (job.rel, job.source))
    _check_unique(jobs)
    return jobs


_LIST_LINE = re.compile(r"^(.*?)(?:\s+-?\d+)*\s*$")


def _read_list(list_path: Path) -> list[VideoJob]:
    jobs = []
    for lineno, line in enumerate(list_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name = _LIST_LINE.match(line.strip()).group(1)
        path = Path(name)
        source = path if path.is_absolute() else list_path.parent / path
        if not source.is_file():
            raise InputError(f"{list_path}:{lineno}: {source}: no such file")
        rel = path.stem if path.is_absolute() else Path(os.path.normpath(path)).with_suffix("").as_posix()
        if rel.startswith("../"):
            rel = path.stem
        jobs.append(VideoJob(str(source), rel))
    return jobs


def _check_unique(jobs: list[VideoJob]) -> None:
    for first, second in zip(jobs, jobs[1:]):
        if first.rel == second.rel:
            if os.path.realpath(first.source) == os.path.realpath(second.source):
                raise InputError(f"{first.source}: given twice")
            raise InputError(f"{first.source} and {second.source} would both be extracted to '{first.rel}'",
                             hint="give them from different input folders, or rename one")


def parse_shard(text: str) -> tuple[int, int]:
    """Parse 'I/N' (0 <= I < N), e.g. '$SLURM_ARRAY_TASK_ID/8'."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not int(match[1]) < int(match[2]):
        raise InputError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4")
    return int(match[1]), int(match[2])


def shard_jobs(jobs: Sequence[VideoJob], index: int, count: int) -> list[VideoJob]:
    """Shard `index` of `count` of the sorted jobs: every `count`-th job from `index`.

    The shards of 0..count-1 partition the jobs exactly, and depend only on the input list.
    """
    return list(jobs[index::count])


# ---- manifests -----------------------------------------------------------------------------------


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest of an output folder, or None when it is missing or not ours."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def _done_state(job: VideoJob, manifest: dict[str, Any] | None, target: Path,
                options: ExtractOptions) -> Literal["done", "todo", "stale"]:
    """'done': complete and current; 'stale': complete with other settings; else 'todo'."""
    if manifest is None:
        return "todo"
    if manifest.get("settings") != options.settings():
        return "stale"
    try:
        count = int(manifest["frames"]["count"])
        same_source = manifest["source"]["size"] == os.path.getsize(job.source)
    except (KeyError, TypeError, ValueError, OSError):
        return "todo"
    if not same_source or not (target / IMG_TMPL.format(count)).is_file():
        return "todo"
    return "done"


def _skipped(job: VideoJob, manifest: dict[str, Any], target: Path) -> VideoResult:
    return VideoResult(job.source, str(target), "skipped", frames=manifest["frames"]["count"],
                       flow_frames=(manifest.get("flow") or {}).get("count", 0),
                       num_frames=manifest.get("video", {}).get("num_frames"))


# ---- one video -----------------------------------------------------------------------------------


def extract_video(source: str | os.PathLike, target: str | os.PathLike,
                  options: ExtractOptions = ExtractOptions(), *, threads: int = 1) -> VideoResult:
    """Extract one video into the folder `target` (replaced when it exists).

    Never raises for a bad video: the result has status 'failed' and a reason instead.

    Args:
        threads: FFmpeg decoding threads (1: decode in this thread).
    """
    source, target = os.fspath(source), Path(target)
    start = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        manifest = _write_video(source, tmp, options, threads)
        manifest["seconds"] = round(time.perf_counter() - start, 3)
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        _replace_dir(tmp, target)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = str(exc) if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {exc}"
        reason = reason.removeprefix(f"{source}: ")
        return VideoResult(source, str(target), "failed", seconds=time.perf_counter() - start, reason=reason)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return VideoResult(source, str(target), "extracted", frames=manifest["frames"]["count"],
                       flow_frames=(manifest["flow"] or {}).get("count", 0),
                       num_frames=manifest["video"]["num_frames"], seconds=manifest["seconds"])


def _remove_leftovers(target: Path) -> None:
    for pattern in (f".{target.name}.partial-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            log.info("%s: removing the leftover of an interrupted run", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def _replace_dir(tmp: Path, target: Path) -> None:
    """Rename `tmp` to `target`; an existing `target` is moved aside first, then deleted."""
    old = None
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.rename(target, old)
    os.rename(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_video(source: str, folder: Path, options: ExtractOptions, threads: int) -> dict[str, Any]:
    """Write the frames (and flow) of `source` into `folder`; return the manifest minus timing."""
    import av

    with open_video(source, "pyav") as reader:  # the frame-count policy of count_frames
        index, num_frames, fps = reader.frame_index, reader.num_frames, reader.fps
        height, width = reader.shape
    size, digest = os.path.getsize(source), _sha256(source)
    out_w, out_h = options.output_size(width, height)
    flow = _FlowWriter(folder, options) if options.flow else None
    written = 0
    with av.open(source, metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.thread_count = ("AUTO", threads) if threads > 1 else ("SLICE", 1)
        codec = stream.codec_context.name
        for frame_idx, frame in _decode_in_order(container, stream, index, num_frames, source):
            if frame_idx % options.every:
                continue
            img = _to_bgr(frame)
            if (out_w, out_h) != (img.shape[1], img.shape[0]):
                shrink = out_w * out_h < img.shape[1] * img.shape[0]
                img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            written += 1
            _write_jpeg(folder / IMG_TMPL.format(written), img, options.quality)
            if flow is not None:
                flow.add(img)
    return {
        "format": MANIFEST_FORMAT,
        "source": {"path": source, "size": size, "sha256": digest},
        "frames": {"count": written, "filename_tmpl": "img_{:05}.jpg", "start_index": 1,
                   "every": options.every, "width": out_w, "height": out_h},
        "flow": flow.manifest() if flow is not None else None,
        "video": {"num_frames": num_frames, "frame_count_policy": FRAME_COUNT_POLICY, "fps": fps,
                  "duration_sec": num_frames / fps if fps else None, "width": width, "height": height},
        "decoder": {"backend": "pyav", "codec": codec, "threads": threads, "pyav": av.__version__,
                    "libavcodec": ".".join(map(str, av.library_versions["libavcodec"]))},
        "settings": options.settings(),
    }


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _decode_in_order(container, stream, index, num_frames: int, source: str) -> Iterator[tuple[int, Any]]:
    """Yield (frame index, frame) for frames 0..num_frames-1 of one sequential decode.

    Frame indices follow the frame-count policy: a decoded frame's pts locates it in the demuxed
    index; frames outside it (discarded, cut off) are dropped. A frame the decoder never returns
    (damaged data) fails the video rather than shifting every later index.
    """
    import av

    expected, last_error = 0, None
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:  # skip damaged packets as ffmpeg does; a gap fails below
            last_error = str(exc)
            continue
        for frame in frames:
            idx = index.frame_of_pts(frame.pts) if index.seekable else expected
            if idx is None or idx < expected or idx >= num_frames:
                continue
            if idx > expected:
                raise DecodeError(f"{source}: frame {expected} of {num_frames} could not be decoded"
                                  f" ({last_error or 'the decoder skipped it'})")
            yield idx, frame
            expected += 1
    if expected < num_frames:
        raise DecodeError(f"{source}: the stream ends after {expected} of {num_frames} frames"
                          + (f" ({last_error})" if last_error else ""))


# BT.601 limited range is what OpenCV's I420 conversion assumes; other frames go through swscale.
_CV2_COLORSPACES = {0, 2, 5, 6}  # unspecified / reserved, unspecified, BT.470BG, SMPTE 170M
_CV2_RANGES = {0, 1}  # unspecified, MPEG (limited)


def _to_bgr(frame) -> np.ndarray:
    """(H, W, 3) uint8 BGR of a decoded frame.

    8-bit 4:2:0 BT.601 frames (most web video) are converted by OpenCV, ~10x faster than
    swscale's bgr24 here and within 3 levels of it (chroma upsampling differs).
    """
    if (frame.format.name == "yuv420p" and frame.colorspace in _CV2_COLORSPACES
            and frame.color_range in _CV2_RANGES and frame.width % 2 == 0 and frame.height % 2 == 0):
        return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")


def _write_jpeg(path: Path, img: np.ndarray, quality: int) -> None:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"{path}: JPEG encoding failed")
    # open + write + close: `open()` would add fstat and ioctl calls to every file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = memoryview(buf)
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


class _FlowWriter:
    """Writes x_k/y_k, the flow from written frame k to frame k + 1, as bounded JPEGs."""

    def __init__(self, folder: Path, options: ExtractOptions) -> None:
        self.folder, self.options = folder, options
        self.count = 0
        self._prev: np.ndarray | None = None
        self._dis = (cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
                     if options.flow_algo == "dis" else None)

    def add(self, bgr: np.ndarray) -> None:
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        if self._prev is not None:
            self.count += 1
            xy = quantize_flow(self._flow(self._prev, grey), self.options.bound)
            for axis, channel in (("x", xy[..., 0]), ("y", xy[..., 1])):
                _write_jpeg(self.folder / FLOW_TMPL.format(axis, self.count), channel, self.options.quality)
        self._prev = grey

    def _flow(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        if self._dis is not None:
            return self._dis.calc(prev, cur, None)
        return cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    def manifest(self) -> dict[str, Any]:
        return {"count": self.count, "filename_tmpl": "{}_{:05}.jpg", "start_index": 1,
                "algo": self.options.flow_algo, "bound": self.options.bound,
                "pairs": "flow k is written frame k -> written frame k + 1",
                "encoding": "uint8 = round(clip(flow, -bound, bound) * 255 / (2 * bound) + 128)"}


def quantize_flow(flow: np.ndarray, bound: float) -> np.ndarray:
    """Flow `(H, W, 2) float32` in pixels to `(H, W, 2) uint8`, 128 meaning zero motion.

    `clip(flow, -bound, bound) * 255 / (2 * bound) + 128`, rounded and clipped to [0, 255].
    """
    scaled = np.clip(flow, -bound, bound) * (255.0 / (2.0 * bound)) + 128.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


# ---- a whole run ---------------------------------------------------------------------------------


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
        decode_threads: FFmpeg threads per video; None: the cores per busy worker, at least 2.
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
        # At least 2: frame threading decodes ahead while this worker encodes and writes, which
        # matters where writes block (network file systems) or cores are shared.
        threads = decode_threads or max(2, _cpu_count() // busy)
        _run(todo, out, options, busy, threads, lambda r: _finish(summary, r, len(jobs), progress))
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
        state = _done_state(job, manifest, target, options)
        if state == "done":
            _finish(summary, _skipped(job, manifest, target), len(jobs), progress)
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


def _extract_job(args: tuple[VideoJob, str, ExtractOptions, int]) -> VideoResult:
    job, out, options, threads = args
    return extract_video(job.source, Path(out) / job.rel, options, threads=threads)


def _init_worker(threads: int, log_queue: Any, log_level: int) -> None:
    cv2.setNumThreads(threads)  # OpenCV's own pool would oversubscribe the cores
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
         report: Callable[[VideoResult], None], fn: Callable[[tuple], VideoResult] = _extract_job) -> None:
    """Extract `jobs` with `workers` processes (1: in this one), `report`ing each result.

    A worker that dies (say, the decoder crashing on a bad file) breaks the pool: the videos in
    flight (running or queued) become suspects and the others go on in a new pool; then each
    suspect runs alone in its own pool, so a second crash names the culprit, recorded as failed.
    """
    # Largest first, so no long video starts last while the other workers sit idle.
    jobs = sorted(jobs, key=lambda job: _size(job.source), reverse=True)
    if workers <= 1:
        for job in jobs:
            report(fn((job, str(out), options, threads)))
        return
    queue, suspects = collections.deque(jobs), []
    while queue:
        suspects += _pool_pass(fn, queue, workers, out, options, threads, report)
    for job in suspects:
        if _pool_pass(fn, collections.deque([job]), 1, out, options, threads, report):
            report(VideoResult(job.source, str(out / job.rel), "failed",
                               reason="the worker process crashed while extracting it"))


def _pool_pass(fn: Callable[[tuple], VideoResult], queue: collections.deque, workers: int, out: Path,
               options: ExtractOptions, threads: int, report: Callable[[VideoResult], None]) -> list[VideoJob]:
    """Run jobs from `queue` until it is empty or the pool breaks; return the jobs then in flight."""
    context = _mp_context()
    log_queue = context.Queue()
    listener = logging.handlers.QueueListener(log_queue, _Forward())
    listener.start()
    level = logging.getLogger("vidact").getEffectiveLevel()
    pool = cf.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                  initargs=(threads, log_queue, level))
    running: dict[cf.Future, VideoJob] = {}
    try:
        while queue or running:
            # Two jobs per worker: a worker never waits for this process to hand it the next one.
            while queue and len(running) < 2 * workers:
                job = queue.popleft()
                running[pool.submit(fn, (job, str(out), options, threads))] = job
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


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver (spawn where missing), never fork: the parent may hold torch/OpenMP or rich
    threads. The fork server is one clean interpreter that imports this module and PyAV once and
    forks the workers, so N workers cost one interpreter start instead of N (~0.2 s CPU each)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__, "av"])  # applies when the server starts
    return context


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _cpu_count() -> int:
    with contextlib.suppress(AttributeError):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def write_report(summary: ExtractSummary, path: str | os.PathLike) -> None:
    """Write the summary with one entry per video as JSON, atomically."""
    atomic_write_text(path, json.dumps(summary.to_dict(videos=True), indent=2) + "\n")
