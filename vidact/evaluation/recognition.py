"""Clip/video recognition metrics: top-k and mean class accuracy, multi-label mAP, confusion matrix.

Same names, parameters and results as MMAction 0.x `mmaction.core.evaluation`; every function works
on the whole (num_samples, num_classes) score matrix at once.

Where we differ from MMAction 0.x (on purpose):
- `top_k_accuracy` breaks ties between equal scores by class index the way MMAction does: it takes
  the last k of an ascending sort, so among equal scores the HIGHER class index ranks first. MMAction
  uses numpy's default (unstable) sort, which gives exactly this order for up to 16 classes on
  classic numpy builds, and a build- and CPU-dependent one otherwise (SIMD sorting scrambles ties
  even among a few classes); we always give this order (an ascending stable sort, reversed).
  (`mean_class_accuracy` uses argmax, where the lower index wins, as in MMAction.)
- As in MMAction, a label outside the score columns (negative, or >= num_classes) is never
  matched: `top_k_accuracy` counts it as a miss and `mean_class_accuracy` as a class with no hit.
  `vidact eval` adds a warning naming such samples; these functions stay silent, as MMAction.
- `confusion_matrix` accepts any integer dtype (MMAction insists on int64) and returns an empty
  (0, 0) matrix for empty input (MMAction raises IndexError). A non-integer dtype raises
  `LabelDtypeError`, which is both a TypeError (as MMAction raises) and a ValueError.
- Functions return Python floats where MMAction returns numpy scalars.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


class LabelDtypeError(TypeError, ValueError):
    """Labels were not integers; a TypeError for MMAction compatibility and a ValueError too."""


def _score_matrix(scores: Sequence[np.ndarray] | np.ndarray, name: str = "scores") -> np.ndarray:
    if isinstance(scores, (str, bytes, numbers.Number)):
        raise TypeError(f"{name} must be a (num_samples, num_classes) array or a list of score rows, got {scores!r}")
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except TypeError as exc:
        raise TypeError(f"{name} must hold numbers ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{name}: not a (num_samples, num_classes) array of numbers ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected (num_samples, num_classes), got shape {arr.shape}")
    return arr


def _label_vector(labels: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of integer labels, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise LabelDtypeError(f"{name}: labels must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _checked_labels(scores: np.ndarray, labels: Sequence[int] | np.ndarray) -> np.ndarray:
    labels = _label_vector(labels, "labels")
    if labels.shape[0] != scores.shape[0]:
        raise ValueError(f"labels: {labels.shape[0]} labels for {scores.shape[0]} score rows")
    return labels


def _topk_values(topk: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(topk, (int, np.integer)) and not isinstance(topk, bool):
        topk = (topk,)
    if isinstance(topk, (str, bytes)) or not isinstance(topk, Sequence) or not all(
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in topk
    ):
        raise TypeError(f"topk must be an int or a sequence of ints, got {topk!r}")
    bad = [int(k) for k in topk if k < 1]
    if bad:
        raise ValueError(f"topk: every k must be >= 1, got {bad[0]}")
    return tuple(int(k) for k in topk)


def labels_outside_scores(labels: Sequence[int] | np.ndarray, num_classes: int) -> np.ndarray:
    """Indices of the samples whose label is not a score column (< 0 or >= `num_classes`).

    The metrics count such a sample as a miss, as MMAction does; callers use this to warn.
    """
    labels = np.asarray(labels)
    return np.flatnonzero((labels < 0) | (labels >= num_classes))


def top_k_accuracy(
    scores: Sequence[np.ndarray] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    topk: int | Sequence[int] = (1,),
) -> list[float]:
    """Fraction of samples whose true label is among the k highest scores, for each k in `topk`.

    Args:
        scores: (num_samples, num_classes) prediction scores.
        labels: (num_samples,) true class indices.
        topk: the k values (an int is taken as one k).

    Returns:
        One accuracy in [0, 1] per k; NaN for every k when there are no samples (0 / 0, as
        MMAction). Among equal scores the higher class index ranks first, as in MMAction. A label
        outside the score columns is a miss for every k, as in MMAction.
    """
    ks = _topk_values(topk)
    scores = _score_matrix(scores)
    labels = _checked_labels(scores, labels)
    num_samples, num_classes = scores.shape
    if num_samples == 0:
        return [float("nan")] * len(ks)
    valid = (labels >= 0) & (labels < num_classes)
    true_score = scores[np.arange(num_samples), np.where(valid, labels, 0)][:, None]
    # Rank of the true label in MMAction's order (ascending sort, reversed) without sorting: the
    # classes that beat it are those with a higher score plus those with an equal score and a higher index.
    beaten_by = (scores > true_score) | ((scores == true_score) & (np.arange(num_classes) > labels[:, None]))
    rank = beaten_by.sum(axis=1)
    # A label outside the columns is never among the predictions, whatever k (even k > num_classes).
    return [float(np.count_nonzero(valid & (rank < k)) / num_samples) for k in ks]


def confusion_matrix(
    y_pred: Sequence[int] | np.ndarray, y_real: Sequence[int] | np.ndarray, normalize: str | None = None
) -> np.ndarray:
    """Confusion matrix over the sorted union of labels seen in `y_real` and `y_pred`.

    Row i counts samples whose true label is the i-th label of that union, column j those predicted
    as the j-th.

    Args:
        y_pred: (num_samples,) predicted integer labels.
        y_real: (num_samples,) true integer labels.
        normalize: 'true' divides each row by its sum, 'pred' each column, 'all' the whole matrix;
            None keeps counts. Empty rows/columns give 0, not NaN.

    Returns:
        (num_labels, num_labels) int64 counts, or float64 when normalised.

    Raises:
        ValueError: unknown `normalize`, labels not 1-D, or different lengths.
        LabelDtypeError: labels are not integers (a TypeError and a ValueError).
    """
    if normalize not in ("true", "pred", "all", None):
        raise ValueError(f"normalize must be one of 'true', 'pred', 'all' or None, got {normalize!r}")
    y_pred = _label_vector(y_pred, "y_pred")
    y_real = _label_vector(y_real, "y_real")
    if y_pred.shape[0] != y_real.shape[0]:
        raise ValueError(f"y_pred has {y_pred.shape[0]} labels but y_real has {y_real.shape[0]}")
    label_set, codes = np.unique(np.concatenate([y_pred, y_real]), return_inverse=True)
    num_labels = label_set.shape[0]
    pred_code, real_code = codes[: y_pred.shape[0]], codes[y_pred.shape[0] :]
    matrix = np.bincount(num_labels * real_code + pred_code, minlength=num_labels**2)
    matrix = matrix.reshape(num_labels, num_labels).astype(np.int64)
    if normalize is None:
        return matrix
    with np.errstate(divide="ignore", invalid="ignore"):
        if normalize == "true":
            normed = matrix / matrix.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            normed = matrix / matrix.sum(axis=0, keepdims=True)
        else:
            normed = matrix / matrix.sum()
    return np.nan_to_num(normed)


def mean_class_accuracy(scores: Sequence[np.ndarray] | np.ndarray, labels: Sequence[int] | np.ndarray) -> float:
    """Mean over classes of the per-class top-1 accuracy (recall), as MMAction 0.x computes it.

    The classes averaged are those of the confusion matrix: every class that appears in `labels`
    or among the arg-max predictions. A class that is predicted but never true has no samples and
    counts as 0 in the mean, exactly as in MMAction 0.x; so does a label outside the score columns
    (never predicted). Ties in a score row go to the lowest class index (`np.argmax`).

    Args:
        scores: (num_samples, num_classes) prediction scores.
        labels: (num_samples,) true class indices.

    Returns:
        The mean in [0, 1]; NaN when there are no samples.
    """
    scores = _score_matrix(scores)
    labels = _checked_labels(scores, labels)
    if labels.size == 0:
        return float("nan")
    pred = np.argmax(scores, axis=1)
    classes, codes = np.unique(np.concatenate([pred, labels]), return_inverse=True)
    true_code = codes[labels.shape[0] :]
    count = np.bincount(true_code, minlength=classes.shape[0]).astype(np.float64)
    hit = np.bincount(true_code, weights=(pred == labels).astype(np.float64), minlength=classes.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.where(count > 0, hit / count, 0.0)
    return float(np.mean(per_class))


def mean_average_precision(
    scores: Sequence[np.ndarray] | np.ndarray, labels: Sequence[np.ndarray] | np.ndarray
) -> float:
    """Multi-label mean average precision: the AP of each class (column), averaged.

    Each class's AP is the step-wise area under its precision-recall curve, with one step per
    distinct score (MMAction's `binary_precision_recall_curve`). Classes with no positive sample
    have an undefined (NaN) AP and are left out of the mean, as in MMAction.

    Args:
        scores: (num_samples, num_classes) prediction scores, or a list of per-sample rows.
        labels: (num_samples, num_classes) many-hot ground truth (1 marks a positive).

    Returns:
        The mean AP, or NaN when no class has a positive.
    """
    scores = _score_matrix(np.stack(scores) if isinstance(scores, list) else scores)
    truth = np.asarray(np.stack(labels) if isinstance(labels, list) else labels)
    if truth.shape != scores.shape:
        raise ValueError(f"labels: shape {truth.shape} does not match scores {scores.shape}")
    num_samples, num_classes = scores.shape
    if num_samples == 0:
        return float("nan")
    # Same order as MMAction (reversed ascending mergesort): only the ends of runs of equal scores
    # are evaluated, so the order inside a run does not matter; NaN scores sort first as there.
    order = np.argsort(scores, axis=0, kind="stable")[::-1]
    sorted_scores = np.take_along_axis(scores, order, axis=0)
    true_pos = np.cumsum(np.take_along_axis(truth == 1, order, axis=0), axis=0)
    run_end = np.ones_like(sorted_scores, dtype=bool)
    run_end[:-1] = sorted_scores[1:] != sorted_scores[:-1]
    num_pos = true_pos[-1]
    cls, row = np.nonzero(run_end.T)
    tps = true_pos[row, cls]
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tps / num_pos[cls]
    precision = tps / (row + 1)
    prev_recall = np.zeros_like(recall)
    same_class = cls[1:] == cls[:-1]
    prev_recall[1:][same_class] = recall[:-1][same_class]
    ap = np.bincount(cls, weights=(recall - prev_recall) * precision, minlength=num_classes)
    ap = ap[num_pos > 0]
    return float(np.mean(ap)) if ap.size else float("nan")


def softmax(x: np.ndarray, dim: int = 1) -> np.ndarray:
    """Softmax of `x` along axis `dim` (max-subtracted for numerical safety)."""
    x = np.asarray(x)
    e_x = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e_x / e_x.sum(axis=dim, keepdims=True)


def get_weighted_score(
    score_list: Sequence[Sequence[np.ndarray]], coeff_list: Sequence[float]
) -> list[np.ndarray]:
    """Weighted sum of several classifiers' scores: sum_i coeff_list[i] * score_list[i].

    Args:
        score_list: n score sets, each (num_samples, num_classes) (a list of per-sample rows works).
        coeff_list: n coefficients.

    Returns:
        num_samples arrays of shape (num_classes,), the fused score of each sample.
    """
    for name, value in (("score_list", score_list), ("coeff_list", coeff_list)):
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
            raise TypeError(f"{name} must be a list, got {value!r}")
    if len(score_list) != len(coeff_list):
        raise ValueError(f"{len(score_list)} score sets but {len(coeff_list)} coefficients")
    num_samples = len(score_list[0]) if len(score_list) else 0
    for i, scores in enumerate(score_list):
        if len(scores) != num_samples:
            raise ValueError(f"score set {i} has {len(scores)} samples, expected {num_samples}")
    scores = np.asarray(score_list)  # (n, num_samples, num_classes)
    coeff = np.asarray(coeff_list, dtype=np.float64)
    return list(np.tensordot(coeff, scores, axes=1))
