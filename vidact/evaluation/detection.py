"""Temporal action detection metrics: interpolated AP per class and IoU threshold, and their means.

Numbers agree with the official ActivityNet kit (`Evaluation/eval_detection.py`,
`compute_average_precision_detection` and `interpolated_prec_rec`):

- Classes are the labels of the ground truth, in order of first appearance; a class's AP counts
  against all of its ground-truth segments (recall = matched / ground-truth segments of the class).
- Predictions of a class are visited from the highest score down. At each IoU threshold a
  prediction takes the unmatched ground-truth segment of its video and class with the highest IoU,
  if that IoU is >= the threshold (true positive); otherwise, or when all such segments are taken,
  it is a false positive. Each ground-truth segment is matched at most once per threshold.
- Predictions on videos without ground truth of their class (including videos absent from the
  ground truth altogether) are false positives, as in the kit.
- AP is the VOC 2011 interpolated area: precision made non-increasing from the right, summed over
  the points where recall changes. A class without predictions has AP 0 (the kit prints a warning
  and scores 0). `map` is the mean over classes, `average_map` the mean over thresholds.

Where we differ from the kit:
- Predictions are ranked by a stable descending sort on score: equal scores keep input order. The
  kit reverses an ascending quicksort, so equal scores are visited in reverse input order for up to
  16 predictions of a class and in an implementation-defined order beyond that.
- Among ground-truth segments with exactly the same IoU to a prediction, the later one (input
  order) is matched first: that is what the kit's reversed argsort does for the few segments of one
  video, so this tie is reproduced.
- 0/0 IoU (a zero-length prediction against a zero-length ground truth) never matches. The kit's
  reversed argsort puts NaN first and its `< threshold` test lets it through, so there such a
  prediction is a true positive at every threshold.
- Predictions whose label is not a ground-truth class are ignored and counted in
  `DetectionResult.num_unknown_label` (the kit stops with KeyError on them).
- float64 throughout; MMAction's `average_precision_at_temporal_iou` returns float32.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vidact.errors import AnnotationError
from vidact.evaluation.proposals import (
    DEFAULT_TIOU_THRESHOLDS,
    gathered_iou,
    grouped_score_order,
    group_ranges,
)
from vidact.forking import can_fork, compute_in_child
from vidact.segments import as_segments

log = logging.getLogger(__name__)

_MAX_TABLE = 1 << 24  # largest integer code `_codes` looks up in a table (128 MiB of int64 at most)


@dataclass(frozen=True, eq=False)
class Segments:
    """Temporal segments of many videos as parallel arrays (one row per segment).

    Ground truth for `detection_map` needs `video`, `segment` and `label`; predictions also need
    `score`. Build it from an ActivityNet-style file by listing, for every annotation or result
    entry, its video id, [start, end] in seconds, label name and (for results) score.

    Attributes:
        video: (N,) video ids, converted to a numpy str array.
        segment: (N, 2) float64 [start, end] in seconds.
        label: (N,) class names (str array), or None.
        score: (N,) float64 confidences, or None.
    """

    video: np.ndarray
    segment: np.ndarray
    label: np.ndarray | None = None
    score: np.ndarray | None = None

    def __post_init__(self) -> None:
        video = np.asarray(self.video).astype(str).reshape(-1)
        segment = as_segments(self.segment, "Segments.segment")
        if segment.shape[0] != video.shape[0]:
            raise ValueError(f"Segments: {video.shape[0]} video ids but {segment.shape[0]} segments")
        object.__setattr__(self, "video", video)
        object.__setattr__(self, "segment", segment)
        if self.label is not None:
            object.__setattr__(self, "label", self._column(np.asarray(self.label).astype(str), "label"))
        if self.score is not None:
            object.__setattr__(self, "score", self._column(np.asarray(self.score, dtype=np.float64), "score"))

    def _column(self, values: np.ndarray, name: str) -> np.ndarray:
        values = values.reshape(-1)
        if values.shape[0] != self.video.shape[0]:
            raise ValueError(f"Segments: {values.shape[0]} {name} values for {self.video.shape[0]} segments")
        return values

    def __len__(self) -> int:
        return int(self.video.shape[0])


@dataclass(frozen=True, eq=False)
class DetectionResult:
    """Detection AP of a prediction set.

    Attributes:
        ap: (T, C) AP per IoU threshold and class.
        map: (T,) mean AP over classes per threshold.
        average_map: mean of `map` over thresholds.
        labels: the C class names, in order of first appearance in the ground truth.
        metrics: 'mAP@0.50', 'mAP@0.55', ... (threshold with 2 decimals) and 'average_mAP'.
        num_unknown_label: predictions ignored because their label is not a ground-truth class.
    """

    ap: np.ndarray
    map: np.ndarray
    average_map: float
    labels: list[str]
    metrics: dict[str, float]
    num_unknown_label: int = 0


def _columns(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keep the pairs where `mask` holds (the last axis of each array indexes pairs)."""
    return tuple(x[..., mask] for x in arrays)


