"""soft_nms and temporal_nms: hand cases, agreement with the slow reference, properties, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.localization import soft_nms, temporal_iou, temporal_nms

from . import _reference as ref
from ._strategies import GRID, THRESHOLDS, scored_rows

ALPHAS = st.sampled_from([0.1, 0.4, 0.75, 1.0, 5.0])


def _random_proposals(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """(n, 3) [start, end, score] on [0, scale] with a few exact duplicates and zero-length rows."""
    bounds = np.sort(rng.uniform(0, scale, size=(n, 2)), axis=1)
    bounds[: n // 20, 1] = bounds[: n // 20, 0]
    rows = np.column_stack([bounds, rng.uniform(0.01, 1, size=n)])
    rows[-(n // 20) :] = rows[: n // 20]
    return rows


# --- soft_nms: hand-computed ---------------------------------------------------------------------


def test_soft_nms_hand_case() -> None:
    proposals = np.array([[0.0, 0.4, 0.9], [0.0, 0.3, 0.8], [0.5, 1.0, 0.7]])
    out = soft_nms(proposals, alpha=0.5, low_threshold=0.1, high_threshold=0.9, top_k=5)
    # Taking [0, 0.4] (width 0.4): threshold 0.1 + 0.8 * 0.4 = 0.42 < IoU 0.75 with [0, 0.3],
    # whose score decays to 0.8 * exp(-0.75**2 / 0.5); [0.5, 1] does not overlap.
    expected = [[0.0, 0.4, 0.9], [0.5, 1.0, 0.7], [0.0, 0.3, 0.8 * math.exp(-(0.75**2) / 0.5)]]
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_soft_nms_threshold_grows_with_width() -> None:
    """The same IoU of 0.5 decays under a narrow taken proposal and survives under a wide one."""
    narrow = soft_nms([[0.0, 0.2, 0.9], [0.0, 0.1, 0.8]], 0.5, 0.0, 1.0, 5)  # threshold 0.2
    wide = soft_nms([[0.0, 0.8, 0.9], [0.0, 0.4, 0.8]], 0.5, 0.0, 1.0, 5)  # threshold 0.8
    assert narrow[1, 2] == pytest.approx(0.8 * math.exp(-0.25 / 0.5))
    assert wide[1, 2] == 0.8


def test_soft_nms_threshold_is_strict() -> None:
    out = soft_nms([[0.0, 1.0, 0.9], [0.0, 0.5, 0.8]], 0.5, 0.5, 0.5, 5)  # IoU exactly 0.5
    assert out[1, 2] == 0.8


def test_soft_nms_returns_top_k_plus_one_rows() -> None:
    """MMAction's loop runs while at most top_k rows are taken, so it yields top_k + 1."""
    disjoint = np.array([[i, i + 0.5, 1 - i / 10] for i in range(6)], dtype=float)
    assert soft_nms(disjoint, 0.75, 0.65, 0.9, top_k=2).shape == (3, 3)
    assert soft_nms(disjoint, 0.75, 0.65, 0.9, top_k=0).shape == (1, 3)
    assert soft_nms(disjoint, 0.75, 0.65, 0.9, top_k=100).shape == (6, 3)


def test_soft_nms_score_is_the_last_column_and_ties_go_to_later_rows() -> None:
    proposals = np.array([[0.0, 0.1, 7.0, 0.5], [0.3, 0.4, 1.0, 0.5], [0.6, 0.7, 3.0, 0.9]])
    out = soft_nms(proposals, 0.75, 0.65, 0.9, 10)
    np.testing.assert_array_equal(out, [[0.6, 0.7, 0.9], [0.3, 0.4, 0.5], [0.0, 0.1, 0.5]])


def test_soft_nms_empty() -> None:
    assert soft_nms(np.zeros((0, 3)), 0.75, 0.65, 0.9, 10).shape == (0, 3)
    assert soft_nms([], 0.75, 0.65, 0.9, 10).shape == (0, 3)


# --- soft_nms: agreement with the slow reference -----------------------------------------------


@settings(max_examples=150)
@given(
    rows=scored_rows(max_size=25),
    alpha=ALPHAS,
    low=THRESHOLDS,
    high=THRESHOLDS,
    top_k=st.integers(0, 30),
)
def test_soft_nms_matches_reference(
    rows: list, alpha: float, low: float, high: float, top_k: int
) -> None:
    got = soft_nms(np.array(rows).reshape(-1, 3), alpha, low, high, top_k)
    np.testing.assert_array_equal(got, ref.soft_nms(rows, alpha, low, high, top_k))


