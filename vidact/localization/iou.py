"""Reference-shaped temporal IoU and IoP (one segment against many) for proposal post-processing.

Thin, validated wrappers over the kernels in `vidact.segments`, plus the input checks that the rest
of `vidact.localization` shares.
"""

from __future__ import annotations

import numbers

import numpy as np
import numpy.typing as npt

from vidact.segments import intersection, segment_iop

FloatArray = npt.NDArray[np.float64]


def temporal_iou(
    proposal_min: npt.ArrayLike,
    proposal_max: npt.ArrayLike,
    gt_min: npt.ArrayLike,
    gt_max: npt.ArrayLike,
) -> FloatArray | np.float64:
    """Temporal IoU between proposals and a ground-truth segment (or one proposal and many gts).

    One side is a single segment (scalars or length-1 arrays) and the other holds N segments, as
    in MMAction, where either side may be the "many" one (soft-NMS passes one proposal against the
    rest as `gt_*`).

    The union is computed in MMAction's operation order, `len_p - inter + gt_max - gt_min`, not the
    `len_a + len_b - inter` of `vidact.segments.segment_iou`: the two differ in the last bit, and
    soft-NMS and temporal NMS compare this value against thresholds, so exact agreement with the
    reference needs the same rounding.

    Args:
        proposal_min: proposal starts, a scalar or (N,) array.
        proposal_max: proposal ends, same shape as `proposal_min`.
        gt_min: ground-truth start(s), a scalar or (M,) array.
        gt_max: ground-truth end(s), same shape as `gt_min`.

    Returns:
        IoU values with the broadcast shape of the inputs ((N,), (M,) or a float64 scalar). Where
        the union is 0 (two zero-length segments, wherever they lie, or a length lost to
        rounding) the value is 0 / 0 = NaN, as in the reference (which also warns; we do not). A
        zero-length segment against a positive-length one gives 0.

    Raises:
        ValueError: if both sides hold several segments, the shapes of a min/max pair differ, a
            value is NaN or infinite, or a segment ends before it starts.
    """
    proposals, gts, shape = _one_vs_many(proposal_min, proposal_max, gt_min, gt_max, "temporal_iou")
    return _shaped(temporal_iou_matrix(proposals, gts), shape)


def temporal_iop(
    proposal_min: npt.ArrayLike,
    proposal_max: npt.ArrayLike,
    gt_min: npt.ArrayLike,
    gt_max: npt.ArrayLike,
) -> FloatArray | np.float64:
    """Intersection over proposal length: the share of each proposal covered by the ground truth.

    Arguments, shapes and validation as in `temporal_iou`.

    Returns:
        IoP values with the broadcast shape of the inputs. A zero-length proposal gives 0 / 0 =
        NaN, whether or not it lies inside the ground truth, as in the reference (which warns; we
        do not).
    """
    proposals, gts, shape = _one_vs_many(proposal_min, proposal_max, gt_min, gt_max, "temporal_iop")
    return _shaped(segment_iop(proposals, gts), shape)