def _first_matches(pair_pred: np.ndarray, pair_group: np.ndarray, pair_iou: np.ndarray, true_pos: np.ndarray,
                   thresholds: np.ndarray) -> None:
    """Set `true_pos` for pairs of groups with a single ground-truth segment (one pair per prediction).

    There the greedy matching reduces to: at each threshold, the group's first pair (by rank) that
    reaches it. With `level` = how many sorted thresholds a pair's IoU reaches, that pair is the one
    whose level beats the running maximum of the earlier pairs of its group: one pass for all
    thresholds, as in AR@AN's first hits.
    """
    if pair_pred.shape[0] == 0:
        return
    ordered = np.sort(thresholds)
    need = np.searchsorted(ordered, thresholds, side="left")  # threshold i holds iff level > need[i]
    level = np.searchsorted(ordered, pair_iou, side="right")
    level[np.isnan(pair_iou)] = 0
    base = pair_group * (thresholds.shape[0] + 2)
    best = np.maximum.accumulate(base + level)
    before = np.empty_like(best)
    before[0] = 0
    before[1:] = best[:-1]
    before = np.maximum(before - base, 0)
    rec = np.flatnonzero(level > before)
    rec_pred, rec_level, rec_before = pair_pred[rec], level[rec], before[rec]
    for i in range(thresholds.shape[0]):
        hit = (rec_before <= need[i]) & (rec_level > need[i])
        true_pos[i, rec_pred[hit]] = True


def _greedy_matches(pair_pred: np.ndarray, pair_gt: np.ndarray, pair_group: np.ndarray, pair_iou: np.ndarray,
                    num_pred: int, num_gt: int, num_groups: int, thresholds: np.ndarray,
                    group_num_gt: np.ndarray | None = None) -> np.ndarray:
    """(T, num_pred) true-positive flags of the kit's greedy one-to-one matching.

    Pairs list each prediction with the ground-truth segments of its (class, video) group, ordered
    by group, then prediction rank (best score first), then preference (IoU, tie rule). Each round
    finds, per threshold and group, the first prediction after the last match that still has an
    eligible unmatched segment: every prediction between the two matches was a false positive under
    the same locks, and this one takes its most preferred free segment. Rounds <= the most
    ground-truth segments of one group, so the loop is over matches, not predictions. Groups with a
    single segment (`group_num_gt`, most of them) take `_first_matches` instead.
    """
    num_thr = thresholds.shape[0]
    true_pos = np.zeros((num_thr, num_pred), dtype=bool)
    if group_num_gt is not None:
        single = group_num_gt[pair_group] == 1
        one = np.flatnonzero(single)
        _first_matches(pair_pred[one], pair_group[one], pair_iou[one], true_pos, thresholds)
        pair_pred, pair_gt, pair_group, pair_iou = _columns(~single, pair_pred, pair_gt, pair_group, pair_iou)
    locked = np.zeros((num_thr, num_gt), dtype=bool)
    last_match = np.full((num_thr, num_groups), -1, dtype=np.int64)
    open_pairs = pair_iou[None, :] >= thresholds[:, None]
    keep = open_pairs.any(axis=0)
    pair_pred, pair_gt, pair_group, open_pairs = _columns(keep, pair_pred, pair_gt, pair_group, open_pairs)
    while pair_pred.shape[0]:
        open_pairs &= ~locked[:, pair_gt] & (pair_pred[None, :] > last_match[:, pair_group])
        flat = np.flatnonzero(open_pairs)
        if flat.shape[0] == 0:
            break
        thr, pair = np.divmod(flat, pair_pred.shape[0])
        slot = thr * num_groups + pair_group[pair]
        first = np.ones(slot.shape[0], dtype=bool)
        first[1:] = slot[1:] != slot[:-1]
        thr, pair = thr[first], pair[first]
        true_pos[thr, pair_pred[pair]] = True
        locked[thr, pair_gt[pair]] = True
        last_match[thr, pair_group[pair]] = pair_pred[pair]
        alive = open_pairs.any(axis=0)
        pair_pred, pair_gt, pair_group, open_pairs = _columns(alive, pair_pred, pair_gt, pair_group, open_pairs)
    return true_pos


