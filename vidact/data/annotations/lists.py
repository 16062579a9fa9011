"""Readers for the plain-text recognition lists: video lists and rawframe lists.

One sample per line, whitespace-separated, as the reference `VideoDataset` / `RawframeDataset`:

    video list               some/path/000.mp4 1
    rawframe list            some/directory-1 163 1
    rawframe, with_offset    some/directory-1 12 163 3
    multi-label (any kind)   ... 1 3 5          (with multi_class=True, num_classes=C)

Blank lines are skipped; every error names `file:line`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from vidact.errors import AnnotationError, InputError
from vidact.io.files import read_text

ListFormat = Literal["video", "rawframe"]

# Extensions that mark the first field as a video file when the line shape alone is ambiguous.
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".flv", ".wmv", ".mpg", ".mpeg"})

_EXPECTED = {
    ("video", False): "'path label'",
    ("rawframe", False): "'frame_dir total_frames label'",
    ("rawframe", True): "'frame_dir offset total_frames label'",
}


@dataclass(frozen=True)
class LabelList:
    """The samples of one list file, in file order.

    Attributes:
        path: the file as given ('-' reads stdin); `name` is what messages print.
        format: 'video' or 'rawframe'.
        with_offset: whether rawframe lines carry a start offset.
        paths: (N,) video file or frame directory of each sample.
        labels: single-label: (N,) int64 class indices. Multi-label: (N, C) uint8 many-hot.
        total_frames: (N,) int64 for rawframe lists, else None.
        offsets: (N,) int64 for rawframe lists with offset, else None.
        line_numbers: (N,) int64, 1-based line of each sample in the file.
        multi_class: whether `labels` is many-hot.
        sha256: hex digest of the file's bytes (of the text for stdin).
    """

    path: str
    format: ListFormat
    with_offset: bool
    paths: tuple[str, ...]
    labels: np.ndarray
    total_frames: np.ndarray | None
    offsets: np.ndarray | None
    line_numbers: np.ndarray
    multi_class: bool
    sha256: str

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == "-" else self.path

    def __len__(self) -> int:
        return len(self.paths)

    def to_records(self) -> list[dict]:
        """Reference-style `video_infos`: dicts with `filename` or `frame_dir`, `total_frames`,
        `offset` and `label` (an int, or a list of ints for multi-label lists)."""
        records = []
        for i, path in enumerate(self.paths):
            label = np.flatnonzero(self.labels[i]).tolist() if self.multi_class else int(self.labels[i])
            rec: dict = {"filename": path} if self.format == "video" else {"frame_dir": path}
            if self.total_frames is not None:
                rec["total_frames"] = int(self.total_frames[i])
            if self.offsets is not None:
                rec["offset"] = int(self.offsets[i])
            rec["label"] = label
            records.append(rec)
        return records


def read_label_list(
    path: str | Path,
    *,
    format: ListFormat | Literal["auto"] = "auto",
    with_offset: bool | None = None,
    multi_class: bool = False,
    num_classes: int | None = None,
) -> LabelList:
    """Read a video or rawframe list, detecting the kind from the line shape when `format='auto'`.

    Detection: single-label lines with 2 fields are a video list, 3 fields a rawframe list and 4 a
    rawframe list with offset. Multi-label lines have a variable length, so the first field decides
    (a video-file extension such as .mp4 means a video list) and offsets must be asked for with
    `with_offset=True`.

    Args:
        path: the list file, or '-' for stdin.
        format: 'video', 'rawframe' or 'auto'.
        with_offset: rawframe lines carry `offset` before `total_frames`; None detects it
            (single-label only).
        multi_class: lines end with one or more labels, returned many-hot.
        num_classes: C for multi-label lists (required there); labels must be < C.

    Raises:
        AnnotationError: `file:line: ...` for the first malformed line, or an empty file.
    """
    if multi_class and num_classes is None:
        raise ValueError("multi-label lists need num_classes")
    name = "<stdin>" if str(path) == "-" else str(path)
    text = read_text(path)
    lines = [(no, line.split()) for no, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise AnnotationError(f"{name}: no samples (the file is empty)")
    if lines[0][1][0][0] in "{[":
        raise AnnotationError(
            f"{name}: this is JSON, not a video or rawframe list",
            hint="recognition metrics read a list file; AR@AN and mAP read JSON ground truth",
        )
    detected = format == "auto"
    if detected:
        format = _detect_format(lines[0][1], multi_class)
    elif format not in ("video", "rawframe"):
        raise ValueError(f"format must be 'video', 'rawframe' or 'auto', got {format!r}")
    if with_offset is None:
        with_offset = format == "rawframe" and not multi_class and len(lines[0][1]) == 4
    with_offset = with_offset and format == "rawframe"
    hint = "the list kind was detected from line 1; pass --ann-format to force it" if detected else None
    return _parse(str(path), name, text, lines, format, with_offset, multi_class, num_classes, hint)


def _detect_format(first: list[str], multi_class: bool) -> ListFormat:
    if multi_class:
        return "video" if Path(first[0]).suffix.lower() in VIDEO_EXTENSIONS else "rawframe"
    return "video" if len(first) == 2 else "rawframe"


def _parse(
    path: str,
    name: str,
    text: str,
    lines: list[tuple[int, list[str]]],
    format: ListFormat,
    with_offset: bool,
    multi_class: bool,
    num_classes: int | None,
    hint: str | None,
) -> LabelList:
    num_ints = 2 if with_offset else 1 if format == "rawframe" else 0  # fields between path and labels
    expected = _EXPECTED[(format, with_offset)]
    if multi_class:
        expected = expected[:-1] + " [label ...]'"
    ints = np.zeros((len(lines), num_ints), dtype=np.int64)
    labels = np.zeros((len(lines), num_classes), np.uint8) if multi_class else np.zeros(len(lines), np.int64)
    for i, (no, fields) in enumerate(lines):
        nfields = 1 + num_ints + 1
        if len(fields) < nfields or (not multi_class and len(fields) != nfields):
            raise AnnotationError(
                f"{name}:{no}: expected {expected} ({format} list), "
                f"got {len(fields)} field{'s' if len(fields) != 1 else ''}: {' '.join(fields)!r}",
                hint=hint,
            )
        values = [_non_negative_int(name, no, f) for f in fields[1:]]
        ints[i] = values[:num_ints]
        if multi_class:
            for label in values[num_ints:]:
                if label >= num_classes:
                    raise AnnotationError(f"{name}:{no}: label {label} is out of range for {num_classes} classes")
                labels[i, label] = 1
        else:
            labels[i] = values[num_ints]
    return LabelList(
        path=path,
        format=format,
        with_offset=with_offset,
        paths=tuple(fields[0] for _, fields in lines),
        labels=labels,
        total_frames=ints[:, -1].copy() if format == "rawframe" else None,
        offsets=ints[:, 0].copy() if with_offset else None,
        line_numbers=np.array([no for no, _ in lines], dtype=np.int64),
        multi_class=multi_class,
        sha256=_sha256(path, text),
    )


def _sha256(path: str, text: str) -> str:
    # Hash the bytes on disk (what `sha256sum` prints), not the newline-normalised text.
    data = text.encode("utf-8") if path == "-" else Path(path).read_bytes()
    return hashlib.sha256(data).hexdigest()


def _non_negative_int(name: str, line_no: int, field: str) -> int:
    try:
        value = int(field)
    except ValueError:
        raise AnnotationError(f"{name}:{line_no}: expected a non-negative integer, got {field!r}") from None
    if not 0 <= value < 2**63:
        raise AnnotationError(f"{name}:{line_no}: expected a non-negative integer, got {field!r}")
    return value


def read_class_names(path: str | Path) -> list[str]:
    """Class names from a file with one name per line (label = line number, blank lines skipped).

    Raises:
        InputError: the file is missing or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such classes file")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise InputError(f"{path}: no class names")
    return names
