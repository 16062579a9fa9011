"""Missing, empty, corrupt, truncated and zero-frame videos raise DecodeError naming the file."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from vidact.data.decoding import count_frames, open_video
from vidact.errors import DecodeError, VidactError

BACKENDS = [
    "pyav",
    "opencv",
    pytest.param("decord", marks=pytest.mark.skipif(
        importlib.util.find_spec("decord") is None, reason="no decord")),
]


@pytest.fixture(scope="module")
def broken_files(tmp_path_factory, make_video) -> dict[str, tuple]:
    """name -> (path, pattern the message must match after the path)."""
    write_video = make_video
    root = tmp_path_factory.mktemp("broken")
    good = write_video(root / "good.mp4", 24).read_bytes()
    files = {
        "missing": (root / "missing.mp4", "no such file"),
        "empty": (root / "empty.mp4", "empty file"),
        "random": (root / "random.mp4", "not a readable video"),
        # The default mp4 muxer writes its index at the end: a cut file has none.
        "truncated": (root / "truncated.mp4", "not a readable video"),
        "zero_frames": (write_video(root / "zero_frames.mp4", 0), "no video stream|no frames"),
        "directory": (root, "is a directory"),
    }
    files["empty"][0].write_bytes(b"")
    files["random"][0].write_bytes(np.random.default_rng(0).bytes(20_000))
    files["truncated"][0].write_bytes(good[: len(good) // 2])
    return files


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "name", ["missing", "empty", "random", "truncated", "zero_frames", "directory"]
)
def test_unusable_videos_raise_decode_error(broken_files, backend, name):
    path, reason = broken_files[name]
    with pytest.raises(DecodeError) as info:
        with open_video(path, backend) as reader:
            reader.get_frames(np.arange(reader.num_frames))
    message = str(info.value)
    assert message.startswith(str(path))
    if backend != "decord":
        assert re.search(reason, message), message
    assert isinstance(info.value, VidactError) and info.value.exit_code == 1


@pytest.mark.parametrize("name", ["missing", "random", "zero_frames"])
def test_count_frames_raises_too(broken_files, name):
    with pytest.raises(DecodeError, match=str(broken_files[name][0].name)):
        count_frames(broken_files[name][0])


def test_damaged_packet_in_the_middle(make_video, sequential_decode, stamps, tmp_path):
    """Zero most of one packet: frames from the next keyframe on still come back exactly."""
    import av

    path = make_video(tmp_path / "damaged.mp4", 48, gop=12)
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        victim = packets[20]
        pos, size = victim.pos, victim.size
    data = bytearray(path.read_bytes())
    data[pos + 4: pos + size] = bytes(size - 4)  # keep the NAL length prefix, zero the rest
    path.write_bytes(bytes(data))
    ref = sequential_decode(path)
    with open_video(path) as reader:
        assert reader.num_frames == 48
        got = reader.get_frames(np.array([47, 36, 40, 5]))
    assert stamps(got) == [47, 36, 40, 5]
    np.testing.assert_array_equal(got[0], ref[-1])


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown decoding backend 'ffmpeg'"):
        open_video("x.mp4", "ffmpeg")
