"""`DecordReader`: random access to video files with decord, when it is installed.

decord is optional (`pip install vidact[decord]`) and imported only when a reader is made.
"""

from __future__ import annotations

import os

import numpy as np

from vidact.data.decoding.base import VideoReader, as_frame_indices, check_video_path
from vidact.errors import DecodeError


def import_decord():
    """Import decord or raise an ImportError that says how to install it."""
    try:
        import decord
    except ImportError as exc:
        raise ImportError(
            "the decord backend needs decord: pip install 'vidact[decord]' (or decord>=0.6)"
        ) from exc
    return decord


class DecordReader(VideoReader):
    """Read frames of a video file with decord's `VideoReader` (decodes from its keyframe index).

    The frame count is `len(decord.VideoReader)`, which decord builds from the demuxed
    packets as `vidact.data.decoding.frame_index` does.

    Args:
        path: video file.
        num_threads: decoder threads (0: decord's choice).

    Raises:
        ImportError: decord is not installed.
        DecodeError: the file is missing or decord cannot open it.
    """

    def __init__(self, path: str | os.PathLike, *, num_threads: int = 1) -> None:
        decord = import_decord()
        self.path = check_video_path(path)
        self.num_threads = num_threads
        try:
            self._reader = decord.VideoReader(
                self.path, ctx=decord.cpu(0), num_threads=num_threads
            )
        except Exception as exc:  # decord raises its own DECORDError (a RuntimeError) or others
            raise DecodeError(f"{self.path}: decord cannot open the video ({exc})") from exc
        self._num_frames = len(self._reader)
        if self._num_frames == 0:
            raise DecodeError(f"{self.path}: the video stream has no frames")
        self._shape: tuple[int, int] | None = None

    def close(self) -> None:
        """Drop the decord reader. Idempotent."""
        self._reader = None

    @property
    def num_frames(self) -> int:
        return self._num_frames

    @property
    def fps(self) -> float:
        return float(self._require_reader().get_avg_fps())

    @property
    def keyframes(self) -> np.ndarray:
        """Sorted indices of the key frames (decord's index of the demuxed packets)."""
        return np.asarray(self._require_reader().get_key_indices(), dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        if self._shape is None:
            self._shape = tuple(self._require_reader()[0].shape[:2])
        return self._shape

    def get_frames(self, indices: np.ndarray) -> np.ndarray:
        reader = self._require_reader()
        indices = as_frame_indices(indices, self.num_frames, self.path)
        if indices.size == 0:
            return np.zeros((0, *self.shape, 3), dtype=np.uint8)
        wanted, inverse = np.unique(indices, return_inverse=True)
        try:
            frames = reader.get_batch(wanted.tolist()).asnumpy()
        except Exception as exc:
            raise DecodeError(
                f"{self.path}: frames {wanted.tolist()} could not be decoded ({exc})"
            ) from exc
        return frames[inverse.reshape(-1)]

    def _require_reader(self):
        if self._reader is None:
            raise DecodeError(f"{self.path}: the reader is closed")
        return self._reader
