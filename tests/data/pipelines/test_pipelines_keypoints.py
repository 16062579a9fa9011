"""Key points (`results['keypoint']`, (persons, frames, joints, 2) x/y pixels) and Flip's later
0.x options, stated as the reference (MMAction's later 0.x / 1.x augmentations) computes them."""

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

# One person, two frames, three joints (0: nose, 1: left hand, 2: right hand).
KPS = np.array([[[[3.0, 5.0], [1.0, 2.0], [6.0, 4.0]], [[4.0, 5.0], [0.0, 3.0], [7.5, 1.0]]]], dtype=np.float32)
SCORES = np.array([[[0.9, 0.8, 0.7], [0.6, 0.5, 0.4]]], dtype=np.float32)


def _results(with_imgs: bool = True, h: int = 6, w: int = 8) -> dict:
    out = {"keypoint": KPS.copy(), "keypoint_score": SCORES.copy(), "img_shape": (h, w), "modality": "RGB",
           "label": 1}
    if with_imgs:
        out["imgs"] = np.random.randint(0, 255, size=(2, h, w, 3)).astype(np.uint8)
    return out


@pytest.mark.parametrize("with_imgs", [True, False])
def test_center_crop_subtracts_the_crop_origin(with_imgs):
    # 8x6 image, 4x2 centre crop: bbox [2, 2, 6, 4]; the reference returns keypoint - bbox[:2].
    out = CenterCrop((4, 2))(_results(with_imgs))
    assert out["crop_bbox"].tolist() == [2, 2, 6, 4]
    np.testing.assert_array_equal(out["keypoint"], KPS - np.array([2, 2]))
    assert out["img_shape"] == (2, 4)
    assert ("imgs" in out) == with_imgs


@pytest.mark.parametrize("step", [RandomCrop(4), RandomResizedCrop(), MultiScaleCrop(4, scales=(1, 0.75))])
def test_random_crops_subtract_their_crop_origin(step):
    np.random.seed(3)
    random.seed(3)
    out = step(_results())
    np.testing.assert_array_equal(out["keypoint"], KPS - out["crop_bbox"][:2])


def test_resize_scales_keypoints_by_this_steps_factor():
    # 8x6 -> 4x4 (keep_ratio=False): factor (w, h) = (0.5, 2/3), applied to x and y.
    res = _results()
    res["scale_factor"] = np.array([2, 2], dtype=np.float32)  # earlier resizes do not count again
    out = Resize((4, 4), keep_ratio=False)(res)
    np.testing.assert_allclose(out["keypoint"], KPS * np.array([0.5, 4 / 6], dtype=np.float32), rtol=1e-6)
    np.testing.assert_allclose(out["scale_factor"], [1.0, 4 / 3], rtol=1e-6)


def test_flip_mirrors_x_keeps_zero_swaps_joints_and_relabels():
    np.random.seed(0)
    step = Flip(flip_ratio=1.0, flip_label_map={1: 2, 2: 1}, left_kp=[1], right_kp=[2])
    out = step(_results())
    # x -> width - x (width 8), but x == 0 stays 0 (the reference's "missing joint"); then joints 1 and 2 swap.
    expected = KPS.copy()
    x = expected[..., 0]
    x[x != 0] = 8 - x[x != 0]
    expected = expected[:, :, [0, 2, 1]]
    np.testing.assert_array_equal(out["keypoint"], expected)
    np.testing.assert_array_equal(out["keypoint_score"], SCORES[:, :, [0, 2, 1]])
    assert out["label"] == 2 and out["flip"] is True
    assert out["keypoint"][0, 1, 2].tolist() == [0.0, 3.0]  # the missing left hand, now on the right
    # Labels outside the map stay; nothing changes without a flip.
    res = _results()
    res["label"] = 7
    assert step(res)["label"] == 7
    kept = Flip(flip_ratio=0.0, flip_label_map={1: 2}, left_kp=[1], right_kp=[2])(_results())
    assert kept["label"] == 1 and kept["flip"] is False
    np.testing.assert_array_equal(kept["keypoint"], KPS)


def test_flip_does_not_change_the_callers_array():
    res = _results()
    before = res["keypoint"]
    Flip(flip_ratio=1.0)(res)
    np.testing.assert_array_equal(before, KPS)


def test_flip_keypoints_only_horizontally():
    with pytest.raises(ValueError, match="key points can only be flipped horizontally"):
        Flip(direction="vertical")(_results())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"left_kp": [1, 3], "right_kp": [2]}, ValueError, "pair up"),
        ({"left_kp": 1, "right_kp": 2}, TypeError, "left_kp must be a list"),
        ({"flip_label_map": [(1, 2)]}, TypeError, "flip_label_map must be a dict"),
    ],
)
def test_flip_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        Flip(**kwargs)


def _pipeline(lazy: bool) -> list:
    steps = [MultiScaleCrop(6, scales=(1, 0.875, 0.75), lazy=lazy), Resize((12, 12), keep_ratio=False, lazy=lazy),
             Flip(flip_ratio=1.0, left_kp=[1], right_kp=[2], lazy=lazy)]
    return steps + [Fuse()] if lazy else steps


@pytest.mark.parametrize("seed", range(4))
def test_lazy_mode_moves_keypoints_exactly_as_the_eager_pipeline(seed):
    # The reference refuses key points in lazy mode; we move them as the eager steps would.
    outs = []
    for lazy in (False, True):
        np.random.seed(seed)
        random.seed(seed)
        outs.append(Compose(_pipeline(lazy))(_results(h=8, w=10)))
    eager, lazy = outs
    np.testing.assert_allclose(lazy["keypoint"], eager["keypoint"], rtol=1e-6)
    assert lazy["imgs"].shape == eager["imgs"].shape == (2, 12, 12, 3)
