"""Snippet features of untrimmed videos with a trained recognizer: what `vidact extract-features` calls.

Each video is cut into snippets of `snippet_stride` frames; one clip per snippet goes through the
recipe's test-time transforms (crops reduced to the centre crop) and the backbone, pooled to one
vector. The sequence is resampled to `temporal_dim` positions and written as one file per video.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from vidact.data.extract.inputs import discover_videos, shard_jobs
from vidact.data.extract.options import VideoJob
from vidact.errors import DecodeError, InputError, RecipeError
from vidact.io.features import VIDEO_INFO, concat_features, read_features, update_video_info, write_features

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "MODALITIES", "VIDEO_INFO", "FeatureSummary", "SnippetPlan", "concat_features",
           "extract_features", "gather_inputs", "plan_snippets", "read_features", "resample_features",
           "snippet_frame_inds", "update_video_info", "write_features"]

FORMATS = ("csv", "npy")
MODALITIES = ("rgb", "flow")
_SAMPLERS = ("SampleFrames", "DenseSampleFrames", "UntrimmedSampleFrames")
_DROPPED = ("Collect", "ToTensor", "ImageToTensor", "ToDataContainer")
_MULTI_CROPS = ("ThreeCrop", "TenCrop")
# A video can fail for many reasons inside the decoder; these are reported, anything else is a bug.
_DECODE_FAILURES = (DecodeError, OSError, ValueError, RuntimeError, EOFError)


# ---- snippets and resampling -------------------------------------------------------------------


def snippet_frame_inds(num_frames: int, snippet_stride: int, clip_len: int, frame_interval: int = 1) -> np.ndarray:
    """Frame indices of one clip per snippet: `(num_snippets, clip_len)` int64, 0-based.

    Snippet i covers frames `[i * stride, (i + 1) * stride)`; only whole snippets count (as the
    ActivityNet features do: `feature_frame = num_frames // stride * stride`), except that a video
    shorter than one stride still gives one snippet. The clip is centred on the snippet's centre
    frame `i * stride + stride // 2` with `frame_interval` between frames (as the reference's
    `UntrimmedSampleFrames`), clamped to the video.
    """
    num_snippets = max(1, num_frames // snippet_stride)
    centres = np.arange(num_snippets) * snippet_stride + snippet_stride // 2
    offsets = (np.arange(clip_len) - clip_len // 2) * frame_interval
    return np.clip(centres[:, None] + offsets[None, :], 0, max(num_frames - 1, 0)).astype(np.int64)


def resample_features(features: np.ndarray, temporal_dim: int) -> np.ndarray:
    """Linearly interpolate `(num_snippets, C)` features to `(temporal_dim, C)`; 0 keeps them.

    Position k stands for the k-th of `temporal_dim` equal bins of the snippet span and samples
    it at its centre: snippet coordinate `(k + 0.5) * num_snippets / temporal_dim - 0.5`, clamped
    to `[0, num_snippets - 1]` (half-pixel centres, as `F.interpolate(align_corners=False)`).
    """
    if temporal_dim == 0 or features.shape[0] == temporal_dim:
        return features.astype(np.float32, copy=False)
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).T[None]  # (1, C, T)
    out = torch.nn.functional.interpolate(x, size=temporal_dim, mode="linear", align_corners=False)
    return out[0].T.numpy()


# ---- inputs ------------------------------------------------------------------------------------


def gather_inputs(items: Sequence[str | os.PathLike], *, modality: str = "rgb",
                  stdin: TextIO | None = None) -> list[VideoJob]:
    """Videos (rgb) or flow frame folders (flow) from files, folders, `@list` files and `-` (stdin).

    `@FILE` and `-` give one path per line (blank and `#` lines skipped). Videos are found as
    `extract-frames` finds them; a flow input is a folder holding `x_00001.jpg`, or a folder
    searched for such folders. Output names are paths relative to the input folder, minus the
    extension.

    Raises:
        InputError: a path is missing, nothing was found, or two inputs share an output name.
    """
    paths: list[str] = []
    for item in map(str, items):
        if item == "-":
            paths += _list_lines((stdin or sys.stdin).read().splitlines(), "stdin")
        elif item.startswith("@"):
            list_path = Path(item[1:])
            if not list_path.is_file():
                raise InputError(f"{list_path}: no such list file")
            lines = _list_lines(list_path.read_text(encoding="utf-8").splitlines(), str(list_path))
            paths += [line if Path(line).is_absolute() else str(list_path.parent / line) for line in lines]
        else:
            paths.append(item)
    if modality == "rgb":
        return discover_videos(paths)
    return _flow_folders(paths)


def _list_lines(lines: Sequence[str], where: str) -> list[str]:
    paths = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not paths:
        raise InputError(f"{where}: no paths")
    return paths


def _flow_folders(paths: Sequence[str]) -> list[VideoJob]:
    jobs: list[VideoJob] = []
    for item in paths:
        root = Path(item)
        if not root.is_dir():
            raise InputError(f"{root}: not a folder of flow frames (x_00001.jpg, y_00001.jpg, ...)")
        if (root / "x_00001.jpg").is_file():
            jobs.append(VideoJob(str(root), root.name))
            continue
        found = sorted(p.parent for p in root.rglob("x_00001.jpg"))
        jobs += [VideoJob(str(d), d.relative_to(root).as_posix()) for d in found]
    if not jobs:
        raise InputError(f"no flow frame folders found in {', '.join(paths)}",
                         hint="write them with vidact extract-frames --flow")
    jobs.sort(key=lambda job: job.rel)
    for first, second in zip(jobs, jobs[1:]):
        if first.rel == second.rel:
            raise InputError(f"{first.source} and {second.source} would both be written as '{first.rel}'")
    return jobs


# ---- the recipe's test transforms ----------------------------------------------------------------


@dataclass(frozen=True)
class SnippetPlan:
    """How snippets are cut and transformed: clip length, spacing, and the post-decode steps."""

    modality: str
    snippet_stride: int
    clip_len: int
    frame_interval: int
    steps: tuple[Any, ...]
    filename_tmpl: str | None = None


def plan_snippets(recipe: Any, *, modality: str = "rgb", snippet_stride: int = 16,
                  clip_len: int | None = None) -> SnippetPlan:
    """The snippet clips and transforms for `recipe`'s recognizer from its test (else val) pipeline.

    Sampling and decoding steps are replaced by one clip per snippet; `ThreeCrop`/`TenCrop`
    become a `CenterCrop` of the same size; `Collect`/`ToTensor` are dropped. Default
    `clip_len`: the sampler's `clip_len` for Recognizer3D; for Recognizer2D the backbone's
    `num_segments` when it shifts channels in time (TSM needs whole segment groups), else the
    sampler's `clip_len` (5 for the usual TSN flow recipes, 1 for RGB). 2D clips spread their
    frames over the snippet; 3D clips keep the sampler's `frame_interval`.

    Raises:
        RecipeError: not a recognizer recipe, or no test pipeline with a sampling step.
    """
    from vidact.data.build import build_pipeline_step

    if modality not in MODALITIES:
        raise InputError(f"--modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
    if snippet_stride < 1:
        raise InputError(f"--snippet-stride must be at least 1, got {snippet_stride}")
    if recipe.model.type not in ("Recognizer2D", "Recognizer3D"):
        raise RecipeError(f"extract-features needs a recognizer recipe; model.type is {recipe.model.type}")
    spec = recipe.data.test or recipe.data.val
    if spec is None:
        raise RecipeError("the recipe has no data.test (or data.val) section to take the test pipeline from")
    while hasattr(spec, "dataset"):
        spec = spec.dataset
    steps = list(spec.pipeline)
    sampler = next((s for s in steps if s.type in _SAMPLERS), None)
    decode = max((i for i, s in enumerate(steps) if s.type.endswith("Decode") or s.type == "FrameSelector"),
                 default=None)
    if sampler is None or decode is None:
        raise RecipeError("the recipe's test pipeline has no sampling and decoding steps to replace")
    is_3d = recipe.model.type == "Recognizer3D"
    backbone = recipe.model.backbone
    shifts = bool(getattr(backbone, "is_shift", False)) and getattr(backbone, "num_segments", None)
    default_len = int(backbone.num_segments) if (not is_3d and shifts) else int(getattr(sampler, "clip_len", 1))
    clip_len = clip_len or default_len
    if clip_len < 1:
        raise InputError(f"--clip-len must be at least 1, got {clip_len}")
    interval = int(getattr(sampler, "frame_interval", 1) or 1) if is_3d else max(1, snippet_stride // clip_len)
    built = []
    for i, step in enumerate(steps[decode + 1:], decode + 1):
        if step.type in _DROPPED:
            continue
        if step.type in _MULTI_CROPS:
            step = {"type": "CenterCrop", "crop_size": step.crop_size}
        built.append(build_pipeline_step(step, where=f"pipeline[{i}]"))
    return SnippetPlan(modality, snippet_stride, clip_len, interval, tuple(built),
                       getattr(spec, "filename_tmpl", None) if getattr(spec, "modality", "RGB") == "Flow" else None)


# ---- decoding (in loader workers) ----------------------------------------------------------------


def _open(job: VideoJob, plan: SnippetPlan) -> tuple[Any, dict[str, Any]]:
    """A reader and the video's info (`duration_frame`, `fps`) before snippets."""
    if plan.modality == "rgb":
        from vidact.data.decoding.pyav_reader import PyAVReader

        reader = PyAVReader(job.source)
        return reader, {"duration_frame": int(reader.num_frames), "fps": reader.fps}
    from vidact.data.decoding.rawframes import RawFramesReader

    reader = RawFramesReader(job.source, filename_tmpl=plan.filename_tmpl, start_index=1, modality="Flow")
    manifest = _read_manifest(Path(job.source))
    video = manifest.get("video") or {}
    # n flow images come from n + 1 frames; the manifest knows the source video's count and rate
    return reader, {"duration_frame": int(video.get("num_frames") or reader.num_frames + 1), "fps": video.get("fps"),
                    "flow_frames": int(reader.num_frames)}


