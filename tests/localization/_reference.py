"""Slow, obvious versions of `vidact.localization`, one element at a time, for the tests to compare.

Written from MMAction's semantics (argument order, rounding order, NaN behaviour), with the tie
rule vidact documents: sorts are stable and reversed, so among equal keys later items come first.
Plain Python floats and lists throughout, except where the reference rounds to float32.
"""

from __future__ import annotations

import math
from itertools import groupby
from typing import Any

import numpy as np


def iou(p_start: float, p_end: float, g_start: float, g_end: float) -> float:
    """tIoU of one proposal with one ground truth, union as `len_p - inter + g_end - g_start`."""
    inter = max(min(p_end, g_end) - max(p_start, g_start), 0.0)
    union = (p_end - p_start) - inter + g_end - g_start
    if union == 0:
        return math.nan if inter == 0 else math.inf
    return inter / union


def iop(p_start: float, p_end: float, g_start: float, g_end: float) -> float:
    """Intersection over the proposal's own length; 0 / 0 is NaN."""
    inter = max(min(p_end, g_end) - max(p_start, g_start), 0.0)
    length = p_end - p_start
    if length == 0:
        return math.nan if inter == 0 else math.inf
    return inter / length


def pairwise_iou_float32(p_start: float, p_end: float, g_start: float, g_end: float) -> float:
    """tIoU as the evaluation kit computes it (`len_g + len_p - inter`), stored as float32."""
    inter = max(min(p_end, g_end) - max(p_start, g_start), 0.0)
    union = (g_end - g_start) + (p_end - p_start) - inter
    if union == 0:
        return math.nan if inter == 0 else math.inf
    return float(np.float32(inter / union))


def descending(keys: list[float]) -> list[int]:
    """Indices sorted by key, highest first; equal keys keep reversed input order."""
    return list(reversed(sorted(range(len(keys)), key=lambda i: keys[i])))


def soft_nms(
    rows: list[list[float]], alpha: float, low: float, high: float, top_k: int
) -> np.ndarray:
    order = descending([row[-1] for row in rows])
    starts = [rows[i][0] for i in order]
    ends = [rows[i][1] for i in order]
    scores = [rows[i][-1] for i in order]
    out = []
    while scores and len(out) <= top_k:
        best = scores.index(max(scores))
        threshold = low + (high - low) * (ends[best] - starts[best])
        for j in range(len(scores)):
            if j == best:
                continue
            overlap = iou(starts[best], ends[best], starts[j], ends[j])
            if overlap > threshold:
                scores[j] = scores[j] * float(np.exp(-(overlap * overlap) / alpha))
        out.append([starts.pop(best), ends.pop(best), scores.pop(best)])
    return np.array(out, dtype=np.float64).reshape(-1, 3)


def temporal_nms(rows: list[list[float]], threshold: float) -> np.ndarray:
    order = descending([row[2] for row in rows])
    keep = []
    while order:
        best = order[0]
        keep.append(best)
        order = [
            j
            for j in order[1:]
            if iou(rows[j][0], rows[j][1], rows[best][0], rows[best][1]) <= threshold
        ]
    width = len(rows[0]) if rows else 3
    return np.array([rows[i] for i in keep], dtype=np.float64).reshape(-1, width)


def perform_regression(rows: list[list[float]]) -> np.ndarray:
    if not rows:
        return np.zeros((0, 5))
    out = []
    for start, end, *rest in rows:
        center, duration = (start + end) / 2, end - start
        new_center = center + duration * rest[1]
        new_duration = duration * math.exp(rest[2])
        new_start = min(max(new_center - new_duration / 2, 0.0), 1.0)
        new_end = min(max(new_center + new_duration / 2, 0.0), 1.0)
        out.append([new_start, new_end, *rest])
    return np.array(out, dtype=np.float64).reshape(len(rows), -1)


def average_precision(
    predictions: list[list[Any]], ground_truth: dict[Any, list[list[float]]], threshold: float
) -> float:
    """AP of one class at one threshold, matching one detection and one ground truth at a time."""
    if not predictions:
        return 0.0
    num_gts = sum(len(segments) for segments in ground_truth.values())
    taken = {video: [False] * len(segments) for video, segments in ground_truth.items()}
    hits = []
    for idx in descending([float(row[4]) for row in predictions]):
        video, _, start, end, _ = predictions[idx]
        segments = ground_truth.get(video, [])
        overlaps = [pairwise_iou_float32(start, end, g[0], g[1]) for g in segments]
        # Try ground truths by tIoU, highest first; NaN sorts above everything, as argsort puts
        # it last before the reversal.
        ranked = reversed(
            sorted(range(len(overlaps)), key=lambda j: (math.isnan(overlaps[j]), overlaps[j]))
        )
        matched = False
        for j in ranked:
            if overlaps[j] < threshold:
                break
            if taken[video][j]:
                continue
            taken[video][j] = matched = True
            break
        hits.append(matched)
    precision, recall = [], []
    tp = fp = 0
    for hit in hits:
        tp, fp = tp + hit, fp + (not hit)
        with np.errstate(divide="ignore", invalid="ignore"):
            recall.append(float(np.float32(tp) / np.float32(num_gts)))
        precision.append(float(np.float32(tp) / np.float32(tp + fp)))
    envelope = [0.0, *precision, 0.0]
    for i in range(len(envelope) - 2, -1, -1):
        envelope[i] = max(envelope[i], envelope[i + 1])
    steps = [0.0, *recall, 1.0]
    gains = [
        (steps[i] - steps[i - 1]) * envelope[i]
        for i in range(1, len(steps))
        if steps[i] != steps[i - 1]
    ]
    return float(np.float32(np.sum(np.array(gains))))


def eval_ap(detections: dict, gt_by_cls: dict, iou_range: list[float]) -> np.ndarray:
    out = np.zeros((len(detections), len(iou_range)))
    for c in range(len(detections)):
        for t, threshold in enumerate(iou_range):
            out[c, t] = average_precision(detections[c], gt_by_cls.get(c, {}), threshold)
    return out


def load_localize_proposal_file(
    path: str,
) -> list[tuple[str, int, list[list[str]], list[list[str]]]]:
    """The reference loader: split on '#' lines, then read each block by offsets."""
    with open(path) as fh:
        lines = list(fh)
    out = []
    for is_header, group in groupby(lines, lambda x: x.startswith("#")):
        if is_header:
            continue
        block = [x.strip() for x in group]
        num_gts = int(block[3])
        num_proposals = int(block[4 + num_gts])
        gts = [x.split() for x in block[4 : 4 + num_gts]]
        proposals = [x.split() for x in block[5 + num_gts : 5 + num_gts + num_proposals]]
        out.append((block[0], int(float(block[1]) * float(block[2])), gts, proposals))
    return out