def temporal_iou_matrix(proposals: FloatArray, gts: FloatArray) -> FloatArray:
    """IoU of proposals: (N, 2) against gts: (M, 2) -> (N, M), in MMAction's operation order.

    Package-internal and unvalidated: callers check their inputs once, outside any loop.
    """
    inter = intersection(proposals, gts)
    proposal_len = proposals[:, 1:] - proposals[:, :1]
    # Left to right on purpose: ((len_p - inter) + gt_max) - gt_min, as the reference rounds it.
    union = proposal_len - inter + gts[:, 1] - gts[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def check_rows(x: npt.ArrayLike, name: str, min_columns: int) -> FloatArray:
    """Return `x` as a float64 (N, C) array with C >= min_columns, finite, and start <= end.

    Columns 0 and 1 are the segment start and end. An empty input becomes (0, min_columns).

    Raises:
        TypeError: `x` is a single number or string, or holds non-numbers.
        ValueError: naming `name`, the row and the problem.
    """
    if isinstance(x, (str, bytes, numbers.Number)):
        raise TypeError(f"{name}: expected an (N, >={min_columns}) array of numbers, got {x!r}")
    try:
        rows = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        error = ValueError if "inhomogeneous" in str(exc) else TypeError
        raise error(
            f"{name}: expected an (N, >={min_columns}) array of numbers ({exc})"
        ) from None
    if rows.ndim in (1, 2) and rows.shape[0] == 0:
        return rows.reshape(0, max(min_columns, rows.shape[1] if rows.ndim == 2 else 0))
    if rows.ndim != 2 or rows.shape[1] < min_columns:
        raise ValueError(f"{name}: expected shape (N, >={min_columns}), got {rows.shape}")
    bad = np.argwhere(~np.isfinite(rows))
    if bad.size:
        row, col = bad[0]
        raise ValueError(
            f"{name}: row {row}, column {col} is {rows[row, col]}; expected finite numbers"
        )
    check_order(rows[:, 0], rows[:, 1], name)
    return rows


def check_order(starts: FloatArray, ends: FloatArray, name: str) -> None:
    """Raise ValueError if any segment ends before it starts (zero length is allowed)."""
    reversed_rows = np.flatnonzero(ends < starts)
    if reversed_rows.size:
        i = reversed_rows[0]
        raise ValueError(
            f"{name}: segment {i} ends before it starts (start {starts[i]}, end {ends[i]})"
        )


def check_real(value: object, name: str, *, positive: bool = False) -> float:
    """Return `value` as a float; refuse non-numbers, NaN, infinities and optionally values <= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    out = float(value)
    if not np.isfinite(out) or (positive and out <= 0):
        raise ValueError(
            f"{name}: expected a finite{' positive' if positive else ''} number, got {out}"
        )
    return out


def _one_vs_many(
    proposal_min: npt.ArrayLike,
    proposal_max: npt.ArrayLike,
    gt_min: npt.ArrayLike,
    gt_max: npt.ArrayLike,
    func: str,
) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    """Validate two min/max pairs; return proposals (N, 2), gts (M, 2) and the result shape."""
    p_min, p_max = _endpoint_pair(proposal_min, proposal_max, f"{func}: proposal")
    g_min, g_max = _endpoint_pair(gt_min, gt_max, f"{func}: gt")
    if p_min.size > 1 and g_min.size > 1:
        raise ValueError(
            f"{func}: compares one segment with many, got {p_min.size} proposals and "
            f"{g_min.size} ground truths (use vidact.segments.segment_iou for all pairs)"
        )
    try:
        shape = np.broadcast_shapes(p_min.shape, g_min.shape)
    except ValueError:
        raise ValueError(f"{func}: cannot pair shapes {p_min.shape} and {g_min.shape}") from None
    proposals = np.stack([p_min.ravel(), p_max.ravel()], axis=1)
    gts = np.stack([g_min.ravel(), g_max.ravel()], axis=1)
    return proposals, gts, shape


def _endpoint_pair(
    lo: npt.ArrayLike, hi: npt.ArrayLike, name: str
) -> tuple[FloatArray, FloatArray]:
    """Validate matching scalar-or-1-D start/end arrays named `{name}_min` / `{name}_max`."""
    arrays = []
    for value, suffix in ((lo, "min"), (hi, "max")):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}_{suffix}: expected numbers ({exc})") from None
        if arr.ndim > 1:
            raise ValueError(
                f"{name}_{suffix}: expected a scalar or 1-D array, got shape {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}_{suffix}: contains NaN or infinity")
        arrays.append(arr)
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(
            f"{name}_min has shape {arrays[0].shape} but {name}_max has {arrays[1].shape}"
        )
    check_order(np.atleast_1d(arrays[0]), np.atleast_1d(arrays[1]), name)
    return arrays[0], arrays[1]


def _shaped(matrix: FloatArray, shape: tuple[int, ...]) -> FloatArray | np.float64:
    """Reshape an (N, 1) or (1, M) result to `shape`; a 0-d result becomes a float64 scalar."""
    return matrix.reshape(shape)[()]
