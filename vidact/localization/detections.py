"""SSN detections: raw per-video outputs -> per-class detections -> regression + NMS -> THUMOS'14 mAP.

The steps of the reference `SSNDataset.evaluate`, as functions of plain arrays, so that
`vidact detections-to-regression` and `vidact eval --dataset thumos14` run them on files.
Detections are the reference form: a list indexed by class (label - 1) of dicts
video id -> (N, 5) float64 rows [t_start, t_end, score, d_centre, d_log_duration] on [0, 1] time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidact.errors import AnnotationError
from vidact.evaluation.recognition import softmax
from vidact.localization.nms import temporal_nms
from vidact.localization.ssn import eval_ap, perform_regression

log = logging.getLogger(__name__)

ClassDetections = list[dict[str, np.ndarray]]
"""Per class index, video id -> (N, C) rows [t_start, t_end, score, ...] (C >= 3; 5 for SSN)."""

THUMOS14_IOU_RANGE = np.arange(0.1, 1.0, 0.1)
"""The reference's tIoU thresholds for THUMOS'14 mAP (its exact floats: 0.30000000000000004, ...)."""


@dataclass(frozen=True)
class SSNVideoOutput:
    """The raw test output of SSN for one video (what `vidact test` writes).

    Attributes:
        video_id: the video's id.
        relative_proposal_list: (P, 2) proposal [t_start, t_end] on [0, 1] time.
        activity_scores: (P, K + 1) activity logits, background first.
        completeness_scores: (P, K) completeness scores.
        bbox_preds: (P, K, 2) regression offsets, or None (no regression branch).
    """

    video_id: str
    relative_proposal_list: np.ndarray
    activity_scores: np.ndarray
    completeness_scores: np.ndarray
    bbox_preds: np.ndarray | None = None

    def as_result(self) -> dict[str, Any]:
        """The reference's per-video result dict."""
        return {"relative_proposal_list": self.relative_proposal_list, "activity_scores": self.activity_scores,
                "completeness_scores": self.completeness_scores, "bbox_preds": self.bbox_preds}


def results_to_detections(results: Sequence[Mapping[str, Any]], video_ids: Sequence[str], top_k: int = 2000,
                          **kwargs: Any) -> ClassDetections:
    """Per class, video id -> (N, 5) [t_start, t_end, score, d_centre, d_log_duration] on [0, 1] time.

    The score is softmax(activity without background) * exp(completeness). With `top_k` > 0 only
    the top_k (proposal, class) pairs of each video are kept, in ascending score order, and a
    class gets an entry for a video only when one of its pairs is kept; with `top_k` <= 0 every
    class gets every proposal. Other keyword arguments (`softmax_before_filter`, `cls_top_k`,
    `cls_score_dict`) are accepted and unused, as in the reference.

    Args:
        results: per video, "relative_proposal_list" (P, 2), "activity_scores" (P, K + 1),
            "completeness_scores" (P, K) and "bbox_preds" (P, K * 2 or K x 2) or None.
        video_ids: the id of each result, in the same order.
    """
    num_classes = np.asarray(results[0]["activity_scores"]).shape[1] - 1
    detections: ClassDetections = [{} for _ in range(num_classes)]
    for video_id, result in zip(video_ids, results, strict=True):
        relative = np.asarray(result["relative_proposal_list"], dtype=np.float64).reshape(-1, 2)
        num_proposals = relative.shape[0]
        combined = softmax(np.asarray(result["activity_scores"])[:, 1:], dim=1) * np.exp(
            np.asarray(result["completeness_scores"]))  # (P, K)
        bbox_preds = result.get("bbox_preds")
        if bbox_preds is None:
            bbox_preds = np.zeros((num_proposals, num_classes, 2), dtype=np.float32)
        bbox_preds = np.asarray(bbox_preds).reshape(num_proposals, num_classes, 2)
        if top_k <= 0:
            kept_proposal = np.repeat(np.arange(num_proposals), num_classes)
            kept_class = np.tile(np.arange(num_classes), num_proposals)
        else:
            keep = np.argsort(combined.ravel())[-top_k:]
            kept_proposal, kept_class = keep // num_classes, keep % num_classes
        rows = np.concatenate([relative[kept_proposal], combined[kept_proposal, kept_class][:, None],
                               bbox_preds[kept_proposal, kept_class]], axis=1)
        for class_idx in np.unique(kept_class).tolist():
            detections[class_idx][video_id] = rows[kept_class == class_idx]
    return detections


def regress_and_nms(detections: ClassDetections, nms: float = 0.2, use_regression: bool = True) -> ClassDetections:
    """`perform_regression` (when `use_regression`), then `temporal_nms` per class and video.

    The two post-processing steps of the reference `SSNDataset.evaluate`, in its order. Returns
    new dicts; rows keep all their columns, highest score first after NMS.
    """
    out: ClassDetections = []
    for per_video in detections:
        processed = {}
        for video_id, rows in per_video.items():
            rows = perform_regression(rows) if use_regression else np.asarray(rows, dtype=np.float64)
            processed[video_id] = temporal_nms(rows, nms)
        out.append(processed)
    return out