def _interpolated_ap(true_pos: np.ndarray, pred_class: np.ndarray, pred_rank: np.ndarray,
                     num_gt_of_class: np.ndarray) -> np.ndarray:
    """(T, C) VOC 2011 interpolated AP from true-positive flags of class-sorted predictions.

    `true_pos` is (T, P) over predictions sorted by class, then score (best first); `pred_rank` is
    each one's 0-based rank among all predictions of its class (those that cannot match included).
    Recall only changes at true positives and precision only rises there, so the kit's sum reduces
    to one term per true positive: (recall step) x (max precision at this or a later true positive
    of the class).
    """
    num_thr, num_classes = true_pos.shape[0], num_gt_of_class.shape[0]
    thr, pos = np.nonzero(true_pos)
    if pos.shape[0] == 0:
        return np.zeros((num_thr, num_classes))
    cls = pred_class[pos]
    rank = pred_rank[pos]
    slot = thr * num_classes + cls
    slot_start = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    count = np.arange(slot.shape[0]) - np.repeat(slot_start, np.diff(np.r_[slot_start, slot.shape[0]])) + 1.0
    precision = count / (rank + 1.0)
    npos = num_gt_of_class[cls].astype(np.float64)
    recall_step = count / npos - (count - 1.0) / npos
    # Suffix maximum of precision within each slot, exactly: map values to integer ranks, offset each
    # slot above the slots after it, and run one maximum.accumulate over the reversed array.
    values, value_rank = np.unique(precision, return_inverse=True)
    offset = (num_thr * num_classes - 1 - slot) * values.shape[0]
    best = np.maximum.accumulate((offset + value_rank)[::-1])[::-1] - offset
    ap = np.bincount(slot, weights=recall_step * values[best], minlength=num_thr * num_classes)
    return ap.reshape(num_thr, num_classes)


def _class_average_precision(gt_segment: np.ndarray, gt_group: np.ndarray, gt_class: np.ndarray,
                             pred_segment: np.ndarray, pred_score: np.ndarray, pred_group: np.ndarray,
                             pred_class: np.ndarray, num_classes: int, thresholds: np.ndarray) -> np.ndarray:
    """(T, C) AP. Groups are (class, video) ids shared by both sides, -1 for predictions with none."""
    group_ids, gt_group = np.unique(gt_group, return_inverse=True)  # compact ids 0..num_groups-1
    gt_group = gt_group.reshape(-1)
    pred_group = _codes(pred_group, group_ids)
    order = grouped_score_order(pred_class, pred_score, num_classes)  # per class, best score first
    pred_group, pred_class = pred_group[order], pred_class[order]
    rank = np.arange(order.shape[0]) - np.searchsorted(pred_class, np.arange(num_classes))[pred_class]
    # Only predictions whose (class, video) has ground truth can match; the others only push the
    # ranks (precision denominators) of those below them, which `rank` already counts.
    cand = np.flatnonzero(pred_group >= 0)
    cand_group, cand_row = pred_group[cand], order[cand]
    gt_order = np.argsort(gt_group, kind="stable")
    gt_count = np.bincount(gt_group, minlength=group_ids.shape[0])
    gt_start = np.cumsum(gt_count) - gt_count
    pair_pred, nth = group_ranges(gt_count[cand_group])
    pair_group = cand_group[pair_pred]
    pair_gt = gt_order[gt_start[pair_group] + nth]
    pair_iou = gathered_iou(pred_segment, cand_row[pair_pred], gt_segment, pair_gt)
    # A pair below every threshold never matches (3 in 4 at ActivityNet scale): drop it before ordering.
    usable = np.flatnonzero(pair_iou >= _lowest(thresholds))
    pair_pred, nth, pair_iou, pair_group, pair_gt = (
        x[usable] for x in (pair_pred, nth, pair_iou, pair_group, pair_gt))
    pref = _pair_order(pair_pred, nth, pair_iou, pair_group, gt_count[cand_group], group_ids.shape[0])
    true_pos = _greedy_matches(pair_pred[pref], pair_gt[pref], pair_group[pref], pair_iou[pref],
                               cand.shape[0], gt_group.shape[0], group_ids.shape[0], thresholds, gt_count)
    return _interpolated_ap(true_pos, pred_class[cand], rank[cand], np.bincount(gt_class, minlength=num_classes))


