"""Crop steps: bboxes, shapes, crop_bbox bookkeeping and seeded randomness against slow references."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.data.pipelines import (
    CenterCrop,
    MultiGroupCrop,
    MultiScaleCrop,
    RandomCrop,
    RandomResizedCrop,
    TenCrop,
    ThreeCrop,
)


def _frames(n: int = 2, h: int = 240, w: int = 320) -> np.ndarray:
    return np.random.randint(0, 256, size=(n, h, w, 3)).astype(np.uint8)


def _assert_cropped(out: dict, imgs: np.ndarray) -> None:
    left, top, right, bottom = out["crop_bbox"]
    np.testing.assert_array_equal(out["imgs"], imgs[:, top:bottom, left:right])
    assert out["img_shape"] == (bottom - top, right - left)


# --------------------------------------------------------------------------- CenterCrop


def test_center_crop_bbox():
    imgs = _frames()
    out = CenterCrop(224)({"imgs": list(imgs)})
    np.testing.assert_array_equal(out["crop_bbox"], [48, 8, 272, 232])
    assert out["img_shape"] == (224, 224)
    _assert_cropped(out, imgs)
    out = CenterCrop((3, 2))({"imgs": _frames(1, 5, 6)})
    # margins 3 and 3: left 1, top 1 (the odd pixel goes right/bottom)
    np.testing.assert_array_equal(out["crop_bbox"], [1, 1, 4, 3])


def test_crop_size_types():
    with pytest.raises(TypeError):
        CenterCrop(224.0)
    with pytest.raises(TypeError):
        CenterCrop((224, 224, 3))
    assert CenterCrop([200, 100]).crop_size == (200, 100)


# --------------------------------------------------------------------------- RandomCrop


def test_random_crop_draws_y_then_x_from_np_random():
    imgs = _frames(2, 50, 60)
    np.random.seed(7)
    y, x = np.random.randint(0, 50 - 32), np.random.randint(0, 60 - 32)
    np.random.seed(7)
    out = RandomCrop(32)({"imgs": imgs})
    np.testing.assert_array_equal(out["crop_bbox"], [x, y, x + 32, y + 32])
    _assert_cropped(out, imgs)


def test_random_crop_full_size_and_too_large():
    imgs = _frames(1, 32, 40)
    out = RandomCrop(32)({"imgs": imgs})
    assert out["crop_bbox"][1] == 0 and out["img_shape"] == (32, 32)
    with pytest.raises(ValueError, match="exceeds"):
        RandomCrop(33)({"imgs": imgs})
    with pytest.raises(TypeError):
        RandomCrop((32, 32))


# --------------------------------------------------------------------------- RandomResizedCrop


def ref_get_crop_bbox(img_shape, area_range, aspect_ratio_range, max_attempts=10):
    """Slow reference: the same random draws, candidates tried one at a time."""
    img_h, img_w = img_shape
    log_ratios = np.random.uniform(np.log(aspect_ratio_range[0]), np.log(aspect_ratio_range[1]), size=max_attempts)
    areas = np.random.uniform(*area_range, size=max_attempts) * img_h * img_w
    for i in range(max_attempts):
        ratio = np.exp(log_ratios[i])
        w = int(np.round(np.sqrt(areas[i] * ratio)))
        h = int(np.round(np.sqrt(areas[i] / ratio)))
        if h <= img_h and w <= img_w:
            x = random.randint(0, img_w - w)
            y = random.randint(0, img_h - h)
            return (x, y, x + w, y + h)
    side = min(img_h, img_w)
    return ((img_w - side) // 2, (img_h - side) // 2, (img_w - side) // 2 + side, (img_h - side) // 2 + side)


@settings(max_examples=200)
@given(
    h=st.integers(1, 300),
    w=st.integers(1, 300),
    area=st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0)).map(sorted),
    ratio=st.tuples(st.floats(0.2, 5.0), st.floats(0.2, 5.0)).map(sorted),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_resized_crop_matches_slow_reference(h, w, area, ratio, seed):
    np.random.seed(seed)
    random.seed(seed)
    got = RandomResizedCrop.get_crop_bbox((h, w), area, ratio)
    np.random.seed(seed)
    random.seed(seed)
    assert got == ref_get_crop_bbox((h, w), area, ratio)
    left, top, right, bottom = got
    # rounding can give an empty crop on tiny images, as in the reference
    assert 0 <= left <= right <= w and 0 <= top <= bottom <= h


def test_random_resized_crop_falls_back_to_centre_square():
    # aspect ratio 10 at half the area never fits a 100 x 200 image
    assert RandomResizedCrop.get_crop_bbox((100, 200), (0.5, 0.5), (10.0, 10.0)) == (50, 0, 150, 100)


def test_random_resized_crop_step():
    imgs = _frames(2, 60, 80)
    out = RandomResizedCrop()({"imgs": imgs})
    _assert_cropped(out, imgs)
    assert RandomResizedCrop(area_range=(0.5, 1)).area_range == (0.5, 1.0)
    with pytest.raises(TypeError):
        RandomResizedCrop(area_range=0.5)
    with pytest.raises(ValueError):
        RandomResizedCrop.get_crop_bbox((10, 10), (0.5, 2.0), (0.75, 1.33))


# --------------------------------------------------------------------------- MultiScaleCrop


def ref_multi_scale_bbox(img_h, img_w, input_size, scales, gap, random_crop, num_fixed_crops):
    """Slow reference: candidate lists built by nested loops, Python random.choice on them."""
    base = min(img_h, img_w)
    sizes = [int(base * s) for s in scales]
    candidates = [[w, h] for i, h in enumerate(sizes) for j, w in enumerate(sizes) if abs(i - j) <= gap]
    crop = random.choice(candidates)
    crop = [input_size[k] if abs(crop[k] - input_size[k]) < 3 else crop[k] for k in range(2)]
    crop_w, crop_h = crop
    if random_crop:
        x, y = random.randint(0, img_w - crop_w), random.randint(0, img_h - crop_h)
    else:
        ws, hs = (img_w - crop_w) // 4, (img_h - crop_h) // 4
        grid = [(0, 0), (4, 0), (0, 4), (4, 4), (2, 2)]
        if num_fixed_crops == 13:
            grid += [(0, 2), (4, 2), (2, 4), (2, 0), (1, 1), (3, 1), (1, 3), (3, 3)]
        x, y = random.choice([(a * ws, b * hs) for a, b in grid])
    return [x, y, x + crop_w, y + crop_h]


@settings(max_examples=150)
@given(
    h=st.integers(64, 300),
    w=st.integers(64, 300),
    random_crop=st.booleans(),
    num_fixed_crops=st.sampled_from([5, 13]),
    gap=st.integers(0, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_multi_scale_crop_matches_slow_reference(h, w, random_crop, num_fixed_crops, gap, seed):
    scales = (1, 0.875, 0.75, 0.66)
    step = MultiScaleCrop(56, scales, gap, random_crop, num_fixed_crops)
    random.seed(seed)
    out = step({"imgs": np.zeros((1, h, w, 1), dtype=np.uint8)})
    random.seed(seed)
    expected = ref_multi_scale_bbox(h, w, (56, 56), scales, gap, random_crop, num_fixed_crops)
    np.testing.assert_array_equal(out["crop_bbox"], expected)
    assert out["scales"] == scales


def test_multi_scale_crop_snaps_to_input_size():
    # base 258: scale 1 gives 258, within 2 pixels of 256 -> snapped
    out = MultiScaleCrop(256, scales=(1,))({"imgs": _frames(1, 258, 300)})
    assert out["img_shape"] == (256, 256)
    with pytest.raises(ValueError):
        MultiScaleCrop(224, num_fixed_crops=7)
    with pytest.raises(TypeError):
        MultiScaleCrop(224, scales=1)


# --------------------------------------------------------------------------- multi-view crops


def test_three_crop_along_long_side():
    imgs = _frames(2, 240, 320)
    out = ThreeCrop(240)({"imgs": list(imgs)})
    assert out["imgs"].shape == (6, 240, 240, 3) and out["img_shape"] == (240, 240)
    # w_step = 40: left, right, middle
    np.testing.assert_array_equal(out["crop_bbox"][::2], [[0, 0, 240, 240], [80, 0, 320, 240], [40, 0, 280, 240]])
    assert out["crop_bbox"].shape == (6, 4)
    np.testing.assert_array_equal(out["imgs"][2:4], imgs[:, :, 80:320])
    tall = ThreeCrop(100)({"imgs": _frames(1, 160, 100)})
    np.testing.assert_array_equal(tall["crop_bbox"], [[0, 0, 100, 100], [0, 60, 100, 160], [0, 30, 100, 130]])
    with pytest.raises(ValueError, match="ThreeCrop"):
        ThreeCrop(50)({"imgs": imgs})


def test_ten_crop_order_and_bboxes():
    imgs = _frames(2, 240, 320)
    out = TenCrop(224)({"imgs": imgs})
    assert out["imgs"].shape == (20, 224, 224, 3) and out["crop_bbox"].shape == (20, 4)
    # w_step 24, h_step 4: upper left, upper right, lower left, lower right, centre
    corners = [[0, 0], [96, 0], [0, 16], [96, 16], [48, 8]]
    for k, (x, y) in enumerate(corners):
        crop = imgs[:, y : y + 224, x : x + 224]
        np.testing.assert_array_equal(out["imgs"][4 * k : 4 * k + 2], crop)
        np.testing.assert_array_equal(out["imgs"][4 * k + 2 : 4 * k + 4], crop[:, :, ::-1])
        np.testing.assert_array_equal(out["crop_bbox"][4 * k : 4 * k + 4], [[x, y, x + 224, y + 224]] * 4)


def test_multi_group_crop_draws_x_then_y_per_group():
    imgs = _frames(2, 40, 50)
    random.seed(3)
    offsets = [(random.randint(0, 50 - 20), random.randint(0, 40 - 10)) for _ in range(3)]
    random.seed(3)
    out = MultiGroupCrop((20, 10), groups=3)({"imgs": imgs})
    assert out["imgs"].shape == (6, 10, 20, 3) and out["img_shape"] == (10, 20)
    for g, (x, y) in enumerate(offsets):
        np.testing.assert_array_equal(out["imgs"][2 * g : 2 * g + 2], imgs[:, y : y + 10, x : x + 20])
        np.testing.assert_array_equal(out["crop_bbox"][2 * g], [x, y, x + 20, y + 10])
    with pytest.raises(ValueError):
        MultiGroupCrop(10, groups=0)
    with pytest.raises(TypeError):
        MultiGroupCrop(10, groups=1.5)
