"""SSN files: raw test outputs (JSON / .npz), per-class detections JSON, THUMOS'14 ground truth, submissions.

Raw output (written by `vidact test` on an SSN recipe), JSON::

    {"model": "SSN", "format": "ssn_raw_output", "num_classes": K,
     "videos": [{"video_id": "v1", "relative_proposal_list": [[0.1, 0.3], ...],
                 "activity_scores": [[...K + 1...], ...], "completeness_scores": [[...K...], ...],
                 "bbox_preds": [[[dc, dl] x K], ...] or null}, ...]}

or `.npz` with `model`, `video_ids` (V,), `proposal_counts` (V,) and the four arrays stacked over
all proposals (`bbox_preds` absent without regression). Per-class detections JSON::

    {"<class index>": {"<video>": [[t_start, t_end, score, d_centre, d_log_duration], ...]}}

on [0, 1] time; ground truth in the same form has rows [t_start, t_end]. Every error names the
file and the entry.
"""

from __future__ import annotations

import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidact.errors import AnnotationError, InputError
from vidact.io.files import atomic_write_bytes, atomic_write_text, parse_json
from vidact.localization.detections import ClassDetections, SSNVideoOutput
from vidact.localization.ssn import load_localize_proposal_file

RAW_FORMAT = "ssn_raw_output"
_NPZ_MAGIC = b"PK\x03\x04"


