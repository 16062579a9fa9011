"""Pipeline steps with the reference names that open videos and decode the sampled frames.

Each step is a callable taking the results dict and returning it, with the reference API's
keys: `*Init` turns "filename" into "video_reader" and "total_frames"; `*Decode` turns
"frame_inds" into "imgs" (a list of (H, W, 3) uint8 RGB arrays), "img_shape" and
"original_shape", then closes the reader. All of them sit on `vidact.data.decoding` readers,
so every backend returns exactly the frames asked for and counts frames the same way.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

import numpy as np

from vidact.data.decoding.base import VideoReader
from vidact.data.decoding.decord_reader import DecordReader
from vidact.data.decoding.opencv_reader import OpenCVReader
from vidact.data.decoding.pyav_reader import PyAVReader
from vidact.data.decoding.rawframes import DEFAULT_TMPL, IMAGE_BACKENDS, RawFramesReader, import_turbojpeg

log = logging.getLogger(__name__)


def _check_io_backend(step: str, io_backend: str, kwargs: dict[str, Any]) -> None:
    if io_backend != "disk":
        raise ValueError(f"{step}: io_backend {io_backend!r} is not supported; use 'disk'")
    if kwargs:
        # The reference passes these to its disk file client, which takes none either.
        raise TypeError(f"{step}: unexpected arguments for io_backend='disk': {sorted(kwargs)}")


def _frame_inds(results: dict[str, Any]) -> np.ndarray:
    """Read "frame_inds" as (T,) int64, flattening it in `results` as the reference does."""
    frame_inds = np.asarray(results["frame_inds"])
    if frame_inds.ndim != 1:
        frame_inds = frame_inds.reshape(-1)
        results["frame_inds"] = frame_inds
    return frame_inds.astype(np.int64, copy=False)


_DECODE_MODES = ("accurate", "efficient")


def _check_mode(step: str, mode: str) -> str:
    if mode not in _DECODE_MODES:
        raise ValueError(f"{step}: mode must be 'accurate' or 'efficient', got {mode!r}")
    return mode


def nearest_keyframes(reader: VideoReader, frame_inds: np.ndarray) -> np.ndarray:
    """For each index, the key frame at or before it: what the reference's 'efficient' mode
    returns (a fast seek lands on that key frame and the first decoded frame is taken).

    Readers without a key frame index (decord, a file PyAV cannot seek) keep the indices.
    """
    index = getattr(reader, "frame_index", None)
    keyframes = getattr(index, "keyframes", None)
    if keyframes is None or not getattr(index, "seekable", False) or len(keyframes) == 0:
        keyframes = getattr(reader, "keyframes", None)
        if keyframes is None or len(keyframes) == 0:
            return frame_inds
    keyframes = np.asarray(keyframes, dtype=np.int64)
    pos = np.searchsorted(keyframes, frame_inds, side="right") - 1
    return np.where(pos >= 0, keyframes[np.clip(pos, 0, None)], 0)


def _decode_into(results: dict[str, Any], reader: VideoReader, mode: str = "accurate") -> dict[str, Any]:
    """Decode "frame_inds" with `reader`, store "imgs" and shapes, close the reader."""
    try:
        frame_inds = _frame_inds(results)
        if mode == "efficient":
            frame_inds = nearest_keyframes(reader, frame_inds)
        imgs = reader.get_frames(frame_inds)
    finally:
        reader.close()
        results["video_reader"] = None
    results["imgs"] = list(imgs)
    results["original_shape"] = tuple(imgs.shape[1:3])
    results["img_shape"] = tuple(imgs.shape[1:3])
    return results


class PyAVInit:
    """Open the video with PyAV.

    Required keys are "filename", added or modified keys are "video_reader" and
    "total_frames".

    Args:
        io_backend: where the videos are stored; only 'disk'.
        **kwargs: file-client arguments; none are accepted for 'disk'.
    """

    def __init__(self, io_backend: str = "disk", **kwargs: Any) -> None:
        _check_io_backend("PyAVInit", io_backend, kwargs)
        self.io_backend = io_backend
        self.kwargs = kwargs

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        reader = PyAVReader(results["filename"])
        results["video_reader"] = reader
        results["total_frames"] = reader.num_frames
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(io_backend={self.io_backend})"


class PyAVDecode:
    """Decode the frames at "frame_inds" with PyAV, seeking to keyframes.

    Required keys are "video_reader" and "frame_inds", added or modified keys are "imgs",
    "img_shape" and "original_shape".

    Args:
        multi_thread: decode with FFmpeg frame and slice threads (`thread_type='AUTO'`).
        mode: 'accurate' returns exactly the frames asked for (seeking to the key frame before
            each run of wanted frames and decoding forward). 'efficient' (later 0.x) seeks to the
            key frame at or before each index and returns that key frame, decoding nothing after
            it: fast, but frames are duplicated and only approximate unless every frame is a key
            frame (the reference warns the same). Files PyAV cannot seek are decoded accurately.
    """

    def __init__(self, multi_thread: bool = False, mode: str = "accurate") -> None:
        self.multi_thread = multi_thread
        self.mode = _check_mode(type(self).__name__, mode)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        reader = results["video_reader"]
        if isinstance(reader, PyAVReader):
            reader.multi_thread = self.multi_thread
        return _decode_into(results, reader, self.mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(multi_thread={self.multi_thread}, mode={self.mode})"


class OpenCVInit:
    """Open the video with OpenCV.

    Required keys are "filename", added or modified keys are "new_path", "video_reader"
    and "total_frames".

    Args:
        io_backend: where the videos are stored; only 'disk'.
        **kwargs: file-client arguments; none are accepted for 'disk'.
    """

    def __init__(self, io_backend: str = "disk", **kwargs: Any) -> None:
        _check_io_backend("OpenCVInit", io_backend, kwargs)
        self.io_backend = io_backend
        self.kwargs = kwargs

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        reader = OpenCVReader(results["filename"])
        results["new_path"] = reader.path
        results["video_reader"] = reader
        results["total_frames"] = reader.num_frames
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(io_backend={self.io_backend})"


class OpenCVDecode:
    """Decode the frames at "frame_inds" with OpenCV (converted to RGB).

    Required keys are "video_reader", "filename" and "frame_inds", added or modified keys
    are "imgs", "img_shape" and "original_shape".
    """

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        return _decode_into(results, results["video_reader"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class DecordInit:
    """Open the video with decord (an optional dependency).

    Required keys are "filename", added or modified keys are "video_reader" and
    "total_frames".

    Args:
        io_backend: where the videos are stored; only 'disk'.
        num_threads: decoder threads per video.
        **kwargs: file-client arguments; none are accepted for 'disk'.
    """

    def __init__(self, io_backend: str = "disk", num_threads: int = 1, **kwargs: Any) -> None:
        _check_io_backend("DecordInit", io_backend, kwargs)
        self.io_backend = io_backend
        self.num_threads = num_threads
        self.kwargs = kwargs

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        reader = DecordReader(results["filename"], num_threads=self.num_threads)
        results["video_reader"] = reader
        results["total_frames"] = reader.num_frames
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(io_backend={self.io_backend}, "
                f"num_threads={self.num_threads})")


class DecordDecode:
    """Decode the frames at "frame_inds" with decord.

    Required keys are "video_reader", "filename" and "frame_inds", added or modified keys
    are "imgs", "img_shape" and "original_shape".

    Args:
        mode: 'accurate' returns exactly the frames asked for; 'efficient' (later 0.x) returns
            for each index the key frame at or before it (decord's fast `seek`), so frames are
            duplicated and approximate, as the reference warns.
    """

    def __init__(self, mode: str = "accurate") -> None:
        self.mode = _check_mode(type(self).__name__, mode)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        return _decode_into(results, results["video_reader"], self.mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode})"


class RawFrameDecode:
    """Load the frame images at "frame_inds" from "frame_dir".

    Required keys are "frame_dir", "filename_tmpl" and "frame_inds", added or modified keys
    are "imgs", "img_shape" and "original_shape". Optional keys: "modality" ('RGB' or
    'Flow', default 'RGB') and "offset" (added to every index, default 0).

    "frame_inds" are file numbers: the sampler has already added the dataset's
    "start_index", so index `i` reads `filename_tmpl.format(i + offset)`. RGB gives one
    (H, W, 3) RGB array per index; Flow reads `filename_tmpl.format('x', i)` and
    `filename_tmpl.format('y', i)` and gives two (H, W) arrays per index, interleaved
    [x_0, y_0, x_1, y_1, ...].

    Args:
        io_backend: where the frames are stored; only 'disk'.
        decoding_backend: image decoder, 'cv2', 'pillow' or 'turbojpeg' (needs PyTurboJPEG:
            `pip install 'vidact[turbojpeg]'`; an ImportError says so when it is missing).
        **kwargs: file-client arguments; none are accepted for 'disk'.
    """

    def __init__(
        self, io_backend: str = "disk", decoding_backend: str = "cv2", **kwargs: Any
    ) -> None:
        _check_io_backend(type(self).__name__, io_backend, kwargs)
        if decoding_backend not in IMAGE_BACKENDS:
            raise ValueError(
                f"{type(self).__name__}: decoding_backend must be one of {IMAGE_BACKENDS}, "
                f"got {decoding_backend!r}"
            )
        if decoding_backend == "turbojpeg":
            import_turbojpeg()  # fail when the pipeline is built, not in a loader worker
        self.io_backend = io_backend
        self.decoding_backend = decoding_backend
        self.kwargs = kwargs

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        modality = results.get("modality", "RGB")
        reader = RawFramesReader(
            os.fspath(results["frame_dir"]),
            filename_tmpl=results.get("filename_tmpl") or DEFAULT_TMPL.get(modality),
            start_index=0,  # frame_inds already hold file numbers
            modality=modality,
            decoding_backend=self.decoding_backend,
        )
        numbers = _frame_inds(results) + int(results.get("offset", 0))
        frames = reader.get_frames(numbers)
        if modality == "Flow":
            # (T, H, W, 2) -> [x_0, y_0, x_1, y_1, ...] as the reference lists them.
            imgs = list(frames.transpose(0, 3, 1, 2).reshape(-1, *frames.shape[1:3]))
        else:
            imgs = list(frames)
        results["imgs"] = imgs
        results["original_shape"] = tuple(frames.shape[1:3])
        results["img_shape"] = tuple(frames.shape[1:3])
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(io_backend={self.io_backend}, "
                f"decoding_backend={self.decoding_backend})")


class FrameSelector(RawFrameDecode):
    """Deprecated name of `RawFrameDecode`; warns when created."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            '"FrameSelector" is deprecated, use "RawFrameDecode" instead',
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(*args, **kwargs)
