"""One video to one folder: decode in order, convert, resize, JPEG-encode and write, then the manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2

from vidact.data.decoding import open_video
from vidact.data.extract.flow import FlowWriter
from vidact.data.extract.images import BgrConverter, JpegWriter
from vidact.data.extract.options import (
    FRAME_COUNT_POLICY,
    IMG_TMPL,
    MANIFEST,
    MANIFEST_FORMAT,
    ExtractOptions,
    VideoResult,
)
from vidact.errors import DecodeError
from vidact.io.files import atomic_write_text, make_temp_dir

log = logging.getLogger(__name__)


def extract_video(source: str | os.PathLike, target: str | os.PathLike,
                  options: ExtractOptions = ExtractOptions(), *, threads: int = 1,
                  encode_thread: bool = False) -> VideoResult:
    """Extract one video into the folder `target` (replaced when it exists).

    Never raises for a bad video: the result has status 'failed' and a reason instead.

    Args:
        threads: FFmpeg decoding threads (1: decode in this thread).
        encode_thread: JPEG-encode and write the frames on a second thread, overlapping the
            decoding (both release the GIL); the files are the same.
    """
    source, target = os.fspath(source), Path(target)
    start = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    tmp = make_temp_dir(target, "partial")
    try:
        manifest = _write_video(source, tmp, options, threads, encode_thread)
        manifest["seconds"] = round(time.perf_counter() - start, 3)
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        _replace_dir(tmp, target)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = str(exc) if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {exc}"
        reason = reason.removeprefix(f"{source}: ")
        return VideoResult(source, str(target), "failed", seconds=time.perf_counter() - start, reason=reason)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return VideoResult(source, str(target), "extracted", frames=manifest["frames"]["count"],
                       flow_frames=(manifest["flow"] or {}).get("count", 0),
                       num_frames=manifest["video"]["num_frames"], seconds=manifest["seconds"])


def _remove_leftovers(target: Path) -> None:
    for pattern in (f".{target.name}.partial-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            log.info("%s: removing the leftover of an interrupted run", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def _replace_dir(tmp: Path, target: Path) -> None:
    """Rename `tmp` to `target`; an existing `target` is moved aside first, then deleted."""
    old = None
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.rename(target, old)
    os.rename(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_video(source: str, folder: Path, options: ExtractOptions, threads: int,
                 encode_thread: bool) -> dict[str, Any]:
    """Write the frames (and flow) of `source` into `folder`; return the manifest minus timing."""
    import av

    with open_video(source, "pyav") as reader:  # the frame-count policy of count_frames
        index, num_frames, fps = reader.frame_index, reader.num_frames, reader.fps
        height, width = reader.shape
    size, digest = os.path.getsize(source), _sha256(source)
    out_w, out_h = options.output_size(width, height)
    flow = FlowWriter(folder, options) if options.flow else None
    jpegs = JpegWriter(folder, IMG_TMPL, options.quality, threaded=encode_thread)
    to_bgr = BgrConverter(reuse_output=not encode_thread)  # inline encoding consumes each frame at once
    with av.open(source, metadata_errors="ignore") as container, jpegs:
        stream = container.streams.video[0]
        stream.thread_type, stream.thread_count = ("AUTO", threads) if threads > 1 else ("SLICE", 1)
        codec = stream.codec_context.name
        for frame_idx, frame in _decode_in_order(container, stream, index, num_frames, source):
            if frame_idx % options.every:
                continue
            img = to_bgr(frame)
            if (out_w, out_h) != (img.shape[1], img.shape[0]):
                shrink = out_w * out_h < img.shape[1] * img.shape[0]
                img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            jpegs.add(img)
            if flow is not None:
                flow.add(img)
    written = jpegs.count
    return {
        "format": MANIFEST_FORMAT,
        "source": {"path": source, "size": size, "sha256": digest},
        "frames": {"count": written, "filename_tmpl": "img_{:05}.jpg", "start_index": 1,
                   "every": options.every, "width": out_w, "height": out_h},
        "flow": flow.manifest() if flow is not None else None,
        "video": {"num_frames": num_frames, "frame_count_policy": FRAME_COUNT_POLICY, "fps": fps,
                  "duration_sec": num_frames / fps if fps else None, "width": width, "height": height},
        "decoder": {"backend": "pyav", "codec": codec, "threads": threads, "pyav": av.__version__,
                    "libavcodec": ".".join(map(str, av.library_versions["libavcodec"]))},
        "settings": options.settings(),
    }


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _decode_in_order(container, stream, index, num_frames: int, source: str) -> Iterator[tuple[int, Any]]:
    """Yield (frame index, frame) for frames 0..num_frames-1 of one sequential decode.

    Frame indices follow the frame-count policy: a decoded frame's pts locates it in the demuxed
    index; frames outside it (discarded, cut off) are dropped. A frame the decoder never returns
    (damaged data) fails the video rather than shifting every later index.
    """
    import av

    expected, last_error = 0, None
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:  # skip damaged packets as ffmpeg does; a gap fails below
            last_error = str(exc)
            continue
        for frame in frames:
            idx = index.frame_of_pts(frame.pts) if index.seekable else expected
            if idx is None or idx < expected or idx >= num_frames:
                continue
            if idx > expected:
                raise DecodeError(f"{source}: frame {expected} of {num_frames} could not be decoded"
                                  f" ({last_error or 'the decoder skipped it'})")
            yield idx, frame
            expected += 1
    if expected < num_frames:
        raise DecodeError(f"{source}: the stream ends after {expected} of {num_frames} frames"
                          + (f" ({last_error})" if last_error else ""))

