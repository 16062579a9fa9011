"""Untrimmed-video localization datasets: ActivityNet ground truth, snippet features and optional videos.

Each video has 1-3 action segments; features carry actionness, class and boundary signal over noise,
and the optional videos show the shape moving in the label's direction only inside segments.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from vidact.data.synth_video._common import (
    _DATASET,
    _LOC_FEATURES,
    _LOC_META,
    _LOC_VIDEO,
    ProgressCallback,
    SynthResult,
    _check_common,
    _num_val,
    _prepare_out_dir,
    _run_jobs,
    _write_json,
)
from vidact.data.synth_video.shapes import (
    DEFAULT_CLASSES,
    DIRECTIONS,
    _draw_scene,
    _render,
    _speed,
    encode_video,
)
from vidact.errors import InputError
from vidact.io.files import atomic_write, atomic_write_text

log = logging.getLogger(__name__)

_FEATURE_STRIDE = 16  # frames per feature snippet: feature_frame = duration_frame // 16 * 16
# Feature signal strengths, in units of the per-dimension noise std.
_ACTION_AMP, _CLASS_AMP, _BOUNDARY_AMP, _OFFSET_STD, _DRIFT_STD = 2.0, 1.0, 3.0, 0.5, 0.3
_BOUNDARY_STD = 1.5  # snippets; the reference TEM labels boundary regions 3 snippets wide
_ID_CHARS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))


@dataclass(frozen=True)
class _UntrimmedVideo:
    """One untrimmed video's ground truth; segments: (K, 2) float64 [start_sec, end_sec]."""

    video_id: str
    subset: Literal["training", "validation"]
    duration_frame: int
    fps: float
    segments: np.ndarray
    labels: np.ndarray

    @property
    def duration_second(self) -> float:
        return round(self.duration_frame / self.fps, 4)

    @property
    def feature_frame(self) -> int:
        """Frames covered by whole 16-frame feature snippets, as in the ActivityNet features."""
        return self.duration_frame // _FEATURE_STRIDE * _FEATURE_STRIDE


def _video_ids(rng: np.random.Generator, num_videos: int) -> list[str]:
    """`num_videos` distinct ids 'v_' + 11 YouTube-like characters."""
    ids: list[str] = []
    while len(ids) < num_videos:
        codes = rng.integers(0, len(_ID_CHARS), (num_videos - len(ids), 11))
        ids = list(dict.fromkeys(ids + ["v_" + "".join(row) for row in _ID_CHARS[codes]]))
    return ids


