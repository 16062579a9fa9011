"""Choosing a reader by backend name, and the one frame-count function everyone uses."""

from __future__ import annotations

import os
from typing import Any

from vidact.data.decoding.base import VideoReader

VIDEO_BACKENDS = ("pyav", "opencv", "decord")
BACKENDS = (*VIDEO_BACKENDS, "rawframes")


def open_video(path: str | os.PathLike, backend: str = "pyav", **kwargs: Any) -> VideoReader:
    """Open a video file (or a frame folder with backend 'rawframes') for random access.

    Backends are imported only when chosen, so decord is needed only for 'decord'.

    Args:
        path: video file, or frame folder for 'rawframes'.
        backend: 'pyav' (default), 'opencv', 'decord' or 'rawframes'.
        **kwargs: passed to the reader (`multi_thread` for PyAV, `num_threads` for OpenCV
            and decord, `filename_tmpl`/`start_index`/`modality` for raw frames).

    Raises:
        ValueError: unknown backend.
        DecodeError: the video cannot be opened.
    """
    if backend == "pyav":
        from vidact.data.decoding.pyav_reader import PyAVReader

        return PyAVReader(path, **kwargs)
    if backend == "opencv":
        from vidact.data.decoding.opencv_reader import OpenCVReader

        return OpenCVReader(path, **kwargs)
    if backend == "decord":
        from vidact.data.decoding.decord_reader import DecordReader

        return DecordReader(path, **kwargs)
    if backend == "rawframes":
        from vidact.data.decoding.rawframes import RawFramesReader

        return RawFramesReader(path, **kwargs)
    raise ValueError(f"unknown decoding backend {backend!r}; expected one of {BACKENDS}")


def count_frames(path: str | os.PathLike, backend: str = "pyav", **kwargs: Any) -> int:
    """Number of frames of a video, per vidact's frame-count policy.

    Datasets, `dataset build|check` and `extract-frames` all call this, so annotation frame
    indices and extracted frame files always agree. For video files the count is the number
    of picture-carrying packets of the first video stream, read with the demuxer, never
    container metadata (see `vidact.data.decoding.frame_index`); 'pyav' and 'opencv' return
    that same number, and the readers of those backends return exactly those frames.
    'decord' returns decord's own count, also built from demuxed packets. For 'rawframes'
    it is the number of consecutive image files from `start_index`.

    Args:
        path: video file, or frame folder for 'rawframes'.
        backend: as in `open_video`.
        **kwargs: reader options, as in `open_video`.

    Raises:
        DecodeError: the video is missing, unreadable or has no frames.
    """
    if backend == "opencv":
        # OpenCVReader takes its count from the PyAV index; skip opening a capture.
        backend, kwargs = "pyav", {}
    with open_video(path, backend, **kwargs) as reader:
        return reader.num_frames