def _read_manifest(folder: Path) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    return {}


def _transform(frames: np.ndarray, plan: SnippetPlan, num_snippets: int) -> torch.Tensor:
    """Decoded frames of `num_snippets` clips -> `(num_snippets, views, ...)` float32 model input."""
    if plan.modality == "flow":  # (T, H, W, 2) -> [x_0, y_0, x_1, y_1, ...] as RawFrameDecode lists them
        imgs = list(frames.transpose(0, 3, 1, 2).reshape(-1, *frames.shape[1:3]))
        modality = "Flow"
    else:
        imgs, modality = list(frames), "RGB"
    results: dict[str, Any] = {"imgs": imgs, "num_clips": num_snippets, "clip_len": plan.clip_len,
                               "modality": modality, "img_shape": tuple(frames.shape[1:3]),
                               "original_shape": tuple(frames.shape[1:3])}
    for step in plan.steps:
        results = step(results)
    imgs = torch.as_tensor(np.ascontiguousarray(results["imgs"]), dtype=torch.float32)
    return imgs.reshape(num_snippets, -1, *imgs.shape[1:])


class _SnippetStream(IterableDataset):
    """Yields, per video, chunks of at most `chunk` snippets as model input, or one failure item.

    Loader worker w takes videos w, w + W, ...; each video's chunks come in order from one worker.
    """

    def __init__(self, jobs: Sequence[VideoJob], plan: SnippetPlan, chunk: int) -> None:
        self.jobs, self.plan, self.chunk = list(jobs), plan, chunk

    def __iter__(self) -> Iterator[dict[str, Any]]:
        worker = get_worker_info()
        wid, count = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        for index in range(wid, len(self.jobs), count):
            yield from self._video(index)

    def _video(self, index: int) -> Iterator[dict[str, Any]]:
        job, plan = self.jobs[index], self.plan
        reader = None
        try:
            reader, info = _open(job, plan)
            frames_total = info.get("flow_frames", info["duration_frame"])
            if frames_total < 1:
                raise DecodeError(f"{job.source}: no frames")
            inds = snippet_frame_inds(frames_total, plan.snippet_stride, plan.clip_len, plan.frame_interval)
            info["num_snippets"] = len(inds)
            info["feature_frame"] = min(len(inds) * plan.snippet_stride, info["duration_frame"])
            starts = range(0, len(inds), self.chunk)
            for c, lo in enumerate(starts):
                part = inds[lo:lo + self.chunk]
                frames = reader.get_frames(part.reshape(-1))
                yield {"index": index, "chunk": c, "num_chunks": len(starts), "info": info,
                       "imgs": _transform(frames, plan, len(part))}
        except _DECODE_FAILURES as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            yield {"index": index, "error": reason if job.source in reason else f"{job.source}: {reason}"}
        finally:
            if reader is not None:
                reader.close()