def plain_detections(detections: ClassDetections) -> dict[int, list[list[Any]]]:
    """Per class, rows [video_id, class_idx, t_start, t_end, score]: the input of `eval_ap`."""
    return {class_idx: [[video_id, class_idx, *row[:3]] for video_id, rows in per_video.items()
                        for row in np.asarray(rows, dtype=np.float64).tolist()]
            for class_idx, per_video in enumerate(detections)}


@dataclass
class Thumos14Result:
    """THUMOS'14 detection mAP.

    Attributes:
        ap: (C, T) AP per class and threshold; NaN rows for classes without ground truth.
        metrics: 'mAP@0.10' ... 'mAP@0.90' (means over the classes with ground truth) and
            'average_mAP' (their mean over thresholds); NaN when no class has ground truth.
        classes_without_gt: class indexes with detections but no ground truth (AP left out).
        videos_without_gt: video ids in the detections that no ground truth mentions.
        warnings: one sentence each for the two lists above.
    """

    ap: np.ndarray
    metrics: dict[str, float]
    classes_without_gt: list[int] = field(default_factory=list)
    videos_without_gt: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def thumos14_map(detections: ClassDetections, gt_by_cls: Mapping[int, Mapping[str, Any]],
                 iou_range: np.ndarray = THUMOS14_IOU_RANGE) -> Thumos14Result:
    """Per-class AP with `eval_ap` and its means over the classes that have ground truth.

    With ground truth for every class this is the reference's `ap_values.mean(axis=0)`. A class
    without ground truth has no AP (the reference returns NaN with detections, 0 without, and
    averages over all classes): it is left out of the means, and a class with detections but no
    ground truth is reported.

    Args:
        detections: per class index, video id -> rows [t_start, t_end, score, ...].
        gt_by_cls: class index -> video id -> (G, 2) [t_start, t_end] on the detections' time axis.
        iou_range: (T,) thresholds.
    """
    num_classes = max(len(detections), max(gt_by_cls, default=-1) + 1)
    padded = list(detections) + [{} for _ in range(num_classes - len(detections))]
    has_gt = np.array([any(len(v) for v in gt_by_cls.get(c, {}).values()) for c in range(num_classes)], dtype=bool)
    ap = eval_ap(plain_detections(padded), {c: gt_by_cls.get(c, {}) for c in range(num_classes)}, iou_range)
    ap[~has_gt] = np.nan
    with np.errstate(invalid="ignore"):
        per_threshold = ap[has_gt].mean(axis=0) if has_gt.any() else np.full(len(iou_range), np.nan)
    metrics = {f"mAP@{iou:.02f}": float(value) for iou, value in zip(iou_range, per_threshold, strict=True)}
    metrics["average_mAP"] = float(per_threshold.mean())
    result = Thumos14Result(ap, metrics)
    result.classes_without_gt = [c for c in range(num_classes) if not has_gt[c] and any(
        len(rows) for rows in padded[c].values())]
    gt_videos = {str(v) for per_video in gt_by_cls.values() for v in per_video}
    result.videos_without_gt = sorted({str(v) for per_video in padded for v in per_video} - gt_videos)
    if result.classes_without_gt:
        result.warnings.append(
            f"detections for {len(result.classes_without_gt)} class(es) without ground truth "
            f"(class {', '.join(map(str, result.classes_without_gt[:5]))}): their AP is null and the means "
            "are over the classes with ground truth (the reference returns NaN)")
    if result.videos_without_gt:
        result.warnings.append(
            f"detections for {len(result.videos_without_gt)} video(s) not in the ground truth "
            f"(e.g. {result.videos_without_gt[0]!r}): they count as false positives")
    return result


def postprocess_detections(inputs: Sequence[SSNVideoOutput] | ClassDetections, *, top_k: int = 2000,
                           nms: float = 0.2, use_regression: bool = True, name: str = "detections") -> ClassDetections:
    """Raw SSN outputs or per-class detections -> regressed, NMS-ed per-class detections.

    Raw outputs go through `results_to_detections` (with `top_k`) first; then `regress_and_nms`,
    as the reference `SSNDataset.evaluate` does before scoring.

    Raises:
        AnnotationError: regression asked for rows with fewer than 5 columns.
    """
    if inputs and isinstance(inputs[0], SSNVideoOutput):
        outputs: Sequence[SSNVideoOutput] = inputs  # type: ignore[assignment]
        detections = results_to_detections([o.as_result() for o in outputs], [o.video_id for o in outputs],
                                           top_k=top_k)
    else:
        detections = list(inputs)  # type: ignore[arg-type]
    if use_regression:
        for class_idx, per_video in enumerate(detections):
            for video_id, rows in per_video.items():
                if np.shape(rows)[1] < 5:
                    raise AnnotationError(f"{name}: [\"{class_idx}\"][\"{video_id}\"]: regression needs rows "
                                     "[start, end, score, d_centre, d_log_duration]; pass --no-regression "
                                     "for 3-column rows")
    return regress_and_nms(detections, nms, use_regression)
