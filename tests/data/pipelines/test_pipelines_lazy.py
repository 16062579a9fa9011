"""Lazy mode: recorded crop boxes, Fuse against the eager pipeline, and misuse errors."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vidact.data.pipelines import (
    CenterCrop,
    Compose,
    Flip,
    Fuse,
    MultiScaleCrop,
    RandomCrop,
    RandomResizedCrop,
    Resize,
)


def _smooth_frames(n: int = 3, h: int = 60, w: int = 80) -> np.ndarray:
    """Slowly varying uint8 frames, so resampling the same region twice differs by rounding only."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    frames = [
        np.stack([100 + 80 * np.sin(xx / 13 + t) * np.cos(yy / 11), 2 * xx + yy, 255 - 2 * yy - t], axis=-1)
        for t in range(n)
    ]
    return np.clip(np.stack(frames), 0, 255).round().astype(np.uint8)


def _run(steps, imgs, seed=0, modality="RGB"):
    np.random.seed(seed)
    random.seed(seed)
    return Compose(steps)({"imgs": imgs.copy(), "modality": modality})


def test_lazy_crop_bbox_is_tracked_in_original_pixels():
    imgs = _smooth_frames()
    out = _run([Resize((-1, 120), lazy=True), CenterCrop(100, lazy=True)], imgs)
    # 60x80 -> 120x160 (x2); centre crop [30, 10, 130, 110] is [15, 5, 65, 55] in the original
    np.testing.assert_allclose(out["lazy"]["crop_bbox"], [15, 5, 65, 55])
    assert out["lazy"]["crop_bbox"].dtype == np.float32
    np.testing.assert_array_equal(out["crop_bbox"], [30, 10, 130, 110])  # current-image pixels
    assert out["img_shape"] == (100, 100)
    assert out["lazy"]["original_shape"] == (60, 80) and out["lazy"]["interpolation"] == "bilinear"
    np.testing.assert_array_equal(out["imgs"], imgs)  # nothing resampled yet


def test_nested_lazy_crops_compose():
    imgs = _smooth_frames(1, 100, 200)
    out = _run([CenterCrop((100, 50), lazy=True), Resize((200, 100), keep_ratio=False, lazy=True),
                CenterCrop((100, 50), lazy=True)], imgs)
    # [50, 25, 150, 75] in the original; x2 resize; centre half of that is [75, 37.5, 125, 62.5]
    np.testing.assert_allclose(out["lazy"]["crop_bbox"], [75, 37.5, 125, 62.5])


@pytest.mark.parametrize(
    "make_steps",
    [
        lambda lazy: [Resize((-1, 120), lazy=lazy), CenterCrop(100, lazy=lazy), Flip(flip_ratio=1.0, lazy=lazy)],
        lambda lazy: [MultiScaleCrop(48, (1, 0.875, 0.75), lazy=lazy), Resize((48, 48), keep_ratio=False, lazy=lazy),
                      Flip(flip_ratio=0.5, lazy=lazy)],
        lambda lazy: [RandomResizedCrop(lazy=lazy), Resize((32, 32), keep_ratio=False, lazy=lazy)],
        lambda lazy: [Resize(0.5, lazy=lazy), RandomCrop(24, lazy=lazy), Flip(1.0, "vertical", lazy=lazy)],
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fuse_matches_eager_pipeline(make_steps, seed):
    imgs = _smooth_frames()
    eager = _run(make_steps(False), imgs, seed)
    lazy = _run([*make_steps(True), Fuse()], imgs, seed)
    assert "lazy" not in lazy
    for key in ("img_shape", "flip", "flip_direction", "scale_factor"):
        if key in eager:
            np.testing.assert_array_equal(np.asarray(lazy[key]), np.asarray(eager[key]))
    np.testing.assert_array_equal(lazy["crop_bbox"], eager["crop_bbox"])
    assert lazy["imgs"].shape == eager["imgs"].shape
    # One resampling instead of two: differences come from rounding and edge clamping only.
    diff = np.abs(lazy["imgs"].astype(np.int16) - eager["imgs"].astype(np.int16))
    assert diff.mean() < 0.5
    assert np.percentile(diff, 99) <= 2


def test_fuse_exact_for_integer_crop_without_resize():
    imgs = _smooth_frames()
    eager = _run([CenterCrop(40), Flip(1.0)], imgs)
    lazy = _run([CenterCrop(40, lazy=True), Flip(1.0, lazy=True), Fuse()], imgs)
    np.testing.assert_array_equal(lazy["imgs"], eager["imgs"])


def test_fuse_flips_flow_like_eager_flip():
    flow = np.random.randint(0, 256, size=(4, 10, 12)).astype(np.uint8)
    eager = _run([CenterCrop(8), Flip(1.0)], flow, modality="Flow")
    lazy = _run([CenterCrop(8, lazy=True), Flip(1.0, lazy=True), Fuse()], flow, modality="Flow")
    np.testing.assert_array_equal(lazy["imgs"], eager["imgs"])


def test_lazy_misuse_errors():
    imgs = _smooth_frames()
    with pytest.raises(ValueError, match="Fuse"):
        _run([CenterCrop(40, lazy=True), CenterCrop(20)], imgs)
    with pytest.raises(ValueError, match="No lazy"):
        Fuse()({"imgs": imgs, "img_shape": (60, 80)})
    with pytest.raises(NotImplementedError, match="Flip"):
        _run([Flip(1.0, lazy=True), CenterCrop(20, lazy=True)], imgs)
    with pytest.raises(NotImplementedError, match="one Flip"):
        _run([Flip(1.0, lazy=True), Flip(1.0, lazy=True)], imgs)
