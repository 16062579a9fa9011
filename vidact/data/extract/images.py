"""Decoded frames to BGR arrays, and BGR/grey arrays to JPEG files: the per-frame work of extraction."""

from __future__ import annotations

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
    # open + write + close: `open()` would add fstat and ioctl calls to every file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = memoryview(buf)
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
