"""Reference-named decode steps: required and added result keys, frame semantics."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from vidact.data.decoding import (
    DecordDecode,
    DecordInit,
    FrameSelector,
    OpenCVDecode,
    OpenCVInit,
    PyAVDecode,
    PyAVInit,
    RawFrameDecode,
)
from vidact.errors import DecodeError

HAS_DECORD = importlib.util.find_spec("decord") is not None

VIDEO_STEPS = [
    (PyAVInit(), PyAVDecode()),
    (PyAVInit(), PyAVDecode(multi_thread=True)),
    (OpenCVInit(), OpenCVDecode()),
    pytest.param(
        DecordInit, DecordDecode, marks=pytest.mark.skipif(not HAS_DECORD, reason="no decord")
    ),
]


@pytest.mark.parametrize(("init", "decode"), VIDEO_STEPS)
def test_video_init_and_decode(init, decode, long_gop_video, reference_frames, stamps):
    if isinstance(init, type):
        init, decode = init(), decode()
    results = init({"filename": str(long_gop_video), "label": 3})
    assert results["total_frames"] == 300
    assert results["video_reader"] is not None
    # A TSM 1x1x8 sample as SampleFrames leaves it: (num_clips, clip_len) flattened later.
    frame_inds = np.array([[20], [57], [94], [131], [168], [205], [242], [299]])
    results["frame_inds"] = frame_inds
    results = decode(results)
    assert results["frame_inds"].shape == (8,)
    assert results["video_reader"] is None
    assert isinstance(results["imgs"], list) and len(results["imgs"]) == 8
    assert all(img.shape == (48, 64, 3) and img.dtype == np.uint8 for img in results["imgs"])
    assert results["img_shape"] == results["original_shape"] == (48, 64)
    assert stamps(results["imgs"]) == frame_inds.ravel().tolist()
    ref = reference_frames["long_gop"][frame_inds.ravel()]
    np.testing.assert_allclose(np.stack(results["imgs"]), ref, atol=2)
    assert results["label"] == 3


def test_opencv_init_sets_new_path(short_video):
    results = OpenCVInit()({"filename": str(short_video)})
    assert results["new_path"] == str(short_video)
    assert results["total_frames"] == 48


def test_init_steps_raise_decode_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    for init in (PyAVInit(), OpenCVInit()):
        with pytest.raises(DecodeError, match=r"bad\.mp4"):
            init({"filename": str(bad)})


def test_rawframe_decode_rgb_uses_file_numbers(frame_dirs, stamps):
    # SampleFrames already added start_index (1): frame_inds are file numbers.
    results = {
        "frame_dir": str(frame_dirs["rgb"]),
        "filename_tmpl": "img_{:05}.jpg",
        "modality": "RGB",
        "start_index": 1,
        "frame_inds": np.array([1, 16, 16, 4]),
    }
    results = RawFrameDecode()(results)
    assert stamps(results["imgs"]) == [0, 15, 15, 3]
    assert results["img_shape"] == results["original_shape"] == (48, 64)
    assert results["imgs"][0].shape == (48, 64, 3)


def test_rawframe_decode_offset(frame_dirs, stamps):
    results = {
        "frame_dir": frame_dirs["rgb"],
        "filename_tmpl": "img_{:05}.jpg",
        "frame_inds": np.array([1, 2]),
        "offset": 10,
    }
    assert stamps(RawFrameDecode()(results)["imgs"]) == [10, 11]


def test_rawframe_decode_flow_interleaves_x_and_y(frame_dirs, stamps):
    results = {
        "frame_dir": str(frame_dirs["flow"]),
        "filename_tmpl": "{}_{:05d}.jpg",
        "modality": "Flow",
        "frame_inds": np.array([2, 5]),
    }
    results = RawFrameDecode(decoding_backend="pillow")(results)
    assert [img.shape for img in results["imgs"]] == [(48, 64)] * 4
    assert stamps(results["imgs"]) == [1, 101, 4, 104]  # x_2, y_2, x_5, y_5
    assert results["img_shape"] == (48, 64)


def test_frame_selector_is_a_deprecated_rawframe_decode(frame_dirs, stamps):
    with pytest.warns(FutureWarning, match="RawFrameDecode"):
        step = FrameSelector(decoding_backend="cv2")
    assert isinstance(step, RawFrameDecode)
    results = {"frame_dir": frame_dirs["rgb"], "filename_tmpl": "img_{:05}.jpg",
               "modality": "RGB", "frame_inds": np.array([3])}
    assert stamps(step(results)["imgs"]) == [2]


def test_rawframe_decode_missing_file(frame_dirs):
    results = {"frame_dir": frame_dirs["rgb"], "filename_tmpl": "img_{:05}.jpg",
               "modality": "RGB", "frame_inds": np.array([1, 40])}
    with pytest.raises(DecodeError, match=r"img_00040\.jpg"):
        RawFrameDecode()(results)


def test_only_disk_io_backend():
    with pytest.raises(ValueError, match="io_backend 'petrel'"):
        PyAVInit(io_backend="petrel")
    with pytest.raises(TypeError, match="unexpected arguments"):
        OpenCVInit(path_mapping={"a": "b"})
    with pytest.raises(ValueError, match="decoding_backend"):
        RawFrameDecode(decoding_backend="tifffile")


def test_reprs():
    assert repr(PyAVInit()) == "PyAVInit(io_backend=disk)"
    assert repr(PyAVDecode(multi_thread=True)) == "PyAVDecode(multi_thread=True, mode=accurate)"
    assert repr(DecordDecode(mode="efficient")) == "DecordDecode(mode=efficient)"
    assert repr(DecordInit(num_threads=2)) == "DecordInit(io_backend=disk, num_threads=2)"
    assert repr(RawFrameDecode()) == "RawFrameDecode(io_backend=disk, decoding_backend=cv2)"


@pytest.mark.skipif(HAS_DECORD, reason="decord is installed")
def test_decord_init_without_decord_says_how_to_install(short_video):
    with pytest.raises(ImportError, match="pip install"):
        DecordInit()({"filename": str(short_video)})


EFFICIENT_INDS = [0, 5, 11, 12, 13, 30, 47, 20, 3]
# short_gop: 48 frames, a key frame every 12. The reference's PyAVDecode(mode='efficient') seeks to
# the key frame at or before each index and returns the first frame decoded there (checked
# against its loop on this video): duplicated, approximate frames.
EFFICIENT_FRAMES = [0, 0, 0, 12, 12, 24, 36, 12, 0]


@pytest.mark.parametrize(
    ("init", "decode"),
    [(PyAVInit, PyAVDecode),
     pytest.param(DecordInit, DecordDecode, marks=pytest.mark.skipif(not HAS_DECORD, reason="no decord"))],
)
def test_efficient_mode_returns_the_key_frame_at_or_before_each_index(init, decode, videos, stamps):
    for mode, expected in (("accurate", EFFICIENT_INDS), ("efficient", EFFICIENT_FRAMES)):
        results = init()({"filename": str(videos["short_gop"])})
        results["frame_inds"] = np.array(EFFICIENT_INDS)
        out = decode(mode=mode)(results)
        assert stamps(np.stack(out["imgs"])) == expected, mode
        assert out["video_reader"] is None
    with pytest.raises(ValueError, match="mode must be 'accurate' or 'efficient', got 'fast'"):
        decode(mode="fast")


class _FakeTurboJPEG:
    """Stands in for PyTurboJPEG's decoder (same decode signature), backed by OpenCV."""

    def decode(self, data, pixel_format):
        import cv2

        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE if pixel_format == 8 else cv2.IMREAD_COLOR)
        if img is None:
            raise OSError("not a JPEG")
        return img[..., None] if pixel_format == 8 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("backend", ["cv2", "pillow", "turbojpeg"])