@pytest.mark.parametrize(("n", "top_k"), [(300, 1000), (400, 50)])
def test_soft_nms_matches_reference_seeded(n: int, top_k: int) -> None:
    rows = _random_proposals(np.random.default_rng(n), n)
    got = soft_nms(rows, 0.75, 0.2, 0.6, top_k)
    np.testing.assert_array_equal(got, ref.soft_nms(rows.tolist(), 0.75, 0.2, 0.6, top_k))


# --- soft_nms: properties -------------------------------------------------------------------------


@settings(max_examples=100)
@given(
    rows=scored_rows(max_size=25),
    alpha=ALPHAS,
    low=THRESHOLDS,
    high=THRESHOLDS,
    top_k=st.integers(0, 30),
)
def test_soft_nms_invariants(rows: list, alpha: float, low: float, high: float, top_k: int) -> None:
    proposals = np.array(rows).reshape(-1, 3)
    out = soft_nms(proposals, alpha, low, high, top_k)
    assert out.shape == (min(len(rows), top_k + 1), 3)
    if not rows:
        return
    # The first pick is the best input, undecayed; picks come out in non-increasing score order.
    assert out[0, 2] == proposals[:, 2].max()
    assert np.all(np.diff(out[:, 2]) <= 0)
    # Every output row is an input segment whose score only went down (decay factors are <= 1).
    for start, end, score in out:
        same = (proposals[:, 0] == start) & (proposals[:, 1] == end)
        assert same.any() and score <= proposals[same, 2].max()


@given(
    rows=scored_rows(max_size=20),
    alpha=ALPHAS,
    low=THRESHOLDS,
    high=THRESHOLDS,
    top_k=st.integers(0, 30),
)
def test_soft_nms_scales_with_scores(
    rows: list, alpha: float, low: float, high: float, top_k: int
) -> None:
    """Decay is multiplicative: scaling all scores by a power of two (exact) scales the output."""
    proposals = np.array(rows).reshape(-1, 3)
    scaled = proposals * [1, 1, 4]
    np.testing.assert_array_equal(
        soft_nms(scaled, alpha, low, high, top_k),
        soft_nms(proposals, alpha, low, high, top_k) * [1, 1, 4],
    )


@given(rows=scored_rows(max_size=20), top_k=st.integers(0, 30))
def test_soft_nms_without_decay_is_a_sort(rows: list, top_k: int) -> None:
    """With thresholds above any IoU nothing decays: the output is the top rows by score, and
    running it again returns the same rows (ties may swap, hence the sorted comparison)."""
    proposals = np.array(rows).reshape(-1, 3)
    once = soft_nms(proposals, 0.75, 2.0, 2.0, top_k)
    ranked = proposals[np.argsort(proposals[:, 2], kind="stable")[::-1]][: top_k + 1]
    np.testing.assert_array_equal(once, ranked)
    twice = soft_nms(once, 0.75, 2.0, 2.0, top_k)
    np.testing.assert_array_equal(np.sort(twice, axis=0), np.sort(once, axis=0))


def test_soft_nms_ignores_row_order_for_distinct_scores() -> None:
    rng = np.random.default_rng(3)
    rows = _random_proposals(rng, 200)[:190]  # drop the duplicated tail: distinct scores
    shuffled = rows[rng.permutation(len(rows))]
    np.testing.assert_array_equal(
        soft_nms(rows, 0.5, 0.1, 0.7, 50), soft_nms(shuffled, 0.5, 0.1, 0.7, 50)
    )


# --- soft_nms: validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposals", "kwargs", "message"),
    [
        ([[0.0, 1.0]], {}, r"shape \(N, >=3\)"),
        ([[0.0, 1.0, np.nan]], {}, "row 0, column 2 is nan"),
        ([[1.0, 0.5, 0.3]], {}, "ends before it starts"),
        ([[0.0, 1.0, 0.3]], {"alpha": 0.0}, "alpha: expected a finite positive"),
        ([[0.0, 1.0, 0.3]], {"top_k": -1}, "top_k: expected an integer >= 0"),
        ([[0.0, 1.0, 0.3]], {"low_threshold": float("nan")}, "low_threshold"),
        ([[0.0, 1.0, 0.3], [0.0, 1.0]], {}, "expected an"),
    ],
)
def test_soft_nms_rejects_bad_input(proposals: list, kwargs: dict, message: str) -> None:
    args = {"alpha": 0.75, "low_threshold": 0.65, "high_threshold": 0.9, "top_k": 10} | kwargs
    with pytest.raises(ValueError, match=message):
        soft_nms(proposals, **args)


