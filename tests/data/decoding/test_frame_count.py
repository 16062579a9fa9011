"""One frame-count policy: count_frames agrees with what every reader returns."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vidact.data.decoding import (
    OpenCVReader,
    PyAVReader,
    RawFramesReader,
    count_frames,
    open_video,
)


@pytest.mark.parametrize("name", ["long_gop", "short_gop", "no_bframes", "mkv", "vfr_mkv"])
@pytest.mark.parametrize("backend", ["pyav", "opencv"])
def test_count_equals_sequential_decode(videos, reference_frames, name, backend):
    assert count_frames(videos[name], backend) == len(reference_frames[name])


def test_count_of_truncated_and_raw_streams(
    truncated_faststart_video, raw_h264_video, sequential_decode
):
    for path in (truncated_faststart_video, raw_h264_video):
        assert count_frames(path) == len(sequential_decode(path))


def test_count_of_frame_folders(frame_dirs):
    assert count_frames(frame_dirs["rgb"], "rawframes") == 16
    assert count_frames(frame_dirs["flow"], "rawframes", modality="Flow") == 8


def test_last_counted_frame_is_readable_by_every_backend(videos, stamps):
    for name in ("long_gop", "vfr_mkv"):
        last = count_frames(videos[name]) - 1
        for backend in ("pyav", "opencv"):
            with open_video(videos[name], backend) as reader:
                assert stamps(reader.get_frames(np.array([last]))) == [last]


def test_open_video_picks_the_reader(videos, frame_dirs):
    with open_video(videos["short_gop"]) as reader:
        assert isinstance(reader, PyAVReader)
    with open_video(videos["short_gop"], "opencv", num_threads=2) as reader:
        assert isinstance(reader, OpenCVReader)
    with open_video(frame_dirs["rgb"], "rawframes", start_index=1) as reader:
        assert isinstance(reader, RawFramesReader)


def test_decord_is_imported_only_when_chosen():
    code = (
        "import sys, vidact.data.decoding as d; "
        "assert 'decord' not in sys.modules, 'decord imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