_SPLIT_MIN_PREDICTIONS = 100_000
"""Fewer predictions than this are scored in one process (a fork costs more than it saves)."""


def _class_average_precision_in_parts(gt_segment: np.ndarray, gt_group: np.ndarray, gt_class: np.ndarray,
                                      pred_segment: np.ndarray, pred_score: np.ndarray, pred_group: np.ndarray,
                                      pred_class: np.ndarray, num_classes: int, thresholds: np.ndarray,
                                      workers: int) -> np.ndarray:
    """`_class_average_precision`; with `workers` > 1 and enough predictions, the classes holding
    the second half of the predictions are scored by a forked child (classes do not interact: the
    same numbers, bit for bit)."""
    args = (gt_segment, gt_group, gt_class, pred_segment, pred_score, pred_group, pred_class)
    if not can_fork(workers) or pred_class.shape[0] < _SPLIT_MIN_PREDICTIONS or num_classes < 2:
        return _class_average_precision(*args, num_classes, thresholds)
    per_class = np.bincount(pred_class, minlength=num_classes)
    split = int(np.searchsorted(np.cumsum(per_class), pred_class.shape[0] / 2)) + 1
    split = min(max(split, 1), num_classes - 1)

    def classes(first: int, end: int) -> np.ndarray:
        """AP of classes first..end-1 from their own ground truth and predictions."""
        g = (gt_class >= first) & (gt_class < end)
        p = (pred_class >= first) & (pred_class < end)
        return _class_average_precision(gt_segment[g], gt_group[g], gt_class[g] - first, pred_segment[p],
                                        pred_score[p], pred_group[p], pred_class[p] - first, end - first,
                                        thresholds)

    shape = (thresholds.shape[0], num_classes - split)
    join = compute_in_child(lambda: [classes(split, num_classes)], (np.float64,), shape[0] * shape[1])
    try:
        first = classes(0, split)
    finally:
        child = join()
    second = child[0].reshape(shape) if child is not None and child[0].shape[0] == shape[0] * shape[1] \
        else classes(split, num_classes)
    return np.concatenate([first, second], axis=1)


def _lowest(thresholds: np.ndarray) -> float:
    """The lowest threshold a pair can pass (NaN thresholds pass nothing; none at all: +inf)."""
    finite = thresholds[~np.isnan(thresholds)]
    return float(finite.min()) if finite.shape[0] else float("inf")