def _name(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def _read_bytes(path: str | Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file" if not p.exists() else f"{p}: is a directory, expected a file")
    return p.read_bytes()


# ---- reading detections or raw outputs ----------------------------------------------------------


def read_ssn_detections_input(path: str | Path) -> list[SSNVideoOutput] | ClassDetections:
    """Read raw SSN outputs (JSON or .npz) or per-class detections JSON; '-' reads stdin.

    Returns:
        A list of `SSNVideoOutput` for raw outputs, else the per-class detections (a list indexed
        by class, up to the highest class index given).

    Raises:
        AnnotationError: another model's output, a malformed entry, a bad class index, NaN scores.
    """
    name = _name(path)
    data = _read_bytes(path)
    if data.startswith(_NPZ_MAGIC):
        return _raw_from_npz(data, name)
    obj = parse_json(data, name)
    _refuse_other_outputs(obj, name)
    if isinstance(obj, dict) and ("model" in obj or "videos" in obj or "format" in obj):
        return _raw_from_json(obj, name)
    return parse_class_detections(obj, name)


def read_class_detections(path: str | Path, *, num_classes: int | None = None) -> ClassDetections:
    """Read per-class detections JSON ('-' reads stdin); class indexes with rows must be < num_classes.

    Raises:
        AnnotationError: raw outputs (they need `vidact detections-to-regression` first) or a bad entry.
    """
    name = _name(path)
    data = _read_bytes(path)
    if data.startswith(_NPZ_MAGIC):
        raise AnnotationError(f"{name}: an .npz file; expected per-class detections JSON",
                              hint="turn SSN raw output into detections with `vidact detections-to-regression`")
    obj = parse_json(data, name)
    _refuse_other_outputs(obj, name)
    if isinstance(obj, dict) and ("model" in obj or "videos" in obj or "format" in obj):
        _check_model(obj.get("model"), obj.get("format"), name)
        raise AnnotationError(f"{name}: SSN raw output, not per-class detections",
                              hint="run `vidact detections-to-regression` on it first")
    return parse_class_detections(obj, name, num_classes=num_classes)


def _refuse_other_outputs(obj: Any, name: str) -> None:
    """One-line errors for the outputs of other models that a pipeline may feed here by mistake."""
    if isinstance(obj, dict) and "scores" in obj:
        raise AnnotationError(f'{name}: recognition scores ("scores"), not SSN raw output or per-class detections',
                              hint="run `vidact test` on an SSN recipe")
    if isinstance(obj, dict) and "results" in obj:
        raise AnnotationError(f'{name}: ActivityNet-style results ("results"), not SSN raw output or per-class '
                              "detections", hint="score those with `vidact eval --metric mAP --ann GT.json`")


def parse_class_detections(obj: Any, name: str, *, num_classes: int | None = None,
                           min_columns: int = 3) -> ClassDetections:
    """Validate per-class detections (or ground truth with `min_columns=2`) parsed from JSON.

    Raises:
        AnnotationError: not an object of class index -> video -> rows; a class index that is not
            an integer in [0, num_classes); rows with too few columns, NaN or inf values, or ending
            before they start.
    """
    if not isinstance(obj, dict):
        raise AnnotationError(
            f"{name}: expected SSN raw output or per-class detections "
            '{"<class index>": {"<video>": [[start, end, score, ...], ...]}}, got a JSON ' + _kind(obj))
    per_class: dict[int, dict[str, np.ndarray]] = {}
    for key, videos in obj.items():
        if key == "protocol":  # provenance (the annotation file the detections were made for), not a class
            continue
        class_idx = _class_index(key, name, None)
        if videos == {} and num_classes is not None and class_idx >= num_classes:
            continue  # an empty class beyond the range (raw outputs list all their classes)
        _class_index(key, name, num_classes)
        if not isinstance(videos, dict):
            raise AnnotationError(f"{name}: [{json.dumps(key)}]: expected an object of video -> rows, "
                                  f"got a {_kind(videos)}")
        per_class[class_idx] = {str(video): _rows(rows, name, f"[{json.dumps(key)}][{json.dumps(video)}]",
                                                  min_columns)
                                for video, rows in videos.items()}
    size = max(per_class, default=-1) + 1 if num_classes is None else num_classes
    return [per_class.get(c, {}) for c in range(size)]


def _class_index(key: str, name: str, num_classes: int | None) -> int:
    try:
        class_idx = int(key)
    except ValueError:
        class_idx = -1
    if str(class_idx) != key.strip() or class_idx < 0:
        raise AnnotationError(f"{name}: [{json.dumps(key)}]: class index out of range: expected an integer >= 0")
    if num_classes is not None and class_idx >= num_classes:
        raise AnnotationError(f"{name}: [{json.dumps(key)}]: class index {class_idx} out of range "
                              f"(the ground truth has classes 0..{num_classes - 1})")
    return class_idx


def _rows(rows: Any, name: str, where: str, min_columns: int) -> np.ndarray:
    """One video's rows -> (N, C) float64, checked."""
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise AnnotationError(f"{name}: {where}: expected a list of rows [start, end, ...]")
    lengths = {len(r) for r in rows}
    if len(lengths) > 1 or (rows and min(lengths) < min_columns):
        bad = next(i for i, r in enumerate(rows) if len(r) < min_columns or len(r) != len(rows[0]))
        raise AnnotationError(f"{name}: {where}[{bad}]: expected rows of at least {min_columns} numbers, "
                              f"all of one length, got {json.dumps(rows[bad])[:80]}")
    try:
        array = np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    except (TypeError, ValueError):
        bad = next(i for i, r in enumerate(rows) if not all(_is_number(v) for v in r))
        raise AnnotationError(f"{name}: {where}[{bad}]: expected numbers, got {json.dumps(rows[bad])[:80]}") from None
    _check_finite(array, name, where, "score" if min_columns >= 3 else "value")
    reversed_rows = np.flatnonzero(array[:, 1] < array[:, 0]) if array.size else []
    if len(reversed_rows):
        i = int(reversed_rows[0])
        raise AnnotationError(f"{name}: {where}[{i}]: segment ends before it starts ({array[i, 0]} > {array[i, 1]})")
    return array


def _check_finite(array: np.ndarray, name: str, where: str, what: str) -> None:
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        i, j = (int(x) for x in bad[0])
        label = {0: "start", 1: "end", 2: "score"}.get(j, f"column {j}") if what == "score" else f"column {j}"
        raise AnnotationError(f"{name}: {where}[{i}]: {label} is {array[i, j]} (NaN or infinite values are refused)")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string"}.get(type(value), type(value).__name__)


def _raw_from_json(obj: dict, name: str) -> list[SSNVideoOutput]:
    _check_model(obj.get("model"), obj.get("format"), name)
    videos = obj.get("videos")
    if not isinstance(videos, list) or not videos:
        raise AnnotationError(f'{name}: "videos": expected a non-empty list of per-video outputs')
    outputs = []
    for i, entry in enumerate(videos):
        where = f"videos[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("video_id"), str):
            raise AnnotationError(f'{name}: {where}: expected an object with a "video_id" string')
        arrays = {}
        for key in ("relative_proposal_list", "activity_scores", "completeness_scores", "bbox_preds"):
            value = entry.get(key)
            if value is None and key == "bbox_preds":
                arrays[key] = None
                continue
            try:
                arrays[key] = np.array(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise AnnotationError(f'{name}: {where}: "{key}" is not a numeric array') from None
        outputs.append(_video_output(entry["video_id"], arrays, name, f'{where} ({entry["video_id"]!r})'))
    _check_same_classes(outputs, name)
    return outputs


def _raw_from_npz(data: bytes, name: str) -> list[SSNVideoOutput]:
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
        arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError) as exc:
        raise AnnotationError(f"{name}: not a readable .npz file ({exc})") from None
    model = arrays.get("model")
    _check_model(None if model is None else str(model), str(arrays.get("format", RAW_FORMAT)), name)
    for key in ("video_ids", "proposal_counts", "relative_proposal_list", "activity_scores", "completeness_scores"):
        if key not in arrays:
            raise AnnotationError(f"{name}: missing array {key!r} of SSN raw output")
    counts = arrays["proposal_counts"].astype(np.int64).reshape(-1)
    video_ids = [str(v) for v in arrays["video_ids"].reshape(-1)]
    if len(video_ids) != counts.size or counts.sum() != len(arrays["relative_proposal_list"]):
        raise AnnotationError(f"{name}: video_ids, proposal_counts and relative_proposal_list do not agree")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    outputs = []
    for i, video_id in enumerate(video_ids):
        part = slice(bounds[i], bounds[i + 1])
        per_video = {key: (arrays[key][part].astype(np.float64) if key in arrays else None)
                     for key in ("relative_proposal_list", "activity_scores", "completeness_scores", "bbox_preds")}
        outputs.append(_video_output(video_id, per_video, name, f"video {video_id!r}"))
    _check_same_classes(outputs, name)
    return outputs


def _check_model(model: Any, fmt: Any, name: str) -> None:
    if model != "SSN" or (fmt is not None and fmt != RAW_FORMAT):
        raise AnnotationError(f"{name}: raw output of model {model!r} (format {fmt!r}); expected SSN raw output "
                              f'("model": "SSN", "format": "{RAW_FORMAT}") or per-class detections',
                              hint="write it with `vidact test` on an SSN recipe")


def _video_output(video_id: str, arrays: dict[str, np.ndarray | None], name: str, where: str) -> SSNVideoOutput:
    proposals, activity, completeness = (arrays[k] for k in ("relative_proposal_list", "activity_scores",
                                                             "completeness_scores"))
    assert proposals is not None and activity is not None and completeness is not None
    num = len(proposals)
    if proposals.shape != (num, 2) or activity.ndim != 2 or activity.shape[0] != num or activity.shape[1] < 2:
        raise AnnotationError(f"{name}: {where}: expected relative_proposal_list (P, 2) and activity_scores "
                              f"(P, K + 1), got {proposals.shape} and {activity.shape}")
    num_classes = activity.shape[1] - 1
    if completeness.shape != (num, num_classes):
        raise AnnotationError(f"{name}: {where}: completeness_scores has shape {completeness.shape}, "
                              f"expected {(num, num_classes)}")
    bbox = arrays.get("bbox_preds")
    if bbox is not None:
        if bbox.size != num * num_classes * 2:
            raise AnnotationError(f"{name}: {where}: bbox_preds has shape {bbox.shape}, expected {(num, num_classes, 2)}")
        bbox = bbox.reshape(num, num_classes, 2)
    for key, value in (("relative_proposal_list", proposals), ("activity_scores", activity),
                       ("completeness_scores", completeness), ("bbox_preds", bbox)):
        if value is not None and not np.isfinite(value).all():
            index = tuple(int(x) for x in np.argwhere(~np.isfinite(value))[0])
            raise AnnotationError(f"{name}: {where}: {key}{list(index)} is {value[index]} "
                                  "(NaN or infinite values are refused)")
    return SSNVideoOutput(video_id, proposals, activity, completeness, bbox)


def _check_same_classes(outputs: Sequence[SSNVideoOutput], name: str) -> None:
    counts = {o.activity_scores.shape[1] for o in outputs}
    if len(counts) > 1:
        raise AnnotationError(f"{name}: videos disagree on the number of classes ({sorted(c - 1 for c in counts)})")


# ---- writing raw outputs --------------------------------------------------------------------------


def write_ssn_raw_outputs(path: str | Path, outputs: Sequence[SSNVideoOutput],
                          protocol: Mapping[str, Any] | None = None) -> None:
    """Write raw SSN outputs atomically: `.npz` by suffix, else JSON (never pickle)."""
    num_classes = outputs[0].activity_scores.shape[1] - 1 if outputs else 0
    if str(path).endswith(".npz"):
        arrays: dict[str, np.ndarray] = {
            "model": np.array("SSN"), "format": np.array(RAW_FORMAT),
            "video_ids": np.array([o.video_id for o in outputs], dtype=str),
            "proposal_counts": np.array([len(o.relative_proposal_list) for o in outputs], dtype=np.int64),
        }
        for key in ("relative_proposal_list", "activity_scores", "completeness_scores"):
            arrays[key] = np.concatenate([getattr(o, key) for o in outputs]).astype(np.float32)
        if outputs and all(o.bbox_preds is not None for o in outputs):
            arrays["bbox_preds"] = np.concatenate([o.bbox_preds for o in outputs]).astype(np.float32)
        if protocol:
            arrays["protocol"] = np.array(json.dumps(dict(protocol)))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())
        return
    obj = {"model": "SSN", "format": RAW_FORMAT, "num_classes": num_classes,
           "videos": [{"video_id": o.video_id, **{k: (None if v is None else np.asarray(v).tolist())
                                                   for k, v in o.as_result().items()}} for o in outputs]}
    if protocol:
        obj["protocol"] = dict(protocol)
    atomic_write_text(path, json.dumps(obj) + "\n")


# ---- ground truth and durations -----------------------------------------------------------------


def read_thumos_ground_truth(path: str | Path) -> dict[int, dict[str, np.ndarray]]:
    """Ground truth for THUMOS'14 mAP: class index -> video -> (G, 2) [t_start, t_end] on [0, 1] time.

    From an SSN proposal list (label L is class index L - 1; segments [start_frame, min(end_frame,
    num_frames)] / num_frames, keeping the ground truths `SSNDataset` keeps) or the per-class JSON
    form `{"<class index>": {"<video>": [[start, end], ...]}}`. Classes listed with no segment
    extend the class range.
    """
    name = _name(path)
    data = _read_bytes(path)
    if data.lstrip()[:1] in (b"{", b"["):
        per_class = parse_class_detections(parse_json(data, name), name, min_columns=2)
        return {c: {v: rows[:, :2] for v, rows in videos.items()} for c, videos in enumerate(per_class)}
    gts: dict[int, dict[str, np.ndarray]] = {}
    for video_id, num_frames, gt_boxes, _ in load_localize_proposal_file(path):
        boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 3).astype(np.int64)
        boxes = boxes[(boxes[:, 2] > boxes[:, 1]) & (boxes[:, 1] < num_frames)]
        if (boxes[:, 0] < 1).any():
            raise AnnotationError(f"{name}: video {video_id!r}: ground-truth label {int(boxes[:, 0].min())} "
                                  "out of range (labels start at 1; 0 is background)")
        for label in np.unique(boxes[:, 0]).tolist():
            mine = boxes[boxes[:, 0] == label]
            segments = np.stack([mine[:, 1], np.minimum(mine[:, 2], num_frames)], axis=1) / num_frames
            gts.setdefault(label - 1, {})[video_id] = segments
    return dict(sorted(gts.items()))


