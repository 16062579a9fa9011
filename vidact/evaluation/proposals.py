"""Temporal proposal metrics: pairwise temporal IoU and average recall vs. average number of proposals.

Numbers agree with the official ActivityNet kit (`Evaluation/eval_proposal.py`,
`average_recall_vs_avg_nr_proposals`), whose arithmetic is reproduced step by step:

- The videos are those with at least one ground-truth segment. With `max_avg_proposals` unset
  (None or 0) it becomes total proposals / number of videos.
- `ratio = max_avg_proposals * num_videos / total_num_proposals`, where the total counts every
  proposal handed in, including those of videos that have no ground truth: the kit counts all rows
  of the results file. Each video then keeps its `int(n * ratio)` best-scored proposals (at most n),
  and `total_retrieved` sums what the ground-truth videos kept.
- Column j (j = 1..100) of the curve uses the fraction `pcn = j / 100 * max_avg_proposals *
  num_videos / total_retrieved`; a video with k kept proposals looks at its first
  `min(int(k * pcn), k)`. A ground-truth segment is recalled when one of them reaches the IoU
  threshold (`>=`), each counted once; recall divides by the number of ground-truth segments of
  all videos, so a video without proposals adds segments and no matches.
- `average_recall = recall.mean(axis=0)`, `proposals_per_video = pcn * total_retrieved /
  num_videos`, and `auc = 100 * trapezoid(average_recall, proposals_per_video) /
  proposals_per_video[-1]`, the percentage the kit prints.

Where we differ from the kit and from MMAction 0.x:
- Proposals of a video are ranked by a stable descending sort on score: equal scores keep their
  input order. The kit reverses an ascending quicksort, which for a video with up to 16 proposals
  puts equal scores in reverse input order and for more is implementation-defined. Results differ
  only when equal scores straddle a cut-off.
- IoU is computed in float64 like the kit; MMAction casts segments and IoU to float32, so its
  recalls can differ where an IoU sits on a threshold. MMAction also raises KeyError for a
  ground-truth video without proposals (the kit, and we, count zero recall) and counts videos with
  an empty ground-truth array as videos (the kit, and we, do not).
- 0/0 IoU (two zero-length segments) never matches, as in the kit's `>=` test.
- When no ground-truth video keeps a proposal the kit divides by zero; we return zero recall, zero
  proposals per video and an AUC of 0.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from vidact.errors import AnnotationError
from vidact.segments import as_segments, segment_iop, segment_iou

log = logging.getLogger(__name__)

DEFAULT_TIOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
_NUM_CURVE_POINTS = 100
AR_AT = (1, 5, 10, 100)  # AR@k reads curve column k - 1, as MMAction's ActivityNetDataset does
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy 2 renamed trapz; same maths


def pairwise_temporal_iou(
    candidate_segments: np.ndarray, target_segments: np.ndarray, calculate_overlap_self: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Temporal IoU of each candidate against each target segment.

    Args:
        candidate_segments: one [start, end] of shape (2,), or (m, 2).
        target_segments: (n, 2) [start, end] rows.
        calculate_overlap_self: (later 0.x) also return each intersection over the candidate's
            own length.

    Returns:
        (n,) for a single candidate, else (n, m): IoU of target i with candidate j, float64
        (MMAction returns float32). 0/0 (two zero-length segments) gives NaN, as the kit does.
        With `calculate_overlap_self`, the pair (IoU, intersection over the candidate's length),
        both of that shape; a zero-length candidate's overlap is 0/0 = NaN, as in the reference.
    """
    for name, value in (("candidate_segments", candidate_segments), ("target_segments", target_segments)):
        if isinstance(value, (str, bytes, numbers.Number)):
            raise TypeError(f"pairwise_temporal_iou: {name} must be an array of [start, end] rows, got {value!r}")
    candidate = np.asarray(candidate_segments, dtype=np.float64)
    target = np.asarray(target_segments, dtype=np.float64)
    if target.ndim != 2 or candidate.ndim not in (1, 2):
        raise ValueError(
            "pairwise_temporal_iou: expected candidates of shape (2,) or (m, 2) and targets of shape "
            f"(n, 2), got {candidate.shape} and {target.shape}"
        )
    targets = as_segments(target, "target_segments")
    candidates = as_segments(candidate, "candidate_segments")
    iou = segment_iou(targets, candidates)
    if not calculate_overlap_self:
        return iou[:, 0] if candidate.ndim == 1 else iou
    overlap_self = segment_iop(candidates, targets).T
    if candidate.ndim == 1:
        return iou[:, 0], overlap_self[:, 0]
    return iou, overlap_self


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of a[i] with b[i] for matching rows of a: (P, 2) and b: (P, 2) -> (P,).

    The element-wise twin of `vidact.segments.segment_iou` (same operation order, so the same bits
    as its diagonal); used where the pairs to compare are already listed.
    """
    inter = np.clip(np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0]), 0.0, None)
    union = (a[:, 1] - a[:, 0]) + (b[:, 1] - b[:, 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def gathered_iou(a: np.ndarray, a_index: np.ndarray, b: np.ndarray, b_index: np.ndarray) -> np.ndarray:
    """`paired_iou(a[a_index], b[b_index])` with the same bits, without gathering (P, 2) rows.

    Gathering whole rows and slicing their columns is several times slower than gathering from
    contiguous column copies; this is the pair-list kernel of AR@AN and detection matching.
    """
    a_cols, b_cols = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    a0, a1, b0, b1 = a_cols[0][a_index], a_cols[1][a_index], b_cols[0][b_index], b_cols[1][b_index]
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0, None)
    union = (a1 - a0) + (b1 - b0) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def group_ranges(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of sizes `counts`, return (group of each item, position of each item in its group)."""
    counts = np.asarray(counts, dtype=np.int64)
    group = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(group.shape[0]) - starts[group]


