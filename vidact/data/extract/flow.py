"""Optical flow between consecutive written frames, stored as bounded JPEG pairs (x_k, y_k)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidact.data.extract.images import write_jpeg
from vidact.data.extract.options import FLOW_TMPL, ExtractOptions


class FlowWriter:
    """Writes x_k/y_k, the flow from written frame k to frame k + 1, as bounded JPEGs."""

    def __init__(self, folder: Path, options: ExtractOptions) -> None:
        self.folder, self.options = folder, options
        self.count = 0
        self._prev: np.ndarray | None = None
        self._dis = (cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
                     if options.flow_algo == "dis" else None)

    def add(self, bgr: np.ndarray) -> None:
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        if self._prev is not None:
            self.count += 1
            xy = quantize_flow(self._flow(self._prev, grey), self.options.bound)
            for axis, channel in (("x", xy[..., 0]), ("y", xy[..., 1])):
                write_jpeg(self.folder / FLOW_TMPL.format(axis, self.count), channel, self.options.quality)
        self._prev = grey

    def _flow(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        if self._dis is not None:
            return self._dis.calc(prev, cur, None)
        return cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    def manifest(self) -> dict[str, Any]:
        return {"count": self.count, "filename_tmpl": "{}_{:05}.jpg", "start_index": 1,
                "algo": self.options.flow_algo, "bound": self.options.bound,
                "pairs": "flow k is written frame k -> written frame k + 1",
                "encoding": "uint8 = round(clip(flow, -bound, bound) * 255 / (2 * bound) + 128)"}


def quantize_flow(flow: np.ndarray, bound: float) -> np.ndarray:
    """Flow `(H, W, 2) float32` in pixels to `(H, W, 2) uint8`, 128 meaning zero motion.

    `clip(flow, -bound, bound) * 255 / (2 * bound) + 128`, rounded and clipped to [0, 255].
    """
    scaled = np.clip(flow, -bound, bound) * (255.0 / (2.0 * bound)) + 128.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)

