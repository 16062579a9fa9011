"""Build recognition annotation lists from a folder of videos or of rawframe folders.

Writes the reference list formats (`path label`, `frame_dir total_frames label`, with offset,
multi-label), `classes.txt` and a train/val split: stratified by ratio, or from official split files.

Layouts: class-per-subfolder (`SRC/<class>/<video>.mp4`, `SRC/<class>/<video>/img_00001.jpg`), or
flat (`SRC/<video>.mp4`) with labels from a split file or a label file. Official splits:

    ucf101     folder with classInd.txt, trainlist0N.txt, testlist0N.txt
    hmdb51     folder with <class>_test_splitN.txt (lines `video.avi 0|1|2`; 1 train, 2 test)
    kinetics   CSV `label,youtube_id,time_start,time_end,split` (files `<id>_<start>_<end>.mp4`)

Samples are matched to split entries by file (or folder) stem.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from vidact.data.annotations.lists import VIDEO_EXTENSIONS
from vidact.data.decoding import count_frames
from vidact.errors import AnnotationError, DecodeError, InputError
from vidact.io.files import atomic_write_text, read_json, read_text

log = logging.getLogger(__name__)

SourceFormat = Literal["videos", "rawframes"]
SplitKind = Literal["ucf101", "hmdb51", "kinetics"]
SPLIT_KINDS: tuple[str, ...] = ("ucf101", "hmdb51", "kinetics")
FRAME_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})
MANIFEST = "manifest.json"
_KINETICS_STEM = re.compile(r"^(?P<id>.+)_(?P<start>\d{6})_(?P<end>\d{6})$")


@dataclass
class Sample:
    """One video file or frame folder found under the source folder.

    Attributes:
        path: relative to the source folder, with '/' separators.
        folder_class: the class subfolder it lies in, or None in a flat layout.
        total_frames: frame count of a frame folder (None for videos).
        labels: class indices once assigned.
    """

    path: str
    folder_class: str | None
    total_frames: int | None = None
    labels: list[int] = field(default_factory=list)

    @property
    def stem(self) -> str:
        """The name split and label files match: file name without extension, or folder name."""
        return _key(self.path)


@dataclass(frozen=True)
class BuildResult:
    """What `build_annotations` wrote.

    Attributes:
        files: role ('train_list', 'val_list', 'classes') -> path written.
        counts: 'samples', 'train', 'val', 'classes', 'unlisted' (found but not in the split file),
            'missing' (in the split file but not found).
        classes: class names in label order.
    """

    out_dir: Path
    format: SourceFormat
    files: dict[str, Path]
    counts: dict[str, int]
    classes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "format": self.format,
                "files": {k: str(v) for k, v in self.files.items()}, "counts": self.counts,
                "classes": list(self.classes)}


# ---- scanning ------------------------------------------------------------------------------------


def scan_source(src: str | os.PathLike, format: SourceFormat) -> list[Sample]:
    """Video files (by extension) or frame folders (holding images or an extract-frames manifest)
    under `src`, sorted by path. The class is the first path component when there is one.

    Raises:
        InputError: `src` is not a folder, or holds nothing of the asked format.
    """
    root = Path(src)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    samples = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # e.g. extract-frames' partial folders
        filenames = [f for f in filenames if not f.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root)
        if format == "videos":
            samples += [_sample(rel_dir / f) for f in sorted(filenames) if Path(f).suffix.lower() in VIDEO_EXTENSIONS]
        elif rel_dir.parts and (MANIFEST in filenames or any(Path(f).suffix.lower() in FRAME_EXTENSIONS
                                                              for f in filenames)):
            sample = _sample(rel_dir)
            sample.total_frames = frame_folder_count(Path(dirpath))
            samples.append(sample)
            dirnames.clear()  # a frame folder's subfolders are not videos
    if not samples:
        what = "video files (" + ", ".join(sorted(VIDEO_EXTENSIONS)) + ")" if format == "videos" else "frame folders"
        raise InputError(f"{root}: no {what} found", hint="use --format rawframes for folders of frames"
                         if format == "videos" else "use --format videos for video files")
    return sorted(samples, key=lambda s: s.path)


def _sample(rel: Path) -> Sample:
    return Sample(rel.as_posix(), rel.parts[0] if len(rel.parts) > 1 else None)


def frame_folder_count(folder: Path) -> int:
    """The frame count of a frame folder: its extract-frames manifest when present, else
    `count_frames(folder, 'rawframes')` (consecutive `img_00001.jpg`...), the datasets' policy."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        data = read_json(manifest)  # its own InputError (an unreadable file) passes through
        try:
            return int(data["frames"]["count"])
        except (KeyError, TypeError, ValueError):
            raise AnnotationError(f"{manifest}: no frames.count entry (not an extract-frames manifest)") from None
    try:
        return count_frames(folder, "rawframes")
    except DecodeError:
        return 0


# ---- labels ----------------------------------------------------------------------------------------


