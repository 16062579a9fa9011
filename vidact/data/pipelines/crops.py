"""Cropping steps: random, random-resized, multi-scale and centre crops, and multi-view test crops.

Random choices use the same generator calls as the reference, in the same order: global
`np.random` for RandomCrop, Python's `random` for RandomResizedCrop offsets, MultiScaleCrop and
MultiGroupCrop. Seed both (`np.random.seed`, `random.seed`) for reproducible runs; PyTorch seeds
`random` in each DataLoader worker already.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidact.data import functional as F
from vidact.data.pipelines._lazy import apply_crop, init_lazy_if_proper, pair


def _float_pair(value: Sequence[float], name: str) -> tuple[float, float]:
    # A tuple, as the reference requires (ints are accepted too).
    if isinstance(value, tuple) and len(value) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        return (float(value[0]), float(value[1]))
    raise TypeError(f"{name} must be a tuple of 2 floats, but got {value!r}")


def _check_ranges(area_range: Sequence[float], aspect_ratio_range: Sequence[float]) -> None:
    if not 0 < area_range[0] <= area_range[1] <= 1:
        raise ValueError(f"area_range must satisfy 0 < low <= high <= 1, got {tuple(area_range)}")
    if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
        raise ValueError(f"aspect_ratio_range must satisfy 0 < low <= high, got {tuple(aspect_ratio_range)}")


class RandomCrop:
    """Crop a random `size` x `size` square (np.random: y offset drawn first, then x).

    Required keys are "imgs" and "img_shape"; added or modified keys are "imgs", "crop_bbox",
    "img_shape" and "lazy" ("crop_bbox" in lazy mode).

    Args:
        size: side of the square crop.
        lazy: record the crop for `Fuse` instead of cropping now.
    """

    def __init__(self, size: int, lazy: bool = False) -> None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"Size must be an int, but got {type(size)}")
        if size < 1:
            raise ValueError(f"RandomCrop: size must be >= 1, got {size}")
        self.size = size
        self.lazy = lazy

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        img_h, img_w = results["img_shape"]
        if self.size > img_h or self.size > img_w:
            raise ValueError(f"RandomCrop: size {self.size} exceeds the image (h, w)={img_h, img_w}")
        # As the reference: the high end is exclusive, so the last offset is never drawn.
        y_offset = int(np.random.randint(0, img_h - self.size)) if img_h > self.size else 0
        x_offset = int(np.random.randint(0, img_w - self.size)) if img_w > self.size else 0
        bbox = (x_offset, y_offset, x_offset + self.size, y_offset + self.size)
        return apply_crop(results, bbox, self.lazy)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, lazy={self.lazy})"


class RandomResizedCrop:
    """Crop a random area fraction and aspect ratio (Inception-style); a later Resize fixes size.

    Required keys are "imgs" and "img_shape"; added or modified keys are "imgs", "crop_bbox",
    "img_shape" and "lazy" ("crop_bbox" in lazy mode).

    Args:
        area_range: range of the crop area as a fraction of the image area.
        aspect_ratio_range: range of the crop's w / h, sampled log-uniformly.
        lazy: record the crop for `Fuse` instead of cropping now.
    """

    def __init__(
        self,
        area_range: Sequence[float] = (0.08, 1.0),
        aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3),
        lazy: bool = False,
    ) -> None:
        self.area_range = _float_pair(area_range, "area_range")
        self.aspect_ratio_range = _float_pair(aspect_ratio_range, "aspect_ratio_range")
        _check_ranges(self.area_range, self.aspect_ratio_range)
        self.lazy = lazy

    @staticmethod
    def get_crop_bbox(
        img_shape: tuple[int, int],
        area_range: Sequence[float],
        aspect_ratio_range: Sequence[float],
        max_attempts: int = 10,
    ) -> tuple[int, int, int, int]:
        """Draw a crop bbox (left, top, right, bottom) for an image of (h, w) `img_shape`.

        `max_attempts` candidates are drawn at once (np.random); the first that fits the image
        is placed at a random offset (Python `random`). If none fits, the centred square of side
        min(h, w) is used.
        """
        _check_ranges(area_range, aspect_ratio_range)
        img_h, img_w = img_shape
        min_ar, max_ar = aspect_ratio_range
        aspect_ratios = np.exp(np.random.uniform(np.log(min_ar), np.log(max_ar), size=max_attempts))
        target_areas = np.random.uniform(*area_range, size=max_attempts) * (img_h * img_w)
        crop_w = np.round(np.sqrt(target_areas * aspect_ratios)).astype(np.int32)
        crop_h = np.round(np.sqrt(target_areas / aspect_ratios)).astype(np.int32)
        fits = np.flatnonzero((crop_h <= img_h) & (crop_w <= img_w))
        if fits.size:
            w, h = int(crop_w[fits[0]]), int(crop_h[fits[0]])
            x_offset = random.randint(0, img_w - w)
            y_offset = random.randint(0, img_h - h)
            return x_offset, y_offset, x_offset + w, y_offset + h
        side = min(img_h, img_w)
        x_offset, y_offset = (img_w - side) // 2, (img_h - side) // 2
        return x_offset, y_offset, x_offset + side, y_offset + side

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        bbox = self.get_crop_bbox(tuple(results["img_shape"]), self.area_range, self.aspect_ratio_range)
        return apply_crop(results, bbox, self.lazy)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(area_range={self.area_range}, "
            f"aspect_ratio_range={self.aspect_ratio_range}, lazy={self.lazy})"
        )


class MultiScaleCrop:
    """Crop with a random (w, h) picked from scales of the short side, at a fixed or random spot.

    Scale 1 is the image's short side. Width and height scale levels differ by at most
    `max_wh_scale_gap`; a side within 2 pixels of `input_size` snaps to it.
    Required keys are "imgs" and "img_shape"; added or modified keys are "imgs", "crop_bbox",
    "img_shape", "scales" and "lazy" ("crop_bbox" in lazy mode).

    Args:
        input_size: (w, h) of the network input (an int for a square).
        scales: candidate scales of the short side.
        max_wh_scale_gap: largest allowed gap between the w and h scale levels.
        random_crop: place the crop anywhere instead of at one of the fixed grid positions.
        num_fixed_crops: 5 (corners + centre) or 13 (adds edge centres and quarter points).
        lazy: record the crop for `Fuse` instead of cropping now.
    """

    def __init__(
        self,
        input_size: int | Sequence[int],
        scales: Sequence[float] = (1,),
        max_wh_scale_gap: int = 1,
        random_crop: bool = False,
        num_fixed_crops: int = 5,
        lazy: bool = False,
    ) -> None:
        self.input_size = pair(input_size, "Input_size")
        if not isinstance(scales, tuple):
            raise TypeError(f"scales must be a tuple, as the reference requires, but got {scales!r}")
        if not scales:
            raise ValueError("scales must hold at least one scale, got ()")
        if num_fixed_crops not in (5, 13):
            raise ValueError(f"Num_fix_crops must be in {[5, 13]}, but got {num_fixed_crops}")
        self.scales = tuple(scales)
        self.max_wh_scale_gap = max_wh_scale_gap
        self.random_crop = random_crop
        self.num_fixed_crops = num_fixed_crops
        self.lazy = lazy

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        img_h, img_w = results["img_shape"]
        candidates = F.multi_scale_crop_sizes(min(img_h, img_w), self.scales, self.max_wh_scale_gap)
        crop_w, crop_h = (int(v) for v in candidates[random.choice(range(len(candidates)))])
        input_w, input_h = self.input_size
        crop_w = input_w if abs(crop_w - input_w) < 3 else crop_w
        crop_h = input_h if abs(crop_h - input_h) < 3 else crop_h

        if self.random_crop:
            x_offset = random.randint(0, img_w - crop_w)
            y_offset = random.randint(0, img_h - crop_h)
        else:
            offsets = F.grid_crop_offsets((img_h, img_w), (crop_w, crop_h), self.num_fixed_crops)
            x_offset, y_offset = (int(v) for v in offsets[random.choice(range(len(offsets)))])

        results["scales"] = self.scales
        return apply_crop(results, (x_offset, y_offset, x_offset + crop_w, y_offset + crop_h), self.lazy)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, scales={self.scales}, "
            f"max_wh_scale_gap={self.max_wh_scale_gap}, random_crop={self.random_crop}, "
            f"num_fixed_crops={self.num_fixed_crops}, lazy={self.lazy})"
        )


class CenterCrop:
    """Crop the centre (w, h) area.

    Required keys are "imgs" and "img_shape"; added or modified keys are "imgs", "crop_bbox",
    "img_shape" and "lazy" ("crop_bbox" in lazy mode).

    Args:
        crop_size: (w, h) of the crop, or an int for a square.
        lazy: record the crop for `Fuse` instead of cropping now.
    """

    def __init__(self, crop_size: int | Sequence[int], lazy: bool = False) -> None:
        self.crop_size = pair(crop_size, "Crop_size")
        self.lazy = lazy

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        bbox = F.center_crop_bbox(tuple(results["img_shape"]), self.crop_size)
        return apply_crop(results, bbox, self.lazy)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size}, lazy={self.lazy})"


def _multi_crop(results: dict[str, Any], crops: np.ndarray, bboxes: np.ndarray) -> dict[str, Any]:
    results["imgs"] = crops
    results["crop_bbox"] = bboxes
    results["img_shape"] = tuple(crops.shape[1:3])
    return results


class ThreeCrop:
    """Three crops along the long side (first, last, middle), for testing; N frames -> 3N.

    The crop must span the full height or the full width. Required keys are "imgs" and
    "img_shape"; added or modified keys are "imgs", "crop_bbox" ((3N, 4), one row per output
    frame) and "img_shape".

    Args:
        crop_size: (w, h) of each crop, or an int for a square.
    """

    def __init__(self, crop_size: int | Sequence[int]) -> None:
        self.crop_size = pair(crop_size, "Crop_size")

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, False)
        imgs = F.as_frames(results["imgs"])
        offsets = F.three_crop_offsets(tuple(imgs.shape[1:3]), self.crop_size)
        return _multi_crop(results, *F.crop_frames_at(imgs, offsets, self.crop_size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size})"


class TenCrop:
    """Four corner crops and the centre crop, each followed by its horizontal mirror; N -> 10N.

    Required keys are "imgs" and "img_shape"; added or modified keys are "imgs", "crop_bbox"
    ((10N, 4), one row per output frame) and "img_shape".

    Args:
        crop_size: (w, h) of each crop, or an int for a square.
    """

    def __init__(self, crop_size: int | Sequence[int]) -> None:
        self.crop_size = pair(crop_size, "Crop_size")

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, False)
        imgs = F.as_frames(results["imgs"])
        offsets = F.grid_crop_offsets(tuple(imgs.shape[1:3]), self.crop_size, 5)
        crops, bboxes = F.crop_frames_at(imgs, offsets, self.crop_size)
        num_frames = len(imgs)
        crops = crops.reshape((5, num_frames) + crops.shape[1:])
        # Order: crop 0, its mirror, crop 1, its mirror, ...
        crops = np.stack([crops, np.flip(crops, axis=3)], axis=1).reshape((10 * num_frames,) + crops.shape[2:])
        bboxes = np.repeat(bboxes[::num_frames], 2 * num_frames, axis=0)
        return _multi_crop(results, crops, bboxes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size})"


class MultiGroupCrop:
    """`groups` random crops of the same size, each applied to all frames; N frames -> groups * N.

    Offsets come from Python `random` (x, then y, per group). Required key is "imgs"; added or
    modified keys are "imgs", "crop_bbox" ((groups * N, 4)) and "img_shape".

    Args:
        crop_size: (w, h) of each crop, or an int for a square.
        groups: number of crops.
    """

    def __init__(self, crop_size: int | Sequence[int], groups: int) -> None:
        self.crop_size = pair(crop_size, "Crop size")
        if not isinstance(groups, int):
            raise TypeError(f"Groups must be int, but got {type(groups)}.")
        if groups <= 0:
            raise ValueError("Groups must be positive.")
        self.groups = groups

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        imgs = F.as_frames(results["imgs"])
        img_h, img_w = imgs.shape[1:3]
        crop_w, crop_h = self.crop_size
        offsets = [
            (random.randint(0, img_w - crop_w), random.randint(0, img_h - crop_h)) for _ in range(self.groups)
        ]
        return _multi_crop(results, *F.crop_frames_at(imgs, np.array(offsets), self.crop_size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size}, groups={self.groups})"
