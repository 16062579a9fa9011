"""Recognition metrics: hand-computed cases, MMAction conventions, and the slow reference on random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import _reference as ref
from vidact.evaluation import (
    LabelDtypeError,
    confusion_matrix,
    get_weighted_score,
    mean_average_precision,
    mean_class_accuracy,
    softmax,
    top_k_accuracy,
)

SCORES = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.5, 0.2, 0.3]])
LABELS = [1, 0, 2]


def test_top_k_accuracy_hand_case():
    # Sample 0 is right at k=1; sample 2 has its label second; sample 1's label ties with class 1
    # and comes third, since among equal scores the higher index ranks first (MMAction's order).
    assert top_k_accuracy(SCORES, LABELS, (1, 2, 3)) == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert top_k_accuracy(list(SCORES), LABELS) == pytest.approx([1 / 3])
    assert top_k_accuracy(SCORES, LABELS, 2) == pytest.approx([2 / 3])


def test_top_k_accuracy_ties_rank_higher_class_first():
    # MMAction takes the last k of an ascending sort: among equal scores the higher index wins.
    scores = np.array([[0.5, 0.5, 0.1]])
    assert top_k_accuracy(scores, [1], (1,)) == [1.0]
    assert top_k_accuracy(scores, [0], (1, 2)) == [0.0, 1.0]


def test_top_k_accuracy_all_wrong_and_empty():
    assert top_k_accuracy(SCORES, [0, 1, 1], (1,)) == [0.0]
    assert all(math.isnan(x) for x in top_k_accuracy(np.empty((0, 3)), [], (1, 5)))


def test_top_k_accuracy_rejects_a_label_count_mismatch():
    with pytest.raises(ValueError, match="2 labels for 3"):
        top_k_accuracy(SCORES, [0, 1])


def _mmaction_top_k(scores, labels, topk):
    """MMAction 0.x's top_k_accuracy, verbatim in spirit: argsort, last k reversed, compare."""
    labels = np.array(labels)[:, np.newaxis]
    out = []
    for k in topk:
        max_k_preds = np.argsort(scores, axis=1)[:, -k:][:, ::-1]
        out.append(np.logical_or.reduce(max_k_preds == labels, axis=1).mean())
    return out


def test_labels_outside_the_score_columns_are_misses_as_in_the_reference():
    # Reference: a label that is no score column never equals a predicted index, so it is a miss
    # for every k (no exception). Sample 0 (label 1) is right at k=1; labels 3 and -1 never count.
    labels = [1, 3, -1]
    assert top_k_accuracy(SCORES, labels, (1, 3)) == pytest.approx([1 / 3, 1 / 3])
    assert top_k_accuracy(SCORES, labels, (1, 3)) == pytest.approx(_mmaction_top_k(SCORES, labels, (1, 3)))
    # Even with k beyond the number of columns (every column predicted), they stay misses.
    assert top_k_accuracy(SCORES, labels, (5,)) == pytest.approx([1 / 3])
    rng = np.random.default_rng(0)
    for _ in range(50):
        n, c = rng.integers(1, 20), rng.integers(2, 10)
        rand_scores = rng.random((n, c))  # no ties: numpy's default sort orders ties build-dependently
        rand_labels = rng.integers(-2, c + 3, size=n)
        ks = (1, 2, int(c), int(c) + 2)
        expected = _mmaction_top_k(rand_scores, rand_labels, ks)
        assert top_k_accuracy(rand_scores, rand_labels, ks) == pytest.approx(expected)
    # mean_class_accuracy: classes {-1, 0, 1, 2, 3} (true or predicted); only class 1 has a hit.
    assert mean_class_accuracy(SCORES, labels) == pytest.approx(1 / 5)


def test_confusion_matrix_counts_and_normalisations():
    y_pred, y_real = [0, 1, 1, 2], [0, 1, 2, 2]
    counts = confusion_matrix(y_pred, y_real)
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    assert counts.dtype == np.int64
    np.testing.assert_allclose(confusion_matrix(y_pred, y_real, "true"), [[1, 0, 0], [0, 1, 0], [0, 0.5, 0.5]])
    np.testing.assert_allclose(confusion_matrix(y_pred, y_real, "pred"), [[1, 0, 0], [0, 0.5, 0], [0, 0.5, 1]])
    np.testing.assert_allclose(confusion_matrix(y_pred, y_real, "all"), counts / 4)


def test_confusion_matrix_sparse_labels_and_empty_rows():
    # Labels 5 and 9 only; 9 is never true, so its row normalises to 0 rather than NaN.
    matrix = confusion_matrix(np.array([9, 5]), np.array([5, 5]), normalize="true")
    np.testing.assert_allclose(matrix, [[0.5, 0.5], [0.0, 0.0]])
    assert confusion_matrix([], []).shape == (0, 0)


