"""THUMOS'14 detection mAP for `vidact eval --dataset thumos14`: SSN's `eval_ap` at tIoU 0.1 ... 0.9.

Loaded ground truth and per-class detections in, one `EvalResult` out (no file IO here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vidact.evaluation.suite import EvalResult
from vidact.localization.detections import THUMOS14_IOU_RANGE, ClassDetections, thumos14_map


def evaluate_thumos14(gt_by_cls: Mapping[int, Mapping[str, np.ndarray]], detections: ClassDetections, *,
                      gt_name: str, detections_name: str) -> EvalResult:
    """`mAP@0.10` ... `mAP@0.90` and `average_mAP` of per-class detections, as SSN scores THUMOS'14.

    Per-class AP comes from `eval_ap` (the reference's numbers); the means are over the classes
    with ground truth. `tables["ap"]` holds the per-class AP ({class index: [AP per threshold]},
    None for classes without ground truth).
    """
    result = thumos14_map(detections, gt_by_cls, THUMOS14_IOU_RANGE)
    ap_table: dict[str, Any] = {str(c): (None if np.isnan(row).all() else row.tolist())
                                for c, row in enumerate(result.ap)}
    metrics: dict[str, Any] = {k: (None if np.isnan(v) else v) for k, v in result.metrics.items()}
    inputs = {
        "task": "localization",
        "dataset": "thumos14",
        "ground_truth": gt_name,
        "gt_format": "thumos14",
        "subset": None,
        "num_gt_classes": sum(1 for videos in gt_by_cls.values() if any(len(v) for v in videos.values())),
        "num_gt_videos": len({v for videos in gt_by_cls.values() for v in videos}),
        "num_gt_segments": int(sum(len(v) for videos in gt_by_cls.values() for v in videos.values())),
        "results": detections_name,
        "num_result_segments": int(sum(len(r) for per_video in detections for r in per_video.values())),
        "temporal_iou_thresholds": [round(float(t), 4) for t in THUMOS14_IOU_RANGE],
    }
    return EvalResult("localization", metrics, list(result.warnings), None, inputs, {"ap": ap_table})