def _identity(item: Any) -> Any:
    return item


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class FeatureSummary:
    """What a run did; `to_dict()` is the `--json` report."""

    out_dir: str
    videos: int = 0
    extracted: int = 0
    skipped: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    feature_dim: int | None = None
    seconds: float = 0.0
    data_wait_seconds: float = 0.0
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        done = self.extracted
        return {"out_dir": self.out_dir, "videos": self.videos, "extracted": done, "skipped": self.skipped,
                "failed": len(self.failures), "failures": self.failures, "feature_dim": self.feature_dim,
                "device": self.device, "seconds": round(self.seconds, 3),
                "videos_per_sec": round(done / self.seconds, 3) if self.seconds > 0 and done else None,
                "data_wait_share": round(self.data_wait_seconds / self.seconds, 3) if self.seconds > 0 else None,
                "video_info": str(Path(self.out_dir) / VIDEO_INFO)}


# (videos finished, videos total)
FeatureProgress = Callable[[int, int], None]


def extract_features(recipe: Any, checkpoint: str | os.PathLike, jobs: Sequence[VideoJob],
                     out_dir: str | os.PathLike, *, temporal_dim: int = 100, snippet_stride: int = 16,
                     clip_len: int | None = None, fmt: str = "csv", modality: str = "rgb",
                     batch_size: int = 32, workers: int = 0, shard: tuple[int, int] | None = None,
                     device: str | None = None, progress: FeatureProgress | None = None) -> FeatureSummary:
    """Write `out_dir/<rel>.<fmt>` features and `out_dir/video_info.json` for each job not done yet.

    Args:
        recipe: a validated recognizer recipe (its test pipeline gives the transforms).
        checkpoint: a checkpoint of that recipe's model.
        jobs: videos (rgb) or flow folders (flow), e.g. from `gather_inputs`.
        temporal_dim: positions per video after linear resampling; 0 keeps one row per snippet.
        batch_size: snippets per forward pass.
        workers: DataLoader worker processes decoding videos while the model runs (0: in this process).
        shard: (index, count): only `shard_jobs(jobs, index, count)`.
        device: 'cuda', 'cpu', ...; None: CUDA when present.
        progress: called with (finished, total) at the start and after each video.

    Returns:
        The summary; failed videos are listed, not raised.

    Raises:
        InputError, RecipeError, CheckpointError: bad options, recipe or checkpoint.
    """
    from vidact.engine.predict import load_model

    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if temporal_dim < 0 or batch_size < 1:
        raise InputError("--temporal-dim must be >= 0 and --batch-size >= 1")
    start = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    plan = plan_snippets(recipe, modality=modality, snippet_stride=snippet_stride, clip_len=clip_len)
    jobs = shard_jobs(jobs, *shard) if shard is not None else list(jobs)
    summary = FeatureSummary(str(out), videos=len(jobs))
    todo = [job for job in jobs if not (out / f"{job.rel}.{fmt}").is_file()]
    summary.skipped = len(jobs) - len(todo)
    if progress is not None:
        progress(summary.skipped, len(jobs))
    if not todo:
        summary.seconds = time.perf_counter() - start
        return summary
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    summary.device = str(dev)
    model = load_model(recipe, checkpoint).to(dev)
    model.feature_extraction = True
    loader = DataLoader(_SnippetStream(todo, plan, batch_size), batch_size=None, num_workers=workers,
                        collate_fn=_identity, pin_memory=dev.type == "cuda",
                        prefetch_factor=4 if workers else None, persistent_workers=False)
    infos: dict[str, dict[str, Any]] = {}
    try:
        _run_model(model, loader, dev, todo, out, fmt, temporal_dim, summary, infos,
                   (lambda done: progress(done, len(jobs))) if progress is not None else None)
    finally:  # also on Ctrl-C: the videos written so far keep their info, so a re-run can skip them
        if infos:
            update_video_info(out / VIDEO_INFO, infos)
    summary.failures.sort(key=lambda f: f["source"])
    summary.seconds = time.perf_counter() - start
    return summary