def test_rawframe_decode_backends_read_the_same_frames(backend, frame_dirs, stamps, monkeypatch):
    # The later 0.x accepts decoding_backend 'turbojpeg' too (with PyTurboJPEG installed).
    if backend == "turbojpeg" and importlib.util.find_spec("turbojpeg") is None:
        import sys
        import types

        fake = types.SimpleNamespace(TurboJPEG=_FakeTurboJPEG, TJPF_RGB=0, TJPF_GRAY=8)
        monkeypatch.setitem(sys.modules, "turbojpeg", fake)
        monkeypatch.setattr("vidact.data.decoding.rawframes._turbojpeg_decoder", None)
    rgb = {"frame_dir": str(frame_dirs["rgb"]), "filename_tmpl": "img_{:05}.jpg", "frame_inds": np.array([1, 16])}
    out = RawFrameDecode(decoding_backend=backend)(rgb)
    assert stamps(out["imgs"]) == [0, 15] and out["imgs"][0].shape == (48, 64, 3)
    flow = {"frame_dir": str(frame_dirs["flow"]), "filename_tmpl": "{}_{:05d}.jpg", "modality": "Flow",
            "frame_inds": np.array([2])}
    out = RawFrameDecode(decoding_backend=backend)(flow)
    assert stamps(out["imgs"]) == [1, 101] and out["imgs"][0].shape == (48, 64)


@pytest.mark.skipif(importlib.util.find_spec("turbojpeg") is not None, reason="PyTurboJPEG is installed")
def test_turbojpeg_without_pyturbojpeg_names_the_extra():
    with pytest.raises(ImportError, match=r"pip install 'vidact\[turbojpeg\]'"):
        RawFrameDecode(decoding_backend="turbojpeg")
