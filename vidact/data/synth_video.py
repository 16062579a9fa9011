"""Synthetic datasets of real H.264 videos (moving shapes) with their annotation files.

Behind `vidact dataset synth`: direction-of-motion recognition data that only temporal models can
learn, and untrimmed localization data (ActivityNet JSON, per-video annotations, feature CSVs).

Recognition design. Each video shows one shape (disc, square, diamond, ring or cross: all mirror-
and 90-degree-symmetric) moving in its class's direction at a random speed over a random smooth
background with static look-alike clutter and per-frame noise. Positions wrap around the frame
(torus), so with a uniform start position the shape's position in frame t is uniform for every
class and every t; every random draw is made before, and independently of, the direction. Hence
the distribution of any single frame is the same for every class (for a given seed and index the
first frame is even bit-identical across classes): only frame order tells the classes apart.

Defaults (4 classes x 250 videos, 32 frames of 64x64 at 16 fps, speed 1-2 px/frame, shape radius
9-16% of the short side), chosen by training a small 8-segment ResNet-style net from scratch on 2 CPU
cores: with temporal shift it reached 97-100% val top-1 after 4-6 epochs of the 750 training clips
(1-2 minutes), without it (TSN) it stayed at chance (23-26%). With 60 videos per class the same
net memorised the 180 training clips and stayed at 35-45% val in most runs, and at 0.6-1.4
px/frame it needed twice the epochs: from-scratch models need a few hundred clips per class to
prefer motion over memorisation. A TSM 1x1x8 clip samples frames ~4 apart, a 4-8 px step (1-2
cells of the 16x16 res2 grid of a ResNet at 64 px); the largest step under random segment
offsets (7 frames, 14 px) stays under half the wrap-around period, so motion never aliases.

Seeding: video i draws from `np.random.default_rng((seed, stream, i))`, so the output does not
depend on the number of worker processes; dataset-level draws (split, ids) use `(seed, 0)`.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar

import cv2
import numpy as np

from vidact.errors import InputError
from vidact.io.files import atomic_write, atomic_write_text

log = logging.getLogger(__name__)

_S = 0.5**0.5
DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0),
    "up_left": (-_S, -_S), "up_right": (_S, -_S), "down_left": (-_S, _S), "down_right": (_S, _S),
}
SHAPES = ("disc", "square", "diamond", "ring", "cross")
DEFAULT_CLASSES = ("left", "right", "up", "down")

# Random-stream tags: video i of a dataset draws from default_rng((seed, tag, i)).
_DATASET, _RECOGNITION, _LOC_META, _LOC_FEATURES, _LOC_VIDEO = 0, 1, 2, 3, 4
_SPEED_PX = (1.0, 2.0)  # per frame, at a 64-px short side (scaled with the size)
_RADIUS = (0.09, 0.16)  # fraction of the short side
_CLUTTER = (1, 3)  # static look-alike shapes per video, inclusive range
_FEATURE_STRIDE = 16  # frames per feature snippet: feature_frame = duration_frame // 16 * 16
# Feature signal strengths, in units of the per-dimension noise std.
_ACTION_AMP, _CLASS_AMP, _BOUNDARY_AMP, _OFFSET_STD, _DRIFT_STD = 2.0, 1.0, 3.0, 0.5, 0.3
_BOUNDARY_STD = 1.5  # snippets; the reference TEM labels boundary regions 3 snippets wide
_ID_CHARS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))

ProgressCallback = Callable[[int, int], None]  # (done, total), called after each video
_J = TypeVar("_J")


@dataclass(frozen=True)
class SynthResult:
    """What a synth run wrote.

    Attributes:
        kind: 'recognition' or 'localization'.
        out_dir: the dataset root; paths in `files` and in the annotation lists are under it.
        files: role (e.g. 'train_list', 'ann_train', 'features') -> path written.
        counts: e.g. videos, train, val (and segments for localization).
    """

    kind: Literal["recognition", "localization"]
    out_dir: Path
    files: dict[str, Path]
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (paths as strings)."""
        return {"kind": self.kind, "out_dir": str(self.out_dir),
                "files": {k: str(v) for k, v in self.files.items()}, "counts": dict(self.counts)}


