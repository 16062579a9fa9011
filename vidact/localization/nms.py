"""Non-maximum suppression over temporal segments: Gaussian soft-NMS (BSN/BMN) and hard NMS (SSN).

Both are sequential over the items they keep; each step updates all remaining items at once.
"""

from __future__ import annotations

import operator

import numpy as np
import numpy.typing as npt

from vidact.localization.iou import FloatArray, check_real, check_rows, temporal_iou_matrix


def soft_nms(
    proposals: npt.ArrayLike,
    alpha: float,
    low_threshold: float,
    high_threshold: float,
    top_k: int,
) -> FloatArray:
    """Gaussian soft-NMS for temporal proposals, as in BSN/BMN post-processing.

    Repeatedly takes the proposal with the highest current score, then multiplies the score of
    every remaining proposal whose tIoU with it exceeds
    `low_threshold + (high_threshold - low_threshold) * width` (width: the taken proposal's
    length) by `exp(-tIoU**2 / alpha)`. The threshold rising with width is MMAction's; on
    normalised [0, 1] time a short proposal suppresses at `low_threshold`, a full-length one at
    `high_threshold`.

    Semantics kept from the reference, odd as some are:

    - It returns up to `top_k + 1` rows, not `top_k`: the reference loops while fewer than
      `top_k + 1` are taken. Callers (BSN/BMN) slice to `top_k` afterwards.
    - Rows come back in the order taken, so scores are non-increasing; the score returned is the
      decayed one.
    - The comparison is strict (`>`); two zero-length proposals have tIoU NaN and never decay
      each other.
    - Ties: proposals are first sorted by score, descending, and each step takes the first
      maximum in that order. The reference sorts with NumPy's default (unstable) sort; we use a
      stable one reversed, so among equal scores later input rows come first, which is what the
      reference gives for inputs NumPy sorts stably (small arrays on common builds).

    Args:
        proposals: (N, C) with C >= 3: start in column 0, end in column 1, score in the last
            column; other columns are ignored. Computed in float64.
        alpha: width of the Gaussian decay, > 0.
        low_threshold: tIoU threshold for a zero-length taken proposal.
        high_threshold: tIoU threshold for a unit-length taken proposal.
        top_k: stop once `top_k + 1` proposals are taken (>= 0).

    Returns:
        (K, 3) float64 rows [start, end, score] with K = min(N, top_k + 1).

    Raises:
        ValueError: for a malformed, non-finite or reversed proposal array or a bad parameter.
    """
    rows = check_rows(proposals, "soft_nms: proposals", min_columns=3)
    alpha = check_real(alpha, "soft_nms: alpha", positive=True)
    low = check_real(low_threshold, "soft_nms: low_threshold")
    spread = check_real(high_threshold, "soft_nms: high_threshold") - low
    top_k = _non_negative_int(top_k, "soft_nms: top_k")

    order = np.argsort(rows[:, -1], kind="stable")[::-1]
    segments = rows[order, :2]  # (n, 2), remaining proposals in list order
    scores = rows[order, -1]  # (n,), their current scores
    taken_segments: list[FloatArray] = []
    taken_scores: list[float] = []
    while scores.size and len(taken_scores) <= top_k:
        best = int(np.argmax(scores))  # first maximum in list order, like the reference
        segment = segments[best : best + 1]
        taken_segments.append(segment[0])
        taken_scores.append(scores[best])
        segments = np.delete(segments, best, axis=0)
        scores = np.delete(scores, best)

        threshold = low + spread * (segment[0, 1] - segment[0, 0])
        # The taken proposal is the "proposal" side and the rest the "gt" side, as in MMAction.
        iou = temporal_iou_matrix(segment, segments)[0]
        decayed = np.flatnonzero(iou > threshold)
        scores[decayed] *= np.exp(-np.square(iou[decayed]) / alpha)

    out = np.empty((len(taken_scores), 3))
    out[:, :2] = np.reshape(taken_segments, (-1, 2))
    out[:, 2] = taken_scores
    return out


def temporal_nms(detections: npt.ArrayLike, threshold: float) -> FloatArray:
    """Hard NMS over one video's detections of one class, as in SSN evaluation.

    Takes detections in descending score order; each taken detection removes every remaining one
    whose tIoU with it is above `threshold` (a detection survives when tIoU <= threshold).

    Semantics kept from the reference: two zero-length detections have tIoU NaN, which fails the
    `<=` test, so a taken zero-length detection removes every other zero-length one wherever it
    lies. Equal scores are ordered as in `soft_nms` (later rows first).

    Args:
        detections: (N, C) with C >= 3: [start, end, score, ...]; extra columns (SSN's
            regression offsets) are carried through. Computed in float64.
        threshold: tIoU above which a lower-scored detection is removed.

    Returns:
        (K, C) float64: the kept rows, whole, highest score first.

    Raises:
        ValueError: for a malformed, non-finite or reversed detection array or a bad threshold.
    """
    rows = check_rows(detections, "temporal_nms: detections", min_columns=3)
    threshold = check_real(threshold, "temporal_nms: threshold")
    segments = rows[:, :2]
    order = np.argsort(rows[:, 2], kind="stable")[::-1]
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        # Remaining detections are the "proposal" side, the taken one the "gt" side (MMAction).
        iou = temporal_iou_matrix(segments[rest], segments[best : best + 1])[:, 0]
        order = rest[iou <= threshold]
    return rows[np.asarray(keep, dtype=np.intp)]


def _non_negative_int(value: object, name: str) -> int:
    """Return `value` as an int >= 0, refusing floats, bools and negatives."""
    try:
        out = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name}: expected an integer, got {value!r}") from None
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    if out < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return out