def _rows(x: np.ndarray | list, num_cols: int, name: str) -> np.ndarray:
    """Coerce one video's entries to float64 (N, num_cols), dropping extra columns."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return np.empty((0, num_cols))
    if arr.ndim == 1 and arr.shape[0] == num_cols:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] < num_cols:
        raise ValueError(f"{name}: expected rows of at least {num_cols} numbers, got shape {arr.shape}")
    return arr[:, :num_cols]


@dataclass(frozen=True)
class FlatProposals:
    """Ground truth and proposals of all videos, concatenated; videos numbered 0..num_videos-1.

    The columnar input of `ar_an_flat`: readers that already hold columns (`vidact eval`) build it
    directly instead of going through per-video dicts. Every video 0..num_videos-1 has at least
    one ground-truth segment (the kit's video list).
    """

    gt_segment: np.ndarray  # (G, 2) float64
    gt_video: np.ndarray  # (G,) int64
    segment: np.ndarray  # (K, 2) float64, proposals of ground-truth videos only
    score: np.ndarray  # (K,) float64
    video: np.ndarray  # (K,) int64
    num_videos: int
    num_proposals_all: int  # every proposal handed in, ground-truth video or not


def _flatten(ground_truth: Mapping[str, np.ndarray], proposals: Mapping[str, np.ndarray]) -> FlatProposals:
    for name, value in (("ground_truth", ground_truth), ("proposals", proposals)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict of video id -> segment array, got {type(value).__name__}")
    gt = {vid: _rows(seg, 2, f"ground_truth[{vid!r}]") for vid, seg in ground_truth.items()}
    # The kit's video list only holds videos with at least one ground-truth segment.
    gt = {vid: seg for vid, seg in gt.items() if seg.shape[0]}
    index = {vid: i for i, vid in enumerate(gt)}
    props = {vid: _rows(p, 3, f"proposals[{vid!r}]") for vid, p in proposals.items()}
    ours = [(index[vid], p) for vid, p in props.items() if vid in index and p.shape[0]]
    stacked = np.concatenate([p for _, p in ours]) if ours else np.empty((0, 3))
    return FlatProposals(
        gt_segment=np.concatenate(list(gt.values())) if gt else np.empty((0, 2)),
        gt_video=np.repeat(np.arange(len(gt)), [seg.shape[0] for seg in gt.values()]).astype(np.int64),
        segment=stacked[:, :2],
        score=stacked[:, 2],
        video=np.repeat(np.array([i for i, _ in ours], dtype=np.int64), [p.shape[0] for _, p in ours]),
        num_videos=len(gt),
        num_proposals_all=sum(p.shape[0] for p in props.values()),
    )


@dataclass(frozen=True)
class _Curve:
    recall: np.ndarray  # (T, 100)
    average_recall: np.ndarray  # (100,)
    proposals_per_video: np.ndarray  # (100,)
    auc: float  # percent
    proposals_of_video: np.ndarray = field(repr=False)  # (num_videos,) proposals handed in per video


def _first_hits(flat: FlatProposals, kept: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(T, G): rank of the first kept proposal reaching each threshold for each GT segment (or a big number)."""
    order = grouped_score_order(flat.video, flat.score, flat.num_videos)
    video_sorted = flat.video[order]
    starts = np.searchsorted(video_sorted, np.arange(flat.num_videos))
    # Pair every GT segment with each kept proposal of its video, best score first.
    pairs_per_gt = kept[flat.gt_video]
    gt_of_pair, rank = group_ranges(pairs_per_gt)
    prop_of_pair = order[starts[flat.gt_video][gt_of_pair] + rank]
    iou = gathered_iou(flat.gt_segment, gt_of_pair, flat.segment, prop_of_pair)
    never = np.iinfo(np.int32).max
    first = np.full((thresholds.shape[0], flat.gt_segment.shape[0]), never, dtype=np.int32)
    if iou.shape[0] == 0:
        return first
    # level: how many (sorted) thresholds a pair's IoU reaches; threshold i holds iff level > need[i]
    # (exactly iou >= thresholds[i]; NaN IoU reaches none, a NaN threshold is reached by none).
    ordered = np.sort(thresholds)
    need = np.searchsorted(ordered, thresholds, side="left")
    level = np.searchsorted(ordered, iou, side="right")
    level[np.isnan(iou)] = 0
    # A GT segment's first hit at threshold i is its first pair whose level beats every earlier
    # pair's: one running maximum per GT block (block g's keys sit above block g-1's), no pass per
    # threshold over all pairs.
    stride = thresholds.shape[0] + 2
    base = gt_of_pair * stride
    best = np.maximum.accumulate(base + level)
    before = np.empty_like(best)
    before[0] = 0
    before[1:] = best[:-1]
    before = np.maximum(before - base, 0)  # best level among the earlier pairs of the same block
    rec = np.flatnonzero(level > before)
    rec_gt, rec_rank, rec_level, rec_before = gt_of_pair[rec], rank[rec], level[rec], before[rec]
    for i in range(thresholds.shape[0]):
        hit = (rec_before <= need[i]) & (rec_level > need[i])
        first[i, rec_gt[hit]] = rec_rank[hit]
    return first


def grouped_score_order(video: np.ndarray, score: np.ndarray, num_videos: int) -> np.ndarray:
    """Order by video, then score descending, equal scores in input order (as np.lexsort((-score, video))).

    Video ids are 0..num_videos-1. Input already in that order (results files often list each
    video's entries best first) is recognised in one pass. Otherwise entries are grouped by video
    (a stable radix sort on int16 ids, skipped when each video's entries are contiguous, as the
    readers give them) and each video's scores are sorted in one call on a (videos, longest) grid;
    with NaN scores or very uneven videos, a score sort then a stable video sort. Each path gives
    lexsort's permutation, three to five times faster.
    """
    n = score.shape[0]
    if n < 2:
        return np.arange(n)
    contiguous = bool((video[1:] >= video[:-1]).all())
    nan = bool(np.isnan(score).any())
    if contiguous and not nan and not ((video[1:] == video[:-1]) & (score[1:] > score[:-1])).any():
        return np.arange(n)
    counts = np.bincount(video, minlength=num_videos)
    if not nan and counts.max() * num_videos <= 2 * n + 1024:
        grouped = None if contiguous else np.argsort(_small_ids(video, num_videos), kind="stable")
        key = -(score if grouped is None else score[grouped])
        if num_videos * 512 <= n:  # a few hundred long groups (detections per class): one sort each
            in_rows = _each_sorted(key, counts)
        else:
            in_rows = _row_sorted(video if grouped is None else video[grouped], key, counts)
        return in_rows if grouped is None else grouped[in_rows]
    order = descending_order(score)
    return order[np.argsort(_small_ids(video[order], num_videos), kind="stable")]


def _small_ids(ids: np.ndarray, num_ids: int) -> np.ndarray:
    # numpy's stable sort is a radix sort for 16-bit keys
    return ids.astype(np.int16) if num_ids < np.iinfo(np.int16).max else ids


def _each_sorted(key: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Stable ascending order of `key` (no NaN) inside consecutive runs of `counts` entries.

    One unstable sort per run (about twice as fast as a stable one on floats), then the runs of
    equal keys put back in input order, as `descending_order` does.
    """
    order = np.empty(key.shape[0], dtype=np.int64)
    ends = np.cumsum(counts)
    start = 0
    for end in ends.tolist():
        order[start:end] = start + np.argsort(key[start:end])
        start = end
    ranked = key[order]
    tie = ranked[1:] == ranked[:-1]
    inner = ends[(ends > 0) & (ends < key.shape[0])]
    tie[inner - 1] = False  # equal keys of two runs are not a tie
    return _in_input_order(order, tie)


def _row_sorted(video: np.ndarray, key: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Stable ascending order of `key` inside each run of equal, non-decreasing `video` ids.

    The runs become rows of a grid padded with +inf after their entries (a stable sort keeps the
    padding after a real +inf), so one argsort along the rows sorts every video at once.
    """
    starts = np.cumsum(counts) - counts
    col = np.arange(key.shape[0]) - starts[video]
    grid = np.full((counts.shape[0], int(counts.max())), np.inf)
    grid[video, col] = key
    in_row = np.argsort(grid, axis=1, kind="stable")
    return (in_row + starts[:, None])[in_row < counts[:, None]]


def descending_order(score: np.ndarray) -> np.ndarray:
    """np.argsort(-score, kind="stable"): best first, equal scores (NaN with NaN) in input order.

    An unstable sort, then the few runs of equal scores put back in input order: the same
    permutation as the stable sort, in about two thirds of its time on float scores.
    """
    neg = -score
    order = np.argsort(neg)
    ranked = neg[order]
    tie = ranked[1:] == ranked[:-1]
    nan = np.isnan(ranked)
    if nan.any():  # NaN sorts last; NaN == NaN is False, but they are one run
        tie |= nan[1:] & nan[:-1]
    return _in_input_order(order, tie)


def _in_input_order(order: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """`order` with each run of tied neighbours (tie[i]: positions i and i + 1 tie) in input order."""
    if tie.any():
        in_run = np.zeros(order.shape[0], dtype=bool)
        in_run[1:] = tie
        in_run[:-1] |= tie
        at = np.flatnonzero(in_run)
        run = np.cumsum(np.r_[True, ~tie])[at]  # run number of each tied position
        order[at] = order[at][np.lexsort((order[at], run))]
    return order


def _recall_curve(flat: FlatProposals, total_num_proposals: int, max_avg_proposals: float | None,
                  thresholds: np.ndarray) -> _Curve:
    num_videos = flat.num_videos
    if num_videos == 0:
        raise ValueError("average recall: the ground truth has no segments")
    num_thr = thresholds.shape[0]
    if not max_avg_proposals:
        max_avg_proposals = float(total_num_proposals) / num_videos
    proposals_of_video = np.bincount(flat.video, minlength=num_videos)
    zero_curve = _Curve(np.zeros((num_thr, _NUM_CURVE_POINTS)), np.zeros(_NUM_CURVE_POINTS),
                        np.zeros(_NUM_CURVE_POINTS), 0.0, proposals_of_video)
    if total_num_proposals == 0 or proposals_of_video.sum() == 0:
        return zero_curve
    ratio = max_avg_proposals * float(num_videos) / total_num_proposals
    kept = np.minimum((proposals_of_video * ratio).astype(np.int64), proposals_of_video)
    total_retrieved = int(kept.sum())
    if total_retrieved == 0:  # the kit divides by zero here
        return zero_curve
    pcn = np.arange(1, _NUM_CURVE_POINTS + 1) / 100.0 * (max_avg_proposals * float(num_videos) / total_retrieved)
    # The kit scores a video without proposals as a (G, 1) zero matrix; its width only matters for
    # the cut-offs, and that video has no hits anyway.
    width = np.where(proposals_of_video > 0, kept, 1)
    cutoff = np.minimum((width[:, None] * pcn[None, :]).astype(np.int64), width[:, None])  # (V, 100)
    first = _first_hits(flat, kept, thresholds)  # (T, G)
    recalled = first[:, :, None] < cutoff[flat.gt_video][None, :, :]  # (T, G, 100)
    recall = np.count_nonzero(recalled, axis=1).astype(np.float64) / float(flat.gt_segment.shape[0])
    average_recall = recall.mean(axis=0)
    proposals_per_video = pcn * (float(total_retrieved) / num_videos)
    area = _trapezoid(average_recall, proposals_per_video)
    auc = 100.0 * float(area) / proposals_per_video[-1]
    return _Curve(recall, average_recall, proposals_per_video, auc, proposals_of_video)


def average_recall_at_avg_proposals(
    ground_truth: Mapping[str, np.ndarray],
    proposals: Mapping[str, np.ndarray],
    total_num_proposals: int,
    max_avg_proposals: float | None = None,
    temporal_iou_thresholds: np.ndarray = DEFAULT_TIOU_THRESHOLDS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Average recall at an average number (percentile) of proposals per video, as the kit computes it.

    Args:
        ground_truth: video id -> (G, 2) [start, end] segments (extra columns are ignored).
            Videos with no segment are not evaluated.
        proposals: video id -> (K, 3) [start, end, score]. Videos without an entry have zero
            recall; entries of videos absent from `ground_truth` are ignored here.
        total_num_proposals: number of proposals in the whole results file, including those of
            videos without ground truth (the kit's denominator for the per-video ratio).
        max_avg_proposals: the largest average number of proposals per video on the curve;
            None (or 0) means total_num_proposals / number of videos.
        temporal_iou_thresholds: (T,) IoU thresholds.

    Returns:
        (recall (T, 100), average_recall (100,), proposals_per_video (100,), auc in percent).
        `recall[i, j]` is the recall at threshold i when each video keeps (j + 1) % of
        `max_avg_proposals` proposals on average.
    """
    if isinstance(total_num_proposals, bool) or not isinstance(total_num_proposals, numbers.Real):
        raise TypeError(f"total_num_proposals must be a number, got {total_num_proposals!r}")
    thresholds = np.asarray(temporal_iou_thresholds, dtype=np.float64).reshape(-1)
    curve = _recall_curve(_flatten(ground_truth, proposals), int(total_num_proposals), max_avg_proposals, thresholds)
    return curve.recall, curve.average_recall, curve.proposals_per_video, curve.auc


@dataclass(frozen=True, eq=False)
class ARANResult:
    """AR@AN evaluation of a proposal set.

    Attributes:
        recall: (T, 100) recall per IoU threshold and curve point.
        average_recall: (100,) recall averaged over thresholds.
        proposals_per_video: (100,) average number of proposals per video at each curve point.
        auc: area under the AR-AN curve in percent (100 * area / max AN), as the kit prints it.
        metrics: 'AR@1', 'AR@5', 'AR@10', 'AR@100' (fractions: columns 0, 4, 9, 99 of the curve,
            i.e. AN = 1, 5, 10, 100 for max_avg_proposals = 100) and 'auc' (percent).
        num_videos_short: ground-truth videos with fewer proposals than max_avg_proposals (than
            the resolved average when it was None).
        num_videos_missing: ground-truth videos with no proposal at all.
    """

    recall: np.ndarray
    average_recall: np.ndarray
    proposals_per_video: np.ndarray
    auc: float
    metrics: dict[str, float]
    num_videos_short: int
    num_videos_missing: int


def ar_an(
    ground_truth: Mapping[str, np.ndarray],
    proposals: Mapping[str, np.ndarray],
    max_avg_proposals: int | None = 100,
    temporal_iou_thresholds: np.ndarray = DEFAULT_TIOU_THRESHOLDS,
) -> ARANResult:
    """AR@AN of `proposals` against `ground_truth`, with the kit's numbers and MMAction's AR@k keys.

    Args:
        ground_truth: video id -> (G, 2) [start, end] segments in seconds.
        proposals: video id -> (K, 3) [start, end, score]. Proposals of videos not in
            `ground_truth` take no part in recall but do count in the total number of proposals,
            exactly as in the official kit (it divides by every row of the results file).
        max_avg_proposals: AN at the last curve point (the kit's command uses 100).
        temporal_iou_thresholds: (T,) IoU thresholds.

    Raises:
        AnnotationError: the ground truth holds no segment.
    """
    return ar_an_flat(_flatten(ground_truth, proposals), max_avg_proposals, temporal_iou_thresholds)


def ar_an_flat(
    flat: FlatProposals,
    max_avg_proposals: int | None = 100,
    temporal_iou_thresholds: np.ndarray = DEFAULT_TIOU_THRESHOLDS,
) -> ARANResult:
    """`ar_an` on columns: what it computes once the per-video dicts are concatenated."""
    thresholds = np.asarray(temporal_iou_thresholds, dtype=np.float64).reshape(-1)
    if flat.num_videos == 0:
        raise AnnotationError("ground truth: no segment to evaluate proposals against")
    total = flat.num_proposals_all
    curve = _recall_curve(flat, total, max_avg_proposals, thresholds)
    metrics = {f"AR@{k}": float(curve.recall[:, k - 1].mean()) for k in AR_AT}
    metrics["auc"] = float(curve.auc)
    wanted = max_avg_proposals if max_avg_proposals else total / flat.num_videos
    short = int(np.count_nonzero(curve.proposals_of_video < wanted))
    missing = int(np.count_nonzero(curve.proposals_of_video == 0))
    if missing:
        log.debug("%d of %d ground-truth videos have no proposals (counted as zero recall)",
                    missing, flat.num_videos)
    return ARANResult(curve.recall, curve.average_recall, curve.proposals_per_video, float(curve.auc),
                      metrics, short, missing)
