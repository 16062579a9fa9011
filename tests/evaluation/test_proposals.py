"""AR@AN and pairwise temporal IoU: hand-computed curves, the kit's counting rules, and the slow reference."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.errors import AnnotationError
from vidact.evaluation import ar_an, average_recall_at_avg_proposals, pairwise_temporal_iou
from vidact.evaluation.proposals import paired_iou
from vidact.segments import segment_iou

from . import _reference as ref

GT = {"v1": np.array([[0.0, 10.0]]), "v2": np.array([[0.0, 10.0], [20.0, 30.0]])}
PROPOSALS = {
    "v1": np.array([[0.0, 10.0, 0.9], [20.0, 30.0, 0.8]]),
    "v2": np.array([[20.0, 30.0, 0.5], [0.0, 5.0, 0.9]]),  # [0, 5] ranks first
}


def test_pairwise_temporal_iou_shapes_and_values():
    targets = np.array([[1.0, 3.0], [0.0, 2.0], [5.0, 6.0]])
    np.testing.assert_allclose(pairwise_temporal_iou(np.array([0.0, 2.0]), targets), [1 / 3, 1.0, 0.0])
    both = pairwise_temporal_iou(np.array([[0.0, 2.0], [5.0, 6.0]]), targets)
    assert both.shape == (3, 2) and both.dtype == np.float64
    np.testing.assert_allclose(both[:, 1], [0.0, 0.0, 1.0])
    assert np.isnan(pairwise_temporal_iou(np.array([4.0, 4.0]), np.array([[4.0, 4.0]]))[0])
    with pytest.raises(ValueError, match="expected"):
        pairwise_temporal_iou(np.zeros((1, 1, 2)), targets)
    with pytest.raises(ValueError, match="expected"):
        pairwise_temporal_iou(np.array([0.0, 1.0]), np.array([0.0, 1.0]))


def test_pairwise_temporal_iou_calculate_overlap_self():
    # Later 0.x: also intersection / candidate length, same shape as the IoU.
    targets = np.array([[1.0, 3.0], [0.0, 2.0], [5.0, 6.0]])
    iou, overlap = pairwise_temporal_iou(np.array([0.0, 2.0]), targets, calculate_overlap_self=True)
    np.testing.assert_allclose(iou, [1 / 3, 1.0, 0.0])
    np.testing.assert_allclose(overlap, [1 / 2, 1.0, 0.0])  # candidate [0, 2] has length 2
    candidates = np.array([[0.0, 2.0], [2.0, 6.0]])
    iou, overlap = pairwise_temporal_iou(candidates, targets, calculate_overlap_self=True)
    assert iou.shape == overlap.shape == (3, 2)
    np.testing.assert_allclose(iou, pairwise_temporal_iou(candidates, targets))
    np.testing.assert_allclose(overlap, [[1 / 2, 1 / 4], [1.0, 0.0], [0.0, 1 / 4]])
    rng = np.random.default_rng(1)
    cand = np.sort(rng.uniform(0, 10, size=(7, 2)), axis=1)
    targ = np.sort(rng.uniform(0, 10, size=(5, 2)), axis=1)
    _, overlap = pairwise_temporal_iou(cand, targ, calculate_overlap_self=True)
    for i in range(5):  # the reference's loop, one candidate at a time
        for j in range(7):
            inter = max(0.0, min(cand[j, 1], targ[i, 1]) - max(cand[j, 0], targ[i, 0]))
            assert overlap[i, j] == pytest.approx(inter / (cand[j, 1] - cand[j, 0]))


def test_paired_iou_is_the_diagonal_of_segment_iou_bit_for_bit():
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(0, 10, (50, 2)), axis=1)
    b = np.sort(rng.uniform(0, 10, (50, 2)), axis=1)
    np.testing.assert_array_equal(paired_iou(a, b), np.diag(segment_iou(a, b)))


def test_average_recall_hand_case():
    # Two proposals per video are kept (ratio 1). Column j looks at int(2 * j / 100) of them:
    # none below j = 50, the best one up to j = 99 (v1's GT and v2's [0, 10] at IoU exactly 0.5),
    # both at j = 100.
    recall, average, per_video, auc = average_recall_at_avg_proposals(
        GT, PROPOSALS, total_num_proposals=4, max_avg_proposals=2, temporal_iou_thresholds=np.array([0.5]))
    expected = np.r_[np.zeros(49), np.full(50, 2 / 3), 1.0]
    np.testing.assert_allclose(recall[0], expected)
    np.testing.assert_allclose(average, expected)
    np.testing.assert_allclose(per_video, np.arange(1, 101) / 100 * 2)
    # Trapezoids of width 0.02: half a step up to 2/3, 49 flat ones, half a step up to 1.
    area = 0.02 * (1 / 3 + 49 * 2 / 3 + 5 / 6)
    assert auc == pytest.approx(100 * area / 2)


def test_ar_an_metrics_follow_mmaction_columns():
    result = ar_an(GT, PROPOSALS, max_avg_proposals=2, temporal_iou_thresholds=[0.5, 0.6])
    assert set(result.metrics) == {"AR@1", "AR@5", "AR@10", "AR@100", "auc"}
    for k in (1, 5, 10, 100):
        assert result.metrics[f"AR@{k}"] == pytest.approx(result.recall[:, k - 1].mean())
    assert result.metrics["auc"] == result.auc
    assert result.recall.shape == (2, 100) and result.proposals_per_video.shape == (100,)
    assert (result.num_videos_short, result.num_videos_missing) == (0, 0)
    assert ar_an(GT, PROPOSALS, max_avg_proposals=3).num_videos_short == 2


def test_video_without_proposals_counts_zero_recall(caplog):
    gt = {**GT, "v3": np.array([[0.0, 1.0]])}
    with caplog.at_level(logging.DEBUG, logger="vidact.evaluation.proposals"):
        result = ar_an(gt, PROPOSALS, max_avg_proposals=2, temporal_iou_thresholds=[0.5])
    assert result.num_videos_missing == 1 and result.num_videos_short == 1
    assert "no proposals" in caplog.text
    expected, _ = ref.average_recall(gt, PROPOSALS, 4, 2, [0.5])
    np.testing.assert_allclose(result.recall, expected)
    assert result.recall.max() == pytest.approx(3 / 4)  # v3's segment is never recalled


def test_extra_videos_count_in_the_total_only():
    extra = {**PROPOSALS, "not_in_gt": np.array([[0.0, 1.0, 1.0]] * 6)}
    with_extra = ar_an(GT, extra, max_avg_proposals=2)
    # Same as leaving them out but passing the total of every proposal, as the kit does.
    recall, _, per_video, auc = average_recall_at_avg_proposals(GT, PROPOSALS, 10, max_avg_proposals=2)
    np.testing.assert_array_equal(with_extra.recall, recall)
    assert with_extra.auc == auc
    # The ratio drops to 2 * 2 / 10, so each video keeps int(2 * 0.4) = 0 proposals: nothing is recalled.
    assert with_extra.recall.max() == 0.0 and per_video.max() == 0.0


def test_empty_ground_truth_arrays_are_not_videos():
    gt = {**GT, "empty": np.empty((0, 2))}
    a = ar_an(gt, PROPOSALS, max_avg_proposals=2)
    b = ar_an(GT, PROPOSALS, max_avg_proposals=2)
    np.testing.assert_array_equal(a.recall, b.recall)
    with pytest.raises(AnnotationError):
        ar_an({"v": np.empty((0, 2))}, PROPOSALS)


def test_no_proposals_at_all_gives_zero_curve():
    result = ar_an(GT, {}, max_avg_proposals=100)
    assert result.recall.max() == 0.0 and result.auc == 0.0 and result.num_videos_missing == 2


def test_equal_scores_keep_input_order():
    # Both proposals score 0.5; the first in input order is kept at AN = 1.
    gt = {"v": np.array([[0.0, 10.0]])}
    props = {"v": np.array([[50.0, 60.0, 0.5], [0.0, 10.0, 0.5]])}
    recall, *_ = average_recall_at_avg_proposals(gt, props, 2, max_avg_proposals=1)
    assert recall[:, -1].max() == 0.0
    swapped = {"v": props["v"][::-1].copy()}
    recall, *_ = average_recall_at_avg_proposals(gt, swapped, 2, max_avg_proposals=1)
    assert recall[:, -1].min() == 1.0


def test_zero_length_segments():
    # A zero-length GT inside a proposal has IoU 0; two zero-length segments (0/0) never match.
    gt = {"v": np.array([[5.0, 5.0], [0.0, 10.0]])}
    props = {"v": np.array([[5.0, 5.0, 0.9], [0.0, 10.0, 0.8]])}
    result = ar_an(gt, props, max_avg_proposals=2)
    assert result.recall[:, -1].max() == pytest.approx(0.5)


def _random_case(rng: np.random.Generator) -> tuple[dict, dict]:
    integer = rng.random() < 0.5
    gt, props = {}, {}
    for v in range(int(rng.integers(1, 8))):
        n = int(rng.integers(1 if v == 0 else 0, 4))  # v0 always has ground truth and proposals
        start = rng.integers(0, 20, n).astype(float) if integer else rng.uniform(0, 20, n)
        gt[f"v{v}"] = np.stack([start, start + (rng.integers(0, 8, n) if integer else rng.uniform(0, 8, n))], 1)
        if v == 0 or rng.random() < 0.8:
            k = int(rng.integers(1 if v == 0 else 0, 15))
            start = rng.integers(0, 20, k).astype(float) if integer else rng.uniform(0, 20, k)
            score = rng.integers(0, 4, k) / 4.0  # many equal scores
            props[f"v{v}"] = np.stack([start, start + rng.integers(1, 8, k), score], 1)
    if rng.random() < 0.5:
        props["extra"] = np.array([[0.0, 1.0, 0.5]] * int(rng.integers(1, 5)))
    return gt, props


@pytest.mark.parametrize("seed", range(60))
def test_average_recall_matches_reference(seed):
    rng = np.random.default_rng(seed)
    gt, props = _random_case(rng)
    total = sum(p.shape[0] for p in props.values())
    max_avg = [None, 1, 3, 10, 2.5][seed % 5]
    thresholds = [0.5, 0.75, 0.95] if seed % 2 else list(np.linspace(0.5, 0.95, 10))
    kept_any = True
    try:
        expected, expected_auc = ref.average_recall(gt, props, total, max_avg, thresholds)
    except ZeroDivisionError:  # no video kept a proposal; we define the curve as zero
        kept_any = False
    recall, _, _, auc = average_recall_at_avg_proposals(gt, props, total, max_avg, np.array(thresholds))
    if kept_any:
        np.testing.assert_array_equal(recall, expected)
        assert auc == pytest.approx(expected_auc, abs=1e-9)
    else:
        assert recall.max() == 0.0 and auc == 0.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_average_recall_property(seed):
    rng = np.random.default_rng(seed)
    gt, props = _random_case(rng)
    total = sum(p.shape[0] for p in props.values())
    try:
        expected, _ = ref.average_recall(gt, props, total, 5, [0.5, 0.7])
    except ZeroDivisionError:
        return
    recall, *_ = average_recall_at_avg_proposals(gt, props, total, 5, np.array([0.5, 0.7]))
    np.testing.assert_array_equal(recall, expected)


@pytest.mark.parametrize("seed", range(6))
def test_grouped_score_order_is_lexsort_with_ties_nan_and_presorted_input(seed):
    from vidact.evaluation.proposals import descending_order, grouped_score_order

    rng = np.random.default_rng(seed)
    for num_groups, size in ((1, 0), (1, 1), (3, 2000), (6, 4000), (40, 500), (7, 30)):
        values = np.array([0.0, -0.0, 0.5, 0.25, np.nan, np.inf, -np.inf])
        score = rng.choice(values, size) if seed % 2 else rng.random(size).round(2)
        group = rng.integers(0, num_groups, size)
        if num_groups == 6:  # empty groups between and at the ends of the long runs
            group = rng.choice([1, 2, 4], size)
        want = np.lexsort((-score, group))
        np.testing.assert_array_equal(grouped_score_order(group, score, num_groups), want)
        np.testing.assert_array_equal(descending_order(score), np.argsort(-score, kind="stable"))
        # already grouped and best first (NaN-free): recognised, same permutation
        ok = ~np.isnan(score)
        order = np.lexsort((-score[ok], group[ok]))
        group, score = group[ok][order], score[ok][order]
        np.testing.assert_array_equal(grouped_score_order(group, score, num_groups), np.arange(group.shape[0]))


def test_gathered_iou_has_paired_ious_bits():
    from vidact.evaluation.proposals import gathered_iou

    rng = np.random.default_rng(3)
    a = np.sort(rng.choice([0.0, 0.5, 1.0, 2.5, 3.0], (40, 2)), axis=1)  # zero-length segments: 0/0 -> NaN
    b = np.sort(rng.random((70, 2)).round(1) * 3, axis=1)
    ai, bi = rng.integers(0, 40, 500), rng.integers(0, 70, 500)
    want = paired_iou(a[ai], b[bi])
    got = gathered_iou(a, ai, b, bi)
    assert got.tobytes() == want.tobytes()
    assert gathered_iou(a, ai[:0], b, bi[:0]).shape == (0,)
