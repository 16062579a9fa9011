"""Annotation readers: recognition lists (video / rawframe) and ActivityNet-style JSON.

Each reader validates every entry and raises `AnnotationError` naming the file and the entry.
"""

from vidact.data.annotations.activitynet import (
    Alignment,
    GroundTruth,
    Results,
    VideoSegments,
    align_results,
    normalize_video_id,
    read_ground_truth,
    read_results,
)
from vidact.data.annotations.lists import LabelList, read_label_list

__all__ = [
    "Alignment",
    "GroundTruth",
    "LabelList",
    "Results",
    "VideoSegments",
    "align_results",
    "normalize_video_id",
    "read_ground_truth",
    "read_label_list",
    "read_results",
]
