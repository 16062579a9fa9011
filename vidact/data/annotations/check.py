"""Pre-flight of a video or rawframe list: every entry exists, decodes, and has the frames it claims.

Per entry: the file or frame folder exists; the reader opens it and decodes the first and last frame;
for rawframe lists the frame count (extract-frames manifest, else counted files, the datasets'
policy) agrees with `total_frames` (with an offset: `offset + total_frames` frames are there).
Entries are checked in parallel; bad lines are kept verbatim for a quarantine list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from vidact.data.annotations.build import frame_folder_count
from vidact.data.annotations.lists import LabelList, read_label_list
from vidact.errors import AnnotationError, VidactError
from vidact.parallel import process_map
from vidact.io.files import atomic_write_text, read_text

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class _Entry:
    line_no: int
    path: str
    kind: Literal["video", "rawframe"]
    total_frames: int | None
    offset: int
    backend: str


@dataclass(frozen=True)
class Problem:
    """A broken entry: its 1-based line, the line verbatim, the resolved path and why."""

    line_no: int
    line: str
    path: str
    reason: str


@dataclass(frozen=True)
class CheckReport:
    """The outcome of `check_annotations`."""

    ann_file: str
    format: str
    data_prefix: str | None
    total: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> int:
        return self.total - len(self.problems)

    def to_dict(self) -> dict:
        return {"ann_file": self.ann_file, "format": self.format, "data_prefix": self.data_prefix,
                "total": self.total, "ok": self.ok, "bad": len(self.problems),
                "problems": [{"line_no": p.line_no, "line": p.line, "path": p.path, "reason": p.reason}
                             for p in self.problems]}


def check_entry(entry: _Entry) -> str | None:
    """Why `entry` is broken, or None when it is fine (never raises for bad data)."""
    from vidact.data.decoding import open_video

    try:
        if entry.kind == "video":
            if not os.path.isfile(entry.path):
                return "missing file"
            with open_video(entry.path, entry.backend) as reader:
                reader.get_frames(np.array([0, reader.num_frames - 1]))
            return None
        if not os.path.isdir(entry.path):
            return "missing frame folder"
        count = frame_folder_count(Path(entry.path))
        needed = entry.offset + entry.total_frames
        if count == 0:
            return "no frames in the folder"
        if (count != needed) if entry.offset == 0 else (count < needed):
            return f"frame count {count} disagrees with the annotation ({entry.total_frames}" + (
                f" from offset {entry.offset})" if entry.offset else ")")
        with open_video(entry.path, "rawframes") as reader:
            reader.get_frames(np.array([entry.offset, needed - 1]))
        return None
    except (VidactError, IndexError, OSError, ValueError) as exc:
        return _without_path(str(exc) or type(exc).__name__, entry.path)
    except Exception as exc:  # a decoder failing in an unforeseen way is still a bad entry
        return _without_path(f"{type(exc).__name__}: {exc}", entry.path)


def _without_path(reason: str, path: str) -> str:
    """The reason minus a leading `path: ` (the report names the path already)."""
    return reason[len(path) + 2:] if reason.startswith(f"{path}: ") else reason


def _read_list(path: str | os.PathLike, format: str) -> LabelList:
    fmt = "auto" if format == "auto" else format
    try:
        return read_label_list(path, format=fmt)
    except AnnotationError as single_error:
        # Maybe a multi-label list: retry with as many classes as the largest label needs.
        numbers = [int(t) for line in read_text(path).splitlines() for t in line.split()[1:] if t.isdigit()]
        if not numbers:
            raise
        try:
            return read_label_list(path, format=fmt, multi_class=True, num_classes=max(numbers) + 1)
        except AnnotationError:
            raise single_error from None


def check_annotations(
    ann_file: str | os.PathLike,
    *,
    data_prefix: str | os.PathLike | None = None,
    format: Literal["auto", "video", "rawframe"] = "auto",
    backend: str = "pyav",
    workers: int = 1,
    progress: ProgressCallback | None = None,
    quarantine: str | os.PathLike | None = None,
    report: str | os.PathLike | None = None,
) -> CheckReport:
    """Check every entry of a video or rawframe list; optionally write the quarantine list and report.

    Args:
        data_prefix: folder the list's paths are relative to (None: as written).
        format: list kind, detected from the line shape with 'auto'.
        backend: video decoder ('pyav', 'opencv', 'decord').
        workers: processes (spawned) checking entries; 1 checks in this process.
        progress: called with (done, total) after each entry.
        quarantine: write the broken lines here, verbatim (an empty file when none).
        report: write the JSON report (`CheckReport.to_dict`) here.

    Raises:
        AnnotationError: the list itself is malformed (naming `file:line`).
    """
    labels = _read_list(ann_file, format)
    text_lines = read_text(ann_file).splitlines()
    prefix = Path(data_prefix) if data_prefix is not None else None
    entries = [
        _Entry(int(no), str(prefix / p) if prefix is not None else p, labels.format,
               int(labels.total_frames[i]) if labels.total_frames is not None else None,
               int(labels.offsets[i]) if labels.offsets is not None else 0, backend)
        for i, (no, p) in enumerate(zip(labels.line_numbers, labels.paths))]
    reasons = _run(entries, workers, progress)
    problems = tuple(Problem(e.line_no, text_lines[e.line_no - 1], e.path, r)
                     for e, r in zip(entries, reasons) if r is not None)
    result = CheckReport(str(ann_file), labels.format, str(prefix) if prefix is not None else None,
                         len(entries), problems)
    if quarantine is not None:
        atomic_write_text(quarantine, "".join(p.line + "\n" for p in problems))
    if report is not None:
        atomic_write_text(report, json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def _run(entries: list[_Entry], workers: int, progress: ProgressCallback | None) -> list[str | None]:
    return process_map(check_entry, entries, workers, progress)
