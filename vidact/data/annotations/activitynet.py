"""ActivityNet-style JSON: ground truth (two layouts, auto-detected) and results files.

Ground truth, official layout (filtered by subset, as the ActivityNet kit does):
    {"database": {"v_x": {"subset": "validation", "duration": 211.5,
                          "annotations": [{"segment": [30.0, 205.2], "label": "Rock climbing"}]}}}
Ground truth, the reference `ActivityNetDataset` layout (no subsets):
    {"v_x": {"duration_second": 211.5, "duration_frame": 6337, "annotations": [...],
             "feature_frame": 6336, "fps": 30.0, "rfps": 29.96}}
Results (proposals, or detections when every entry has a "label"):
    {"results": {"v_x": [{"segment": [30.0, 200.0], "score": 0.9, "label": "Rock climbing"}]}}

Segments are seconds. Video ids match with or without the "v_" prefix (`align_results`).
Every error names the file and the JSON path of the entry, e.g.
`results.json: results["v_abc"][3]: missing "score"`. Well-formed files (official layout for
ground truth) are decoded into typed columns and checked whole-array; the rest entry by entry.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vidact.errors import AnnotationError
from vidact.forking import can_fork, compute_in_child
from vidact.io.files import decode_json_as, gc_paused, parse_json, read_source
from vidact.io.scores import extract_protocol

GroundTruthFormat = Literal["activitynet", "per-video"]


@dataclass(frozen=True)
class VideoSegments:
    """The segments of one video, in file order.

    Attributes:
        segments: (K, 2) float64 [start_sec, end_sec].
        labels: K class names (None where a results entry has no label).
        scores: (K,) float64 confidences for results; None for ground truth.
    """

    segments: np.ndarray
    labels: tuple[str | None, ...]
    scores: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.segments)


@dataclass(frozen=True)
class GroundTruth:
    """Ground-truth segments of the videos of one subset.

    Attributes:
        path: the file as given; `name` is what messages print.
        format: 'activitynet' (official, with subsets) or 'per-video' (reference dataset file).
        subset: the subset kept, or None when the layout has none.
        videos: video id (as in the file) -> segments; only videos with at least one segment,
            as the ActivityNet kit counts them.
        durations: video id -> duration in seconds (None if the file has none).
        class_names: the labels in order of first appearance (the kit's class index order).
        num_videos_without_segments: videos of the subset skipped for having no annotations.
        sha256: hex digest of the file.
    """

    path: str
    format: GroundTruthFormat
    subset: str | None
    videos: dict[str, VideoSegments]
    durations: dict[str, float | None]
    class_names: tuple[str, ...]
    num_videos_without_segments: int
    sha256: str

    @property
    def name(self) -> str:
        return _display(self.path)

    @property
    def num_segments(self) -> int:
        return sum(len(v) for v in self.videos.values())


@dataclass(frozen=True, eq=False)
class ResultColumns:
    """Every entry of a results file as columns, in file order (videos in `Results.videos` order).

    What the whole-array reader builds anyway; metrics at ActivityNet scale read these instead of
    concatenating the per-video arrays and looking up 500k label strings again.

    Attributes:
        segments: (N, 2) float64 [start_sec, end_sec]; `VideoSegments.segments` are views of it.
        scores: (N,) float64.
        label_codes: (N,) int64 index into `label_names`, -1 for an entry without a label.
        label_names: the distinct labels the codes refer to.
        counts: (V,) int64 entries of each video.
    """

    segments: np.ndarray
    scores: np.ndarray
    label_codes: np.ndarray
    label_names: tuple[str, ...]
    counts: np.ndarray


@dataclass(frozen=True)
class Results:
    """Predicted segments per video from a results file (`"results"` key), in file order.

    Attributes:
        videos: video id (as in the file) -> segments with scores; may include empty videos.
        has_labels: every entry carries a "label" (usable for detection mAP).
        protocol: the file's "protocol" (or "meta") object, if any.
        columns: the same entries as columns when the whole-array reader read the file, else None
            (a speed-up for metrics; not part of equality).
    """

    path: str
    videos: dict[str, VideoSegments]
    has_labels: bool
    protocol: dict[str, Any] | None
    columns: ResultColumns | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return _display(self.path)

    @property
    def num_segments(self) -> int:
        if self.columns is not None:
            return int(self.columns.counts.sum())
        return sum(len(v) for v in self.videos.values())


@dataclass(frozen=True)
class Alignment:
    """Results re-keyed onto ground-truth video ids.

    Attributes:
        videos: results keyed by the matching ground-truth id; videos absent from the ground truth
            keep their own id (callers decide their policy).
        missing: ground-truth videos without results (no entry, or an empty list).
        extra: results videos (ids as in the results file) that are not in the ground truth.
    """

    videos: dict[str, VideoSegments]
    missing: list[str]
    extra: list[str]


def normalize_video_id(video: str) -> str:
    """The id without ActivityNet's "v_" prefix ("v_abc" and "abc" name the same video)."""
    return video[2:] if video.startswith("v_") else video


def read_ground_truth(path: str | Path, subset: str | None = "validation") -> GroundTruth:
    """Read ActivityNet ground truth in the official or the per-video layout (auto-detected).

    Args:
        path: the JSON file, or '-' for stdin.
        subset: keep videos of this subset (official layout only; None keeps all).

    Raises:
        AnnotationError: malformed entries, or no segments in the chosen subset.
    """
    name = _display(path)
    source = read_source(path)
    fast = _read_ground_truth_fast(source, str(path), subset)
    if fast is not None:
        return fast
    data = parse_json(source, name)
    if not isinstance(data, dict):
        raise AnnotationError(f"{name}: expected a JSON object of videos, got {_kind(data)}")
    if "database" in data:
        fmt: GroundTruthFormat = "activitynet"
        entries, root = _mapping(data["database"], name, "database"), "database"
        video_subsets = {}
        for video, entry in entries.items():
            where = f"database[{json.dumps(video)}]"
            value = _require(_mapping(entry, name, where), "subset", name, where)
            video_subsets[video] = _string(value, name, f"{where}.subset", "a subset name (string)")
        subsets = sorted(set(video_subsets.values()))
        if subset is not None:
            entries = {k: v for k, v in entries.items() if video_subsets[k] == subset}
            if not entries:
                raise AnnotationError(f"{name}: no videos in subset {subset!r}; subsets present: {', '.join(subsets)}")
    elif "results" in data:
        raise AnnotationError(
            f"{name}: this is a results file, not ground truth", hint="usage: vidact eval --ann GT.json RESULTS.json"
        )
    elif any(isinstance(v, dict) and ("annotations" in v or "duration_second" in v) for v in data.values()):
        fmt, entries, root, subset = "per-video", data, "", None
    else:
        raise AnnotationError(
            f"{name}: not ActivityNet ground truth: expected {{\"database\": {{video: ...}}}} "
            f"or {{video: {{\"duration_second\", \"annotations\", ...}}}}"
        )
    return _ground_truth(path, fmt, subset, entries, root)


def _ground_truth(
    path: str | Path, fmt: GroundTruthFormat, subset: str | None, entries: dict, root: str
) -> GroundTruth:
    name = _display(path)
    videos: dict[str, VideoSegments] = {}
    durations: dict[str, float | None] = {}
    class_names: dict[str, None] = {}
    empty = 0
    duration_key = "duration" if fmt == "activitynet" else "duration_second"
    for video, entry in entries.items():
        where = f"{root}[{json.dumps(video)}]"
        entry = _mapping(entry, name, where)
        duration = entry.get(duration_key)
        durations[video] = None if duration is None else _number(duration, name, f"{where}.{duration_key}")
        anns = _list(_require(entry, "annotations", name, where), name, f"{where}.annotations")
        if not anns:
            empty += 1
            continue
        segments = np.empty((len(anns), 2), np.float64)
        labels = []
        for j, ann in enumerate(anns):
            at = f"{where}.annotations[{j}]"
            ann = _mapping(ann, name, at)
            segments[j] = _segment(_require(ann, "segment", name, at), name, f"{at}.segment")
            labels.append(_string(_require(ann, "label", name, at), name, f"{at}.label"))
            class_names.setdefault(labels[-1])
        videos[video] = VideoSegments(segments, tuple(labels))
    if not videos:
        scope = f" in subset {subset!r}" if subset else ""
        raise AnnotationError(f"{name}: no annotated segments{scope} ({len(entries)} videos, none annotated)")
    return GroundTruth(
        path=str(path),
        format=fmt,
        subset=subset,
        videos=videos,
        durations=durations,
        class_names=tuple(class_names),
        num_videos_without_segments=empty,
        sha256=_sha256(path),
    )


def read_results(path: str | Path, *, require_labels: bool = False,
                 known_labels: Sequence[str] | None = None, workers: int = 1) -> Results:
    """Read a results file `{"results": {video: [{"segment", "score", "label"?}]}}`.

    Args:
        path: the JSON file, or '-' for stdin.
        require_labels: every entry must have a "label" (detection).
        known_labels: the labels the file is expected to use (e.g. the ground truth's classes).
            Only a speed-up: labels are then matched while decoding instead of read as 500k new
            strings; a file with other labels reads to the same `Results`, just slower.
        workers: with known labels, a large well-formed file (8 MB or more) is decoded by this
            many processes (at most 2: the second half by a forked child; Linux/macOS only).
            Only a speed-up, for command-line use; the result is the same.

    Raises:
        AnnotationError: malformed entries (NaN/inf, end < start, segment not a pair, missing
            keys) or no segments at all.
    """
    name = _display(path)
    source = read_source(path)
    with gc_paused():  # ~500k entries become columns and per-video tuples: nothing cyclic
        fast = _read_results_fast(source, str(path), require_labels, tuple(known_labels or ()), workers)
    if fast is not None:
        return fast
    data = parse_json(source, name)
    if not isinstance(data, dict) or "results" not in data:
        hint = None
        if isinstance(data, dict) and "database" in data:
            hint = "this looks like ground truth; usage: vidact eval --ann GT.json RESULTS.json"
        raise AnnotationError(f"{name}: missing \"results\": expected {{\"results\": {{video: [...]}}}}", hint=hint)
    entries = _mapping(data["results"], name, "results")
    if not entries:
        raise AnnotationError(f"{name}: \"results\" is empty (no videos)")
    videos = {}
    has_labels = True
    for video, items in entries.items():
        where = f"results[{json.dumps(video)}]"
        videos[video] = _result_segments(_list(items, name, where), name, where, require_labels)
        has_labels = has_labels and None not in videos[video].labels
    if not any(len(v) for v in videos.values()):
        raise AnnotationError(f"{name}: no segments in \"results\" ({len(videos)} videos, all empty)")
    return Results(str(path), videos, has_labels, extract_protocol(data, name))


def _result_segments(items: list, name: str, where: str, require_labels: bool) -> VideoSegments:
    segments = np.empty((len(items), 2), np.float64)
    scores = np.empty(len(items), np.float64)
    labels: list[str | None] = []
    for j, item in enumerate(items):
        at = f"{where}[{j}]"
        item = _mapping(item, name, at)
        segments[j] = _segment(_require(item, "segment", name, at), name, f"{at}.segment")
        scores[j] = _number(_require(item, "score", name, at), name, f"{at}.score")
        label = _require(item, "label", name, at) if require_labels else item.get("label")
        labels.append(None if label is None else _string(label, name, f"{at}.label"))
    return VideoSegments(segments, tuple(labels), scores)


def align_results(gt: GroundTruth, results: Results, *, check_labels: bool = False) -> Alignment:
    """Key `results` by ground-truth video id, accepting ids with or without the "v_" prefix.

    An exact id match wins; otherwise the id with the prefix added or removed is tried.

    Args:
        check_labels: every result label must be one of the ground truth's class names.

    Raises:
        AnnotationError: two results entries name the same video, or (with `check_labels`) a
            label that is not a ground-truth class.
    """
    videos: dict[str, VideoSegments] = {}
    source: dict[str, str] = {}
    extra = []
    known = set(gt.class_names)
    for video, segs in results.videos.items():
        gt_id = _match_id(video, gt.videos)
        if gt_id is None:
            extra.append(video)
            gt_id = video
        elif gt_id in source:
            raise AnnotationError(
                f"{results.name}: results[{json.dumps(source[gt_id])}] and results[{json.dumps(video)}] "
                f"are the same video (ids match with or without \"v_\")"
            )
        source[gt_id] = video
        videos[gt_id] = segs
        if check_labels and not known.issuperset(segs.labels):
            _check_labels(segs, gt, results.name, f"results[{json.dumps(video)}]")
    missing = [v for v in gt.videos if not len(videos.get(v, ()))]
    return Alignment(videos, missing, extra)


def _match_id(video: str, known: dict[str, Any]) -> str | None:
    if video in known:
        return video
    other = video[2:] if video.startswith("v_") else "v_" + video
    return other if other in known else None


def _check_labels(segs: VideoSegments, gt: GroundTruth, name: str, where: str) -> None:
    known = set(gt.class_names)
    for j, label in enumerate(segs.labels):
        if label not in known:
            close = difflib.get_close_matches(str(label), gt.class_names, n=1)
            hint = f" (did you mean {json.dumps(close[0])}?)" if close else ""
            raise AnnotationError(
                f"{name}: {where}[{j}].label: {json.dumps(label)} is not a class of {gt.name}{hint}"
            )


# ---- fast paths for well-formed files ----------------------------------------------------------
# ActivityNet-scale results hold ~500k entries: validating them one by one in Python takes longer
# than the metrics. Files that decode straight into the msgspec types below (fields of the right
# types, anything else skipped) get whole-array checks instead; any other file, including every
# error case, goes to the per-entry readers above, which name the offending entry. Both paths
# return equal objects.

_ABSENT = object()  # a key that is not in the file (null is a value)


@functools.cache
def _ground_truth_file_type() -> Any:
    """The type of well-formed ground truth in the official layout, or None without msgspec."""
    try:
        import msgspec
    except ImportError:
        return None
    segment = msgspec.defstruct("GroundTruthSegment", [("segment", tuple[float, float]), ("label", str)], gc=False)
    video = msgspec.defstruct(
        "GroundTruthVideo",
        [("subset", str), ("annotations", list[segment], _ABSENT), ("duration", float | None, None)],
        gc=False,
    )
    return msgspec.defstruct("GroundTruthFile", [("database", dict[str, video])])


_CHUNK_VIDEOS = 8
"""Videos decoded at a time by the fast results reader: each chunk's records are turned into
columns and freed before the next, so the allocator reuses the same cache-warm memory instead of
holding ~2 million records at once (about a tenth less time and half the peak memory at
ActivityNet scale)."""


@functools.cache
def _results_outline_type() -> Any:
    """The top level of a results file with each video's list left undecoded (None without msgspec)."""
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.defstruct(
        "ResultsOutline",
        [("results", dict[str, msgspec.Raw]), ("protocol", Any, _ABSENT), ("meta", Any, _ABSENT)],
    )


@functools.cache
def _result_entry_type(require_labels: bool, labels: tuple[str, ...] = ()) -> Any:
    """One results entry; with `labels`, "label" must be one of them and decodes to those very objects.

    With `require_labels` the "label" key must be present; null still reads as no label, as in the
    per-entry reader. None when msgspec is not installed.
    """
    try:
        import msgspec
    except ImportError:
        return None
    choice = (Literal[labels] if labels else str) | None  # type: ignore[valid-type]
    label = ("label", choice) if require_labels else ("label", choice, None)
    # gc=False: entries hold no reference cycles, so the collector need not track 500k of them.
    return msgspec.defstruct("ResultEntry", [("segment", tuple[float, float]), ("score", float), label], gc=False)


def _read_results_fast(source: bytes | str, path: str, require_labels: bool,
                       known_labels: tuple[str, ...] = (), workers: int = 1) -> Results | None:
    """`Results` of a well-formed file, or None to use the per-entry reader."""
    outline = _results_outline_type()
    doc = None if outline is None else decode_json_as(source, outline)
    if doc is None:
        return None
    raws = list(doc.results.values())
    columns = None
    if known_labels:
        names = tuple(dict.fromkeys(known_labels))
        entry = _result_entry_type(require_labels, names)
        index: dict[str | None, int] = {name: i for i, name in enumerate(names)}
        index[None] = -1
        columns = _decode_in_parts(raws, entry, index, workers)
        if columns is not None:
            segments, scores, codes, counts = columns
            labels = tuple(map((*names, None).__getitem__, codes.tolist()))  # -1 reads None
    if columns is None:  # no known labels, one outside them, or a malformed entry (then None again)
        columns = _decode_result_lists(raws, _result_entry_type(require_labels))
        if columns is None:
            return None
        segments, scores, labels, counts = columns
        names, codes, labels = _label_codes(labels)
    if not scores.shape[0] or not (np.isfinite(segments).all() and (segments[:, 1] >= segments[:, 0]).all()
                                   and np.isfinite(scores).all()):
        return None
    ends = np.cumsum(counts).tolist()
    labels = tuple(labels)  # no copy when it is one already; its slices are the per-video tuples
    videos = {
        _fresh(video): VideoSegments(segments[start:end], labels[start:end], scores[start:end])
        for video, start, end in zip(doc.results, [0, *ends[:-1]], ends)
    }
    top = {key: value for key, value in (("protocol", doc.protocol), ("meta", doc.meta)) if value is not _ABSENT}
    has_labels = bool(codes.min() >= 0)
    table = ResultColumns(segments, scores, codes, names, np.asarray(counts, dtype=np.int64))
    return Results(path, videos, has_labels, extract_protocol(top, _display(path)), table)


def _decode_result_lists(raws: list[Any], entry: Any, label_index: dict[str | None, int] | None = None
                         ) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray] | None:
    """((N, 2) segments, (N,) scores, labels, (V,) entries per video) of undecoded video lists, or None.

    None when a list does not decode into `entry`s. Labels: the decoded strings (or None), or with
    `label_index` their (N,) int64 codes.
    """
    schema = list[list[entry]]
    segments, scores, labels, counts = [], [], [], []
    chain = itertools.chain.from_iterable
    segment_of, score_of, label_of = attrgetter("segment"), attrgetter("score"), attrgetter("label")
    for start in range(0, len(raws), _CHUNK_VIDEOS):
        lists = decode_json_as(b"[" + b",".join(raws[start:start + _CHUNK_VIDEOS]) + b"]", schema)
        if lists is None:
            return None
        counts += map(len, lists)
        entries = list(chain(lists))
        del lists
        k = len(entries)
        # Columns through C-level iteration (map/attrgetter): a Python loop per entry costs more than decoding.
        segments.append(np.fromiter(chain(map(segment_of, entries)), np.float64, 2 * k))
        scores.append(np.fromiter(map(score_of, entries), np.float64, k))
        if label_index is None:
            labels += map(label_of, entries)
        else:
            labels.append(np.fromiter(map(label_index.__getitem__, map(label_of, entries)), np.int64, k))
    if label_index is not None:
        labels = np.concatenate(labels) if labels else np.empty(0, dtype=np.int64)
    return (np.concatenate(segments).reshape(-1, 2) if segments else np.empty((0, 2)),
            np.concatenate(scores) if scores else np.empty(0), labels, np.asarray(counts, dtype=np.int64))


