"""SSN detections pipeline: results_to_detections, regression + NMS, THUMOS'14 mAP, against slow versions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.localization import _reference as ref
from vidact.localization.detections import (
    THUMOS14_IOU_RANGE,
    SSNVideoOutput,
    plain_detections,
    postprocess_detections,
    regress_and_nms,
    results_to_detections,
    thumos14_map,
)


def random_outputs(seed: int, num_videos: int = 3, num_classes: int = 4, with_bbox: bool = True) -> list:
    rng = np.random.default_rng(seed)
    outputs = []
    for v in range(num_videos):
        num = int(rng.integers(1, 30))
        starts = rng.uniform(0, 0.9, num)
        proposals = np.stack([starts, np.minimum(1.0, starts + rng.uniform(0.01, 0.4, num))], axis=1)
        outputs.append(SSNVideoOutput(
            f"video_{v}", proposals, rng.normal(size=(num, num_classes + 1)),
            rng.normal(scale=0.5, size=(num, num_classes)),
            rng.normal(scale=0.2, size=(num, num_classes, 2)) if with_bbox else None))
    return outputs


def ref_results_to_detections(outputs: list, top_k: int) -> list:
    """The reference loop: one (proposal, class) pair at a time, appended in ascending score order."""
    num_classes = outputs[0].activity_scores.shape[1] - 1
    detections: list = [{} for _ in range(num_classes)]
    for out in outputs:
        act = out.activity_scores[:, 1:]
        soft = np.exp(act - act.max(axis=1, keepdims=True))
        combined = soft / soft.sum(axis=1, keepdims=True) * np.exp(out.completeness_scores)
        bbox = out.bbox_preds if out.bbox_preds is not None else np.zeros((len(combined), num_classes, 2))
        if top_k <= 0:
            for c in range(num_classes):
                detections[c][out.video_id] = np.concatenate(
                    [out.relative_proposal_list, combined[:, c:c + 1], bbox[:, c, 0:1], bbox[:, c, 1:2]], axis=1)
            continue
        for k in np.argsort(combined.ravel())[-top_k:]:
            c, p = k % num_classes, k // num_classes
            row = [*out.relative_proposal_list[p], combined[p, c], *bbox[p, c]]
            prev = detections[c].get(out.video_id)
            detections[c][out.video_id] = np.array([row]) if prev is None else np.vstack([prev, row])
    return detections


def ref_chain(outputs: list, gt: dict, top_k: int = 2000, nms: float = 0.2, regression: bool = True) -> np.ndarray:
    """SSNDataset.evaluate step by step with the slow kernels: (T,) mAP over all classes."""
    detections = ref_results_to_detections(outputs, top_k)
    for per_video in detections:
        for vid, rows in per_video.items():
            rows = ref.perform_regression(rows.tolist()) if regression else rows
            per_video[vid] = ref.temporal_nms(np.asarray(rows).tolist(), nms)
    plain = {c: [[vid, c, *row[:3]] for vid, rows in per_video.items() for row in rows.tolist()]
             for c, per_video in enumerate(detections)}
    return ref.eval_ap(plain, gt, list(THUMOS14_IOU_RANGE)).mean(axis=0)


def assert_same_detections(ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert list(a) == list(b)
        for vid in a:
            np.testing.assert_allclose(a[vid], b[vid], rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("top_k", [2000, 7, 0])
def test_results_to_detections_matches_reference(seed: int, top_k: int) -> None:
    outputs = random_outputs(seed, with_bbox=seed != 3)
    ours = results_to_detections([o.as_result() for o in outputs], [o.video_id for o in outputs], top_k=top_k)
    assert_same_detections(ours, ref_results_to_detections(outputs, top_k))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("regression", [True, False])
def test_regress_and_nms_matches_reference(seed: int, regression: bool) -> None:
    detections = ref_results_to_detections(random_outputs(seed), 2000)
    expected = [{vid: ref.temporal_nms((ref.perform_regression(r.tolist()) if regression else r).tolist(), 0.3)
                 for vid, r in per_video.items()} for per_video in detections]
    assert_same_detections(regress_and_nms(detections, 0.3, regression), expected)


def gt_for(outputs: list, num_classes: int, seed: int, skip_class: int | None = None) -> dict:
    rng = np.random.default_rng(seed + 100)
    gt: dict = {}
    for out in outputs:
        for _ in range(3):
            c = int(rng.integers(num_classes))
            if c == skip_class:
                continue
            s = rng.uniform(0, 0.8)
            gt.setdefault(c, {}).setdefault(out.video_id, []).append([s, s + rng.uniform(0.05, 0.2)])
    return gt


@pytest.mark.parametrize("seed", range(5))
def test_chain_matches_reference_evaluate(seed: int) -> None:
    outputs = random_outputs(seed, num_classes=3)
    gt = gt_for(outputs, 3, seed)
    for c in range(3):  # every class has ground truth: our means equal the reference's
        gt.setdefault(c, {}).setdefault("video_0", []).append([0.0, 0.5])
    detections = postprocess_detections(outputs, top_k=2000, nms=0.2)
    result = thumos14_map(detections, gt)
    expected = ref_chain(outputs, gt)
    ours = np.array([result.metrics[f"mAP@{t:.02f}"] for t in THUMOS14_IOU_RANGE])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    assert result.metrics["average_mAP"] == pytest.approx(expected.mean(), abs=1e-6)
    assert result.warnings == []


def test_class_without_ground_truth_is_null_and_left_out_of_the_means() -> None:
    outputs = random_outputs(1, num_classes=3)
    gt = gt_for(outputs, 3, 1, skip_class=1)
    gt[0].setdefault("video_0", []).append([0.0, 0.5])
    gt[2].setdefault("video_0", []).append([0.0, 0.5])
    detections = postprocess_detections(outputs)
    result = thumos14_map(detections, gt)
    assert np.isnan(result.ap[1]).all() and not np.isnan(result.ap[[0, 2]]).any()
    plain = plain_detections(detections)
    full = ref.eval_ap(plain, gt, list(THUMOS14_IOU_RANGE))
    assert np.isnan(full[1]).all()  # the reference: NaN, and a NaN mean
    expected = full[[0, 2]].mean(axis=0)
    np.testing.assert_allclose([result.metrics[f"mAP@{t:.02f}"] for t in THUMOS14_IOU_RANGE], expected, atol=1e-6)
    assert result.classes_without_gt == [1]
    assert "class 1" in result.warnings[0]


def test_videos_without_ground_truth_are_reported() -> None:
    detections = [{"a": np.array([[0.1, 0.2, 0.9, 0, 0]]), "zz": np.array([[0.1, 0.2, 0.8, 0, 0]])}]
    result = thumos14_map(detections, {0: {"a": np.array([[0.1, 0.2]])}})
    assert result.videos_without_gt == ["zz"]
    assert result.metrics["mAP@0.50"] == pytest.approx(1.0)
    assert any("'zz'" in w for w in result.warnings)


def test_hand_case() -> None:
    # One ground truth [0.2, 0.6]; detections: tIoU 0.5 (score 0.9), 1.0 (score 0.8).
    detections = [{"v": np.array([[0.2, 0.4, 0.9, 0, 0], [0.2, 0.6, 0.8, 0, 0]])}]
    result = thumos14_map(detections, {0: {"v": np.array([[0.2, 0.6]])}})
    # tIoU <= 0.5: the first is a TP (precision 1) -> AP 1; above 0.5 the second is, at precision 1/2.
    for t, value in zip(THUMOS14_IOU_RANGE, [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]):
        assert result.metrics[f"mAP@{t:.02f}"] == pytest.approx(value)
    assert math.isclose(result.metrics["average_mAP"], 7 / 9)
