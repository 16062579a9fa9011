"""Decoded frames to BGR arrays, and BGR/grey arrays to JPEG files: the per-frame work of extraction."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
from pathlib import Path

import cv2
import numpy as np

# BT.601 limited range is what OpenCV's I420 conversion assumes; other frames go through swscale.
_CV2_COLORSPACES = {0, 2, 5, 6}  # unspecified / reserved, unspecified, BT.470BG, SMPTE 170M
_CV2_RANGES = {0, 1}  # unspecified, MPEG (limited)


def to_bgr(frame) -> np.ndarray:
    """(H, W, 3) uint8 BGR of a decoded frame.

    8-bit 4:2:0 BT.601 frames (most web video) are converted by OpenCV, ~10x faster than
    swscale's bgr24 here and within 3 levels of it (chroma upsampling differs).
    """
    return BgrConverter()(frame)


class BgrConverter:
    """`to_bgr` for the frames of one video, reusing its buffers from frame to frame.

    The I420 planes are copied straight from the frame's buffers into one reused array, the
    layout OpenCV converts: ~5x cheaper than `to_ndarray(format='yuv420p')`, which stacks
    three fresh copies, and the same bytes. With `reuse_output` the BGR array is reused as
    well, so each result is valid only until the next call (for callers that consume it at once).
    """

    def __init__(self, *, reuse_output: bool = False) -> None:
        self.reuse_output = reuse_output
        self._i420: np.ndarray | None = None
        self._bgr: np.ndarray | None = None

    def __call__(self, frame) -> np.ndarray:
        if not (frame.format.name == "yuv420p" and frame.colorspace in _CV2_COLORSPACES
                and frame.color_range in _CV2_RANGES and frame.width % 2 == 0 and frame.height % 2 == 0):
            return frame.to_ndarray(format="bgr24")
        height, width = frame.height, frame.width
        if self._i420 is None or self._i420.shape != (height * 3 // 2, width):
            self._i420 = np.empty((height * 3 // 2, width), np.uint8)
            self._bgr = None
        i420 = self._i420
        if not _copy_planes(frame, i420, width, height):
            i420[:] = frame.to_ndarray(format="yuv420p")
        if not self.reuse_output:
            return cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
        if self._bgr is None:
            self._bgr = np.empty((height, width, 3), np.uint8)
        return cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420, dst=self._bgr)


def _copy_planes(frame, i420: np.ndarray, width: int, height: int) -> bool:
    """Copy the Y, U and V planes of a yuv420p `frame` into `i420` ((H * 3 / 2, W), Y then U
    then V, rows unpadded); False when a plane's layout is unexpected (the caller falls back)."""
    flat = i420.reshape(-1)
    offset = 0
    for plane, (w, h) in zip(frame.planes, ((width, height), (width // 2, height // 2), (width // 2, height // 2))):
        line = plane.line_size
        if line < w or plane.buffer_size < line * h:
            return False
        rows = np.frombuffer(plane, np.uint8, count=line * h).reshape(h, line)
        flat[offset:offset + w * h].reshape(h, w)[:] = rows[:, :w]
        offset += w * h
    return True


def write_jpeg(path: str | os.PathLike, img: np.ndarray, quality: int) -> None:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"{path}: JPEG encoding failed")
    # open + write + close: `open()` would add fstat and ioctl calls to every file. 0666 less
    # the umask: the mode `open()` gives.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        data = memoryview(buf)
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


class JpegWriter:
    """Writes `tmpl.format(1)`, `tmpl.format(2)`... in order, on one helper thread when `threaded`.

    cv2.imencode and os.write release the GIL, so encoding batch k overlaps decoding batch k + 1;
    batches of a few frames keep the hand-over cost per frame small.
    """

    BATCH = 8

    def __init__(self, folder: Path, tmpl: str, quality: int, *, threaded: bool = False) -> None:
        self.folder, self.tmpl, self.quality, self.count = folder, tmpl, quality, 0
        self._prefix = os.path.join(folder, "")  # str paths: no pathlib object per frame
        self._pool = cf.ThreadPoolExecutor(1, thread_name_prefix="jpeg") if threaded else None
        self._batch: list[tuple[str, np.ndarray]] = []
        self._pending: collections.deque[cf.Future] = collections.deque()

    def add(self, img: np.ndarray) -> None:
        self.count += 1
        path = self._prefix + self.tmpl.format(self.count)
        if self._pool is None:
            write_jpeg(path, img, self.quality)
            return
        self._batch.append((path, img))
        if len(self._batch) == self.BATCH:
            self._submit()

    def _submit(self) -> None:
        self._pending.append(self._pool.submit(_write_batch, self._batch, self.quality))
        self._batch = []
        while len(self._pending) > 2:  # bounded memory; raises the first encoding error
            self._pending.popleft().result()

    def __enter__(self) -> JpegWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is None:
            return
        try:
            if exc_info[0] is None and self._batch:
                self._submit()
            for future in self._pending:
                if exc_info[0] is None:
                    future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _write_batch(batch: list[tuple[str, np.ndarray]], quality: int) -> None:
    for path, img in batch:
        write_jpeg(path, img, quality)
