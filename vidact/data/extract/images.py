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
    if (frame.format.name == "yuv420p" and frame.colorspace in _CV2_COLORSPACES
            and frame.color_range in _CV2_RANGES and frame.width % 2 == 0 and frame.height % 2 == 0):
        return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")


def write_jpeg(path: Path, img: np.ndarray, quality: int) -> None:
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
        self._pool = cf.ThreadPoolExecutor(1, thread_name_prefix="jpeg") if threaded else None
        self._batch: list[tuple[Path, np.ndarray]] = []
        self._pending: collections.deque[cf.Future] = collections.deque()

    def add(self, img: np.ndarray) -> None:
        self.count += 1
        path = self.folder / self.tmpl.format(self.count)
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


def _write_batch(batch: list[tuple[Path, np.ndarray]], quality: int) -> None:
    for path, img in batch:
        write_jpeg(path, img, quality)