def _draw_segments(rng: np.random.Generator, duration_second: float, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """1-3 disjoint segments covering 30-70% of the video, each at least 5% of it, with labels."""
    k = int(rng.integers(1, 4))
    action, min_len = rng.uniform(0.3, 0.7), 0.05
    lengths = min_len + rng.dirichlet(np.full(k, 2.0)) * (action - k * min_len)
    gaps = rng.dirichlet(np.ones(k + 1)) * (1.0 - action)
    starts = np.cumsum(gaps[:k]) + np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    segments = np.round(np.stack([starts, starts + lengths], axis=1) * duration_second, 2)
    return segments, rng.integers(0, num_classes, k)


def _feature_basis(seed: int, num_classes: int, feature_dim: int) -> np.ndarray:
    """(3 + C, D) unit directions: action, start, end, then one per class (orthonormal if D allows)."""
    rows = np.random.default_rng((seed, _DATASET, 1)).standard_normal((3 + num_classes, feature_dim))
    if feature_dim >= rows.shape[0]:
        return np.linalg.qr(rows.T)[0].T
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def localization_targets(gt_t: np.ndarray, temporal_scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-position overlap, start and end strengths of segments on a grid of `temporal_scale` snippets.

    Args:
        gt_t: (K, 2) segments as [0, 1] positions of the feature-covered time.

    Returns:
        overlap (T, K): share of snippet t inside segment k; start (T,) and end (T,): a Gaussian bump
        (std 1.5 snippets) around the nearest boundary, 1 on it.
    """
    lo = np.arange(temporal_scale)[:, None] / temporal_scale
    overlap = np.clip(np.minimum(lo + 1 / temporal_scale, gt_t[None, :, 1]) - np.maximum(lo, gt_t[None, :, 0]),
                      0.0, None) * temporal_scale
    centre = lo + 0.5 / temporal_scale

    def bump(edge: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * ((centre - edge[None]) * temporal_scale / _BOUNDARY_STD) ** 2).max(axis=1)

    return overlap, bump(gt_t[:, 0]), bump(gt_t[:, 1])


def _features(rng: np.random.Generator, gt_t: np.ndarray, labels: np.ndarray, basis: np.ndarray,
              temporal_scale: int) -> np.ndarray:
    """(T, D) float32 snippet features: noise + video offset + slow drift + action/class/boundary signal."""
    feature_dim = basis.shape[1]
    overlap, start, end = localization_targets(gt_t, temporal_scale)
    actionness = np.clip(overlap.sum(axis=1), 0.0, 1.0)
    signal = (_ACTION_AMP * actionness[:, None] * basis[0] + _BOUNDARY_AMP * start[:, None] * basis[1]
              + _BOUNDARY_AMP * end[:, None] * basis[2] + _CLASS_AMP * overlap @ basis[3 + labels])
    offset = rng.normal(0.0, _OFFSET_STD, feature_dim)
    knots = rng.normal(0.0, _DRIFT_STD, (4, feature_dim)).astype(np.float32)
    drift = cv2.resize(knots, (feature_dim, temporal_scale), interpolation=cv2.INTER_LINEAR)
    noise = rng.standard_normal((temporal_scale, feature_dim))
    return (signal + offset + drift + noise).astype(np.float32)


def _untrimmed_frames(rng: np.random.Generator, video: _UntrimmedVideo, classes: Sequence[str],
                      size: tuple[int, int], chunk: int = 64) -> Iterator[np.ndarray]:
    """Frames of an untrimmed video: the shape rests, and moves in the label's direction inside segments."""
    width, height = size
    scene = _draw_scene(rng, width, height)
    start = rng.uniform(0, 1, 2) * (width, height)
    speed = _speed(rng, width, height)
    t_sec = np.arange(video.duration_frame) / video.fps
    active = (t_sec[:, None] >= video.segments[None, :, 0]) & (t_sec[:, None] < video.segments[None, :, 1])
    directions = np.array([DIRECTIONS[classes[k]] for k in video.labels]).reshape(-1, 2)
    velocity = active.astype(np.float64) @ directions * speed  # (F, 2) px per frame
    centres = start + np.cumsum(velocity, axis=0) - velocity
    for lo in range(0, video.duration_frame, chunk):
        yield from _render(scene, centres[lo:lo + chunk], rng)


@dataclass(frozen=True)
class _LocalizationJob:
    seed: int
    index: int
    video: _UntrimmedVideo
    classes: tuple[str, ...]
    temporal_scale: int
    feature_dim: int
    feature_path: Path
    video_path: Path | None
    size: tuple[int, int]


def _make_localization_video(job: _LocalizationJob) -> None:
    video = job.video
    basis = _feature_basis(job.seed, len(job.classes), job.feature_dim)
    gt_t = np.clip(video.segments * video.fps / video.feature_frame, 0.0, 1.0)
    rng = np.random.default_rng((job.seed, _LOC_FEATURES, job.index))
    features = _features(rng, gt_t, video.labels, basis, job.temporal_scale)
    with atomic_write(job.feature_path, "w", encoding="utf-8") as fh:
        np.savetxt(fh, features, fmt="%.4f", delimiter=",", comments="",
                   header=",".join(f"f{i}" for i in range(job.feature_dim)))
    if job.video_path is not None:
        frames = _untrimmed_frames(np.random.default_rng((job.seed, _LOC_VIDEO, job.index)), video,
                                   job.classes, job.size)
        encode_video(job.video_path, frames, size=job.size, fps=video.fps)


def _annotations(video: _UntrimmedVideo, classes: Sequence[str]) -> list[dict[str, Any]]:
    return [{"segment": seg, "label": classes[k]} for seg, k in zip(video.segments.tolist(), video.labels)]


def _per_video_entry(video: _UntrimmedVideo, classes: Sequence[str]) -> dict[str, Any]:
    """The reference `ActivityNetDataset` annotation of one video."""
    return {"duration_second": video.duration_second, "duration_frame": video.duration_frame,
            "annotations": _annotations(video, classes), "feature_frame": video.feature_frame,
            "fps": video.fps, "rfps": video.fps}


def _draw_untrimmed_videos(seed: int, num_videos: int, num_classes: int, fps: float,
                           duration_range: tuple[float, float], val_ratio: float) -> list[_UntrimmedVideo]:
    """Ids, subsets, durations and segments; video i's draws come from its own stream."""
    rng = np.random.default_rng((seed, _DATASET))
    ids = _video_ids(rng, num_videos)
    is_val = np.zeros(num_videos, bool)
    is_val[rng.permutation(num_videos)[:_num_val(num_videos, val_ratio)]] = True
    lo, hi = round(duration_range[0] * fps), round(duration_range[1] * fps)
    videos = []
    for i, vid in enumerate(ids):
        vrng = np.random.default_rng((seed, _LOC_META, i))
        duration_frame = int(vrng.integers(lo, hi + 1))
        segments, labels = _draw_segments(vrng, duration_frame / fps, num_classes)
        videos.append(_UntrimmedVideo(vid, "validation" if is_val[i] else "training", duration_frame,
                                      float(fps), segments, labels))
    return videos


def _write_ground_truth(files: dict[str, Path], videos: list[_UntrimmedVideo], classes: Sequence[str],
                        size: tuple[int, int]) -> None:
    """The official ActivityNet JSON and the reference per-video files (train, val, full)."""
    _write_json(files["activitynet"], {"version": "VERSION 1.3", "taxonomy": [], "database": {
        v.video_id: {"subset": v.subset, "duration": v.duration_second, "resolution": f"{size[0]}x{size[1]}",
                     "url": "", "annotations": _annotations(v, classes)} for v in videos}})
    for key, subsets in (("ann_train", ("training",)), ("ann_val", ("validation",)),
                         ("ann_full", ("training", "validation"))):
        _write_json(files[key], {v.video_id: _per_video_entry(v, classes) for v in videos if v.subset in subsets})


def synth_localization(
    out_dir: str | os.PathLike,
    *,
    num_videos: int = 100,
    temporal_scale: int = 100,
    feature_dim: int = 400,
    classes: Sequence[str] = DEFAULT_CLASSES,
    duration_range: tuple[float, float] = (8.0, 24.0),
    fps: float = 15.0,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
    val_ratio: float = 0.25,
    with_videos: bool = False,
    workers: int = 1,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> SynthResult:
    """Write an untrimmed-video localization dataset: ground truth in both layouts plus features.

    Each video has 1-3 disjoint action segments (30-70% of its time, labels from `classes`).
    Layout under `out_dir`: `activity_net.json` (official layout, subsets "training"/"validation"),
    `anet_anno_train.json`, `anet_anno_val.json` and `anet_anno_full.json` (the reference
    `ActivityNetDataset` layout), `csv_mean_<temporal_scale>/<video_id>.csv` (a header row
    f0,...,f<D-1>, then `temporal_scale` rows x `feature_dim` columns), `classes.txt`,
    `dataset.json`, and with `with_videos` `videos/<video_id>.mp4` (`size`, `fps`) in which the
    shape rests outside segments and moves in the label's direction inside them.

    Features: unit-variance noise plus a per-video offset and slow drift, plus 2x a shared
    "action" direction weighted by how much of each snippet lies inside a segment, 1x a
    per-class direction, and 3x "start"/"end" directions in a bump (std 1.5 snippets) at each
    boundary (`localization_targets`): a TEM/BMN learns actionness and boundaries from them, and
    does better with temporal context than from a single snippet.

    Raises:
        InputError: bad parameters, or `out_dir` not empty without `overwrite`.
    """
    out = Path(out_dir)
    classes = tuple(classes)
    _check_common(size, fps, val_ratio, classes)
    if num_videos < 1 or temporal_scale < 2 or feature_dim < 1:
        raise InputError("num_videos must be >= 1, temporal_scale >= 2 and feature_dim >= 1")
    if not 0 < duration_range[0] <= duration_range[1] or duration_range[0] * fps < _FEATURE_STRIDE:
        raise InputError(f"duration_range {tuple(duration_range)}: need 0 < min <= max, and min * fps >= 16 frames")
    _prepare_out_dir(out, overwrite)

    videos = _draw_untrimmed_videos(seed, num_videos, len(classes), fps, duration_range, val_ratio)

    feature_dir = out / f"csv_mean_{temporal_scale}"
    video_dir = out / "videos"
    jobs = [_LocalizationJob(seed, i, v, classes, temporal_scale, feature_dim, feature_dir / f"{v.video_id}.csv",
                             video_dir / f"{v.video_id}.mp4" if with_videos else None, tuple(size))
            for i, v in enumerate(videos)]
    _run_jobs(_make_localization_video, jobs, workers, progress)

    files = {"activitynet": out / "activity_net.json", "ann_train": out / "anet_anno_train.json",
             "ann_val": out / "anet_anno_val.json", "ann_full": out / "anet_anno_full.json",
             "classes": out / "classes.txt", "manifest": out / "dataset.json", "features": feature_dir}
    if with_videos:
        files["videos"] = video_dir
    _write_ground_truth(files, videos, classes, size)
    atomic_write_text(files["classes"], "".join(f"{c}\n" for c in classes))
    num_val = sum(v.subset == "validation" for v in videos)
    counts = {"videos": num_videos, "train": num_videos - num_val, "val": num_val,
              "segments": sum(len(v.labels) for v in videos), "classes": len(classes)}
    _write_json(files["manifest"], {
        "kind": "localization", "generator": "vidact.data.synth_video.synth_localization", "seed": seed,
        "parameters": {"classes": list(classes), "num_videos": num_videos, "temporal_scale": temporal_scale,
                       "feature_dim": feature_dim, "duration_range": list(duration_range), "fps": fps,
                       "size": list(size), "val_ratio": val_ratio, "with_videos": with_videos},
        "counts": counts,
        "files": {k: v.name for k, v in files.items()},
        "videos": [{"video_id": j.video.video_id, "subset": j.video.subset,
                    "duration_second": j.video.duration_second, "duration_frame": j.video.duration_frame,
                    "num_segments": len(j.video.labels), "features": j.feature_path.relative_to(out).as_posix(),
                    "video": j.video_path.relative_to(out).as_posix() if j.video_path else None} for j in jobs],
    })
    log.debug("wrote %d localization videos to %s", num_videos, out)
    return SynthResult("localization", out, files, counts)
