"""Detection AP/mAP: hand-computed cases of the kit's matching rules, and the slow reference on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.errors import AnnotationError
from vidact.evaluation import Segments, average_precision_at_temporal_iou, detection_map

from . import _reference as ref


def segments(rows: list[tuple], scored: bool) -> Segments:
    """Segments from (video, label, start, end[, score]) tuples."""
    if not rows:
        return Segments(np.array([], dtype=str), np.empty((0, 2)), np.array([], dtype=str),
                        np.empty(0) if scored else None)
    cols = list(zip(*rows))
    return Segments(np.array(cols[0]), np.stack([cols[2], cols[3]], 1), np.array(cols[1]),
                    np.array(cols[4], dtype=float) if scored else None)


def ap_of(gt_rows: list[tuple], pred_rows: list[tuple], thresholds=(0.5,)) -> np.ndarray:
    return detection_map(segments(gt_rows, False), segments(pred_rows, True), thresholds).ap


GT_A = [("v1", "a", 0.0, 10.0), ("v2", "a", 0.0, 10.0)]


def test_duplicates_and_unknown_videos_are_false_positives():
    preds = [
        ("v1", "a", 0.0, 10.0, 0.9),  # TP
        ("v1", "a", 0.0, 10.0, 0.8),  # duplicate of a matched segment: FP
        ("v3", "a", 0.0, 10.0, 0.7),  # video without ground truth: FP
        ("v2", "a", 0.0, 10.0, 0.6),  # TP
    ]
    # Precision 1, 1/2, 1/3, 1/2 at recall 1/2, 1/2, 1/2, 1; interpolated: 1/2 * 1 + 1/2 * 1/2.
    np.testing.assert_allclose(ap_of(GT_A, preds), [[0.75]])


def test_class_without_predictions_scores_zero_and_counts_in_the_mean():
    gt = GT_A + [("v1", "b", 20.0, 30.0)]
    preds = [("v1", "a", 0.0, 10.0, 0.9), ("v2", "a", 0.0, 10.0, 0.6)]
    result = detection_map(segments(gt, False), segments(preds, True), [0.5, 0.7])
    assert result.labels == ["a", "b"]
    np.testing.assert_allclose(result.ap, [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(result.map, [0.5, 0.5])
    assert result.average_map == pytest.approx(0.5)
    assert result.metrics == {"mAP@0.50": 0.5, "mAP@0.70": 0.5, "average_mAP": 0.5}


def test_default_metric_keys():
    result = detection_map(segments(GT_A, False), segments([("v1", "a", 0.0, 10.0, 0.9)], True))
    assert list(result.metrics) == [f"mAP@{t:.2f}" for t in np.linspace(0.5, 0.95, 10)] + ["average_mAP"]
    assert list(result.metrics)[:3] == ["mAP@0.50", "mAP@0.55", "mAP@0.60"]
    np.testing.assert_allclose(result.ap, 0.5)


def test_threshold_is_inclusive():
    preds = [("v1", "a", 0.0, 5.0, 0.9)]  # IoU exactly 0.5 with [0, 10]
    np.testing.assert_allclose(ap_of(GT_A, preds, (0.5, 0.55)), [[0.5], [0.0]])


def test_prediction_takes_its_highest_iou_ground_truth():
    gt = [("v", "a", 0.0, 10.0), ("v", "a", 5.0, 15.0)]
    # The first prediction overlaps [5, 15] best (9/11) and [0, 10] less (6/14): it takes [5, 15],
    # leaving [0, 10] for the second.
    preds = [("v", "a", 4.0, 14.0, 0.9), ("v", "a", 0.0, 9.0, 0.8)]
    np.testing.assert_allclose(ap_of(gt, preds), [[1.0]])


def test_equal_iou_takes_the_later_ground_truth_like_the_kit():
    gt = [("v", "a", 0.0, 4.0), ("v", "a", 1.0, 5.0)]
    # The first prediction ties (IoU 7/9 with both) and takes the later [1, 5]; the second then finds
    # [1, 5] taken and [0, 4] below 0.5. The kit gives 0.5 here too.
    preds = [("v", "a", 0.5, 4.5, 0.9), ("v", "a", 1.5, 5.5, 0.8)]
    np.testing.assert_allclose(ap_of(gt, preds), [[0.5]])


def test_equal_scores_keep_input_order():
    gt = [("v1", "a", 0.0, 10.0)]
    miss_first = [("v2", "a", 0.0, 10.0, 0.5), ("v1", "a", 0.0, 10.0, 0.5)]
    np.testing.assert_allclose(ap_of(gt, miss_first), [[0.5]])
    np.testing.assert_allclose(ap_of(gt, miss_first[::-1]), [[1.0]])


def test_zero_length_segments_never_match_each_other():
    gt = [("v", "a", 5.0, 5.0)]
    np.testing.assert_allclose(ap_of(gt, [("v", "a", 5.0, 5.0, 0.9)]), [[0.0]])  # the kit says 1.0 (NaN IoU)
    np.testing.assert_allclose(ap_of(gt, [("v", "a", 0.0, 10.0, 0.9)]), [[0.0]])


def test_unknown_labels_are_ignored_and_counted():
    preds = [("v1", "zzz", 0.0, 10.0, 0.99), ("v1", "a", 0.0, 10.0, 0.9), ("v2", "a", 0.0, 10.0, 0.8)]
    result = detection_map(segments(GT_A, False), segments(preds, True), [0.5])
    assert result.num_unknown_label == 1
    np.testing.assert_allclose(result.ap, [[1.0]])


def test_all_wrong_and_empty_predictions():
    wrong = [("v1", "a", 50.0, 60.0, 0.9), ("v9", "a", 0.0, 10.0, 0.8)]
    np.testing.assert_allclose(ap_of(GT_A, wrong), [[0.0]])
    np.testing.assert_allclose(ap_of(GT_A, []), [[0.0]])


def test_input_validation():
    with pytest.raises(AnnotationError, match="no segment"):
        detection_map(segments([], False), segments([("v", "a", 0.0, 1.0, 0.5)], True))
    with pytest.raises(AnnotationError, match="label and a score"):
        detection_map(segments(GT_A, False), segments(GT_A, False))
    with pytest.raises(ValueError, match="2 video ids but 1 segments"):
        Segments(np.array(["a", "b"]), np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="score"):
        Segments(np.array(["a"]), np.array([[0.0, 1.0]]), score=np.array([0.1, 0.2]))
    s = Segments(["a", "b"], [[0, 1], [2, 3]], ["x", "y"], [1, 2])
    assert len(s) == 2 and s.segment.dtype == np.float64 and s.video.dtype.kind == "U"


def test_average_precision_at_temporal_iou_mmaction_layout():
    ground_truth = {"v1": [[0.0, 10.0]], "v2": [[0.0, 10.0]]}
    prediction = [["v1", 0, 0.0, 10.0, 0.9], ["v1", 0, 0.0, 10.0, 0.8], ["v3", 0, 0.0, 10.0, 0.7],
                  ["v2", 0, 0.0, 10.0, 0.6]]
    ap = average_precision_at_temporal_iou(ground_truth, prediction, np.array([0.5, 0.95]))
    assert ap.dtype == np.float64
    np.testing.assert_allclose(ap, [0.75, 0.75])
    np.testing.assert_array_equal(average_precision_at_temporal_iou(ground_truth, []), np.zeros(10))


def _random_rows(rng: np.random.Generator) -> tuple[list[tuple], list[tuple]]:
    integer = rng.random() < 0.5
    labels = ["a", "b", "c"][: int(rng.integers(1, 4))]
    gt, preds = [], []
    for v in range(int(rng.integers(1, 6))):
        for _ in range(int(rng.integers(0, 4))):
            s = float(rng.integers(0, 15)) if integer else float(rng.uniform(0, 15))
            length = float(rng.integers(0, 6)) if integer else float(rng.uniform(0, 6))
            gt.append((f"v{v}", labels[int(rng.integers(len(labels)))], s, s + length))
    if not gt:
        gt.append(("v0", "a", 0.0, 3.0))
    for _ in range(int(rng.integers(0, 40))):
        if rng.random() < 0.6:
            g = gt[int(rng.integers(len(gt)))]
            jitter = rng.integers(-2, 3, 2) if integer else rng.normal(0, 0.5, 2)
            s, e = sorted((g[2] + float(jitter[0]), g[3] + float(jitter[1])))
            video, label = g[0], g[1] if rng.random() < 0.8 else labels[int(rng.integers(len(labels)))]
        else:
            s = float(rng.integers(0, 15)); e = s + float(rng.integers(0, 6))
            video, label = f"v{int(rng.integers(0, 7))}", labels[int(rng.integers(len(labels)))]
        preds.append((video, label, s, e, float(rng.integers(0, 5)) / 4))  # coarse scores: many ties
    return gt, preds


@pytest.mark.parametrize("seed", range(80))
def test_detection_matches_reference(seed):
    rng = np.random.default_rng(seed)
    gt, preds = _random_rows(rng)
    thresholds = [0.1, 0.5, 0.7, 1.0] if seed % 2 else list(np.linspace(0.5, 0.95, 10))
    labels, expected = ref.detection_ap(gt, preds, thresholds)
    result = detection_map(segments(gt, False), segments(preds, True), thresholds)
    assert result.labels == labels
    np.testing.assert_allclose(result.ap, expected, rtol=0, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_detection_property(seed):
    rng = np.random.default_rng(seed)
    gt, preds = _random_rows(rng)
    labels, expected = ref.detection_ap(gt, preds, [0.3, 0.6])
    np.testing.assert_allclose(detection_map(segments(gt, False), segments(preds, True), [0.3, 0.6]).ap,
                               expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_two_processes_score_the_same_bits(seed, monkeypatch):
    # `vidact eval` lets a forked child score the classes of the second half of the predictions;
    # classes do not interact, so the AP table is the one process's, bit for bit.
    from vidact.evaluation import detection

    rng = np.random.default_rng(seed)
    num_classes, num_videos = int(rng.integers(2, 9)), int(rng.integers(1, 12))
    gt_video = rng.integers(0, num_videos, 60)
    gt_class = np.r_[np.arange(num_classes), rng.integers(0, num_classes, 60 - num_classes)]
    gt_segment = np.sort(rng.integers(0, 30, (60, 2)).astype(float), axis=1)
    n = int(rng.integers(0, 600))
    pred_class = rng.integers(0, num_classes, n) if seed % 3 else np.full(n, num_classes - 1)  # all in one class
    pred_video = rng.integers(-1, num_videos, n)
    pred_segment = np.sort(rng.integers(0, 30, (n, 2)).astype(float), axis=1)
    pred_score = rng.integers(0, 6, n) / 5.0  # many ties
    labels = [f"c{i}" for i in range(num_classes)]
    args = (gt_segment, gt_video, gt_class, pred_segment, pred_score, pred_video, pred_class, labels,
            np.linspace(0.1, 0.9, 5))
    one = detection.coded_detection_map(*args)
    monkeypatch.setattr(detection, "_SPLIT_MIN_PREDICTIONS", 0)
    forks = []
    real = detection.compute_in_child
    monkeypatch.setattr(detection, "compute_in_child", lambda *a: forks.append(1) or real(*a))
    two = detection.coded_detection_map(*args, workers=2)
    assert forks == [1]
    assert one.ap.tobytes() == two.ap.tobytes() and one.metrics == two.metrics


def test_a_failing_child_leaves_the_parent_to_score_its_classes(monkeypatch):
    from vidact import forking
    from vidact.evaluation import detection

    def fail():
        raise MemoryError("in the child")

    def broken(compute, dtypes, capacity):
        return forking.compute_in_child(fail, dtypes, capacity)  # no result: the parent scores its classes
    monkeypatch.setattr(detection, "_SPLIT_MIN_PREDICTIONS", 0)
    monkeypatch.setattr(detection, "compute_in_child", broken)
    gt = [("v1", "a", 0.0, 10.0), ("v2", "b", 0.0, 10.0)]
    preds = [("v1", "a", 1.0, 10.0, 0.9), ("v2", "b", 0.0, 9.0, 0.8), ("v2", "b", 5.0, 6.0, 0.7)]
    result = detection.coded_detection_map(
        *(lambda g, p: (g.segment, np.array([0, 1]), np.array([0, 1]), p.segment, p.score, np.array([0, 1, 1]),
                        np.array([0, 1, 1]), ["a", "b"]))(segments(gt, False), segments(preds, True)),
        [0.5], workers=2)
    np.testing.assert_array_equal(result.ap, ap_of(gt, preds))