def _pair_order(pair_pred: np.ndarray, nth: np.ndarray, pair_iou: np.ndarray, pair_group: np.ndarray,
                pred_num_gt: np.ndarray, num_groups: int) -> np.ndarray:
    """Order of the pairs by group, then prediction rank, then preference inside the prediction.

    Preference: higher IoU, then the later segment (the kit's tie); NaN last. Pairs arrive by
    prediction and `nth`; only predictions with several candidate segments need the preference
    sort, so that one runs on their pairs alone, and the group pass is one stable integer sort
    (radix for small ids), instead of a four-key lexsort over every pair.
    """
    order = np.arange(pair_pred.shape[0])
    multi = np.flatnonzero(pred_num_gt[pair_pred] > 1)
    if multi.shape[0]:
        inner = np.lexsort((-nth[multi], -np.nan_to_num(pair_iou[multi], nan=-1.0), pair_pred[multi]))
        order[multi] = multi[inner]  # each prediction's pairs are contiguous: reorder inside the block
    group_key = pair_group[order]
    if num_groups < np.iinfo(np.int16).max:
        group_key = group_key.astype(np.int16)
    return order[np.argsort(group_key, kind="stable")]


def _codes(values: np.ndarray, vocabulary: np.ndarray) -> np.ndarray:
    """Index of each value in the sorted unique `vocabulary`, -1 where absent (strings or integers).

    Non-negative integers within a few million use a lookup table instead of a binary search.
    """
    if vocabulary.shape[0] == 0:
        return np.full(values.shape[0], -1, dtype=np.int64)
    if vocabulary.dtype.kind in "iu" and values.dtype.kind in "iu" and 0 <= vocabulary[0] \
            and vocabulary[-1] < _MAX_TABLE:
        table = np.full(int(vocabulary[-1]) + 2, -1, dtype=np.int64)  # the last slot: out of range
        table[vocabulary] = np.arange(vocabulary.shape[0])
        inside = (values >= 0) & (values <= vocabulary[-1])
        return table[np.where(inside, values, table.shape[0] - 1)]
    pos = np.searchsorted(vocabulary, values)
    found = vocabulary[np.minimum(pos, vocabulary.shape[0] - 1)] == values
    return np.where(found, pos, -1).astype(np.int64)


def _thresholds(temporal_iou_thresholds: np.ndarray | Sequence[float]) -> np.ndarray:
    return np.asarray(temporal_iou_thresholds, dtype=np.float64).reshape(-1)


def detection_map(
    ground_truth: Segments,
    predictions: Segments,
    temporal_iou_thresholds: np.ndarray | Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
) -> DetectionResult:
    """Per-class AP, mAP per threshold and average mAP of `predictions`, as the ActivityNet kit computes them.

    Args:
        ground_truth: `Segments` with `video`, `segment` and `label` (score unused). Pass only the
            subset to evaluate (the kit reads the 'validation' subset).
        predictions: `Segments` with `video`, `segment`, `label` and `score`.
        temporal_iou_thresholds: (T,) IoU thresholds.

    Raises:
        AnnotationError: the ground truth has no segment, or a required column is missing.
    """
    if ground_truth.label is None:
        raise AnnotationError("ground truth: detection needs a label for every segment")
    if predictions.label is None or predictions.score is None:
        raise AnnotationError("predictions: detection needs a label and a score for every segment")
    if len(ground_truth) == 0:
        raise AnnotationError("ground truth: no segment to evaluate detections against")
    sorted_labels, first_seen, gt_code = np.unique(ground_truth.label, return_index=True, return_inverse=True)
    class_of_code = np.empty(sorted_labels.shape[0], dtype=np.int64)
    class_of_code[np.argsort(first_seen)] = np.arange(sorted_labels.shape[0])
    labels = [str(x) for x in sorted_labels[np.argsort(first_seen)]]
    pred_code = _codes(predictions.label, sorted_labels)
    videos = np.unique(ground_truth.video)
    return coded_detection_map(
        ground_truth.segment, _codes(ground_truth.video, videos), class_of_code[gt_code.reshape(-1)],
        predictions.segment, predictions.score, _codes(predictions.video, videos),
        np.where(pred_code >= 0, class_of_code[np.maximum(pred_code, 0)], -1),
        labels, temporal_iou_thresholds,
    )


