"""Resize, Flip and Normalize: sizes, scale factors, flow handling and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from vidact.data.pipelines import Flip, Normalize, Resize


def _frames(n: int = 3, h: int = 240, w: int = 320, c: int = 3, dtype=np.uint8) -> np.ndarray:
    return np.random.randint(0, 256, size=(n, h, w, c)).astype(dtype)


def _flow(n_pairs: int = 2, h: int = 6, w: int = 8) -> np.ndarray:
    return np.random.randint(0, 256, size=(2 * n_pairs, h, w)).astype(np.uint8)


# --------------------------------------------------------------------------- Resize


@pytest.mark.parametrize(
    ("scale", "keep_ratio", "shape"),
    [
        (0.5, True, (120, 160)),
        ((-1, 256), True, (256, 341)),  # short side 256: 320 * 256 / 240 = 341.33 -> 341
        ((256, -1), True, (256, 341)),
        ((512, 256), True, (256, 341)),  # fit in the box: min(512 / 320, 256 / 240)
        ((200, 100), False, (100, 200)),  # exact (w, h)
    ],
)
def test_resize_sizes(scale, keep_ratio, shape):
    out = Resize(scale, keep_ratio=keep_ratio)({"imgs": list(_frames()), "modality": "RGB"})
    assert out["img_shape"] == shape
    assert out["imgs"].shape == (3, *shape, 3)
    assert out["resize_size"] == (shape[1], shape[0])
    assert out["keep_ratio"] is keep_ratio
    np.testing.assert_allclose(out["scale_factor"], [shape[1] / 320, shape[0] / 240], rtol=1e-6)
    assert out["scale_factor"].dtype == np.float32


def test_resize_scale_factor_accumulates():
    results = {"imgs": _frames(1, 100, 200)}
    results = Resize(0.5)(results)
    results = Resize((100, 100), keep_ratio=False)(results)
    np.testing.assert_allclose(results["scale_factor"], [0.5 * 1.0, 0.5 * 2.0])
    assert results["img_shape"] == (100, 100)


def test_resize_nearest_duplicates_pixels_and_keeps_layouts():
    imgs = _frames(2, 4, 5)
    out = Resize((10, 8), keep_ratio=False, interpolation="nearest")({"imgs": imgs})
    np.testing.assert_array_equal(out["imgs"], imgs.repeat(2, axis=1).repeat(2, axis=2))
    flow = _flow(1, 4, 5)  # (2, H, W): no channel axis
    assert Resize(2.0)({"imgs": flow})["imgs"].shape == (2, 8, 10)
    single = _frames(2, 4, 5, c=1)
    assert Resize(2.0)({"imgs": single})["imgs"].shape == (2, 8, 10, 1)


def test_resize_bilinear_keeps_constant_images_and_float_dtype():
    imgs = np.full((2, 6, 8, 3), 0.25, dtype=np.float32)
    out = Resize((13, 7), keep_ratio=False)({"imgs": imgs})["imgs"]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25)


def test_resize_rejects_bad_scales():
    with pytest.raises(TypeError):
        Resize(256)  # an int is ambiguous: the reference wants a float factor or a (w, h) tuple
    with pytest.raises(ValueError):
        Resize(-0.5)
    with pytest.raises(ValueError, match="keep_ratio"):
        Resize((-1, 256), keep_ratio=False)
    with pytest.raises(ValueError, match="interpolation"):
        Resize(0.5, interpolation="cubicish")


# --------------------------------------------------------------------------- Flip


def test_flip_draws_once_from_np_random():
    imgs = _frames(2, 4, 6)
    np.random.seed(0)
    expected_flip = np.random.rand() < 0.5  # 0.5488 -> no flip
    np.random.seed(0)
    out = Flip(flip_ratio=0.5)({"imgs": imgs.copy(), "modality": "RGB"})
    assert out["flip"] is bool(expected_flip) is False
    assert out["flip_direction"] == "horizontal"
    np.testing.assert_array_equal(out["imgs"], imgs)


@pytest.mark.parametrize(("direction", "axis"), [("horizontal", 2), ("vertical", 1)])
def test_flip_mirrors_frames(direction, axis):
    imgs = _frames(2, 4, 6)
    out = Flip(flip_ratio=1.0, direction=direction)({"imgs": list(imgs), "modality": "RGB"})
    assert out["flip"] is True and out["flip_direction"] == direction
    np.testing.assert_array_equal(out["imgs"], np.flip(imgs, axis=axis))
    assert out["imgs"].flags.c_contiguous


def test_flip_of_flow_inverts_x_only():
    flow = _flow(2)
    out = Flip(flip_ratio=1.0)({"imgs": flow.copy(), "modality": "Flow"})
    mirrored = flow[:, :, ::-1]
    np.testing.assert_array_equal(out["imgs"][0::2], 255 - mirrored[0::2])  # x: mirrored and inverted
    np.testing.assert_array_equal(out["imgs"][1::2], mirrored[1::2])  # y: mirrored only
    with pytest.raises(ValueError, match="horizontally"):
        Flip(flip_ratio=1.0, direction="vertical")({"imgs": flow, "modality": "Flow"})


def test_flip_rejects_unknown_direction():
    with pytest.raises(ValueError, match="diagonal"):
        Flip(direction="diagonal")


# --------------------------------------------------------------------------- Normalize


def test_normalize_rgb_hand_computed():
    imgs = np.tile(np.array([3, 4, 5], dtype=np.uint8), (2, 2, 2, 1))
    out = Normalize(mean=[1, 2, 3], std=[2, 2, 2])({"imgs": list(imgs), "modality": "RGB"})
    assert out["imgs"].dtype == np.float32 and out["imgs"].shape == (2, 2, 2, 3)
    np.testing.assert_allclose(out["imgs"], 1.0)
    # to_bgr reverses channels first: [5, 4, 3] - [1, 2, 3] = [4, 2, 0], / 2
    out = Normalize(mean=[1, 2, 3], std=[2, 2, 2], to_bgr=True)({"imgs": imgs, "modality": "RGB"})
    np.testing.assert_allclose(out["imgs"][0, 0, 0], [2.0, 1.0, 0.0])
    assert set(out["img_norm_cfg"]) == {"mean", "std", "to_bgr"}


def test_normalize_rgb_matches_formula_on_random_frames():
    imgs = _frames(3, 5, 7)
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    out = Normalize(mean, std)({"imgs": imgs, "modality": "RGB"})["imgs"]
    np.testing.assert_allclose(out, (imgs - np.array(mean)) / np.array(std), rtol=1e-5, atol=1e-5)


def test_normalize_flow_stacks_xy_and_adjusts_magnitude():
    flow = _flow(2, 3, 4)
    results = {"imgs": list(flow), "modality": "Flow", "scale_factor": np.array([0.5, 2.0], dtype=np.float32)}
    out = Normalize(mean=[128, 128], std=[64, 32], adjust_magnitude=True)(results)
    assert out["imgs"].shape == (2, 3, 4, 2)
    expected_x = (flow[0::2].astype(np.float32) - 128) / 64 * 0.5
    expected_y = (flow[1::2].astype(np.float32) - 128) / 32 * 2.0
    np.testing.assert_allclose(out["imgs"][..., 0], expected_x, rtol=1e-6)
    np.testing.assert_allclose(out["imgs"][..., 1], expected_y, rtol=1e-6)
    assert out["img_norm_cfg"]["adjust_magnitude"] is True

    plain = Normalize(mean=[128, 128], std=[64, 32])({"imgs": flow, "modality": "Flow"})["imgs"]
    np.testing.assert_allclose(plain[..., 0], (flow[0::2] - 128.0) / 64, rtol=1e-6)


def test_normalize_errors():
    with pytest.raises(TypeError):
        Normalize(mean=1.0, std=[1.0])
    with pytest.raises(ValueError, match="Flow needs 2"):
        Normalize([1, 2, 3], [1, 1, 1])({"imgs": _flow(1), "modality": "Flow"})
    with pytest.raises(NotImplementedError):
        Normalize([1], [1])({"imgs": _frames(1), "modality": "Audio"})
