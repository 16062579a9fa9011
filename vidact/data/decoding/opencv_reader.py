"""`OpenCVReader`: random access to video files with `cv2.VideoCapture` (FFmpeg backend).

OpenCV numbers frames by timestamp x fps, so its own count (`CAP_PROP_FRAME_COUNT`, estimated
from duration x fps in many containers) and its seeks (`CAP_PROP_POS_FRAMES`) are wrong for
variable-frame-rate files and some edit lists. This reader therefore takes the frame count
and timestamps from the shared demuxed `FrameIndex`, checks the timestamp of every frame it
returns against it, and when a seek lands on the wrong frame it stops seeking for that file
and reads sequentially instead, which is always exact. OpenCV stops at the first packet its
decoder rejects, so in a damaged file the frames after it raise DecodeError (PyAVReader
skips such packets and returns them).
"""

from __future__ import annotations

import logging
import os

import numpy as np

from vidact.data.decoding.base import (
    VideoReader,
    as_frame_indices,
    check_video_path,
    gather_frames,
)
from vidact.data.decoding.frame_index import FrameIndex
from vidact.errors import DecodeError

log = logging.getLogger(__name__)

# OpenCV's FFmpeg seek to frame t lands on the keyframe at or before frame t - 16.
_OPENCV_SEEK_BACKOFF = 16


class OpenCVReader(VideoReader):
    """Read frames of a video file with OpenCV, checked against the shared frame index.

    Seeking policy: frames are read in sorted order with `grab()` (decode without
    conversion); a `CAP_PROP_POS_FRAMES` seek is used only when it restarts decoding at a
    keyframe after the current position (OpenCV restarts at the keyframe before t - 16), or
    to go back. Output is converted from BGR to RGB.

    Args:
        path: video file.
        num_threads: FFmpeg decoder threads (`CAP_PROP_N_THREADS`; 0: OpenCV's choice).

    Raises:
        DecodeError: the file is missing or OpenCV cannot open it.
    """

    def __init__(self, path: str | os.PathLike, *, num_threads: int = 1) -> None:
        from vidact.data.decoding.pyav_reader import PyAVReader

        self.path = check_video_path(path)
        self.num_threads = num_threads
        # The PyAV index gives the canonical count and each frame's timestamp.
        with PyAVReader(self.path) as probe:
            self._index: FrameIndex = probe.frame_index
            self._shape = probe.shape
            self._fps = probe.fps
        self._cap = None
        self._next = 0  # index of the frame the next grab() returns
        self._can_seek = self._index.seekable
        # Half the smallest gap between frames: a neighbour's timestamp never passes.
        self._tolerance_ms = 500.0 / self._fps
        if self._index.seekable and self._index.num_frames > 1:
            gaps = np.diff(self._index.seconds_of(np.arange(self._index.num_frames)))
            self._tolerance_ms = 500.0 * float(gaps.min())
        self._open_capture()

    def _open_capture(self) -> None:
        import cv2

        if self._cap is not None:
            self._cap.release()
        # OpenCV's FFmpeg prints decoder errors to stderr unless told otherwise; we report
        # failures as DecodeError instead. Read when the first capture opens; users can
        # still set the variable themselves.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        params = [cv2.CAP_PROP_N_THREADS, self.num_threads] if self.num_threads else []
        cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            raise DecodeError(f"{self.path}: OpenCV cannot open the video")
        self._cap = cap
        self._next = 0

    def close(self) -> None:
        """Release the capture. Idempotent."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def frame_index(self) -> FrameIndex:
        """The shared demuxed frame index (see `frame_index` for the frame-count policy)."""
        return self._index

    @property
    def num_frames(self) -> int:
        return self._index.num_frames

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    def get_frames(self, indices: np.ndarray) -> np.ndarray:
        if self._cap is None:
            raise DecodeError(f"{self.path}: the reader is closed")
        indices = as_frame_indices(indices, self.num_frames, self.path)
        if indices.size == 0:
            return np.zeros((0, *self.shape, 3), dtype=np.uint8)
        frames: dict[int, np.ndarray] = {}
        for target in np.unique(indices).tolist():
            frames[target] = self._read_frame(target)
        return gather_frames(frames, indices)

    def _read_frame(self, target: int) -> np.ndarray:
        """Position the capture at `target` (seek or grab forward) and return it as RGB."""
        import cv2

        seeked = self._should_seek(target) and self._seek(target)
        if target < self._next:  # no seek possible: start over
            self._open_capture()
        while self._next < target:
            self._grab(target)
        bgr = self._retrieve(target)
        if seeked and not self._timestamp_matches(target):
            log.warning(
                "%s: OpenCV seek to frame %d returned another frame; reading sequentially",
                self.path, target,
            )
            self._can_seek = False
            self._open_capture()
            while self._next < target:
                self._grab(target)
            bgr = self._retrieve(target)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _should_seek(self, target: int) -> bool:
        """Whether a seek decodes fewer frames than grabbing forward from where we are.

        OpenCV's seek to frame t restarts at the keyframe before t - 16, so a frame just
        past a keyframe is reached from the previous one: grabbing on can be cheaper.
        """
        if not self._can_seek:
            return False
        landing = self._index.keyframe_at_or_before(max(target - _OPENCV_SEEK_BACKOFF, 0))
        return target < self._next or landing > self._next

    def _seek(self, target: int) -> bool:
        """Seek with `CAP_PROP_POS_FRAMES`; True when OpenCV accepted it."""
        import cv2

        if self._cap.set(cv2.CAP_PROP_POS_FRAMES, target):
            self._next = target
            return True
        return False

    def _grab(self, target: int) -> None:
        if not self._cap.grab():
            raise DecodeError(
                f"{self.path}: frame {target} could not be decoded "
                f"(OpenCV stopped after frame {self._next - 1})"
            )
        self._next += 1

    def _retrieve(self, target: int) -> np.ndarray:
        self._grab(target)
        ok, bgr = self._cap.retrieve()
        if not ok or bgr is None:
            raise DecodeError(f"{self.path}: frame {target} could not be decoded")
        return bgr

    def _timestamp_matches(self, target: int) -> bool:
        """Whether the last retrieved frame has the index's timestamp for `target`."""
        import cv2

        if not self._index.seekable:
            return True
        got_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        want_ms = 1000.0 * float(self._index.seconds_of(np.array([target]))[0])
        return abs(got_ms - want_ms) < self._tolerance_ms