def _run_model(model: torch.nn.Module, loader: DataLoader, dev: torch.device, todo: Sequence[VideoJob], out: Path,
               fmt: str, temporal_dim: int, summary: FeatureSummary, infos: dict[str, dict[str, Any]],
               progress: Callable[[int], None] | None) -> None:
    """Features of every chunk the loader yields; each video written once its last chunk is done.

    Counts into `summary` (time spent waiting for the loader included) and adds each written
    video's info to `infos`.
    """
    pending: dict[int, list[np.ndarray]] = {}
    items = iter(loader)
    while True:
        waited = time.perf_counter()
        item = next(items, None)
        summary.data_wait_seconds += time.perf_counter() - waited
        if item is None:
            return
        job = todo[item["index"]]
        if "error" in item:
            log.warning("failed: %s", item["error"])
            pending.pop(item["index"], None)
            summary.failures.append({"source": job.source, "reason": item["error"]})
        else:
            with torch.inference_mode():
                feats = model(item["imgs"].to(dev, non_blocking=True), return_loss=False)
            pending.setdefault(item["index"], []).append(feats.float().cpu().numpy())
            if item["chunk"] + 1 < item["num_chunks"]:
                continue
            features = resample_features(np.concatenate(pending.pop(item["index"])), temporal_dim)
            summary.feature_dim = features.shape[1]
            write_features(out / f"{job.rel}.{fmt}", features)
            infos[job.rel] = _video_info(item["info"], features.shape[0])
            summary.extracted += 1
        if progress is not None:
            progress(summary.skipped + summary.extracted + len(summary.failures))


def _video_info(info: dict[str, Any], num_positions: int) -> dict[str, Any]:
    fps = float(info["fps"]) if info.get("fps") else None
    return {"duration_second": round(info["duration_frame"] / fps, 4) if fps else None,
            "duration_frame": info["duration_frame"], "feature_frame": info["feature_frame"], "fps": fps,
            "num_snippets": info["num_snippets"], "temporal_dim": num_positions}
