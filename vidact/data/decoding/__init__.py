"""Shared decoding layer: one `VideoReader` interface over PyAV, OpenCV, decord and raw frames.

`open_video` picks a backend, `count_frames` is the frame-count policy every part of vidact
uses, and `steps` holds the reference-named pipeline steps (`PyAVInit`, `PyAVDecode`, ...).
"""

from vidact.data.decoding.backends import BACKENDS, VIDEO_BACKENDS, count_frames, open_video
from vidact.data.decoding.base import VideoReader
from vidact.data.decoding.decord_reader import DecordReader
from vidact.data.decoding.frame_index import FrameIndex, build_frame_index
from vidact.data.decoding.opencv_reader import OpenCVReader
from vidact.data.decoding.pyav_reader import PyAVReader
from vidact.data.decoding.rawframes import RawFramesReader, read_image
from vidact.data.decoding.steps import (
    DecordDecode,
    DecordInit,
    FrameSelector,
    OpenCVDecode,
    OpenCVInit,
    PyAVDecode,
    PyAVInit,
    RawFrameDecode,
)

__all__ = [
    "BACKENDS",
    "VIDEO_BACKENDS",
    "DecordDecode",
    "DecordInit",
    "DecordReader",
    "FrameIndex",
    "FrameSelector",
    "OpenCVDecode",
    "OpenCVInit",
    "OpenCVReader",
    "PyAVDecode",
    "PyAVInit",
    "PyAVReader",
    "RawFrameDecode",
    "RawFramesReader",
    "VideoReader",
    "build_frame_index",
    "count_frames",
    "open_video",
    "read_image",
]
