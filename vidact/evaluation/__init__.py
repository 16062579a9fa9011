"""Public metric API (MMAction names and conventions, the ActivityNet kit's numbers): arrays in, numbers out.

Recognition metrics live in `recognition`, AR@AN in `proposals`, detection mAP in `detection`.
"""

from vidact.evaluation.detection import (
    DetectionResult,
    Segments,
    average_precision_at_temporal_iou,
    detection_map,
)
from vidact.evaluation.proposals import (
    ARANResult,
    ar_an,
    average_recall_at_avg_proposals,
    pairwise_temporal_iou,
)
from vidact.evaluation.recognition import (
    LabelDtypeError,
    confusion_matrix,
    get_weighted_score,
    mean_average_precision,
    mean_class_accuracy,
    softmax,
    top_k_accuracy,
)

__all__ = [
    "ARANResult",
    "DetectionResult",
    "LabelDtypeError",
    "Segments",
    "ar_an",
    "average_precision_at_temporal_iou",
    "average_recall_at_avg_proposals",
    "confusion_matrix",
    "detection_map",
    "get_weighted_score",
    "mean_average_precision",
    "mean_class_accuracy",
    "pairwise_temporal_iou",
    "softmax",
    "top_k_accuracy",
]
