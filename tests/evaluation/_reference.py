"""Slow, obvious reference implementations of the evaluation metrics, one item at a time.

They restate the official ActivityNet kit's and MMAction's algorithms in plain Python loops (with
vidact's documented tie rules: stable score order, later ground truth first on equal IoU, 0/0 IoU
never matches) so the vectorised code can be checked against them on random inputs.
"""

from __future__ import annotations

import math

import numpy as np


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """IoU of two [start, end] segments; NaN for 0/0 (two zero-length segments)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union != 0 else math.nan


# --- recognition ---------------------------------------------------------------------------------


def top_k_accuracy(scores: np.ndarray, labels: list[int], topk: tuple[int, ...]) -> list[float]:
    out = []
    for k in topk:
        hits = 0
        for row, label in zip(scores.tolist(), labels):
            # MMAction's order: ascending (stable) sort, reversed, so equal scores put the higher index first.
            ranked = sorted(range(len(row)), key=lambda c: row[c])[::-1]
            hits += label in ranked[:k]
        out.append(hits / len(labels) if labels else math.nan)
    return out


def confusion_matrix(y_pred: list[int], y_real: list[int], normalize: str | None = None) -> np.ndarray:
    names = sorted(set(y_pred) | set(y_real))
    where = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)))
    for p, r in zip(y_pred, y_real):
        matrix[where[r], where[p]] += 1
    if normalize is None:
        return matrix
    out = np.zeros_like(matrix)
    for i in range(len(names)):
        for j in range(len(names)):
            if normalize == "true":
                total = matrix[i].sum()
            elif normalize == "pred":
                total = matrix[:, j].sum()
            else:
                total = matrix.sum()
            out[i, j] = matrix[i, j] / total if total else 0.0
    return out


def mean_class_accuracy(scores: np.ndarray, labels: list[int]) -> float:
    preds = [max(range(len(row)), key=lambda c: (row[c], -c)) for row in scores.tolist()]
    accs = []
    for cls in sorted(set(preds) | set(labels)):
        members = [p for p, lab in zip(preds, labels) if lab == cls]
        accs.append(sum(p == cls for p in members) / len(members) if members else 0.0)
    return sum(accs) / len(accs)


def average_precision_multilabel(scores: np.ndarray, labels: np.ndarray) -> float:
    aps = []
    for cls in range(scores.shape[1]):
        col = scores[:, cls].tolist()
        truth = [x == 1 for x in labels[:, cls].tolist()]
        npos = sum(truth)
        if npos == 0:
            continue
        ap, prev_recall = 0.0, 0.0
        for threshold in sorted(set(col), reverse=True):
            chosen = [t for s, t in zip(col, truth) if s >= threshold]
            recall = sum(chosen) / npos
            ap += (recall - prev_recall) * (sum(chosen) / len(chosen))
            prev_recall = recall
        aps.append(ap)
    return sum(aps) / len(aps) if aps else math.nan


# --- proposals -----------------------------------------------------------------------------------


def average_recall(ground_truth: dict, proposals: dict, total: int, max_avg: float | None,
                   thresholds: list[float]) -> tuple[np.ndarray, float]:
    """The kit's AR@AN, video by video and proposal by proposal: (recall (T, 100), auc %)."""
    videos = [v for v in ground_truth if len(ground_truth[v])]
    if not max_avg:
        max_avg = total / len(videos)
    ratio = max_avg * float(len(videos)) / total
    kept_per_video, retrieved = {}, 0
    for v in videos:
        rows = [tuple(r) for r in np.asarray(proposals.get(v, np.empty((0, 3)))).reshape(-1, 3).tolist()]
        rows = sorted(rows, key=lambda r: -r[2])  # stable: equal scores keep input order
        keep = min(int(len(rows) * ratio), len(rows))
        kept_per_video[v] = (rows[:keep], len(rows) > 0)
        retrieved += keep
    fractions = [j / 100.0 * (max_avg * float(len(videos)) / retrieved) for j in range(1, 101)]
    num_gt = sum(len(ground_truth[v]) for v in videos)
    recall = np.zeros((len(thresholds), 100))
    for ti, threshold in enumerate(thresholds):
        for j, frac in enumerate(fractions):
            matched = 0
            for v in videos:
                kept, has_any = kept_per_video[v]
                width = len(kept) if has_any else 1
                cut = min(int(width * frac), width)
                for gt in np.asarray(ground_truth[v]).reshape(-1, 2).tolist():
                    matched += any(iou(tuple(gt), (p[0], p[1])) >= threshold for p in kept[:cut])
            recall[ti, j] = matched / float(num_gt)
    average = recall.mean(axis=0)
    per_video = [f * (float(retrieved) / len(videos)) for f in fractions]
    area = sum((per_video[i + 1] - per_video[i]) * (average[i + 1] + average[i]) / 2.0 for i in range(99))
    return recall, 100.0 * area / per_video[-1]


# --- detection -----------------------------------------------------------------------------------


def interpolated_ap(precision: list[float], recall: list[float]) -> float:
    """VOC 2011 interpolated AP, written out with explicit loops."""
    mprec = [0.0] + list(precision) + [0.0]
    mrec = [0.0] + list(recall) + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def class_average_precision(gts: list[tuple], preds: list[tuple], thresholds: list[float]) -> list[float]:
    """AP of one class. gts: [(video, start, end)], preds: [(video, start, end, score)]."""
    if not preds:
        return [0.0] * len(thresholds)
    preds = sorted(preds, key=lambda p: -p[3])  # stable
    out = []
    for threshold in thresholds:
        taken: set[int] = set()
        flags = []
        for video, start, end, _ in preds:
            candidates = [(iou((start, end), (g[1], g[2])), i) for i, g in enumerate(gts) if g[0] == video]
            candidates = [(v, i) for v, i in candidates if not math.isnan(v)]
            # Highest IoU first; on equal IoU the later ground truth first.
            candidates.sort(key=lambda c: (-c[0], -c[1]))
            hit = False
            for value, i in candidates:
                if value < threshold:
                    break
                if i in taken:
                    continue
                taken.add(i)
                hit = True
                break
            flags.append(hit)
        tp = np.cumsum(flags).astype(float)
        fp = np.cumsum([not f for f in flags]).astype(float)
        out.append(interpolated_ap((tp / (tp + fp)).tolist(), (tp / len(gts)).tolist()))
    return out


def detection_ap(gts: list[tuple], preds: list[tuple], thresholds: list[float]) -> tuple[list[str], np.ndarray]:
    """(labels in first-appearance order, AP (T, C)). gts: [(video, label, s, e)], preds add a score."""
    labels = list(dict.fromkeys(g[1] for g in gts))
    ap = np.zeros((len(thresholds), len(labels)))
    for c, label in enumerate(labels):
        class_gts = [(g[0], g[2], g[3]) for g in gts if g[1] == label]
        class_preds = [(p[0], p[2], p[3], p[4]) for p in preds if p[1] == label]
        ap[:, c] = class_average_precision(class_gts, class_preds, thresholds)
    return labels, ap
