"""Pure kernels of vidact.data.functional: hand-computed cases and slow loop references."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vidact.data import functional as F

# --------------------------------------------------------------------------- frame indices


def test_clip_frame_indices():
    np.testing.assert_array_equal(F.clip_frame_indices(np.array([0, 10]), 3, 2), [[0, 2, 4], [10, 12, 14]])


def test_wrap_frame_indices_hand_computed():
    inds = np.array([[3, 5, 7, 9], [8, 9, 10, 11]])
    np.testing.assert_array_equal(F.wrap_frame_indices(inds, 8, "loop"), [[3, 5, 7, 1], [0, 1, 2, 3]])
    # per clip: the largest in-range index; a clip with none falls back to 0
    np.testing.assert_array_equal(F.wrap_frame_indices(inds, 8, "repeat_last"), [[3, 5, 7, 7], [0, 0, 0, 0]])
    with pytest.raises(ValueError):
        F.wrap_frame_indices(inds, 8, "clamp")


@settings(max_examples=200)
@given(inds=hnp.arrays(np.int64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=8), elements=st.integers(0, 40)),
       total=st.integers(1, 40))
def test_repeat_last_matches_loop(inds, total):
    expected = inds.copy()
    for clip in expected:
        last = max([f for f in clip if f < total] + [0])
        for j in range(len(clip)):
            if clip[j] >= total:
                clip[j] = last
    np.testing.assert_array_equal(F.wrap_frame_indices(inds, total, "repeat_last"), expected)


def test_centered_clip_offsets():
    np.testing.assert_array_equal(F.centered_clip_offsets(100, 8, 4, False), [11, 34, 58, 81])
    np.testing.assert_array_equal(F.centered_clip_offsets(100, 8, 4, True), [11, 34, 58, 81, 0, 23, 46, 69])
    np.testing.assert_array_equal(F.centered_clip_offsets(6, 8, 3, True), [0, 0, 0])  # too short


def test_dense_and_untrimmed_indices():
    np.testing.assert_array_equal(F.dense_clip_offsets(np.array([0, 30]), 2, 32, 50), [0, 32, 30, 12])
    np.testing.assert_array_equal(F.untrimmed_frame_indices(40, 3, 16), [[7, 8, 9], [23, 24, 25]])
    np.testing.assert_array_equal(F.untrimmed_frame_indices(10, 2, 16), [[7, 8]])
    # as the reference, a video no longer than interval // 2 has no centre, hence no clip
    assert F.untrimmed_frame_indices(8, 2, 16).shape == (0, 2)


def test_segment_layout_and_val_offsets():
    stage, position = F.segment_layout((2, 3, 1))
    np.testing.assert_array_equal(stage, [0, 0, 1, 1, 1, 2])
    np.testing.assert_array_equal(position, [0, 1, 0, 1, 2, 0])
    # lengths 9 (2 segments: middles 2.25, 6.75), 2 (< 3 segments -> zeros), 4 (1 segment: 2)
    np.testing.assert_array_equal(F.val_segment_offsets(np.array([[9, 2, 4]]), (2, 3, 1)), [[2, 6, 0, 0, 0, 2]])


def test_proposal_stages_hand_computed():
    origins, lengths = F.proposal_stages(np.array([20, 2]), np.array([40, 12]), 100, 1, (0.5, 0.5))
    # proposal 0: stages start at 10, 20, 40 with room 9, 19, 9
    # proposal 1: the starting stage is cut at frame 0: max(0, 2 - 5) = 0, room 2 - 0 - 1 = 1
    np.testing.assert_array_equal(origins, [[10, 20, 40], [0, 2, 12]])
    np.testing.assert_array_equal(lengths, [[9, 19, 9], [1, 9, 4]])
    with pytest.raises(ValueError, match="zero length"):
        F.proposal_stages(np.array([5]), np.array([5]), 100, 1, (0.5, 0.5))


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize(
    ("size_wh", "scale", "expected"),
    [
        ((320, 240), 0.5, (160, 120)),
        ((320, 240), (np.inf, 256), (341, 256)),
        ((240, 320), (np.inf, 256), (256, 341)),
        ((320, 240), (1333, 800), (1067, 800)),  # short side bound wins: 800 / 240
        ((3, 3), 0.5, (2, 2)),  # 1.5 rounds half up
    ],
)
def test_rescale_size(size_wh, scale, expected):
    assert F.rescale_size(size_wh, scale) == expected


def test_crop_flip_invert():
    frames = np.arange(2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    np.testing.assert_array_equal(F.crop_frames(frames, [1, 2, 4, 4]), frames[:, 2:4, 1:4])
    np.testing.assert_array_equal(F.flip_frames(frames, "horizontal"), frames[:, :, ::-1])
    np.testing.assert_array_equal(F.flip_frames(frames, "vertical"), frames[:, ::-1])
    flow = np.array([[[10]], [[20]], [[30]], [[40]]], dtype=np.uint8)
    np.testing.assert_array_equal(F.invert_flow_x(flow).ravel(), [245, 20, 225, 40])
    assert flow[0, 0, 0] == 10  # copy by default
    assert F.invert_flow_x(flow, inplace=True) is flow and flow[0, 0, 0] == 245


def test_crop_frames_at_concatenates_crop_after_crop():
    frames = np.arange(2 * 6 * 6).reshape(2, 6, 6)
    crops, bboxes = F.crop_frames_at(frames, np.array([[0, 0], [3, 2]]), (2, 3))
    assert crops.shape == (4, 3, 2)
    np.testing.assert_array_equal(crops[2:], frames[:, 2:5, 3:5])
    np.testing.assert_array_equal(bboxes, [[0, 0, 2, 3]] * 2 + [[3, 2, 5, 5]] * 2)


def test_compose_lazy_crop():
    # current image is the original's [10, 20, 110, 70] region shown at 200 x 100 (x2)
    out = F.compose_lazy_crop(np.array([10, 20, 110, 70]), (50, 10, 150, 90), (100, 200))
    np.testing.assert_allclose(out, [35, 25, 85, 65])


def test_crop_box_helpers():
    np.testing.assert_array_equal(F.center_crop_bbox((240, 320), (224, 224)), [48, 8, 272, 232])
    np.testing.assert_array_equal(
        F.grid_crop_offsets((240, 320), (224, 224)), [[0, 0], [96, 0], [0, 16], [96, 16], [48, 8]]
    )
    grid13 = F.grid_crop_offsets((240, 320), (224, 224), 13)
    extra = [[0, 8], [96, 8], [48, 16], [48, 0], [24, 4], [72, 4], [24, 12], [72, 12]]
    np.testing.assert_array_equal(grid13[5:], extra)
    with pytest.raises(ValueError):
        F.grid_crop_offsets((240, 320), (224, 224), 7)
    np.testing.assert_array_equal(F.three_crop_offsets((240, 320), (240, 240)), [[0, 0], [80, 0], [40, 0]])
    sizes = F.multi_scale_crop_sizes(256, (1, 0.875, 0.75), 1)
    np.testing.assert_array_equal(
        sizes, [[256, 256], [224, 256], [256, 224], [224, 224], [192, 224], [224, 192], [192, 192]]
    )


def test_normalize_kernels():
    frames = np.random.randint(0, 256, size=(2, 3, 4, 3)).astype(np.uint8)
    out = F.normalize_rgb(frames, np.array([10.0, 20, 30]), np.array([2.0, 4, 8]), to_bgr=True)
    np.testing.assert_allclose(out, (frames[..., ::-1] - [10.0, 20, 30]) / [2.0, 4, 8], rtol=1e-6)
    flow = np.random.randint(0, 256, size=(4, 3, 4)).astype(np.uint8)
    out = F.normalize_flow(flow, np.array([128.0, 127]), np.array([2.0, 4]), np.array([0.5, 3.0]))
    np.testing.assert_allclose(out[1, ..., 0], (flow[2] - 128.0) / 2 * 0.5, rtol=1e-6)
    np.testing.assert_allclose(out[1, ..., 1], (flow[3] - 127.0) / 4 * 3.0, rtol=1e-6)
    with pytest.raises(ValueError, match="pairs"):
        F.normalize_flow(flow[:3], np.zeros(2), np.ones(2))


@pytest.mark.parametrize("direction", [None, "horizontal", "vertical"])
def test_fuse_equals_crop_resize_flip_in_sequence(direction):
    frames = np.random.randint(0, 256, size=(3, 30, 40, 3)).astype(np.uint8)
    fused = F.fuse_crop_resize_flip(frames, np.array([4.6, 2.2, 30.4, 22.0]), (17, 23), "bilinear", direction)
    step = np.stack([cv2.resize(f[2:22, 5:30], (23, 17), interpolation=cv2.INTER_LINEAR) for f in frames])
    if direction is not None:
        step = F.flip_frames(step, direction)
    np.testing.assert_array_equal(fused, step)


def test_format_shape_rejects_unknown_layout():
    with pytest.raises(ValueError):
        F.format_shape(np.zeros((2, 2, 2, 3)), "NHWC", 1, 2)


def test_normalize_segments_and_as_frames():
    np.testing.assert_allclose(F.normalize_segments([[5, 10], [-1, 30]], 20.0), [[0.25, 0.5], [0.0, 1.0]])
    assert F.normalize_segments([], 20.0).shape == (0, 2)
    frames = [np.zeros((2, 3)), np.ones((2, 3))]
    assert F.as_frames(frames).shape == (2, 2, 3)
    arr = np.zeros((1, 2, 3))
    assert F.as_frames(arr) is arr
    with pytest.raises(ValueError):
        F.as_frames([])


def test_as_frames_returns_the_array_a_list_of_rows_came_from():
    arr = np.random.randint(0, 256, size=(3, 4, 5, 3)).astype(np.uint8)
    assert F.as_frames(list(arr)) is arr
    # Anything else is stacked: a replaced row, a subset, another order, rows of a view.
    rows = list(arr)
    rows[1] = rows[1].copy()
    for imgs in (rows, list(arr)[:2], [arr[1], arr[0], arr[2]], list(arr[::-1]), list(arr[:, 1:])):
        out = F.as_frames(imgs)
        assert not np.shares_memory(out, arr)
        np.testing.assert_array_equal(out, np.stack(imgs))


@pytest.mark.parametrize("shape", [(3, 5, 7, 3), (3, 5, 7), (2, 4, 6, 1), (2, 4, 6, 5)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.int64, np.bool_])
def test_flip_frames_matches_numpy_flip(shape, dtype):
    frames = (np.random.rand(*shape) * 255).astype(dtype)
    for source in (frames, frames[:, 1:4, 2:6], frames[:, :, ::-1]):
        for direction, axis in (("horizontal", 2), ("vertical", 1)):
            out = F.flip_frames(source, direction)
            assert out.dtype == source.dtype and out.flags.c_contiguous
            np.testing.assert_array_equal(out, np.flip(source, axis=axis))


@pytest.mark.parametrize("dtype", [np.uint8, np.float64, np.int64])
@pytest.mark.parametrize("to_bgr", [False, True])
def test_normalize_rgb_is_bitwise_the_float32_formula(dtype, to_bgr):
    frames = (np.random.rand(4, 9, 11, 3) * 255).astype(dtype)
    mean = np.array([123.675, 116.28, 103.53], dtype=np.float32)
    std = np.array([58.395, 57.12, 57.375], dtype=np.float32)
    for source in (frames, frames[:, ::-1], frames[:, 1:5, 2:7]):
        expected = np.array(source[..., ::-1] if to_bgr else source, dtype=np.float32)
        expected -= mean
        expected *= (1.0 / std.astype(np.float64)).astype(np.float32)
        out = F.normalize_rgb(source, mean, std, to_bgr)
        assert out.dtype == np.float32 and out.shape == source.shape
        np.testing.assert_array_equal(out, expected)
    # Channel-first underneath: the NCHW layout needs no copy.
    nchw = F.format_shape(out, "NCHW", 1, 1)
    assert nchw.flags.c_contiguous and np.shares_memory(nchw, out)


@pytest.mark.parametrize("interpolation", sorted(F.INTERPOLATIONS))
def test_resize_frames_to_the_same_size_is_what_opencv_gives(interpolation):
    frames = np.random.randint(0, 256, size=(3, 20, 30, 3)).astype(np.uint8)
    expected = np.stack([cv2.resize(f, (30, 20), interpolation=F.INTERPOLATIONS[interpolation]) for f in frames])
    np.testing.assert_array_equal(F.resize_frames(frames, (30, 20), interpolation), expected)