_SPLIT_MIN_BYTES = 8 << 20
"""Results files smaller than this are decoded in one process (a fork costs more than it saves)."""
_MIN_ENTRY_BYTES = len('{"segment":[0,0],"score":0}')  # the shortest JSON of one entry: bounds the entry count


def _decode_in_parts(raws: list[Any], entry: Any, label_index: dict[str | None, int], workers: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """`_decode_result_lists` with codes, the second half decoded by a forked child when `workers` > 1.

    Any failure there (a malformed entry, a label outside `label_index`) reads as None, as in one
    process.
    """
    if not can_fork(workers) or sum(map(len, raws)) < _SPLIT_MIN_BYTES:
        return _decode_result_lists(raws, entry, label_index)
    half = len(raws) // 2
    most = sum(map(len, raws[half:])) // _MIN_ENTRY_BYTES + 1  # entries the child's bytes can hold
    join = compute_in_child(lambda: _decode_result_lists(raws[half:], entry, label_index),
                            (np.float64, np.float64, np.int64, np.int64), 4 * most + len(raws) - half)
    try:
        first = _decode_result_lists(raws[:half], entry, label_index)
    finally:
        second = join()
    if first is None or second is None:
        return None
    second[0] = second[0].reshape(-1, 2)
    return tuple(np.concatenate([a, b]) for a, b in zip(first, second))  # type: ignore[return-value]


def _label_codes(labels: list[str | None]) -> tuple[tuple[str, ...], np.ndarray, list]:
    """(distinct names, (N,) int64 code of each label (-1: None), labels with one string object per name).

    Each distinct label gets one fresh copy (see `_fresh`), so the decoded strings can all go.
    """
    if labels.count(None) == len(labels):  # proposals: no labels at all
        return (), np.full(len(labels), -1, dtype=np.int64), labels
    canonical = {value: _fresh(value) for value in set(labels)}
    labels = list(map(canonical.__getitem__, labels))
    names = tuple(sorted(value for value in canonical.values() if value is not None))
    index: dict[str | None, int] = {name: i for i, name in enumerate(names)}
    index[None] = -1
    return names, np.fromiter(map(index.__getitem__, labels), np.int64, len(labels)), labels


def _read_ground_truth_fast(source: bytes | str, path: str, subset: str | None) -> GroundTruth | None:
    """`GroundTruth` of a well-formed file in the official layout, or None to use the per-entry reader."""
    schema = _ground_truth_file_type()
    doc = None if schema is None else decode_json_as(source, schema)
    if doc is None:
        return None
    kept = {video: entry for video, entry in doc.database.items() if subset is None or entry.subset == subset}
    if any(entry.annotations is _ABSENT for entry in kept.values()):
        return None
    durations = {video: entry.duration for video, entry in kept.items()}
    if not all(math.isfinite(d) for d in durations.values() if d is not None):
        return None
    annotated = {video: entry.annotations for video, entry in kept.items() if entry.annotations}
    columns = _segment_columns(list(annotated.values()))
    if columns is None:
        return None
    entries, segments, ends = columns
    labels = [e.label for e in entries]
    videos = {
        video: VideoSegments(segments[start:end], tuple(labels[start:end]))
        for video, start, end in zip(annotated, [0, *ends[:-1]], ends)
    }
    return GroundTruth(
        path=path,
        format="activitynet",
        subset=subset,
        videos=videos,
        durations=durations,
        class_names=tuple(dict.fromkeys(labels)),
        num_videos_without_segments=len(kept) - len(annotated),
        sha256=_sha256(path),
    )


def _fresh(value: str | None) -> str | None:
    """A new string object equal to `value`, allocated apart from the decoded records.

    The decoder lays the strings it makes (video ids, 500k copies of ~200 labels) among the records
    of a 30 MB file; Python returns an allocator arena to the system only when nothing in it is
    alive, so keeping any of those strings would pin nearly every arena (~150 MB resident at
    ActivityNet scale). Keeping fresh copies instead lets all of it go once the columns are built.
    """
    return None if value is None else value.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


def _segment_columns(lists: list[list[Any]]) -> tuple[list[Any], np.ndarray, list[int]] | None:
    """The entries of `lists` in order, their (N, 2) float64 segments and each list's end offset.

    None when there are no entries, or a segment is not finite or ends before it starts.
    """
    entries = list(itertools.chain.from_iterable(lists))
    n = len(entries)
    if not n:
        return None
    segments = np.fromiter(itertools.chain.from_iterable(map(attrgetter("segment"), entries)), np.float64, 2 * n)
    segments = segments.reshape(n, 2)
    if not (np.isfinite(segments).all() and (segments[:, 1] >= segments[:, 0]).all()):
        return None
    return entries, segments, np.cumsum(list(map(len, lists))).tolist()


VIDEO_INFO_KEYS = ("duration_second", "duration_frame", "annotations", "feature_frame")
"""Keys every entry of a per-video annotation file needs (`ActivityNetDataset`, BSN's PGM)."""


def read_video_infos(path: str | Path) -> list[dict[str, Any]]:
    """Read a per-video annotation file (the `ActivityNetDataset` layout) as `video_infos`.

    Returns:
        One dict per video, in file order: the video's entry plus "video_name" (its key).

    Raises:
        AnnotationError: not a non-empty JSON object, or an entry that is not an object, lacks one
            of `VIDEO_INFO_KEYS`, or whose "annotations" is not a list (naming file and video).
    """
    database = parse_json(read_source(path), _display(path))
    if not isinstance(database, dict) or not database:
        raise AnnotationError(f"{path}: expected a JSON object with one entry per video")
    video_infos = []
    for video_name, info in database.items():
        where = f"{path}: [{video_name!r}]"
        if not isinstance(info, dict):
            raise AnnotationError(f"{where}: expected an object, got {type(info).__name__}")
        missing = [key for key in VIDEO_INFO_KEYS if key not in info]
        if missing:
            raise AnnotationError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
        if not isinstance(info["annotations"], list):
            raise AnnotationError(f"{where}: 'annotations' must be a list")
        video_infos.append({**info, "video_name": video_name})
    return video_infos


# ---- validation helpers: each names the file and the JSON path of the offending entry ---------


def _display(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def _sha256(path: str | Path) -> str:
    if str(path) == "-":
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def _mapping(value: Any, name: str, where: str) -> dict:
    if not isinstance(value, dict):
        raise AnnotationError(f"{name}: {where}: expected an object, got {_kind(value)}")
    return value


def _list(value: Any, name: str, where: str) -> list:
    if not isinstance(value, list):
        raise AnnotationError(f"{name}: {where}: expected a list, got {_kind(value)}")
    return value


def _require(entry: dict, key: str, name: str, where: str) -> Any:
    if key not in entry:
        raise AnnotationError(f"{name}: {where}: missing \"{key}\"")
    return entry[key]


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnnotationError(f"{name}: {where}: expected a number, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range
        number = math.inf
    if not math.isfinite(number):
        raise AnnotationError(f"{name}: {where}: expected a finite number, got {value}")
    return number


def _segment(value: Any, name: str, where: str) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        got = f"{len(value)} values" if isinstance(value, list) else _kind(value)
        raise AnnotationError(f"{name}: {where}: expected [start, end], got {got}")
    start, end = (_number(v, name, f"{where}[{i}]") for i, v in enumerate(value))
    if end < start:
        raise AnnotationError(f"{name}: {where}: end {end!r} < start {start!r}")
    return start, end


def _string(value: Any, name: str, where: str, what: str = "a class name (string)") -> str:
    if not isinstance(value, str):
        raise AnnotationError(f"{name}: {where}: expected {what}, got {_kind(value)}")
    return value