# ---- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scene:
    """Everything in a clip except the moving shape's position; background: (H, W, 3) float32."""

    background: np.ndarray
    shape: str
    radius: float
    colour: np.ndarray
    noise_std: float


def _wrap(delta: np.ndarray, period: int) -> np.ndarray:
    """Signed offset on a circle of `period` pixels, in [-period/2, period/2)."""
    return (delta + period / 2) % period - period / 2


def _shape_alpha(shape: str, dx: np.ndarray, dy: np.ndarray, radius: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of `shape` at pixel offsets (dx, dy) (broadcast together)."""
    ax, ay = np.abs(dx), np.abs(dy)
    if shape == "disc":
        dist = np.sqrt(ax**2 + ay**2)
    elif shape == "square":
        dist = np.maximum(ax, ay) / 0.85
    elif shape == "diamond":
        dist = (ax + ay) / 1.25
    elif shape == "ring":  # inside when 0.35 r < |p| < r
        dist = 0.675 * radius + np.abs(np.sqrt(ax**2 + ay**2) - 0.675 * radius)
    elif shape == "cross":  # a plus sign of two bars 0.7 r wide
        dist = np.minimum(np.maximum(ax, ay / 0.35), np.maximum(ay, ax / 0.35))
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return np.clip(radius - dist + 0.5, 0.0, 1.0).astype(np.float32)


def _bright_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated RGB colour (3,) float32 in [0, 255]."""
    hsv = np.array([[[rng.uniform(0, 360), rng.uniform(0.6, 1.0), rng.uniform(0.7, 1.0)]]], np.float32)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] * 255.0


def _draw_scene(rng: np.random.Generator, width: int, height: int) -> _Scene:
    """A smooth low-saturation background with 1-3 static clutter shapes, and the moving shape's look."""
    short = min(width, height)
    coarse = rng.uniform(60, 190, (4, 4, 1)) + rng.normal(0, 15, (4, 4, 3))
    background = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    background += rng.normal(0, 5, (height, width, 3)).astype(np.float32)  # static texture
    xs, ys = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    for _ in range(int(rng.integers(_CLUTTER[0], _CLUTTER[1] + 1))):  # look-alikes that never move
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        alpha = _shape_alpha(SHAPES[rng.integers(len(SHAPES))], _wrap(xs[None, :] - cx, width),
                             _wrap(ys[:, None] - cy, height), rng.uniform(*_RADIUS) * short)
        background += alpha[..., None] * (_bright_colour(rng) - background)
    return _Scene(background=background, shape=SHAPES[rng.integers(len(SHAPES))],
                  radius=float(rng.uniform(*_RADIUS) * short), colour=_bright_colour(rng),
                  noise_std=float(rng.uniform(2.0, 6.0)))


