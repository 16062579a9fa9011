"""temporal_iou / temporal_iop: hand cases, agreement with the slow reference, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.localization import temporal_iop, temporal_iou
from vidact.segments import segment_iou

from . import _reference as ref
from ._strategies import GRID, segments

many_segments = st.lists(segments(), min_size=0, max_size=20)


def _split(segs: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(segs, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


# --- hand-computed ---------------------------------------------------------------------------


def test_iou_hand_cases() -> None:
    # [0,1] misses [1,3]; [1,3] equals it; [2,4] overlaps 1 of a 3-long union.
    out = temporal_iou(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 4.0]), 1.0, 3.0)
    np.testing.assert_allclose(out, [0.0, 1.0, 1 / 3])


def test_iop_hand_cases() -> None:
    # IoP divides by the proposal's own length: [2,4] has half of itself inside [1,3].
    out = temporal_iop(np.array([0.0, 1.5, 2.0]), np.array([1.0, 2.5, 4.0]), 1.0, 3.0)
    np.testing.assert_allclose(out, [0.0, 1.0, 0.5])


def test_many_on_the_gt_side() -> None:
    # Soft-NMS style: one proposal against many "gt" segments.
    out = temporal_iou(1.0, 3.0, np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 4.0]))
    np.testing.assert_allclose(out, [0.0, 1.0, 1 / 3])
    np.testing.assert_allclose(temporal_iop(0.0, 4.0, [1.0, 3.0], [2.0, 5.0]), [0.25, 0.25])


def test_zero_length_conventions() -> None:
    """Zero-length anchors behave as the reference: NaN for 0 / 0, otherwise plain arithmetic."""
    assert temporal_iou(2.0, 2.0, 1.0, 3.0) == 0.0  # a point inside a gt: union is the gt
    assert math.isnan(temporal_iou(2.0, 2.0, 2.0, 2.0))  # two points: 0 / 0
    assert math.isnan(temporal_iou(2.0, 2.0, 5.0, 5.0))  # even far apart
    assert math.isnan(temporal_iop(2.0, 2.0, 1.0, 3.0))  # IoP of a point is always 0 / 0
    assert temporal_iop(1.0, 3.0, 2.0, 2.0) == 0.0  # a zero-length gt covers nothing


def test_return_shapes() -> None:
    scalar = temporal_iou(0.0, 2.0, 1.0, 3.0)
    assert isinstance(scalar, np.float64) and scalar == pytest.approx(1 / 3)
    assert temporal_iou([0.0], [2.0], 1.0, 3.0).shape == (1,)
    assert temporal_iou([0.0, 1.0], [2.0, 2.0], [1.0], [3.0]).shape == (2,)
    assert temporal_iou(np.zeros(0), np.zeros(0), 1.0, 3.0).shape == (0,)


# --- agreement with the slow reference ---------------------------------------------------------


@settings(max_examples=150)
@given(many=many_segments, one=segments(), many_side_is_gt=st.booleans())
def test_matches_reference(many: list, one: tuple, many_side_is_gt: bool) -> None:
    starts, ends = _split(many)
    if many_side_is_gt:
        got_iou, got_iop = (f(one[0], one[1], starts, ends) for f in (temporal_iou, temporal_iop))
        want_iou = [ref.iou(one[0], one[1], s, e) for s, e in many]
        want_iop = [ref.iop(one[0], one[1], s, e) for s, e in many]
    else:
        got_iou, got_iop = (f(starts, ends, one[0], one[1]) for f in (temporal_iou, temporal_iop))
        want_iou = [ref.iou(s, e, one[0], one[1]) for s, e in many]
        want_iop = [ref.iop(s, e, one[0], one[1]) for s, e in many]
    # Exact: same operation order, same NaNs.
    np.testing.assert_array_equal(got_iou, np.array(want_iou).reshape(-1))
    np.testing.assert_array_equal(got_iop, np.array(want_iop).reshape(-1))


def test_matches_reference_seeded() -> None:
    rng = np.random.default_rng(7)
    bounds = np.sort(rng.uniform(0, 100, size=(500, 2)), axis=1)
    gt = (30.0, 55.5)
    got = temporal_iou(bounds[:, 0], bounds[:, 1], *gt)
    np.testing.assert_array_equal(got, [ref.iou(s, e, *gt) for s, e in bounds])
    # Same values as the all-pairs kernel up to rounding (that kernel sums the union differently).
    np.testing.assert_allclose(got, segment_iou(bounds, np.array([gt]))[:, 0], rtol=1e-12)


# --- properties --------------------------------------------------------------------------------

# IoU and IoP are ratios of rounded lengths; where the union rounds just below the intersection
# they can exceed 1 by an ulp, in the reference too.
ULP_SLACK = 1e-12


@settings(max_examples=150)
@given(many=many_segments, one=segments())
def test_ranges_and_ordering(many: list, one: tuple) -> None:
    starts, ends = _split(many)
    iou = temporal_iou(starts, ends, *one)
    iop = temporal_iop(starts, ends, *one)
    defined = ~np.isnan(iou)
    assert np.all((iou[defined] >= 0) & (iou[defined] <= 1 + ULP_SLACK))
    has_length = ends > starts
    assert not np.isnan(iop[has_length]).any()
    assert np.all((iop[has_length] >= 0) & (iop[has_length] <= 1 + ULP_SLACK))
    # The union is at least the proposal, so IoU <= IoP wherever both are defined (a union can
    # still round to 0 when a tiny proposal meets a point, making IoU NaN, as in the reference).
    both = has_length & defined
    assert np.all(iou[both] <= iop[both] * (1 + ULP_SLACK) + ULP_SLACK)


@settings(max_examples=150)
@given(a=segments(), b=segments())
def test_symmetry_and_self_overlap(a: tuple, b: tuple) -> None:
    if a[1] > a[0]:
        assert temporal_iou(*a, *a) == 1.0
    # Symmetric up to rounding. The union is summed in a fixed order, so lengths far below the
    # coordinates' precision can even round to NaN one way and not the other (as in MMAction).
    if min(a[1] - a[0], b[1] - b[0]) >= 1e-3:
        np.testing.assert_allclose(temporal_iou(*a, *b), temporal_iou(*b, *a), rtol=0, atol=1e-12)


@given(a=segments(GRID), b=segments(GRID))
def test_symmetry_is_exact_on_a_dyadic_grid(a: tuple, b: tuple) -> None:
    # Multiples of 1/8 add and subtract exactly: the operation order cannot matter, NaNs included.
    np.testing.assert_array_equal(temporal_iou(*a, *b), temporal_iou(*b, *a))


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0.0, 1.0], [1.0, 2.0], [0.0, 1.0], [1.0, 2.0]), "one segment with many"),
        (([0.0, np.nan], [1.0, 2.0], 0.0, 1.0), "NaN"),
        ((0.0, 1.0, 0.0, np.inf), "NaN or infinity"),
        (([0.0, 1.0], [1.0], 0.0, 1.0), "proposal_min has shape"),
        (([0.0, 3.0], [1.0, 2.0], 0.0, 1.0), "segment 1 ends before it starts"),
        ((np.zeros((2, 2)), np.ones((2, 2)), 0.0, 1.0), "scalar or 1-D"),
    ],
)
@pytest.mark.parametrize("func", [temporal_iou, temporal_iop])
def test_rejects_bad_input(func, args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        func(*args)


@pytest.mark.parametrize("func", [temporal_iou, temporal_iop])
def test_rejects_non_numbers_with_a_type_error(func) -> None:
    with pytest.raises(TypeError, match="proposal_min: expected numbers"):
        func(["a"], [1.0], 0.0, 1.0)