def coded_detection_map(
    gt_segment: np.ndarray,
    gt_video: np.ndarray,
    gt_class: np.ndarray,
    pred_segment: np.ndarray,
    pred_score: np.ndarray,
    pred_video: np.ndarray,
    pred_class: np.ndarray,
    labels: Sequence[str],
    temporal_iou_thresholds: np.ndarray | Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
    *,
    workers: int = 1,
) -> DetectionResult:
    """`detection_map` on integer-coded videos and classes (what it computes once it has coded the strings).

    Callers that already hold indices (`vidact eval` codes labels and videos while reading the
    files) skip string sorting and searching, most of the time on 500k predictions.

    Args:
        gt_segment: (G, 2) float64 [start, end]; gt_video, gt_class: (G,) int indices >= 0.
        pred_segment: (P, 2) float64; pred_score: (P,) float64.
        pred_video: (P,) int index of the prediction's ground-truth video, -1 for a video without
            ground truth (a false positive, as in the kit).
        pred_class: (P,) int class index, -1 for a label that is not a ground-truth class (ignored
            and counted in `num_unknown_label`).
        labels: the C class names; class index i is labels[i].
        workers: with 2 or more (and 100k predictions or more), half of the classes are scored by a
            forked child process where the platform can fork (command-line use; same numbers).
    """
    if gt_video.shape[0] == 0:
        raise AnnotationError("ground truth: no segment to evaluate detections against")
    thresholds = _thresholds(temporal_iou_thresholds)
    num_classes = len(labels)
    known = pred_class >= 0
    num_unknown = int(known.shape[0] - np.count_nonzero(known))
    if num_unknown:
        log.warning("%d predictions have labels that are not ground-truth classes; ignored", num_unknown)
        pred_segment, pred_score, pred_video, pred_class = (
            pred_segment[known], pred_score[known], pred_video[known], pred_class[known])
    num_videos = int(gt_video.max()) + 1
    gt_group = gt_class * num_videos + gt_video
    pred_group = np.where(pred_video >= 0, pred_class * num_videos + pred_video, -1)
    ap = _class_average_precision_in_parts(gt_segment, gt_group, gt_class, pred_segment, pred_score, pred_group,
                                           pred_class, num_classes, thresholds, workers)
    mean_ap = ap.mean(axis=1)
    average_map = float(mean_ap.mean())
    metrics = {f"mAP@{t:.2f}": float(m) for t, m in zip(thresholds, mean_ap)}
    metrics["average_mAP"] = average_map
    return DetectionResult(ap, mean_ap, average_map, list(labels), metrics, num_unknown)


def average_precision_at_temporal_iou(
    ground_truth: Mapping[str, np.ndarray | list],
    prediction: np.ndarray | Sequence[Sequence],
    temporal_iou_thresholds: np.ndarray | Sequence[float] = DEFAULT_TIOU_THRESHOLDS,
) -> np.ndarray:
    """AP of one class's predictions at each IoU threshold (MMAction's signature, the kit's maths).

    Args:
        ground_truth: video id -> [[start, end], ...] ground-truth segments of the class.
        prediction: rows [video_id, class_id, start, end, score] (class_id is not used).
        temporal_iou_thresholds: (T,) IoU thresholds.

    Returns:
        (T,) float64 AP per threshold; zeros when there is no prediction.
    """
    thresholds = _thresholds(temporal_iou_thresholds)
    rows = [np.asarray(v, dtype=np.float64).reshape(-1, 2) for v in ground_truth.values()]
    num_gt = sum(r.shape[0] for r in rows)
    if len(prediction) == 0 or num_gt == 0:
        return np.zeros(thresholds.shape[0])
    index = {str(vid): i for i, vid in enumerate(ground_truth)}
    gt_group = np.repeat(np.arange(len(rows)), [r.shape[0] for r in rows])
    pred = np.asarray(prediction, dtype=object)
    if pred.ndim != 2 or pred.shape[1] < 5:
        raise ValueError(f"prediction: expected rows [video_id, class_id, start, end, score], got shape {pred.shape}")
    pred_group = np.array([index.get(str(v), -1) for v in pred[:, 0]], dtype=np.int64)
    ap = _class_average_precision(
        np.concatenate(rows), gt_group, np.zeros(num_gt, dtype=np.int64), pred[:, 2:4].astype(np.float64),
        pred[:, 4].astype(np.float64), pred_group, np.zeros(pred.shape[0], dtype=np.int64), 1, thresholds)
    return ap[:, 0]