def _render(scene: _Scene, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frames with the shape at `centres`: (T, 2) float (x, y) pixels -> (T, H, W, 3) uint8."""
    height, width = scene.background.shape[:2]
    xs, ys = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    dx = _wrap(xs[None, None, :] - centres[:, 0, None, None], width)  # (T, 1, W)
    dy = _wrap(ys[None, :, None] - centres[:, 1, None, None], height)  # (T, H, 1)
    alpha = _shape_alpha(scene.shape, dx, dy, scene.radius)[..., None]  # (T, H, W, 1)
    frames = scene.background + alpha * (scene.colour - scene.background)
    frames += rng.standard_normal(frames.shape, dtype=np.float32) * scene.noise_std
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def _speed(rng: np.random.Generator, width: int, height: int) -> float:
    return float(rng.uniform(*_SPEED_PX) * min(width, height) / 64.0)


def render_recognition_clip(
    rng: np.random.Generator, direction: str, *, num_frames: int, size: tuple[int, int]
) -> tuple[np.ndarray, dict[str, Any]]:
    """One direction-of-motion clip; the random draws do not depend on `direction`.

    Args:
        direction: a key of `DIRECTIONS`.
        size: (width, height) in pixels.

    Returns:
        frames (T, H, W, 3) uint8 RGB, and the clip's parameters (shape, speed_px_per_frame, ...).
    """
    width, height = size
    scene = _draw_scene(rng, width, height)
    start = rng.uniform(0, 1, 2) * (width, height)
    speed = _speed(rng, width, height)
    steps = np.arange(num_frames, dtype=np.float64)[:, None] * speed * np.asarray(DIRECTIONS[direction])
    frames = _render(scene, start + steps, rng)
    return frames, {"shape": scene.shape, "speed_px_per_frame": round(speed, 4)}


def encode_video(path: str | os.PathLike, frames: Iterable[np.ndarray], *, size: tuple[int, int],
                 fps: float, crf: int = 18) -> int:
    """Write RGB frames (each (H, W, 3) uint8) as H.264/yuv420p mp4, atomically (temp + rename).

    Returns:
        the number of frames written.
    """
    import av  # imported lazily: worker processes only

    count = 0
    with atomic_write(path, "wb") as fh, av.open(fh, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.thread_count = 1  # we parallelise across videos
        # x264's macroblock-tree rate control made the output (and the decoded frames) of some
        # inputs change from run to run, even single-threaded; without it runs are bit-identical.
        stream.options = {"crf": str(crf), "x264-params": "mbtree=0"}
        time_base = Fraction(1, 1) / stream.average_rate
        for img in frames:
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
            frame.pts, frame.time_base = count, time_base
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode())
    return count


# ---- shared plumbing ----------------------------------------------------------------------------


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise InputError(f"{out_dir}: directory is not empty",
                         hint="choose an empty directory, or pass --force (overwrite=True) to write into it")
    out_dir.mkdir(parents=True, exist_ok=True)


def _check_common(size: tuple[int, int], fps: float, val_ratio: float, classes: Sequence[str]) -> None:
    width, height = size
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise InputError(f"size {width}x{height}: width and height must be even and at least 16 (yuv420p)")
    if not fps > 0:
        raise InputError(f"fps {fps}: must be positive")
    if not 0.0 <= val_ratio < 1.0:
        raise InputError(f"val_ratio {val_ratio}: must be in [0, 1)")
    unknown = [c for c in classes if c not in DIRECTIONS]
    if unknown or len(set(classes)) != len(classes) or len(classes) < 2:
        raise InputError(f"classes {list(classes)}: need 2 or more distinct directions from {list(DIRECTIONS)}")


def _run_jobs(fn: Callable[[_J], Any], jobs: Sequence[_J], workers: int, progress: ProgressCallback | None) -> list:
    """`[fn(job) for job in jobs]`, in order, over `workers` spawned processes when > 1."""

    def report(results: Iterator) -> list:
        done = []
        for result in results:
            done.append(result)
            if progress is not None:
                progress(len(done), len(jobs))
        return done

    if workers <= 1 or len(jobs) <= 1:
        return report(fn(job) for job in jobs)
    workers = min(workers, len(jobs))
    # spawn, not fork: the parent may hold torch/OpenMP threads.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return report(pool.map(fn, jobs, chunksize=max(1, len(jobs) // (workers * 8))))


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def _num_val(n: int, val_ratio: float) -> int:
    """Videos held out of `n`: round half up, at least 1 when val_ratio > 0, never all."""
    wanted = int(np.floor(val_ratio * n + 0.5))
    return min(max(wanted, 1 if val_ratio > 0 else 0), n - 1) if n > 1 else 0


# ---- recognition --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RecognitionJob:
    seed: int
    index: int
    path: Path
    direction: str
    num_frames: int
    size: tuple[int, int]
    fps: float


def _make_recognition_video(job: _RecognitionJob) -> dict[str, Any]:
    rng = np.random.default_rng((job.seed, _RECOGNITION, job.index))
    frames, params = render_recognition_clip(rng, job.direction, num_frames=job.num_frames, size=job.size)
    encode_video(job.path, frames, size=job.size, fps=job.fps)
    return params


def synth_recognition(
    out_dir: str | os.PathLike,
    *,
    num_videos_per_class: int = 250,
    classes: Sequence[str] = DEFAULT_CLASSES,
    num_frames: int = 32,
    size: tuple[int, int] = (64, 64),
    fps: float = 16.0,
    seed: int = 0,
    val_ratio: float = 0.25,
    workers: int = 1,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> SynthResult:
    """Write a direction-of-motion recognition dataset (see the module docstring for its design).

    Layout under `out_dir`: `videos/<class>/<class>_<NNNN>.mp4`, `train_list_videos.txt` and
    `val_list_videos.txt` (`videos/left/left_0000.mp4 0` per line, the VideoDataset format; use
    `out_dir` as data_prefix), `classes.txt` (label = line number) and `dataset.json` (parameters,
    counts and per-video frames/fps/size). The split is stratified: `val_ratio` of each class.

    Args:
        classes: direction names from `DIRECTIONS`, in label order.
        size: (width, height), even.
        workers: processes encoding videos (spawned: a calling script needs an
            `if __name__ == "__main__":` guard); the output does not depend on it.
        overwrite: write into a non-empty `out_dir` (files of the same name are replaced).
        progress: called with (done, total) after each video.

    Raises:
        InputError: bad parameters, or `out_dir` not empty without `overwrite`.
    """
    out = Path(out_dir)
    classes = tuple(classes)
    _check_common(size, fps, val_ratio, classes)
    if num_videos_per_class < 1 or num_frames < 2:
        raise InputError("num_videos_per_class must be >= 1 and num_frames >= 2")
    _prepare_out_dir(out, overwrite)

    num_classes = len(classes)
    index = np.arange(num_videos_per_class * num_classes)
    label, number = index % num_classes, index // num_classes  # interleaved: a prefix is balanced
    rel = [f"videos/{classes[c]}/{classes[c]}_{n:04d}.mp4" for c, n in zip(label, number)]
    jobs = [_RecognitionJob(seed, int(i), out / rel[i], classes[label[i]], num_frames, tuple(size), fps)
            for i in index]
    params = _run_jobs(_make_recognition_video, jobs, workers, progress)
    val = _stratified_val_mask(seed, num_classes, num_videos_per_class, val_ratio)[label, number]

    files = {"train_list": out / "train_list_videos.txt", "val_list": out / "val_list_videos.txt",
             "classes": out / "classes.txt", "manifest": out / "dataset.json", "videos": out / "videos"}
    order = np.lexsort((number, label))  # lists sorted by class, then number
    for key, subset in (("train_list", False), ("val_list", True)):
        atomic_write_text(files[key], "".join(f"{rel[i]} {label[i]}\n" for i in order if val[i] == subset))
    atomic_write_text(files["classes"], "".join(f"{c}\n" for c in classes))
    counts = {"videos": len(jobs), "train": int((~val).sum()), "val": int(val.sum()), "classes": num_classes}
    per_class = {c: {"train": int(((label == k) & ~val).sum()), "val": int(((label == k) & val).sum())}
                 for k, c in enumerate(classes)}
    videos = [{"path": rel[i], "label": int(label[i]), "class": classes[label[i]],
               "subset": "val" if val[i] else "train", "num_frames": num_frames, "fps": fps,
               "width": size[0], "height": size[1], **params[i]} for i in order]
    _write_json(files["manifest"], {
        "kind": "recognition", "generator": "vidact.data.synth_video.synth_recognition", "seed": seed,
        "parameters": {"classes": list(classes), "num_videos_per_class": num_videos_per_class,
                       "num_frames": num_frames, "size": list(size), "fps": fps, "val_ratio": val_ratio},
        "counts": {**counts, "per_class": per_class}, "files": {k: v.name for k, v in files.items()},
        "videos": videos})
    log.debug("wrote %d recognition videos to %s", len(jobs), out)
    return SynthResult("recognition", out, files, counts)


def _stratified_val_mask(seed: int, num_classes: int, per_class: int, val_ratio: float) -> np.ndarray:
    """(C, per_class) bool: the same number of randomly chosen validation videos in every class."""
    perm = np.random.default_rng((seed, _DATASET)).permuted(np.tile(np.arange(per_class), (num_classes, 1)), axis=1)
    mask = np.zeros((num_classes, per_class), bool)
    mask[np.arange(num_classes)[:, None], perm[:, :_num_val(per_class, val_ratio)]] = True
    return mask


# ---- localization -------------------------------------------------------------------------------


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


__all__ = ["DEFAULT_CLASSES", "DIRECTIONS", "SHAPES", "SynthResult", "encode_video", "localization_targets",
           "render_recognition_clip", "synth_localization", "synth_recognition"]
