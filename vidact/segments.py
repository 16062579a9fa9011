"""Broadcast kernels over temporal segments: pairwise IoU and IoP of (N, 2) against (M, 2).

Every public IoU/IoP function (`pairwise_temporal_iou`, `temporal_iou`, `temporal_iop`, the
evaluation matchers) calls these, so the arithmetic is written once. The operation order matches
the ActivityNet evaluation kit (`union = len_a + len_b - inter`) so results agree bit for bit.
"""

from __future__ import annotations

import numpy as np


def as_segments(x: np.ndarray | list, name: str = "segments") -> np.ndarray:
    """Coerce `x` to a float64 array of shape (N, 2) (a single [start, end] becomes (1, 2))."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2:
        if arr.size == 0:
            return arr.reshape(0, 2)
        raise ValueError(f"{name}: expected shape (N, 2) of [start, end], got {arr.shape}")
    return arr


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Overlap length of every segment in a: (N, 2) with every segment in b: (M, 2) -> (N, M)."""
    start = np.maximum(a[:, None, 0], b[None, :, 0])
    end = np.minimum(a[:, None, 1], b[None, :, 1])
    return np.clip(end - start, 0.0, None)


def segment_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Temporal IoU of a: (N, 2) against b: (M, 2) -> (N, M) float64.

    Zero-length unions give NaN (0/0), as the reference kit does; callers decide the policy.
    """
    inter = intersection(a, b)
    union = (a[:, None, 1] - a[:, None, 0]) + (b[None, :, 1] - b[None, :, 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def segment_iop(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over the length of each segment of a: (N, 2), against b: (M, 2) -> (N, M)."""
    inter = intersection(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / (a[:, None, 1] - a[:, None, 0])
