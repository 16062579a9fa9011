"""Tiny videos written with PyAV/libx264 and frame folders written with OpenCV.

Every frame carries its own index as 16 bit cells (8x8 pixels, white = 1) in the top two
rows, plus a red square moving right below them, so tests can tell exactly which frame a
reader returned. Videos are written once per session.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

WIDTH, HEIGHT = 64, 48
CELL = 8


def stamp_frame(index: int) -> np.ndarray:
    """The (HEIGHT, WIDTH, 3) uint8 RGB image of frame `index`."""
    img = np.full((HEIGHT, WIDTH, 3), 60, dtype=np.uint8)
    for bit in range(16):
        if (index >> bit) & 1:
            y, x = (bit // 8) * CELL, (bit % 8) * CELL
            img[y:y + CELL, x:x + CELL] = 255
    x = (index * 3) % (WIDTH - CELL)
    img[24:40, x:x + CELL] = (255, 0, 0)
    return img


def read_stamp(img: np.ndarray) -> int:
    """The frame index encoded in an RGB (H, W, 3) or grey (H, W) image."""
    grey = img if img.ndim == 2 else img.mean(axis=-1)
    value = 0
    for bit in range(16):
        y, x = (bit // 8) * CELL, (bit % 8) * CELL
        if grey[y + 2:y + CELL - 2, x + 2:x + CELL - 2].mean() > 157:
            value |= 1 << bit
    return value


def write_video(
    path: Path,
    num_frames: int,
    *,
    fps: int = 30,
    gop: int = 12,
    bframes: int | None = None,
    container_format: str | None = None,
    container_options: dict[str, str] | None = None,
    frame_ms: Callable[[int], int] | None = None,
) -> Path:
    """Encode `num_frames` stamped frames with libx264 (x264 defaults: B-frames on).

    Args:
        gop: keyframe interval (scene-cut keyframes off, so keyframes are exactly every gop).
        bframes: x264 B-frames; None keeps x264's default (3).
        frame_ms: for variable frame rate, the duration in ms of frame i.
    """
    import av

    options = {"x264-params": "scenecut=0"}
    if bframes is not None:
        options["bframes"] = str(bframes)
    with av.open(str(path), "w", format=container_format,
                 options=container_options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.gop_size = gop
        stream.options = options
        if frame_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        container.start_encoding()  # writes the header even when there are no frames
        pts = 0
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(stamp_frame(i), format="rgb24")
            if frame_ms is not None:
                frame.pts, frame.time_base = pts, Fraction(1, 1000)
                pts += frame_ms(i)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_all(path: Path) -> np.ndarray:
    """Every frame of a full sequential PyAV decode, (N, H, W, 3) uint8 RGB.

    Packets the decoder rejects are skipped, as FFmpeg's command line does.
    """
    import av

    frames = []
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            try:
                frames.extend(f.to_ndarray(format="rgb24") for f in packet.decode())
            except av.FFmpegError:
                continue
    return np.stack(frames)


def _vfr_ms(i: int) -> int:
    return 20 if (i // 10) % 2 == 0 else 80


VIDEO_SPECS: dict[str, dict] = {
    # 300 frames at 30 fps, one keyframe every 250 frames, B-frames: like real downloads.
    "long_gop": dict(num_frames=300, gop=250),
    "short_gop": dict(num_frames=48, gop=12),
    "no_bframes": dict(num_frames=48, gop=16, bframes=0),
    # Matroska stores no frame count: metadata is missing.
    "mkv": dict(num_frames=40, gop=10, name="video.mkv"),
    # Frame durations alternate 20 ms / 80 ms every 10 frames.
    "vfr_mkv": dict(num_frames=60, gop=10, frame_ms=_vfr_ms, name="vfr.mkv"),
}


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    """Name -> path of each video in VIDEO_SPECS."""
    root = tmp_path_factory.mktemp("videos")
    paths = {}
    for name, spec in VIDEO_SPECS.items():
        spec = dict(spec)
        filename = spec.pop("name", f"{name}.mp4")
        paths[name] = write_video(root / filename, **spec)
    return paths


@pytest.fixture(scope="session")
def reference_frames(videos) -> dict[str, np.ndarray]:
    """Name -> full sequential decode of each video."""
    return {name: decode_all(path) for name, path in videos.items()}


@pytest.fixture(scope="session")
def long_gop_video(videos) -> Path:
    return videos["long_gop"]


@pytest.fixture(scope="session")
def short_video(videos) -> Path:
    return videos["short_gop"]


@pytest.fixture(scope="session")
def raw_h264_video(tmp_path_factory) -> Path:
    """A raw H.264 elementary stream: packets carry no timestamps."""
    path = tmp_path_factory.mktemp("raw") / "video.h264"
    return write_video(path, 24, gop=8, container_format="h264")


@pytest.fixture(scope="session")
def truncated_faststart_video(tmp_path_factory) -> Path:
    """An mp4 with its index up front, cut to 2/3: metadata says 300 frames, fewer remain."""
    root = tmp_path_factory.mktemp("truncated")
    full = write_video(root / "full.mp4", 300, gop=30,
                       container_options={"movflags": "faststart"})
    data = full.read_bytes()
    path = root / "cut.mp4"
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


@pytest.fixture(scope="session")
def frame_dirs(tmp_path_factory) -> dict[str, Path]:
    """'rgb': img_00001.jpg... (16 frames); 'flow': x_00001.jpg/y_00001.jpg (8 frames).

    Flow frame i stores stamp(i) in x and stamp(i + 100) in y, as grey images.
    """
    import cv2

    root = tmp_path_factory.mktemp("rawframes")
    rgb, flow = root / "rgb", root / "flow"
    rgb.mkdir()
    flow.mkdir()
    for i in range(16):
        bgr = cv2.cvtColor(stamp_frame(i), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(rgb / f"img_{i + 1:05d}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    for i in range(8):
        for axis, value in (("x", i), ("y", i + 100)):
            grey = stamp_frame(value)[..., 1]
            cv2.imwrite(str(flow / f"{axis}_{i + 1:05d}.jpg"), grey)
    return {"rgb": rgb, "flow": flow}


@pytest.fixture(scope="session")
def stamps() -> Callable[[np.ndarray], list[int]]:
    """Decode the frame index stamped in each image of a (T, H, W[, C]) stack."""
    return lambda imgs: [read_stamp(img) for img in imgs]


@pytest.fixture(scope="session")
def make_video() -> Callable[..., Path]:
    """`write_video(path, num_frames, **options)`, for tests that need their own video."""
    return write_video


@pytest.fixture(scope="session")
def sequential_decode() -> Callable[[Path], np.ndarray]:
    """`decode_all(path)`: the full sequential decode readers are compared with."""
    return decode_all
