"""The `VideoReader` interface every decoding backend implements, plus shared helpers.

A reader opens one video (file or frame folder) and returns exactly the frames asked for.
"""

from __future__ import annotations

import abc
import os
from types import TracebackType

import numpy as np

from vidact.errors import DecodeError


class VideoReader(abc.ABC):
    """Random access to the frames of one video.

    Frame indices are 0-based and follow the frame-count policy of
    `vidact.data.decoding.frame_index`. Readers are not thread-safe; use one per worker.

    Attributes:
        path: the file or frame folder being read.
    """

    path: str

    @property
    @abc.abstractmethod
    def num_frames(self) -> int:
        """Number of frames `get_frames` can return (counted once, then cached)."""

    @property
    @abc.abstractmethod
    def fps(self) -> float | None:
        """Average frames per second; None when the source has no timing (raw frames)."""

    @property
    def duration(self) -> float | None:
        """Length in seconds, `num_frames / fps`, so frame `i` starts at `i / fps`."""
        fps = self.fps
        return self.num_frames / fps if fps else None

    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, int]:
        """Frame size as (height, width)."""

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self.shape[0]

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self.shape[1]

    @abc.abstractmethod
    def get_frames(self, indices: np.ndarray) -> np.ndarray:
        """Decode the frames at `indices`, in the order given (duplicates allowed).

        Args:
            indices: (T,) integer frame indices in [0, num_frames).

        Returns:
            imgs: (T, H, W, 3) uint8 RGB (raw-frame Flow readers: (T, H, W, 2) x/y).

        Raises:
            IndexError: an index is outside [0, num_frames).
            DecodeError: a frame cannot be decoded; the message names the file and frame.
        """

    def close(self) -> None:
        """Release the file handles; the reader is unusable afterwards. Idempotent."""

    def __len__(self) -> int:
        return self.num_frames

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


def as_frame_indices(indices: np.ndarray, num_frames: int | None, path: str) -> np.ndarray:
    """Flatten `indices` to (T,) int64 and check them against `num_frames` (None: only >= 0).

    Raises:
        IndexError: an index is negative or not below `num_frames`.
    """
    flat = np.asarray(indices).reshape(-1)
    if flat.size and not np.issubdtype(flat.dtype, np.integer):
        if not np.all(np.equal(np.mod(flat, 1), 0)):
            raise IndexError(f"{path}: frame indices must be integers, got {flat.dtype}")
    flat = flat.astype(np.int64, copy=False)
    if flat.size:
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or (num_frames is not None and high >= num_frames):
            bad = low if low < 0 else high
            raise IndexError(
                f"{path}: frame index {bad} is out of range for a video of {num_frames} frames"
            )
    return flat


def gather_frames(frames: dict[int, np.ndarray], indices: np.ndarray) -> np.ndarray:
    """Stack decoded `frames` (frame index -> (H, W, C) array) in the order of `indices`."""
    first = next(iter(frames.values()))
    out = np.empty((len(indices), *first.shape), dtype=first.dtype)
    for pos, idx in enumerate(indices.tolist()):
        out[pos] = frames[idx]
    return out


def check_video_path(path: str | os.PathLike) -> str:
    """Return `path` as a string, raising DecodeError when it is not an existing file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DecodeError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DecodeError(f"{path}: is a directory, expected a video file")
    if os.path.getsize(path) == 0:
        raise DecodeError(f"{path}: empty file")
    return path
