"""Lazy-mode bookkeeping shared by Resize, the crops and Flip, and the crop step they share.

In lazy mode a step only records what it would do in `results['lazy']` (crop box in original
pixels, interpolation, flip); `Fuse` later applies it all in one resampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vidact.data import functional as F


def init_lazy_if_proper(results: dict[str, Any], lazy: bool) -> None:
    """Fill "img_shape" from the frames if missing; start the lazy record when `lazy`.

    The record holds "original_shape", "crop_bbox" (float32, original pixels), "flip",
    "flip_direction" and "interpolation". An eager step after lazy ones is an error: the frames
    would not match "img_shape" until `Fuse` runs.
    """
    if "img_shape" not in results:
        results["img_shape"] = tuple(results["imgs"][0].shape[:2])
    if lazy:
        if "lazy" not in results:
            img_h, img_w = results["img_shape"]
            results["lazy"] = {
                "original_shape": results["img_shape"],
                "crop_bbox": np.array([0, 0, img_w, img_h], dtype=np.float32),
                "flip": False,
                "flip_direction": None,
                "interpolation": None,
            }
    elif "lazy" in results:
        raise ValueError("a non-lazy step follows lazy ones: put Fuse after the lazy operations")


def check_no_lazy_flip(results: dict[str, Any]) -> None:
    """Lazy crops and resizes must come before a lazy Flip (Fuse applies the flip last)."""
    if results["lazy"]["flip"]:
        raise NotImplementedError("Put Flip at last for now: a lazy crop or resize follows a lazy Flip")


def apply_crop(results: dict[str, Any], bbox: Sequence[int], lazy: bool) -> dict[str, Any]:
    """Crop to bbox [left, top, right, bottom]: now (eager) or recorded for `Fuse` (lazy).

    Sets "crop_bbox" (int64, in current-image pixels, as the reference) and "img_shape". Key
    points ("keypoint", (persons, frames, joints, 2) x/y pixels) move by the crop origin at once,
    also in lazy mode (the reference refuses key points there); "imgs" is optional, as for a
    key-point-only pipeline.
    """
    left, top, right, bottom = (int(v) for v in bbox)
    img_shape = results["img_shape"]
    results["crop_bbox"] = np.array([left, top, right, bottom], dtype=np.int64)
    results["img_shape"] = (bottom - top, right - left)
    if "keypoint" in results:
        results["keypoint"] = results["keypoint"] - results["crop_bbox"][:2]
    if not lazy:
        if "imgs" in results:
            results["imgs"] = F.crop_frames(F.as_frames(results["imgs"]), (left, top, right, bottom))
    else:
        check_no_lazy_flip(results)
        lazyop = results["lazy"]
        lazyop["crop_bbox"] = F.compose_lazy_crop(lazyop["crop_bbox"], (left, top, right, bottom), img_shape)
    return results


def pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """An int or a 2-sequence of ints as an (a, b) tuple: a TypeError naming `name` for other
    types, a ValueError for sizes < 1."""
    out: tuple[int, int] | None = None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value), int(value))
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            out = (int(value[0]), int(value[1]))
    if out is None:
        raise TypeError(f"{name} must be an int or a pair of ints (w, h), got {value!r}")
    if min(out) < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return out
