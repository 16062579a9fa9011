"""Converters between temporal annotation formats: ActivityNet JSON, per-video JSON, THUMOS14, SSN lists.

    anet_to_per_video      official ActivityNet JSON (+ video_info CSV) -> anet_anno_{train,val,test,full}.json
    per_video_to_anet      per-video files (subset from the file name or given) -> official JSON
    thumos_to_anet         THUMOS14 `<Class>_val.txt` files -> ActivityNet-style JSON
    thumos_to_ssn          THUMOS14 files -> SSN proposal list (ground truth only)
    proposals_to_ssn       proposal results JSON + ground truth -> SSN normalized proposal list
                           and its frame-index version beside it

Video-info CSV (the reference `video_info_new.csv`): header with `video` and any of `numFrame`,
`seconds`, `fps`, `rfps`, `featureFrame`. Ids match with or without the `v_` prefix. Segments are
seconds in JSON and frame indices (`round(sec * fps)`) in SSN lists; SSN labels are class index + 1
(0 is background), with classes in `classes.txt` order when given, else sorted by name.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidact.data.annotations.activitynet import normalize_video_id, read_ground_truth, read_results
from vidact.errors import AnnotationError, InputError
from vidact.io.files import atomic_write_text, read_json, read_text

log = logging.getLogger(__name__)

SUBSET_FILES = {"training": "train", "validation": "val", "testing": "test"}
_THUMOS_FILE = re.compile(r"^(?P<cls>.+)_(?P<subset>val|validation|test)\.txt$")


@dataclass(frozen=True)
class ConvertResult:
    """Files written and what they hold ('videos', 'segments', 'proposals', ...)."""

    files: dict[str, Path]
    counts: dict[str, int]

    def to_dict(self) -> dict:
        return {"files": {k: str(v) for k, v in self.files.items()}, "counts": self.counts}


@dataclass(frozen=True)
class VideoInfo:
    """Per-video frame facts from a video-info CSV or a probed video; None where unknown."""

    num_frames: int | None = None
    seconds: float | None = None
    fps: float | None = None
    rfps: float | None = None
    feature_frame: int | None = None


# ---- shared helpers ------------------------------------------------------------------------------


def read_video_info(path: str | os.PathLike) -> dict[str, VideoInfo]:
    """Read a video-info CSV into normalized id (no `v_`) -> VideoInfo.

    Raises:
        AnnotationError: no `video` column, or a non-numeric value (naming `file:line`).
    """
    rows = list(csv.DictReader(read_text(path).splitlines()))
    if not rows or "video" not in rows[0]:
        raise AnnotationError(f"{path}: expected a CSV header with a 'video' column (and numFrame, seconds, fps, "
                              f"rfps, featureFrame)")
    columns = {"num_frames": ("numFrame", int), "seconds": ("seconds", float), "fps": ("fps", float),
               "rfps": ("rfps", float), "feature_frame": ("featureFrame", int)}
    infos = {}
    for no, row in enumerate(rows, start=2):
        values: dict[str, Any] = {}
        for key, (column, kind) in columns.items():
            text = (row.get(column) or "").strip()
            try:
                values[key] = kind(float(text)) if text else None
            except ValueError:
                raise AnnotationError(f"{path}:{no}: {column} of {row['video']!r} is not a number: {text!r}") from None
        infos[normalize_video_id(row["video"])] = VideoInfo(**values)
    return infos


def probe_video_dir(video_dir: str | os.PathLike, video_ids: Iterable[str]) -> dict[str, VideoInfo]:
    """Frame count and fps of `<video_dir>/<id>.<ext>` for each id found (the frame-count policy)."""
    from vidact.data.annotations.lists import VIDEO_EXTENSIONS
    from vidact.data.decoding import open_video

    by_stem = {p.stem: p for p in Path(video_dir).iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS}
    infos = {}
    for vid in video_ids:
        path = by_stem.get(vid)
        if path is not None:
            with open_video(path) as reader:
                infos[normalize_video_id(vid)] = VideoInfo(num_frames=reader.num_frames, fps=reader.fps,
                                                           seconds=reader.duration)
    return infos


def _class_index(classes_file: str | os.PathLike | None, names: Iterable[str]) -> dict[str, int]:
    """Class name -> 0-based index: `classes_file` line order, else sorted names."""
    if classes_file is None:
        return {c: i for i, c in enumerate(sorted(set(names)))}
    ordered = [line.strip() for line in read_text(classes_file).splitlines() if line.strip()]
    index = {c: i for i, c in enumerate(ordered)}
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise AnnotationError(f"{classes_file}: class {unknown[0]!r} of the annotations is not listed "
                              f"({len(unknown)} unlisted)")
    return index


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AnnotationError(f"{name}: {where}: expected a number, got {json.dumps(value)}")
    return float(value)


def _annotations(value: Any, name: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise AnnotationError(f"{name}: {where}.annotations: expected a list, got {json.dumps(value)[:40]}")
    out = []
    for k, ann in enumerate(value):
        here = f"{where}.annotations[{k}]"
        seg = ann.get("segment") if isinstance(ann, dict) else None
        if not isinstance(seg, list) or len(seg) != 2 or not isinstance(ann.get("label"), str):
            raise AnnotationError(f"{name}: {here}: expected {{\"segment\": [start, end], \"label\": name}}")
        out.append({"segment": [_number(seg[0], name, here), _number(seg[1], name, here)], "label": ann["label"]})
    return out


# ---- ActivityNet <-> per-video -----------------------------------------------------------------


def anet_to_per_video(
    anet_json: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    video_info: str | os.PathLike | None = None,
    fps: float = 30.0,
) -> ConvertResult:
    """Official ActivityNet JSON -> the reference `ActivityNetDataset` files, one per subset plus `full`.

    Each video becomes `"v_<id>": {duration_second, duration_frame, annotations, feature_frame, fps,
    rfps}`; frame facts come from `video_info` when it lists the video, else from `fps`
    (`duration_frame = feature_frame = round(duration * fps)`).

    Raises:
        AnnotationError: not the official layout, or a malformed entry (naming its JSON path).
    """
    name = str(anet_json)
    data = read_json(anet_json)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise AnnotationError(f"{name}: expected the official layout {{\"database\": {{video: ...}}}}",
                              hint="per-video files convert the other way: `vidact dataset convert per-video-to-anet`")
    infos = read_video_info(video_info) if video_info is not None else {}
    by_subset: dict[str, dict[str, Any]] = {}
    num_from_info = 0
    for vid, entry in data["database"].items():
        where = f"database[{json.dumps(vid)}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("subset"), str):
            raise AnnotationError(f"{name}: {where}: expected an object with \"subset\", \"duration\", \"annotations\"")
        info = infos.get(normalize_video_id(vid), VideoInfo())
        num_from_info += normalize_video_id(vid) in infos
        seconds = _number(entry.get("duration"), name, f"{where}.duration")
        video_fps = info.fps or fps
        num_frames = info.num_frames if info.num_frames is not None else round(seconds * video_fps)
        key = vid if vid.startswith("v_") else f"v_{vid}"
        by_subset.setdefault(entry["subset"], {})[key] = {
            "duration_second": info.seconds if info.seconds is not None else seconds,
            "duration_frame": num_frames,
            "annotations": _annotations(entry.get("annotations", []), name, where),
            "feature_frame": info.feature_frame if info.feature_frame is not None else num_frames,
            "fps": video_fps, "rfps": info.rfps or video_fps}
    if video_info is not None and num_from_info < len(data["database"]):
        log.warning("%s lists %d of %d videos; the others use fps %s", video_info, num_from_info,
                    len(data["database"]), fps)
    out = Path(out_dir)
    files = {}
    for subset, videos in sorted(by_subset.items()):
        files[subset] = out / f"anet_anno_{SUBSET_FILES.get(subset, subset)}.json"
        _write_json(files[subset], videos)
    files["full"] = out / "anet_anno_full.json"
    _write_json(files["full"], {k: v for videos in by_subset.values() for k, v in videos.items()})
    counts = {"videos": len(data["database"]), **{f"videos_{s}": len(v) for s, v in sorted(by_subset.items())},
              "with_video_info": num_from_info}
    return ConvertResult(files, counts)


def _subset_from_name(path: Path) -> str | None:
    stem = path.stem.lower()
    for subset, short in SUBSET_FILES.items():
        if re.search(rf"(^|[_\-.]){short}", stem) or subset in stem:
            return subset
    return None


def per_video_to_anet(
    files: Sequence[str | os.PathLike],
    out_json: str | os.PathLike,
    *,
    subset: str | None = None,
) -> ConvertResult:
    """Per-video annotation files -> one official ActivityNet JSON (ids lose the `v_` prefix).

    Each file's subset is `subset` when given, else read from its name (`anet_anno_val.json`:
    validation; train, test likewise).

    Raises:
        InputError: a file name names no subset and `subset` is not given.
        AnnotationError: a malformed entry, or a video in two files.
    """
    database: dict[str, Any] = {}
    for file in map(Path, files):
        file_subset = subset or _subset_from_name(file)
        if file_subset is None:
            raise InputError(f"{file}: cannot tell the subset from the file name",
                             hint="pass --subset training|validation|testing")
        data = read_json(file)
        if not isinstance(data, dict) or "database" in data:
            raise AnnotationError(f"{file}: expected the per-video layout {{video: {{\"duration_second\", ...}}}}")
        for vid, entry in data.items():
            where = json.dumps(vid)
            if not isinstance(entry, dict):
                raise AnnotationError(f"{file}: {where}: expected an object, got {json.dumps(entry)[:40]}")
            key = vid[2:] if vid.startswith("v_") else vid
            if key in database:
                raise AnnotationError(f"{file}: {where}: video also in another input file",
                                      hint="give each subset's file once (not anet_anno_full.json as well)")
            database[key] = {"subset": file_subset,
                             "duration": _number(entry.get("duration_second"), str(file), f"{where}.duration_second"),
                             "annotations": _annotations(entry.get("annotations", []), str(file), where)}
    _write_json(Path(out_json), {"version": "VERSION 1.3", "taxonomy": [], "database": database})
    return ConvertResult({"activitynet": Path(out_json)},
                         {"videos": len(database), "segments": sum(len(v["annotations"]) for v in database.values())})


# ---- THUMOS14 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThumosAnnotations:
    """THUMOS14 temporal annotations: video id -> [(start_sec, end_sec, class)], sorted by start."""

    videos: dict[str, list[tuple[float, float, str]]]
    subsets: dict[str, str]
    classes: tuple[str, ...]


def read_thumos(ann_dir: str | os.PathLike, *, include_ambiguous: bool = False) -> ThumosAnnotations:
    """Read every `<Class>_val.txt` / `<Class>_test.txt` in `ann_dir` (lines `video start end`).

    Raises:
        InputError: no such files. AnnotationError: a malformed line (naming `file:line`).
    """
    folder = Path(ann_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of THUMOS14 annotation files")
    videos: dict[str, list[tuple[float, float, str]]] = {}
    subsets: dict[str, str] = {}
    classes = set()
    files = [(f, _THUMOS_FILE.match(f.name)) for f in sorted(folder.glob("*.txt"))]
    files = [(f, m) for f, m in files if m and (include_ambiguous or m["cls"] != "Ambiguous")]
    if not files:
        raise InputError(f"{folder}: no <Class>_val.txt or <Class>_test.txt files")
    for file, match in files:
        classes.add(match["cls"])
        for no, line in enumerate(read_text(file).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                start, end = float(fields[1]), float(fields[2])
                if len(fields) != 3 or not 0 <= start <= end:
                    raise ValueError
            except (ValueError, IndexError):
                raise AnnotationError(f"{file}:{no}: expected 'video start_sec end_sec' with start <= end, "
                                      f"got {line.strip()!r}") from None
            videos.setdefault(fields[0], []).append((start, end, match["cls"]))
            subsets[fields[0]] = "testing" if match["subset"] == "test" else "validation"
    return ThumosAnnotations({v: sorted(s) for v, s in sorted(videos.items())}, subsets, tuple(sorted(classes)))


def _infos(video_ids: Iterable[str], video_info: str | os.PathLike | None,
           video_dir: str | os.PathLike | None) -> dict[str, VideoInfo]:
    infos = read_video_info(video_info) if video_info is not None else {}
    if video_dir is not None:
        infos = {**probe_video_dir(video_dir, [v for v in video_ids if normalize_video_id(v) not in infos]), **infos}
    return infos


def thumos_to_anet(
    ann_dir: str | os.PathLike,
    out_json: str | os.PathLike,
    *,
    video_info: str | os.PathLike | None = None,
    video_dir: str | os.PathLike | None = None,
    fps: float = 30.0,
) -> ConvertResult:
    """THUMOS14 annotation files -> ActivityNet-style JSON (subset validation / testing from the file names).

    Durations come from `video_info` or the videos in `video_dir`; otherwise the last segment end
    stands in (logged), so AR@AN's duration-based settings are then approximate.
    """
    thumos = read_thumos(ann_dir)
    infos = _infos(thumos.videos, video_info, video_dir)
    database, estimated = {}, 0
    for vid, segments in thumos.videos.items():
        seconds = _seconds(infos.get(normalize_video_id(vid)), fps)
        if seconds is None:
            seconds, estimated = max(end for _, end, _ in segments), estimated + 1
        database[vid] = {"subset": thumos.subsets[vid], "duration": seconds,
                         "annotations": [{"segment": [s, e], "label": c} for s, e, c in segments]}
    if estimated:
        log.warning("%d of %d videos have no duration (give --video-info or --video-dir); using the last "
                    "segment end", estimated, len(database))
    _write_json(Path(out_json), {"version": "VERSION 1.3", "taxonomy": [], "database": database})
    return ConvertResult({"activitynet": Path(out_json)},
                         {"videos": len(database), "segments": sum(len(s) for s in thumos.videos.values()),
                          "classes": len(thumos.classes), "estimated_durations": estimated})


def _seconds(info: VideoInfo | None, fps: float) -> float | None:
    if info is None:
        return None
    if info.seconds is not None:
        return info.seconds
    return info.num_frames / (info.fps or fps) if info.num_frames is not None else None


# ---- SSN proposal lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class SSNVideo:
    """One block of an SSN proposal list.

    Attributes:
        gts: (K, 2) float64 [start_sec, end_sec]; gt_labels: (K,) int64 SSN labels (class + 1).
        proposals: (P, 2) float64 [start_sec, end_sec], best first.
    """

    video_id: str
    num_frames: int
    fps: float
    gts: np.ndarray
    gt_labels: np.ndarray
    proposals: np.ndarray


def match_proposals(proposals: np.ndarray, gts: np.ndarray, gt_labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Best IoU, best overlap-over-proposal and label of each proposal against the ground truth.

    proposals: (P, 2), gts: (K, 2) -> label (P,) int64 (0 when touching no ground truth),
    best_iou (P,), overlap_self (P,). The label is that of the best-IoU ground truth, as the
    reference converter picks it.
    """
    if len(gts) == 0 or len(proposals) == 0:
        zeros = np.zeros(len(proposals))
        return np.zeros(len(proposals), np.int64), zeros, zeros
    p, g = proposals[:, None, :], gts[None, :, :]
    inter = np.clip(np.minimum(p[..., 1], g[..., 1]) - np.maximum(p[..., 0], g[..., 0]), 0, None)
    union = (p[..., 1] - p[..., 0]) + (g[..., 1] - g[..., 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.nan_to_num(inter / union)
        iop = np.nan_to_num(inter / (p[..., 1] - p[..., 0]))
    best_iou, best_iop = iou.max(axis=1), iop.max(axis=1)
    labels = np.where((best_iou > 0) | (best_iop > 0), gt_labels[iou.argmax(axis=1)], 0)
    return labels.astype(np.int64), best_iou, best_iop


def format_ssn_list(videos: Sequence[SSNVideo], *, normalized: bool = False) -> str:
    """The text of an SSN proposal list (see `load_localize_proposal_file`).

    Frame version: times as frame indices `round(sec * fps)` and an fps line of 1, as THUMOS lists
    write it. Normalized version: times as `t_norm` = frame / num_frames, six decimals.
    """
    parts = []
    for idx, v in enumerate(videos):
        frames = lambda sec: np.rint(np.asarray(sec) * v.fps).astype(np.int64)  # noqa: E731
        gt_frames, prop_frames = frames(v.gts).reshape(-1, 2), frames(v.proposals).reshape(-1, 2)
        labels, best_iou, overlap = match_proposals(prop_frames.astype(float), gt_frames.astype(float), v.gt_labels)
        fmt = (lambda f: f"{f / max(v.num_frames, 1):.6f}") if normalized else str
        lines = [f"# {idx}", v.video_id, str(v.num_frames), "1", str(len(gt_frames))]
        lines += [f"{c} {fmt(s)} {fmt(e)}" for c, (s, e) in zip(v.gt_labels.tolist(), gt_frames.tolist())]
        lines.append(str(len(prop_frames)))
        lines += [f"{c} {iou:.4f} {ov:.4f} {fmt(s)} {fmt(e)}" for c, iou, ov, (s, e)
                  in zip(labels.tolist(), best_iou.tolist(), overlap.tolist(), prop_frames.tolist())]
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


def _ssn_frames(vid: str, info: VideoInfo | None, fps: float | None, last_end: float) -> tuple[int, float]:
    video_fps = (info.fps if info else None) or fps
    if video_fps is None:  # frame numbers need a frame rate: never assume one
        raise InputError(f"{vid}: no frame rate for this video (it is not in --video-info or --video-dir)",
                         hint="pass --video-dir with the videos (fps and frame counts are read from them), "
                              "or --fps for videos that all share one frame rate")
    if info is not None and info.num_frames is not None:
        return info.num_frames, video_fps
    seconds = info.seconds if info is not None else None
    if seconds is None:
        log.warning("%s: no frame count (give --video-info or --video-dir); using the last segment end", vid)
        seconds = last_end
    return int(math.ceil(seconds * video_fps)), video_fps


def thumos_to_ssn(
    ann_dir: str | os.PathLike,
    out_file: str | os.PathLike,
    *,
    video_info: str | os.PathLike | None = None,
    video_dir: str | os.PathLike | None = None,
    classes_file: str | os.PathLike | None = None,
    fps: float | None = None,
) -> ConvertResult:
    """THUMOS14 annotation files -> an SSN proposal list holding the ground truth (no proposals).

    Frame counts and fps come from `video_info` or the videos in `video_dir`, else from `fps`.

    Raises:
        InputError: a video with no known frame rate and no `fps`.
    """
    thumos = read_thumos(ann_dir)
    infos = _infos(thumos.videos, video_info, video_dir)
    index = _class_index(classes_file, thumos.classes)
    videos = []
    for vid, segs in thumos.videos.items():
        num_frames, video_fps = _ssn_frames(f"{ann_dir}: {vid}", infos.get(normalize_video_id(vid)), fps,
                                            max(e for _, e, _ in segs))
        videos.append(SSNVideo(vid, num_frames, video_fps, np.array([(s, e) for s, e, _ in segs]),
                               np.array([index[c] + 1 for _, _, c in segs], np.int64), np.zeros((0, 2))))
    atomic_write_text(out_file, format_ssn_list(videos))
    return ConvertResult({"ssn": Path(out_file)}, {"videos": len(videos),
                                                   "segments": sum(len(v.gts) for v in videos)})


def proposals_to_ssn(
    proposals_json: str | os.PathLike,
    gt_json: str | os.PathLike,
    out_file: str | os.PathLike,
    *,
    subset: str | None = "validation",
    video_info: str | os.PathLike | None = None,
    video_dir: str | os.PathLike | None = None,
    classes_file: str | os.PathLike | None = None,
    fps: float | None = None,
    top_k: int | None = None,
) -> ConvertResult:
    """Proposal results JSON + ActivityNet-style ground truth -> SSN normalized proposal list.

    `out_file` must contain 'normalized_' in its name; the frame-index version `SSNDataset` reads is
    written beside it without that part. Proposals are ranked by score (the best `top_k` kept).
    Frame counts and fps come from `video_info` or the videos in `video_dir` (as `thumos_to_ssn`
    counts them), else from the ground-truth duration at `fps`; no frame rate is ever assumed.

    Raises:
        InputError: `out_file` without 'normalized_'; a video with no known frame rate and no `fps`.
        AnnotationError: malformed inputs.
    """
    out = Path(out_file)
    if "normalized_" not in out.name:
        raise InputError(f"{out}: the name must contain 'normalized_' (e.g. val_normalized_proposal_list.txt)",
                         hint="the frame-index list is written beside it without 'normalized_'")
    gt = read_ground_truth(gt_json, subset=subset)
    results = read_results(proposals_json)
    infos = _infos(results.videos, video_info, video_dir)
    index = _class_index(classes_file, gt.class_names)
    gt_by_id = {normalize_video_id(v): v for v in gt.videos}
    videos, unmatched = [], 0
    for vid, segs in results.videos.items():
        gt_vid = gt_by_id.get(normalize_video_id(vid))
        if gt_vid is None:
            unmatched += 1
            continue
        order = np.argsort(-segs.scores, kind="stable")[:top_k]
        g = gt.videos[gt_vid]
        duration = gt.durations.get(gt_vid) or float(g.segments[:, 1].max())
        info = infos.get(normalize_video_id(vid))
        if info is None or (info.num_frames is None and info.seconds is None):
            info = VideoInfo(seconds=duration, fps=info.fps if info else None)
        num_frames, video_fps = _ssn_frames(f"{proposals_json}: {vid}", info, fps, duration)
        videos.append(SSNVideo(gt_vid, num_frames, video_fps, g.segments,
                               np.array([index[c] + 1 for c in g.labels], np.int64), segs.segments[order]))
    if unmatched:
        log.warning("%d proposal videos are not in the ground truth and were skipped", unmatched)
    frames_file = out.with_name(out.name.replace("normalized_", ""))
    atomic_write_text(frames_file, format_ssn_list(videos))
    atomic_write_text(out, format_ssn_list(videos, normalized=True))
    return ConvertResult({"normalized": out, "frames": frames_file},
                         {"videos": len(videos), "proposals": sum(len(v.proposals) for v in videos),
                          "skipped_videos": unmatched})
