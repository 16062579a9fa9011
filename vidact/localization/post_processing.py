"""BSN/BMN post-processing: soft-NMS over scored proposals, then segments in seconds.

The caller fuses the scores first (BMN: start x end x cls x reg; BSN: start x end x PEM).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from vidact.localization.nms import soft_nms


def feature_duration_second(video_info: Mapping[str, Any], feature_extraction_interval: int) -> float:
    """Seconds covered by the snippet features: whole intervals of `duration_frame`, in seconds."""
    frames = video_info["duration_frame"] // feature_extraction_interval * feature_extraction_interval
    return float(frames) / video_info["duration_frame"] * video_info["duration_second"]


def post_processing(
    result: npt.ArrayLike,
    video_info: Mapping[str, Any],
    soft_nms_alpha: float,
    soft_nms_low_threshold: float,
    soft_nms_high_threshold: float,
    post_process_top_k: int,
    feature_extraction_interval: int,
) -> list[dict[str, Any]]:
    """Soft-NMS a video's proposals and return the best `post_process_top_k` in seconds.

    Args:
        result: (N, C) proposals, normalised start in column 0, end in column 1 and the fused
            score in the last column.
        video_info: needs "duration_frame" and "duration_second".
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold: see `soft_nms`.
        post_process_top_k: proposals kept.
        feature_extraction_interval: frames per feature snippet; the features cover
            `duration_frame // interval * interval` frames of the video.

    Returns:
        [{"score": float, "segment": [start_sec, end_sec]}, ...] by decreasing score, starts clipped
        at 0 and ends at the features' duration (as the reference; a single proposal skips soft-NMS).
    """
    rows = np.asarray(result, dtype=np.float64)
    if len(rows) > 1:
        rows = soft_nms(rows, soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold, post_process_top_k)
    # default (unstable) argsort reversed, as the reference, so ties come out in the same order
    rows = rows[np.argsort(rows[:, -1])[::-1]][:post_process_top_k]
    duration = feature_duration_second(video_info, feature_extraction_interval)
    starts = np.maximum(rows[:, 0], 0.0) * duration
    ends = np.minimum(rows[:, 1], 1.0) * duration
    return [
        {"score": float(score), "segment": [float(s), float(e)]}
        for s, e, score in zip(starts.tolist(), ends.tolist(), rows[:, -1].tolist())
    ]
