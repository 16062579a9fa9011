"""Moving shapes for the synthetic videos: scenes, shape masks, frame rendering and H.264 encoding.

Shared by the recognition and localization generators; every function takes its own numpy Generator.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from vidact.io.files import atomic_write

_S = 0.5**0.5
DIRECTIONS: dict[str, tuple[float, float]] = {
    "left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0),
    "up_left": (-_S, -_S), "up_right": (_S, -_S), "down_left": (-_S, _S), "down_right": (_S, _S),
}
SHAPES = ("disc", "square", "diamond", "ring", "cross")
DEFAULT_CLASSES = ("down", "left", "right", "up")  # sorted: label = index in sorted class names, as `dataset build`

_SPEED_PX = (1.0, 2.0)  # per frame, at a 64-px short side (scaled with the size)
_RADIUS = (0.09, 0.16)  # fraction of the short side
_CLUTTER = (1, 3)  # static look-alike shapes per video, inclusive range


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