def read_durations(path: str | Path, fps: float) -> dict[str, float]:
    """Video id -> duration in seconds, from ActivityNet-style JSON or an SSN proposal list (frames / fps)."""
    if str(path).lower().endswith(".json"):
        from vidact.data.annotations.activitynet import read_ground_truth

        gt = read_ground_truth(path, subset=None)
        return {v: float(d) for v, d in gt.durations.items() if d is not None}
    return {video_id: num_frames / fps for video_id, num_frames, _, _ in load_localize_proposal_file(path)}


# ---- writing detections ---------------------------------------------------------------------------


def format_class_detections(detections: ClassDetections, protocol: Mapping[str, Any] | None = None) -> str:
    """The per-class JSON form (all classes, empty ones as {}), floats written exactly; `protocol`
    (e.g. the annotation file, for `vidact eval` without --ann) under the key "protocol"."""
    obj: dict[str, Any] = {str(c): {v: np.asarray(rows, dtype=np.float64).tolist() for v, rows in per_video.items()}
                           for c, per_video in enumerate(detections)}
    if protocol:
        obj["protocol"] = dict(protocol)
    return json.dumps(obj) + "\n"


def _seconds(detections: ClassDetections, durations: Mapping[str, float], name: str):
    for class_idx, per_video in enumerate(detections):
        for video_id, rows in per_video.items():
            duration = durations.get(video_id)
            if duration is None or not math.isfinite(duration):
                raise AnnotationError(f"{name}: no duration for video {video_id!r} (needed to write seconds)")
            rows = np.asarray(rows, dtype=np.float64)
            yield class_idx, video_id, rows[:, :2] * duration, rows[:, 2]


