"""OpenCVReader returns the same frames as a sequential PyAV decode, even where OpenCV's own
frame numbering is wrong (variable frame rate)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from vidact.data.decoding import OpenCVReader, count_frames
from vidact.errors import DecodeError

VIDEOS = ["long_gop", "short_gop", "no_bframes", "mkv", "vfr_mkv"]


def _assert_same_frames(got: np.ndarray, ref: np.ndarray, stamps) -> None:
    assert stamps(got) == stamps(ref)
    # Both use FFmpeg's decoder; the RGB conversion may round differently across builds.
    np.testing.assert_allclose(got, ref, atol=2)


@pytest.mark.parametrize("name", VIDEOS)
def test_frames_match_sequential_pyav_decode(videos, reference_frames, stamps, name):
    ref = reference_frames[name]
    rng = np.random.default_rng(7)
    with OpenCVReader(videos[name]) as reader:
        assert reader.num_frames == len(ref) == count_frames(videos[name], "opencv")
        index_sets = [np.array([len(ref) - 1, 0]), np.arange(len(ref))[::-1]]
        index_sets += [rng.integers(0, len(ref), size=8) for _ in range(10)]
        for indices in index_sets:
            _assert_same_frames(reader.get_frames(indices), ref[indices], stamps)


def test_variable_frame_rate_falls_back_to_sequential_reads(videos, stamps, caplog):
    import cv2

    path = videos["vfr_mkv"]
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    # OpenCV estimates the count from duration x fps: wrong for this file.
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) != 60
    cap.release()
    with caplog.at_level(logging.WARNING), OpenCVReader(path) as reader:
        assert reader.num_frames == 60
        for indices in ([3, 58], [25], [45, 5, 31]):  # seeks forward, then back
            assert stamps(reader.get_frames(np.array(indices))) == indices
    assert "reading sequentially" in caplog.text


def test_seeks_only_when_it_saves_decoding(videos, monkeypatch):
    with OpenCVReader(videos["short_gop"]) as reader:  # keyframes every 12 frames
        seeks = []
        seek = reader._seek
        monkeypatch.setattr(reader, "_seek", lambda target: seeks.append(target) or seek(target))
        reader.get_frames(np.array([1, 5, 20, 40, 43]))
        # OpenCV's seek to t restarts at the keyframe before t - 16: for 20 that is 0, so
        # grab on; for 40 it is 24, past the position (21): seek; 43: grab on.
        assert seeks == [40]
        reader.get_frames(np.array([2]))
        assert seeks == [40, 2]  # going back


def test_stream_without_timestamps_reads_sequentially(raw_h264_video, sequential_decode,
                                                      stamps):
    ref = sequential_decode(raw_h264_video)
    with OpenCVReader(raw_h264_video) as reader:
        assert reader.num_frames == len(ref)
        indices = np.array([20, 3, 3, 23])
        _assert_same_frames(reader.get_frames(indices), ref[indices], stamps)
        _assert_same_frames(reader.get_frames(np.array([1])), ref[[1]], stamps)


def test_damaged_file_raises_for_frames_opencv_cannot_reach(truncated_faststart_video):
    with OpenCVReader(truncated_faststart_video) as reader:
        reader.get_frames(np.array([0, 50]))
        with pytest.raises(DecodeError, match=r"cut\.mp4: frame \d+ could not be decoded"):
            reader.get_frames(np.arange(reader.num_frames))


def test_closed_reader(short_video):
    reader = OpenCVReader(short_video)
    assert reader.shape == (48, 64) and reader.fps == pytest.approx(30)
    reader.close()
    with pytest.raises(DecodeError, match="closed"):
        reader.get_frames(np.array([0]))
