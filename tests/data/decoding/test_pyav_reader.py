"""PyAVReader returns exactly the requested frames and seeks only where it saves decoding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.data.decoding import PyAVReader
from vidact.errors import DecodeError

VIDEOS = ["long_gop", "short_gop", "no_bframes", "mkv", "vfr_mkv"]


def _random_index_sets(num_frames: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sets = [
        np.array([num_frames - 1]),
        np.array([num_frames - 1, 0, num_frames - 1, 0]),
        np.arange(num_frames)[::-1],
    ]
    for _ in range(20):
        sets.append(rng.integers(0, num_frames, size=rng.integers(1, 12)))
    return sets


@pytest.mark.parametrize("name", VIDEOS)
@pytest.mark.parametrize("multi_thread", [False, True])
def test_frames_match_sequential_decode(videos, reference_frames, name, multi_thread):
    ref = reference_frames[name]
    with PyAVReader(videos[name], multi_thread=multi_thread) as reader:
        assert reader.num_frames == len(ref)
        for indices in _random_index_sets(len(ref), seed=len(name)):
            np.testing.assert_array_equal(reader.get_frames(indices), ref[indices])


@settings(max_examples=30)
@given(indices=st.lists(st.integers(0, 299), min_size=1, max_size=16))
def test_long_gop_any_index_list(long_gop_video, reference_frames, indices):
    indices = np.array(indices)
    with PyAVReader(long_gop_video) as reader:
        np.testing.assert_array_equal(
            reader.get_frames(indices), reference_frames["long_gop"][indices]
        )


def test_stamps_follow_requested_order(short_video, stamps):
    with PyAVReader(short_video) as reader:
        assert stamps(reader.get_frames(np.array([47, 3, 3, 20, 0]))) == [47, 3, 3, 20, 0]


def test_skipping_nonref_frames_changes_nothing(long_gop_video):
    indices = np.array([5, 77, 78, 160, 249, 250, 251, 299])
    with PyAVReader(long_gop_video, skip_nonref=False) as plain:
        expected = plain.get_frames(indices)
    with PyAVReader(long_gop_video) as reader:
        np.testing.assert_array_equal(reader.get_frames(indices), expected)


def test_metadata(short_video, videos):
    with PyAVReader(short_video) as reader:
        assert (reader.num_frames, len(reader)) == (48, 48)
        assert reader.fps == pytest.approx(30.0)
        assert reader.duration == pytest.approx(48 / 30)
        assert reader.shape == (48, 64)
        assert (reader.height, reader.width) == (48, 64)
    with PyAVReader(videos["long_gop"]) as reader:
        assert reader.frame_index.keyframes.tolist() == [0, 250]


def _spy(reader: PyAVReader) -> dict[str, list[int]]:
    """Record each seek's keyframe and each decoded frame's index."""
    calls: dict[str, list[int]] = {"seeks": [], "decoded": []}
    restart, iter_frames = reader._restart, reader._iter_frames

    def spy_restart(decoder, key, wanted_pts):
        calls["seeks"].append(key)
        return restart(decoder, key, wanted_pts)

    def spy_iter(wanted_pts):
        for idx, frame in iter_frames(wanted_pts):
            calls["decoded"].append(idx)
            yield idx, frame

    reader._restart, reader._iter_frames = spy_restart, spy_iter
    return calls


def test_tsm_clip_decodes_each_gop_once(long_gop_video):
    # 8 segments of 300 frames (TSM 1x1x8): keyframes are 0 and 250.
    indices = np.arange(8) * 37 + 20
    with PyAVReader(long_gop_video, skip_nonref=False) as reader:
        calls = _spy(reader)
        reader.get_frames(indices)
    assert calls["seeks"] == [0, 250]
    decoded = [i for i in calls["decoded"] if i is not None]
    assert len(decoded) == len(set(decoded))  # no frame decoded twice
    assert max(decoded) <= indices.max() + 4  # stops soon after the last frame (B delay)


def test_seeks_skip_whole_gops(videos):
    with PyAVReader(videos["short_gop"], skip_nonref=False) as reader:  # keyframes every 12
        calls = _spy(reader)
        reader.get_frames(np.array([40, 2, 5, 26]))
    assert calls["seeks"] == [0, 24, 36]
    decoded = set(calls["decoded"])
    assert decoded.isdisjoint(range(8, 24)) and decoded.isdisjoint(range(30, 36))


def test_nonref_frames_not_needed_are_not_decoded(long_gop_video):
    with PyAVReader(long_gop_video) as reader:
        calls = _spy(reader)
        reader.get_frames(np.array([120]))
    decoded = [i for i in calls["decoded"] if i is not None]
    assert 120 in decoded
    assert len(decoded) < 100  # x264's non-reference B-frames before 120 were skipped


def test_num_frames_ignores_missing_metadata(videos):
    import av

    with av.open(str(videos["mkv"])) as container:
        assert container.streams.video[0].frames == 0  # Matroska has no frame count
    with PyAVReader(videos["mkv"]) as reader:
        assert reader.num_frames == 40


def test_truncated_file_counts_and_returns_the_frames_left(
    truncated_faststart_video, sequential_decode
):
    import av

    with av.open(str(truncated_faststart_video)) as container:
        assert container.streams.video[0].frames == 300  # metadata lies
    ref = sequential_decode(truncated_faststart_video)
    with PyAVReader(truncated_faststart_video) as reader:
        assert reader.num_frames == len(ref) < 300
        np.testing.assert_array_equal(reader.get_frames(np.arange(len(ref))), ref)


def test_stream_without_timestamps_decodes_sequentially(raw_h264_video, sequential_decode):
    ref = sequential_decode(raw_h264_video)
    with PyAVReader(raw_h264_video) as reader:
        assert not reader.frame_index.seekable
        assert reader.num_frames == len(ref) == 24
        indices = np.array([23, 0, 7, 7])
        np.testing.assert_array_equal(reader.get_frames(indices), ref[indices])
        np.testing.assert_array_equal(reader.get_frames(np.array([1])), ref[[1]])


def test_multi_thread_can_change_between_calls(short_video, reference_frames):
    ref = reference_frames["short_gop"]
    with PyAVReader(short_video) as reader:
        np.testing.assert_array_equal(reader.get_frames(np.array([30])), ref[[30]])
        reader.multi_thread = True
        np.testing.assert_array_equal(reader.get_frames(np.array([10, 47])), ref[[10, 47]])


def test_bad_indices_and_closed_reader(short_video):
    reader = PyAVReader(short_video)
    assert reader.get_frames(np.array([], dtype=int)).shape == (0, 48, 64, 3)
    assert reader.get_frames(np.array([[1], [2]])).shape == (2, 48, 64, 3)
    with pytest.raises(IndexError, match="frame index 48 is out of range"):
        reader.get_frames(np.array([0, 48]))
    with pytest.raises(IndexError, match="-1"):
        reader.get_frames(np.array([-1]))
    reader.close()
    reader.close()
    with pytest.raises(DecodeError, match="closed"):
        reader.get_frames(np.array([0]))


def test_rgb_conversion_is_pyavs_to_ndarray(tmp_path):
    """The reader's shared single-threaded reformatter gives `to_ndarray('rgb24')`'s pixels, on
    a textured 340x256 video (rows of 1020 bytes: padded in FFmpeg's buffers)."""
    import av

    path = tmp_path / "texture.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 340, 256, "yuv420p"
        for _ in range(6):
            img = rng.integers(0, 256, (256, 340, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        expected = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    with PyAVReader(path) as reader:
        np.testing.assert_array_equal(reader.get_frames(np.arange(6)[::-1]), expected[::-1])