def test_soft_nms_rejects_a_non_integer_top_k_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="top_k: expected an integer, got 2.5"):
        soft_nms([[0.0, 1.0, 0.3]], 0.75, 0.65, 0.9, 2.5)


# --- temporal_nms ------------------------------------------------------------------------------


def test_temporal_nms_hand_case() -> None:
    detections = np.array(
        [[0, 10, 0.9, 1], [1, 10, 0.8, 2], [20, 30, 0.7, 3], [0, 9, 0.85, 4]], dtype=float
    )
    # [0, 9] and [1, 10] both have IoU 0.9 with [0, 10]; [20, 30] is disjoint. Extra columns stay.
    np.testing.assert_array_equal(
        temporal_nms(detections, 0.5), [[0, 10, 0.9, 1], [20, 30, 0.7, 3]]
    )
    # With a threshold of 0.95 nothing overlaps enough: all rows, by score.
    assert temporal_nms(detections, 0.95)[:, 3].tolist() == [1, 4, 2, 3]


def test_temporal_nms_keeps_iou_equal_to_threshold() -> None:
    detections = [[0.0, 1.0, 0.9], [0.0, 0.5, 0.8]]  # IoU exactly 0.5
    assert len(temporal_nms(detections, 0.5)) == 2
    assert len(temporal_nms(detections, 0.49)) == 1


def test_temporal_nms_zero_length_detections_suppress_each_other() -> None:
    """Two points have IoU 0 / 0 = NaN, which fails the reference's `<=` test, wherever they are."""
    detections = [[0.1, 0.1, 0.9], [0.8, 0.8, 0.8], [0.0, 1.0, 0.7]]
    np.testing.assert_array_equal(temporal_nms(detections, 0.5), [[0.1, 0.1, 0.9], [0.0, 1.0, 0.7]])


def test_temporal_nms_empty_and_validation() -> None:
    assert temporal_nms(np.zeros((0, 5)), 0.5).shape == (0, 5)
    with pytest.raises(ValueError, match="threshold"):
        temporal_nms([[0.0, 1.0, 0.5]], float("nan"))
    with pytest.raises(ValueError, match="temporal_nms: detections: row 0, column 1 is inf"):
        temporal_nms([[0.0, np.inf, 0.5]], 0.5)


@settings(max_examples=150)
@given(rows=scored_rows(max_size=30, extra_columns=2), threshold=THRESHOLDS)
def test_temporal_nms_matches_reference(rows: list, threshold: float) -> None:
    got = temporal_nms(np.array(rows).reshape(-1, 5), threshold)
    np.testing.assert_array_equal(got, ref.temporal_nms(rows, threshold).reshape(-1, 5))


def test_temporal_nms_matches_reference_seeded() -> None:
    rows = _random_proposals(np.random.default_rng(11), 600, scale=100.0)
    np.testing.assert_array_equal(temporal_nms(rows, 0.4), ref.temporal_nms(rows.tolist(), 0.4))


@settings(max_examples=100)
@given(rows=scored_rows(max_size=30), threshold=THRESHOLDS)
def test_temporal_nms_invariants(rows: list, threshold: float) -> None:
    detections = np.array(rows).reshape(-1, 3)
    kept = temporal_nms(detections, threshold)
    if not rows:
        assert kept.shape == (0, 3)
        return
    assert kept[0, 2] == detections[:, 2].max()
    assert np.all(np.diff(kept[:, 2]) <= 0)
    # No later kept row overlaps an earlier one above the threshold (tIoU taken as NMS takes it).
    for i in range(1, len(kept)):
        overlaps = temporal_iou(kept[i, 0], kept[i, 1], kept[:i, 0], kept[:i, 1])
        assert np.all(overlaps <= threshold)
    # Every dropped row overlaps some higher-or-equal-scored kept row too much (or is NaN with it).
    kept_set = {tuple(r) for r in kept}
    for row in detections:
        if tuple(row) in kept_set:
            continue
        earlier = kept[kept[:, 2] >= row[2]]
        overlaps = temporal_iou(row[0], row[1], earlier[:, 0], earlier[:, 1])
        assert np.any(~(overlaps <= threshold))


@given(rows=scored_rows(max_size=30, coordinates=GRID), threshold=THRESHOLDS)
def test_temporal_nms_is_idempotent_on_a_dyadic_grid(rows: list, threshold: float) -> None:
    """Kept rows pairwise pass the test, so a second pass keeps them all (exact IoU on the grid)."""
    once = temporal_nms(np.array(rows).reshape(-1, 3), threshold)
    twice = temporal_nms(once, threshold)
    np.testing.assert_array_equal(np.sort(twice, axis=0), np.sort(once, axis=0))
