"""Whole-frame augmentation steps: Resize, Flip, Normalize and Fuse (the lazy-mode finisher).

Frames come in as a list of (H, W[, C]) arrays or one (N, H, W[, C]) array and leave as one
array. Parameters, result keys and random draws follow the reference steps of the same names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vidact.arguments import check_number
from vidact.data import functional as F
from vidact.data.pipelines._lazy import check_no_lazy_flip, init_lazy_if_proper

_FLIP_DIRECTIONS = ("horizontal", "vertical")


class Resize:
    """Resize frames to a size, a bounding box, or by a factor.

    Required keys are "img_shape" and "imgs" or "keypoint"; added or modified keys are "imgs",
    "keypoint", "img_shape", "keep_ratio", "scale_factor" (cumulative [sx, sy] float32),
    "resize_size" ((w, h)) and "lazy". In lazy mode only "interpolation" is recorded in "lazy";
    key points ((persons, frames, joints, 2) x/y pixels) are scaled at once in either mode.

    Args:
        scale: with `keep_ratio`, a float factor or a (w, h) box the image is fitted into as large
            as possible (a -1 side is free, so (-1, 256) resizes the short side to 256); without
            `keep_ratio`, the exact (w, h) output size.
        keep_ratio: keep the aspect ratio.
        interpolation: "nearest" or "bilinear" (also "bicubic", "area", "lanczos" as mmcv).
        lazy: record the resize for `Fuse` instead of resampling now.
    """

    def __init__(
        self,
        scale: float | Sequence[int],
        keep_ratio: bool = True,
        interpolation: str = "bilinear",
        lazy: bool = False,
    ) -> None:
        if isinstance(scale, float):
            if scale <= 0:
                raise ValueError(f"Invalid scale {scale}, must be positive.")
        elif isinstance(scale, tuple) and len(scale) == 2:
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in scale):
                raise TypeError(f"scale must be a float or a tuple of 2 ints, got {scale!r}")
            if any(v < 1 and v != -1 for v in scale) or scale == (-1, -1):
                raise ValueError(f"scale sides must be >= 1 (or -1 for one free side), got {scale!r}")
            if min(scale) == -1:
                if not keep_ratio:
                    raise ValueError(f"scale {scale}: a free side (-1) needs keep_ratio=True")
                # An infinite long side leaves only the short-side bound active.
                scale = (np.inf, max(scale))
        else:
            raise TypeError(f"scale must be a float or a tuple of 2 ints, as the reference requires, but got {scale!r}")
        if interpolation not in F.INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {sorted(F.INTERPOLATIONS)}, got {interpolation!r}")
        self.scale = scale
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation
        self.lazy = lazy

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        if "scale_factor" not in results:
            results["scale_factor"] = np.array([1, 1], dtype=np.float32)
        img_h, img_w = results["img_shape"]
        if self.keep_ratio:
            new_w, new_h = F.rescale_size((img_w, img_h), self.scale)
        else:
            new_w, new_h = (int(v) for v in self.scale)
        step_factor = np.array([new_w / img_w, new_h / img_h], dtype=np.float32)

        results["img_shape"] = (new_h, new_w)
        results["keep_ratio"] = self.keep_ratio
        results["scale_factor"] = results["scale_factor"] * step_factor
        results["resize_size"] = (new_w, new_h)
        if "keypoint" in results:
            results["keypoint"] = results["keypoint"] * step_factor
        if not self.lazy:
            if "imgs" in results:
                results["imgs"] = F.resize_frames(F.as_frames(results["imgs"]), (new_w, new_h), self.interpolation)
        else:
            check_no_lazy_flip(results)
            results["lazy"]["interpolation"] = self.interpolation
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, "
            f"interpolation={self.interpolation}, lazy={self.lazy})"
        )


class Flip:
    """Mirror all frames with probability `flip_ratio` (one draw of np.random.rand per sample).

    Required keys are "img_shape", "modality" (default "RGB") and "imgs" or "keypoint"; added or
    modified keys are "imgs", "keypoint", "keypoint_score", "label", "flip", "flip_direction" and
    "lazy" (where "flip" and "flip_direction" are recorded in lazy mode). For "Flow" only
    horizontal flips are allowed, and the x-flow images (even indices) are inverted (255 - x)
    because mirroring reverses horizontal motion.

    When flipped, "label" becomes `flip_label_map[label]` (labels not in the map stay), and key
    points ((persons, frames, joints, 2) x/y pixels) are mirrored as the reference does: x ->
    width - x, except that x == 0 (the reference's "missing joint") stays 0; then the joints of
    `left_kp` and `right_kp` swap places (also in "keypoint_score", (persons, frames, joints)).
    Key points move at once, also in lazy mode (the reference refuses key points there).

    Args:
        flip_ratio: probability of flipping.
        direction: "horizontal" or "vertical" (key points allow only "horizontal").
        flip_label_map: label -> label after a flip (e.g. "swipe left" <-> "swipe right").
        left_kp: joint indices of the left side, paired one to one with `right_kp`.
        right_kp: joint indices of the right side.
        lazy: record the flip for `Fuse` instead of flipping now.
    """

    def __init__(
        self,
        flip_ratio: float = 0.5,
        direction: str = "horizontal",
        flip_label_map: dict[int, int] | None = None,
        left_kp: Sequence[int] | None = None,
        right_kp: Sequence[int] | None = None,
        lazy: bool = False,
    ) -> None:
        if direction not in _FLIP_DIRECTIONS:
            raise ValueError(
                f"Direction {direction} is not supported. Currently support ones are {list(_FLIP_DIRECTIONS)}"
            )
        check_number(flip_ratio, "flip_ratio", low=0.0, high=1.0)
        if flip_label_map is not None and not isinstance(flip_label_map, Mapping):
            raise TypeError(f"flip_label_map must be a dict (label -> label), got {type(flip_label_map).__name__}")
        for name, joints in (("left_kp", left_kp), ("right_kp", right_kp)):
            if joints is not None and (isinstance(joints, str) or not isinstance(joints, Sequence)):
                raise TypeError(f"{name} must be a list of joint indices, got {joints!r}")
        if left_kp is not None and right_kp is not None and len(left_kp) != len(right_kp):
            raise ValueError(f"left_kp {list(left_kp)} and right_kp {list(right_kp)} must pair up one to one")
        self.flip_ratio = flip_ratio
        self.direction = direction
        self.flip_label_map = flip_label_map
        self.left_kp = left_kp
        self.right_kp = right_kp
        self.lazy = lazy

    def _flip_keypoints(self, results: dict[str, Any]) -> None:
        kps = np.array(results["keypoint"], copy=True)
        width = results["img_shape"][1]
        x = kps[..., 0]
        present = x != 0
        x[present] = width - x[present]
        order = np.arange(kps.shape[2])
        if self.left_kp is not None and self.right_kp is not None:
            order[list(self.left_kp)] = list(self.right_kp)
            order[list(self.right_kp)] = list(self.left_kp)
        results["keypoint"] = kps[:, :, order]
        if "keypoint_score" in results:
            results["keypoint_score"] = np.asarray(results["keypoint_score"])[:, :, order]

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        modality = results.get("modality", "RGB")
        if modality == "Flow" and self.direction != "horizontal":
            raise ValueError("Flip: Flow frames can only be flipped horizontally")
        if "keypoint" in results and self.direction != "horizontal":
            raise ValueError(f"Flip: key points can only be flipped horizontally, got direction={self.direction!r}")
        flip = bool(np.random.rand() < self.flip_ratio)
        results["flip"] = flip
        results["flip_direction"] = self.direction
        if flip and self.flip_label_map is not None:
            results["label"] = self.flip_label_map.get(results["label"], results["label"])
        if flip and "keypoint" in results:
            self._flip_keypoints(results)

        if not self.lazy:
            if "imgs" in results:
                imgs = F.as_frames(results["imgs"])
                if flip:
                    imgs = F.flip_frames(imgs, self.direction)
                    if modality == "Flow":
                        F.invert_flow_x(imgs, inplace=True)
                results["imgs"] = imgs
        else:
            lazyop = results["lazy"]
            if lazyop["flip"]:
                raise NotImplementedError("Use one Flip please")
            lazyop["flip"] = flip
            lazyop["flip_direction"] = self.direction
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(flip_ratio={self.flip_ratio}, direction={self.direction}, "
                f"flip_label_map={self.flip_label_map}, lazy={self.lazy})")


class Normalize:
    """Subtract a per-channel mean and divide by a per-channel std; frames become float32.

    Required keys are "imgs" and "modality" (default "RGB"), plus "scale_factor" for Flow with
    `adjust_magnitude`; added or modified keys are "imgs" and "img_norm_cfg". RGB frames stay
    (N, H, W, C) (a view of a channel-first buffer, so FormatShape's NCHW needs no copy);
    interleaved Flow frames (2T, H, W) become (T, H, W, 2) with channels (x, y).

    Args:
        mean: per-channel means (2 for Flow).
        std: per-channel stds (2 for Flow).
        to_bgr: reverse the channel order before normalising (RGB only).
        adjust_magnitude: multiply Flow x/y by the cumulative resize "scale_factor".
    """

    def __init__(
        self,
        mean: Sequence[float] | np.ndarray,
        std: Sequence[float] | np.ndarray,
        to_bgr: bool = False,
        adjust_magnitude: bool = False,
    ) -> None:
        for name, value in (("Mean", mean), ("Std", std)):
            if not isinstance(value, (Sequence, np.ndarray)) or isinstance(value, str):
                raise TypeError(f"{name} must be list, tuple or np.ndarray, but got {type(value)}")
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.to_bgr = to_bgr
        self.adjust_magnitude = adjust_magnitude

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        modality = results.get("modality", "RGB")
        imgs = F.as_frames(results["imgs"])
        if modality == "RGB":
            results["imgs"] = F.normalize_rgb(imgs, self.mean, self.std, self.to_bgr)
            results["img_norm_cfg"] = dict(mean=self.mean, std=self.std, to_bgr=self.to_bgr)
        elif modality == "Flow":
            if self.mean.shape[0] != 2 or self.std.shape[0] != 2:
                raise ValueError(f"Normalize: Flow needs 2 means and stds (x, y), got {self.mean} and {self.std}")
            scale_factor = results["scale_factor"] if self.adjust_magnitude else None
            results["imgs"] = F.normalize_flow(imgs, self.mean, self.std, scale_factor)
            results["img_norm_cfg"] = dict(
                mean=self.mean, std=self.std, to_bgr=self.to_bgr, adjust_magnitude=self.adjust_magnitude
            )
        else:
            raise NotImplementedError(f"Normalize: unsupported modality {modality!r} (expected 'RGB' or 'Flow')")
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(mean={self.mean}, std={self.std}, to_bgr={self.to_bgr}, "
            f"adjust_magnitude={self.adjust_magnitude})"
        )


class Fuse:
    """Apply the recorded lazy operations in the order crop -> resize -> flip, resampling once.

    Required keys are "imgs", "img_shape" and "lazy" (with "crop_bbox", "interpolation", "flip"
    and "flip_direction"); "imgs" is replaced and "lazy" removed. Flow x-images are inverted on
    a horizontal flip, as the eager `Flip` does. Key points need nothing here: the lazy steps
    moved them already.
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if "lazy" not in results:
            raise ValueError("No lazy operation detected")
        lazyop = results["lazy"]
        flip_direction = lazyop["flip_direction"] if lazyop["flip"] else None
        imgs = F.fuse_crop_resize_flip(
            F.as_frames(results["imgs"]),
            lazyop["crop_bbox"],
            tuple(results["img_shape"]),
            lazyop["interpolation"] or "bilinear",
            flip_direction,
        )
        if flip_direction == "horizontal" and results.get("modality", "RGB") == "Flow":
            F.invert_flow_x(imgs, inplace=True)
        results["imgs"] = imgs
        del results["lazy"]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
