"""RawFramesReader: file numbering, frame counting, RGB and Flow, missing or bad images."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from vidact.data.decoding import RawFramesReader, count_frames, open_video, read_image
from vidact.errors import DecodeError


def test_rgb_frames_by_index(frame_dirs, stamps):
    reader = RawFramesReader(frame_dirs["rgb"])  # img_00001.jpg is frame 0
    assert reader.num_frames == 16
    assert reader.shape == (48, 64)
    assert reader.fps is None and reader.duration is None
    imgs = reader.get_frames(np.array([15, 0, 0, 7]))
    assert imgs.shape == (4, 48, 64, 3) and imgs.dtype == np.uint8
    assert stamps(imgs) == [15, 0, 0, 7]
    # RGB order: the moving square is red.
    assert imgs[1, 30, 2].argmax() == 0


def test_start_index_and_template(frame_dirs, stamps):
    reader = RawFramesReader(frame_dirs["rgb"], start_index=5, filename_tmpl="img_{:05d}.jpg")
    assert reader.num_frames == 12  # img_00005 ... img_00016
    assert stamps(reader.get_frames(np.array([0, 11]))) == [4, 15]


def test_flow_frames_stack_x_and_y(frame_dirs, stamps):
    reader = RawFramesReader(frame_dirs["flow"], modality="Flow")
    assert reader.num_frames == 8
    flow = reader.get_frames(np.array([3, 1]))
    assert flow.shape == (2, 48, 64, 2)
    assert stamps(flow[..., 0]) == [3, 1]
    assert stamps(flow[..., 1]) == [103, 101]


def test_pillow_decodes_like_cv2(frame_dirs):
    indices = np.array([2, 9])
    by_cv2 = RawFramesReader(frame_dirs["rgb"]).get_frames(indices)
    by_pillow = RawFramesReader(frame_dirs["rgb"], decoding_backend="pillow").get_frames(indices)
    np.testing.assert_allclose(by_cv2, by_pillow, atol=8)  # JPEG decoders may round apart


def test_count_stops_at_first_gap(frame_dirs, tmp_path):
    folder = tmp_path / "frames"
    shutil.copytree(frame_dirs["rgb"], folder)
    (folder / "img_00011.jpg").unlink()
    assert count_frames(folder, "rawframes") == 10
    flow = tmp_path / "flow"
    shutil.copytree(frame_dirs["flow"], flow)
    (flow / "y_00006.jpg").unlink()
    assert count_frames(flow, "rawframes", modality="Flow") == 5


def test_missing_and_corrupt_images_name_the_file(frame_dirs, tmp_path):
    reader = open_video(frame_dirs["rgb"], "rawframes")
    with pytest.raises(DecodeError, match=r"img_00017\.jpg: frame image not found"):
        reader.get_frames(np.array([16]))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DecodeError, match=r"bad\.jpg: not a decodable image"):
        read_image(str(bad), grayscale=False)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError, match=r"empty\.jpg: not a decodable image"):
        read_image(str(empty), grayscale=True, backend="pillow")


def test_bad_arguments(frame_dirs, tmp_path):
    with pytest.raises(DecodeError, match="no such frame folder"):
        RawFramesReader(tmp_path / "nope")
    with pytest.raises(ValueError, match="modality"):
        RawFramesReader(frame_dirs["rgb"], modality="Depth")
    with pytest.raises(ValueError, match="decoding_backend"):
        RawFramesReader(frame_dirs["rgb"], decoding_backend="tifffile")
