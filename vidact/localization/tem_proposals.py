"""The proposals TEM alone gives a video (BSN without PEM): PGM's boundary pairs scored
start x end, soft-NMS, top-k in seconds. What TEM validation scores with AR@AN."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vidact.localization.bsn import candidate_proposals
from vidact.localization.post_processing import post_processing


def tem_proposal_list(tem_result: np.ndarray, video_info: Mapping[str, Any], *, peak_threshold: float = 0.5,
                      soft_nms_alpha: float = 0.75, soft_nms_low_threshold: float = 0.65,
                      soft_nms_high_threshold: float = 0.9, top_k: int = 100,
                      feature_extraction_interval: int = 16) -> list[dict[str, Any]]:
    """One video's proposals from its TEM curves, `[{"segment": [s, e] seconds, "score"}]`.

    Args:
        tem_result: (T, 5) action, start, end, tmin, tmax (a TEM result table).
        video_info: the video's annotation entry (duration_frame, duration_second).
        peak_threshold: PGM's boundary threshold (times the video's maximum).
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold, top_k,
            feature_extraction_interval: as `post_processing` (defaults: BSN's PEM settings).
    """
    table = np.asarray(tem_result)
    candidates = candidate_proposals(table[:, 1].astype(np.float32), table[:, 2].astype(np.float32), len(table),
                                     peak_threshold, np.zeros(0), np.zeros(0))
    return post_processing(candidates[:, :5], video_info, soft_nms_alpha, soft_nms_low_threshold,
                           soft_nms_high_threshold, top_k, feature_extraction_interval)