def format_thumos(detections: ClassDetections, durations: Mapping[str, float], ann_name: str) -> str:
    """THUMOS'14 submission text: `video start_sec end_sec class score` per line (class = index + 1)."""
    lines = [f"{video_id}\t{s:.2f}\t{e:.2f}\t{class_idx + 1}\t{score:.6f}"
             for class_idx, video_id, seconds, scores in _seconds(detections, durations, ann_name)
             for (s, e), score in zip(seconds.tolist(), scores.tolist(), strict=True)]
    return "\n".join(lines) + ("\n" if lines else "")


def format_anet(detections: ClassDetections, durations: Mapping[str, float], ann_name: str,
                class_names: Sequence[str] | None = None, protocol: Mapping[str, Any] | None = None) -> str:
    """ActivityNet detection JSON scored by `vidact eval --metric mAP`; labels are `class_names[index]`,
    or the class index as a string.

    Raises:
        AnnotationError: a video without duration, or a class index beyond `class_names`.
    """
    if class_names is not None and len(detections) > len(class_names):
        used = [c for c, per_video in enumerate(detections) if per_video and c >= len(class_names)]
        if used:
            raise AnnotationError(f"class index {used[0]} has no name: the class list has {len(class_names)}")
    results: dict[str, list[dict[str, Any]]] = {}
    for class_idx, video_id, seconds, scores in _seconds(detections, durations, ann_name):
        label = class_names[class_idx] if class_names is not None else str(class_idx)
        results.setdefault(video_id, []).extend(
            {"label": label, "score": score, "segment": segment}
            for segment, score in zip(seconds.tolist(), scores.tolist(), strict=True))
    document: dict[str, Any] = {"version": "VERSION 1.3", "results": results, "external_data": {}}
    if protocol:
        document["protocol"] = dict(protocol)
    return json.dumps(document) + "\n"


def write_text_output(out: str | Path, text: str) -> None:
    """Write to stdout for '-', else atomically."""
    if str(out) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write_text(out, text)