def test_confusion_matrix_validation():
    with pytest.raises(ValueError, match="normalize"):
        confusion_matrix([0], [0], normalize="rows")
    with pytest.raises(ValueError, match="3 labels but y_real has 2"):
        confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="integers"):
        confusion_matrix([0.0, 1.0], [0, 1])
    with pytest.raises(TypeError):  # MMAction raises TypeError on a wrong dtype
        confusion_matrix(np.array([0, 1]), np.array([0.5, 1.0]))
    assert issubclass(LabelDtypeError, TypeError) and issubclass(LabelDtypeError, ValueError)
    with pytest.raises(ValueError, match="1-D"):
        confusion_matrix([[0, 1]], [[0, 1]])


def test_mean_class_accuracy_hand_cases():
    # Classes 0 and 1 are true: (1/2 + 1) / 2.
    scores = np.eye(3)[[0, 1, 1, 1]]
    assert mean_class_accuracy(scores, [0, 0, 1, 1]) == pytest.approx(0.75)
    # Class 2 is predicted but never true: MMAction 0.x averages it in as 0.
    assert mean_class_accuracy(np.eye(3)[[0, 2, 1]], [0, 0, 1]) == pytest.approx(0.5)
    assert mean_class_accuracy(np.eye(3)[[1, 2, 0]], [0, 1, 2]) == 0.0
    assert math.isnan(mean_class_accuracy(np.empty((0, 3)), []))


def test_mean_average_precision_hand_case():
    scores = [np.array([0.9, 0.1, 0.0]), np.array([0.8, 0.7, 0.0]), np.array([0.3, 0.6, 0.0])]
    labels = [np.array([1, 0, 0]), np.array([0, 1, 0]), np.array([1, 0, 0])]
    # Class 0: hits at ranks 1 and 3 -> 0.5 * 1 + 0.5 * 2/3; class 1: 1.0; class 2 has no positive (skipped).
    assert mean_average_precision(scores, labels) == pytest.approx((0.5 + 1 / 3 + 1.0) / 2)


def test_mean_average_precision_ties_and_no_positives():
    scores = np.array([[0.5], [0.5], [0.2]])
    # Tied top pair holds one positive: precision 1/2 at recall 1/2, then 2/3 at recall 1.
    assert mean_average_precision(scores, np.array([[0], [1], [1]])) == pytest.approx(0.25 + 1 / 3)
    assert math.isnan(mean_average_precision(scores, np.zeros((3, 1))))


def test_softmax_and_weighted_score():
    np.testing.assert_allclose(softmax(np.array([[0.0, np.log(2.0)]])), [[1 / 3, 2 / 3]])
    np.testing.assert_allclose(softmax(np.array([[0.0], [np.log(3.0)]]), dim=0), [[0.25], [0.75]])
    fused = get_weighted_score([[np.array([1.0, 0.0])], [np.array([0.0, 2.0])]], [1.0, 2.0])
    assert len(fused) == 1
    np.testing.assert_allclose(fused[0], [1.0, 4.0])
    with pytest.raises(ValueError, match="coefficients"):
        get_weighted_score([[np.zeros(2)]], [1.0, 2.0])


@pytest.mark.parametrize("seed", range(30))
def test_recognition_matches_reference(seed):
    rng = np.random.default_rng(seed)
    num, classes = int(rng.integers(1, 40)), int(rng.integers(1, 8))
    # Coarse scores so ties are common.
    scores = rng.integers(0, 4, size=(num, classes)) / 4.0
    labels = rng.integers(0, classes, num).tolist()
    ks = (1, 2, 5)
    assert top_k_accuracy(scores, labels, ks) == pytest.approx(ref.top_k_accuracy(scores, labels, ks))
    assert mean_class_accuracy(scores, labels) == pytest.approx(ref.mean_class_accuracy(scores, labels))
    preds = rng.integers(0, classes + 2, num).tolist()
    for norm in (None, "true", "pred", "all"):
        np.testing.assert_allclose(confusion_matrix(preds, labels, norm), ref.confusion_matrix(preds, labels, norm))
    many_hot = (rng.random((num, classes)) < 0.3).astype(int)
    expected = ref.average_precision_multilabel(scores, many_hot)
    got = mean_average_precision(scores, many_hot)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_multilabel_map_property(data):
    num = data.draw(st.integers(1, 12))
    classes = data.draw(st.integers(1, 4))
    values = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])
    row = st.lists(values, min_size=classes, max_size=classes)
    scores = np.array(data.draw(st.lists(row, min_size=num, max_size=num)))
    truth = np.array(data.draw(st.lists(st.lists(st.sampled_from([0, 1]), min_size=classes, max_size=classes),
                                        min_size=num, max_size=num)))
    expected = ref.average_precision_multilabel(scores, truth)
    got = mean_average_precision(scores, truth)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, abs=1e-12)
