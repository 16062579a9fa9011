"""Tiny media for the dataset tests: H.264 videos, broken videos, RGB and flow frame folders.

Every frame carries its index as a grey level (index * 8) in its top-left 8x8 corner and a white
square that moves right one step per frame, so tests can tell which frames a dataset returned.
Written once per session under a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

WIDTH, HEIGHT = 48, 32


def frame_image(index: int) -> np.ndarray:
    """(HEIGHT, WIDTH, 3) uint8 RGB frame `index`."""
    img = np.full((HEIGHT, WIDTH, 3), 40, dtype=np.uint8)
    img[:8, :8] = min(255, index * 8)
    x = 8 + (index * 2) % (WIDTH - 16)
    img[16:24, x:x + 8] = 255
    return img


def frame_index(img: np.ndarray) -> int:
    """The index stamped in an (H, W[, C]) frame by `frame_image` (lossy codecs round it)."""
    return int(round(float(np.mean(img[2:6, 2:6])) / 8))


def write_video(path: Path, num_frames: int, fps: int = 25) -> Path:
    """Encode `num_frames` stamped frames with libx264 (a valid, empty container when 0)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "10"}
        container.start_encoding()
        for i in range(num_frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame_image(i), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_frames(folder: Path, num_frames: int, *, start_index: int = 1, flow: bool = False,
                 tmpl: str | None = None) -> Path:
    """Write frames `img_00001.jpg`... (or flow `x_00001.jpg` / `y_00001.jpg`, x stamped with i and y
    with i + 10) numbered from `start_index`."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(num_frames):
        number = i + start_index
        if flow:
            for axis, value in (("x", i), ("y", i + 10)):
                name = (tmpl or "{}_{:05d}.jpg").format(axis, number)
                cv2.imwrite(str(folder / name), frame_image(value)[..., 0])
        else:
            name = (tmpl or "img_{:05}.jpg").format(number)
            cv2.imwrite(str(folder / name), cv2.cvtColor(frame_image(i), cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 98])
    return folder


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    """A data folder with videos/ (good and broken) and frames/ (RGB and flow folders)."""
    root = tmp_path_factory.mktemp("media")
    videos = root / "videos"
    videos.mkdir()
    for name, num_frames in (("v0", 16), ("v1", 12), ("v2", 20), ("v3", 9)):
        write_video(videos / f"{name}.mp4", num_frames)
    good = (videos / "v0.mp4").read_bytes()
    (videos / "garbage.mp4").write_bytes(b"this is not a video" * 50)
    (videos / "truncated.mp4").write_bytes(good[: len(good) // 3])
    write_video(videos / "empty.mp4", 0)
    frames = root / "frames"
    write_frames(frames / "f0", 10)
    write_frames(frames / "f1", 7)
    write_frames(frames / "zero_based", 6, start_index=0)
    write_frames(frames / "flow0", 6, flow=True)
    gap = write_frames(frames / "gap", 8)
    (gap / "img_00004.jpg").unlink()
    return root


@pytest.fixture
def write_list(tmp_path: Path):
    """Write an annotation file from lines and return its path."""

    def write(lines: list[str], name: str = "ann.txt") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    return write