def _labels_from_folders(samples: list[Sample]) -> tuple[str, ...]:
    flat = [s.path for s in samples if s.folder_class is None]
    if flat:
        raise InputError(f"{flat[0]}: not in a class subfolder ({len(flat)} such samples)",
                         hint="give --label-file or --split-file for a flat layout")
    classes = tuple(sorted({s.folder_class for s in samples}))
    index = {c: i for i, c in enumerate(classes)}
    for s in samples:
        s.labels = [index[s.folder_class]]
    return classes


def _labels_from_file(samples: list[Sample], label_file: Path, multi_label: bool) -> tuple[str, ...]:
    """Label file lines: `stem_or_path class [class ...]`; samples not listed are dropped."""
    entries: dict[str, list[str]] = {}
    for no, line in enumerate(read_text(label_file).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or (len(fields) > 2 and not multi_label):
            raise AnnotationError(f"{label_file}:{no}: expected 'video class'"
                                  f"{' [class ...]' if multi_label else ' (several classes need --multi-label)'}"
                                  f", got {line.strip()!r}")
        entries[_key(fields[0])] = fields[1:]
    classes = tuple(sorted({c for names in entries.values() for c in names}))
    index = {c: i for i, c in enumerate(classes)}
    for s in samples:
        s.labels = [index[c] for c in entries.get(s.stem, [])]
    return classes


def _key(path: str) -> str:
    p = Path(path)
    return p.stem if p.suffix.lower() in VIDEO_EXTENSIONS else p.name


# ---- official splits -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficialSplit:
    """An official split: class names, and stem -> (class index, 'train' | 'val')."""

    classes: tuple[str, ...]
    entries: dict[str, tuple[int, str]]


def read_official_split(path: str | os.PathLike, kind: SplitKind, split_id: int = 1) -> OfficialSplit:
    """Read UCF101 / HMDB51 split folders or a Kinetics CSV (see the module docstring).

    Raises:
        InputError: missing files. AnnotationError: a malformed line, naming `file:line`.
    """
    path = Path(path)
    if kind == "ucf101":
        return _ucf101(path, split_id)
    if kind == "hmdb51":
        return _hmdb51(path, split_id)
    if kind == "kinetics":
        return _kinetics(path)
    raise ValueError(f"split kind must be one of {SPLIT_KINDS}, got {kind!r}")


def _split_folder_file(folder: Path, name: str) -> Path:
    file = folder / name if folder.is_dir() else folder.parent / name
    if not file.is_file():
        raise InputError(f"{file}: no such split file")
    return file


def _ucf101(folder: Path, split_id: int) -> OfficialSplit:
    ind_file = _split_folder_file(folder, "classInd.txt")
    class_of: dict[int, str] = {}
    for no, fields in _lines(ind_file):
        if len(fields) != 2 or not fields[0].isdigit():
            raise AnnotationError(f"{ind_file}:{no}: expected 'index class', got {' '.join(fields)!r}")
        class_of[int(fields[0])] = fields[1]
    classes = tuple(class_of[i] for i in sorted(class_of))
    index = {c: i for i, c in enumerate(classes)}
    entries: dict[str, tuple[int, str]] = {}
    for name, subset in ((f"trainlist{split_id:02d}.txt", "train"), (f"testlist{split_id:02d}.txt", "val")):
        file = _split_folder_file(folder, name)
        for no, fields in _lines(file):
            class_name = Path(fields[0]).parent.name
            if class_name not in index:
                raise AnnotationError(f"{file}:{no}: class folder {class_name!r} of {fields[0]!r} "
                                      f"is not in {ind_file.name}")
            entries[_key(fields[0])] = (index[class_name], subset)
    return OfficialSplit(classes, entries)


def _hmdb51(folder: Path, split_id: int) -> OfficialSplit:
    if not folder.is_dir():
        raise InputError(f"{folder}: expected the folder of <class>_test_split{split_id}.txt files")
    suffix = f"_test_split{split_id}.txt"
    files = sorted(folder.glob(f"*{suffix}"))
    if not files:
        raise InputError(f"{folder}: no *{suffix} files")
    classes = tuple(f.name[: -len(suffix)] for f in files)
    entries: dict[str, tuple[int, str]] = {}
    for label, file in enumerate(files):
        for no, fields in _lines(file):
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise AnnotationError(f"{file}:{no}: expected 'video 0|1|2', got {' '.join(fields)!r}")
            if fields[1] != "0":
                entries[_key(fields[0])] = (label, "train" if fields[1] == "1" else "val")
    return OfficialSplit(classes, entries)


def _kinetics(file: Path) -> OfficialSplit:
    if not file.is_file():
        raise InputError(f"{file}: no such split file")
    rows = list(csv.DictReader(read_text(file).splitlines()))
    needed = {"label", "youtube_id", "time_start", "time_end", "split"}
    if not rows or not needed <= set(rows[0]):
        raise AnnotationError(f"{file}: expected a CSV header with {', '.join(sorted(needed))}")
    labelled = [r for r in rows if r["split"] in ("train", "val", "validate")]
    classes = tuple(sorted({r["label"] for r in labelled}))
    index = {c: i for i, c in enumerate(classes)}
    entries: dict[str, tuple[int, str]] = {}
    for r in labelled:
        entries[r["youtube_id"]] = (index[r["label"]], "train" if r["split"] == "train" else "val")
    return OfficialSplit(classes, entries)


def _lines(file: Path) -> list[tuple[int, list[str]]]:
    return [(no, line.split()) for no, line in enumerate(read_text(file).splitlines(), start=1) if line.strip()]


def _split_key(split: OfficialSplit, stem: str) -> str | None:
    """The split entry naming `stem`: the stem itself, or a Kinetics `<id>_<start>_<end>` stem's id."""
    if stem in split.entries:
        return stem
    match = _KINETICS_STEM.match(stem)
    return match["id"] if match and match["id"] in split.entries else None


# ---- splitting -----------------------------------------------------------------------------------


def stratified_split(labels: Sequence[int], ratio: float, seed: int) -> np.ndarray:
    """A val mask holding `round(ratio * n_c)` of each class's n_c samples (at least one when
    ratio > 0 and the class has two or more, never all), drawn with `seed`."""
    labels = np.asarray(labels, dtype=np.int64)
    val = np.zeros(labels.size, dtype=bool)
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_val = int(round(ratio * members.size))
        if ratio > 0 and members.size >= 2:
            n_val = min(max(n_val, 1), members.size - 1)
        val[rng.permutation(members)[:n_val]] = True
    return val


# ---- the whole build -------------------------------------------------------------------------------


def build_annotations(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    format: SourceFormat = "videos",
    split_ratio: float = 0.2,
    seed: int = 0,
    split_file: str | os.PathLike | None = None,
    split_kind: SplitKind | None = None,
    split_id: int = 1,
    label_file: str | os.PathLike | None = None,
    with_offset: bool = False,
    multi_label: bool = False,
) -> BuildResult:
    """Scan `src`, label and split its samples, and write the lists and `classes.txt` to `out_dir`.

    Files: `train_list_{format}.txt`, `val_list_{format}.txt` and `classes.txt` (label = line number,
    from 0). Paths in the lists are relative to `src` (use it as data_prefix). Rawframe lines carry
    the frame count (extract-frames manifest, else counted files); `with_offset` adds offset 0.

    Raises:
        InputError: bad options or source. AnnotationError: a malformed split or label file.
    """
    if format not in ("videos", "rawframes"):
        raise InputError(f"format must be 'videos' or 'rawframes', got {format!r}")
    if (split_file is None) != (split_kind is None):
        raise InputError("--split-file and --split-kind go together")
    if split_file is not None and label_file is not None:
        raise InputError("give either --split-file or --label-file, not both")
    if not 0.0 <= split_ratio < 1.0:
        raise InputError(f"split ratio must be in [0, 1), got {split_ratio}")
    if multi_label and label_file is None:
        raise InputError("--multi-label reads several classes per line of --label-file; give --label-file")
    if with_offset and format != "rawframes":
        raise InputError("--with-offset is for rawframe lists (--format rawframes)")
    samples = scan_source(src, format)
    found = len(samples)
    missing = 0
    if split_file is not None:
        split = read_official_split(split_file, split_kind, split_id)
        classes = split.classes
        keys = {s.path: _split_key(split, s.stem) for s in samples}
        samples = [s for s in samples if keys[s.path] is not None]
        for s in samples:
            s.labels = [split.entries[keys[s.path]][0]]
        val = np.array([split.entries[keys[s.path]][1] == "val" for s in samples], dtype=bool)
        missing = len(split.entries) - len({keys[s.path] for s in samples})
    else:
        classes = _labels_from_file(samples, Path(label_file), multi_label) if label_file is not None \
            else _labels_from_folders(samples)
        samples = [s for s in samples if s.labels]
        val = stratified_split([s.labels[0] for s in samples], split_ratio, seed)
    if not samples:
        raise InputError(f"{src}: none of the {found} samples is labelled by the split or label file",
                         hint="samples are matched by file or folder name without extension")
    empty = [s.path for s in samples if s.total_frames == 0]
    if empty:
        log.warning("%d frame folders hold no frames (first: %s)", len(empty), empty[0])
    out = Path(out_dir)
    files = {"train_list": out / f"train_list_{format}.txt", "val_list": out / f"val_list_{format}.txt",
             "classes": out / "classes.txt"}
    for key, subset in (("train_list", False), ("val_list", True)):
        atomic_write_text(files[key], "".join(_line(s, with_offset) for s, v in zip(samples, val) if v == subset))
    atomic_write_text(files["classes"], "".join(f"{c}\n" for c in classes))
    counts = {"samples": len(samples), "train": int((~val).sum()), "val": int(val.sum()), "classes": len(classes),
              "unlisted": found - len(samples), "missing": missing}
    log.debug("wrote %d samples (%d train, %d val) to %s", len(samples), counts["train"], counts["val"], out)
    return BuildResult(out, format, files, counts, tuple(classes))


def _line(sample: Sample, with_offset: bool) -> str:
    fields = [sample.path]
    if sample.total_frames is not None:
        fields += ["0"] if with_offset else []
        fields.append(str(sample.total_frames))
    return " ".join(fields + [str(label) for label in sample.labels]) + "\n"
