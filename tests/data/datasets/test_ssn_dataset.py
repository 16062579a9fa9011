"""SSNDataset: proposal-list parsing, proposal pools, regression targets, samples and mAP."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidact.data.datasets import SSNDataset, SSNInstance
from vidact.data.datasets.ssn import compute_regression_targets
from vidact.errors import AnnotationError
from vidact.schemas.data import SSNTestCfgSpec, SSNTrainCfgSpec

PROPOSALS = """\
# 0
vid_a
100
1
2
1 10 30
2 60 80
5
1 0.9 0.95 12 30
2 0.2 0.9 62 70
0 0.0 0.0 40 55
0 0.005 0.0 90 91
1 0.5 0.5 5 40
# 1
vid_b
50
1
0
1
0 0.0 0.0 0 10
"""
TRAIN_CFG = {"ssn": {"assigner": {"positive_iou_threshold": 0.7, "background_iou_threshold": 0.01,
                                  "incomplete_iou_threshold": 0.3, "background_coverage_threshold": 0.02,
                                  "incomplete_overlap_threshold": 0.01},
                     "sampler": {"num_per_video": 8, "positive_ratio": 1, "background_ratio": 1,
                                 "incomplete_ratio": 6, "add_gt_as_proposals": True}}}
TEST_CFG = {"ssn": {"sampler": {"test_interval": 6}, "evaluater": {"top_k": 2000, "nms": 0.2}}}


@pytest.fixture
def proposal_file(tmp_path):
    path = tmp_path / "thumos_val_proposals.txt"
    path.write_text(PROPOSALS)
    return path


def make(proposal_file, pipeline=(), **kwargs):
    kwargs.setdefault("reg_normalize_constants", [[0.0, 0.0], [1.0, 1.0]])
    return SSNDataset(proposal_file, list(pipeline), TRAIN_CFG, TEST_CFG, proposal_file.parent / "frames", **kwargs)


def spans(instances):
    return [(p.start_frame, p.end_frame) for p in instances]


def test_video_infos(proposal_file):
    ds = make(proposal_file)
    assert len(ds) == 1  # vid_b has no ground truth
    info = ds.video_infos[0]
    assert info["video_id"] == "vid_a" and info["total_frames"] == 100
    assert info["frame_dir"] == str(proposal_file.parent / "frames" / "vid_a")
    assert spans(info["gts"]) == [(10, 30), (60, 80)] and [g.label for g in info["gts"]] == [1, 2]
    assert spans(info["proposals"]) == [(12, 30), (62, 70), (40, 55), (90, 91), (5, 40)]
    assert info["proposals"][2].coverage == pytest.approx(0.15)
    assert len(make(proposal_file, test_mode=True, filter_gt=False)) == 2


def test_dict_and_spec_configs_are_the_same(proposal_file):
    from_spec = SSNDataset(proposal_file, [], SSNTrainCfgSpec.model_validate(TRAIN_CFG),
                           SSNTestCfgSpec.model_validate(TEST_CFG), None, reg_normalize_constants=[[0, 0], [1, 1]])
    assert from_spec.assigner == make(proposal_file).assigner


def test_proposal_pools(proposal_file):
    ds = make(proposal_file)
    assert spans(p for _, p in ds.positive_pool) == [(12, 30), (10, 30), (60, 80)]
    assert spans(p for _, p in ds.incomplete_pool) == [(62, 70)]
    assert spans(p for _, p in ds.background_pool) == [(40, 55)]
    assert {video for video, _ in ds.positive_pool} == {"vid_a"}


def test_get_positives_regression_targets(proposal_file):
    ds = make(proposal_file)
    info = ds.video_infos[0]
    positives = ds.get_positives(info["gts"], info["proposals"], 0.7, with_gt=False)
    assert spans(positives) == [(12, 30)]
    # best gt (10, 30): centres 19.5 vs 20.5 over a length of 18; log(20 / 18).
    assert positives[0].regression_targets == pytest.approx([-1 / 18, math.log(20 / 18)])
    assert info["proposals"][0].regression_targets == [0.0, 0.0]  # the annotation is untouched
    with_gt = ds.get_positives(info["gts"], info["proposals"], 0.7)
    assert [p.regression_targets for p in with_gt[1:]] == [[0.0, 0.0], [0.0, 0.0]]


def test_regression_targets_match_a_per_proposal_loop():
    rng = np.random.default_rng(0)
    starts = rng.integers(0, 80, 30)
    proposals = np.stack([starts, starts + rng.integers(1, 20, 30)], axis=1).astype(float)
    gts = np.array([[5, 25], [40, 70], [60, 90]], dtype=float)
    expected = []
    for s, e in proposals:
        inter = np.clip(np.minimum(e, gts[:, 1]) - np.maximum(s, gts[:, 0]), 0, None)
        best = gts[np.argmax(inter / ((e - s) + (gts[:, 1] - gts[:, 0]) - inter))]
        expected.append([((best[0] + best[1] - 1) / 2 - (s + e - 1) / 2) / (e - s),
                         math.log((best[1] - best[0]) / (e - s))])
    np.testing.assert_allclose(compute_regression_targets(proposals, gts), expected)


def test_get_negatives_thresholds(proposal_file):
    ds = make(proposal_file)
    proposals = ds.video_infos[0]["proposals"]
    incompletes, backgrounds = ds.get_negatives(proposals, 0.3, 0.01, 0.02, 0.01)
    assert spans(incompletes) == [(62, 70)] and spans(backgrounds) == [(40, 55)]
    incompletes, backgrounds = ds.get_negatives(proposals, 0.3, 0.01, 0.005, 0.95)
    assert spans(incompletes) == [] and spans(backgrounds) == [(40, 55), (90, 91)]


def test_get_all_gts(proposal_file):
    assert make(proposal_file).get_all_gts() == {0: {"vid_a": [[0.1, 0.3]]}, 1: {"vid_a": [[0.6, 0.8]]}}


def test_computed_regression_constants(proposal_file):
    ds = make(proposal_file, reg_normalize_constants=None)
    np.testing.assert_allclose(ds.reg_norm_consts, [[-1 / 18, math.log(20 / 18)], [0.0, 0.0]])


def test_prepare_train_frames(proposal_file):
    pipeline = [{"type": "SampleProposalFrames", "clip_len": 1, "body_segments": 5, "aug_segments": [2, 2],
                 "aug_ratio": [0.5, 0.5]}]
    ds = make(proposal_file, pipeline, reg_normalize_constants=[[0.0, 0.0], [0.5, 2.0]])
    results = ds[0]
    assert results["proposal_type"].tolist() == [0, 1, 1, 1, 1, 1, 1, 2]
    assert results["proposal_labels"].tolist()[1:] == [2] * 6 + [0]
    assert results["reg_targets"].shape == (8, 2) and results["reg_targets"].dtype == np.float32
    positive = results["out_proposals"][0][0][1]
    np.testing.assert_allclose(results["reg_targets"][0], np.array(positive.regression_targets) / [0.5, 2.0],
                               rtol=1e-6)
    assert results["reg_targets"][1:].tolist() == [[0.0, 0.0]] * 7
    assert results["proposal_scale_factor"].shape == (8, 2)
    assert results["frame_inds"].shape == (8 * 9,) and results["num_clips"] == 9


def test_get_stage_by_hand(proposal_file):
    ds = make(proposal_file)
    # proposal [40, 55): 15 frames, 7 before / 7 after fit: (40 - 33 - 1 + 1 + 1) / 7.5 and the same at the end.
    starting, ending, split = ds._get_stage(SSNInstance(40, 55, 100), 100)
    assert (starting, ending) == pytest.approx((8 / 7.5, 8 / 7.5)) and split == [2, 7, 9]


def test_prepare_test_frames(proposal_file):
    results = make(proposal_file, test_mode=True)[0]
    np.testing.assert_allclose(results["relative_proposal_list"][2], [0.4, 0.55])
    np.testing.assert_allclose(results["scale_factor_list"][2], [1.0, 1.0], rtol=1e-6)
    # 17 sampled frames (0, 6, ..., 96): ticks of [0.325, 0.4, 0.55, 0.625] * 17
    assert results["proposal_tick_list"][2].tolist() == [5, 6, 9, 10]
    assert results["proposal_tick_list"].dtype == np.int32
    np.testing.assert_allclose(results["reg_norm_consts"], [[0, 0], [1, 1]])


def test_video_without_proposals_gets_a_whole_video_proposal(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("# 0\nvid\n20\n1\n1\n1 2 8\n0\n")
    results = SSNDataset(path, [], TRAIN_CFG, TEST_CFG, None, test_mode=True,
                         reg_normalize_constants=[[0, 0], [1, 1]])[0]
    np.testing.assert_allclose(results["relative_proposal_list"], [[0.0, 19 / 20]])


def ssn_results(activity):
    return [{"relative_proposal_list": np.array([[0.1, 0.3], [0.6, 0.8]], dtype=np.float32),
             "activity_scores": np.array(activity, dtype=np.float32),
             "completeness_scores": np.zeros((2, 2), dtype=np.float32), "bbox_preds": None}]


def test_evaluate_map_by_hand(proposal_file):
    ds = make(proposal_file)
    perfect = ds.evaluate(ssn_results([[0, 10, 0], [0, 0, 10]]))
    assert list(perfect) == [f"mAP@{t:.2f}" for t in np.arange(0.1, 1.0, 0.1)] + ["average_mAP"]
    assert all(v == pytest.approx(1.0) for v in perfect.values())
    # Each class ranks the wrong proposal first: precision 1/2 at full recall -> AP 0.5.
    swapped = ds.evaluate(ssn_results([[0, 10, 9], [0, 3, 1]]))
    assert all(v == pytest.approx(0.5) for v in swapped.values())
    with pytest.raises(ValueError, match="eval_dataset"):
        ds.evaluate(ssn_results([[0, 1, 0], [0, 0, 1]]), eval_dataset="anet")


def test_results_to_detections_top_k(proposal_file):
    ds = make(proposal_file)
    detections = ds.results_to_detections(ssn_results([[0, 10, 0], [0, 0, 10]]), top_k=2)
    assert [sorted(d) for d in detections] == [["vid_a"], ["vid_a"]]
    np.testing.assert_allclose(detections[0]["vid_a"][:, :2], [[0.1, 0.3]], rtol=1e-6)
    assert detections[0]["vid_a"].shape == (1, 5)


def test_normalized_file_needs_its_frame_index_version(tmp_path):
    path = tmp_path / "normalized_proposals.txt"
    path.write_text(PROPOSALS)
    with pytest.raises(AnnotationError, match="proposals.txt must exist"):
        SSNDataset(path, [], TRAIN_CFG, TEST_CFG, None)
    (tmp_path / "proposals.txt").write_text(PROPOSALS)
    ds = SSNDataset(path, [], TRAIN_CFG, TEST_CFG, None, reg_normalize_constants=[[0, 0], [1, 1]])
    assert ds.proposal_file == str(tmp_path / "proposals.txt")


@pytest.mark.parametrize("top_k", [0, -1])
def test_results_to_detections_top_k_zero_or_less_keeps_every_detection(proposal_file, top_k):
    # Reference: top_k <= 0 gives every proposal to every class, in proposal order, with the
    # combined score softmax(activity[1:]) * exp(completeness).
    cfg = {"ssn": {**TEST_CFG["ssn"], "evaluater": {"top_k": top_k, "nms": 0.2}}}
    ds = SSNDataset(proposal_file, [], TRAIN_CFG, cfg, proposal_file.parent / "frames",
                    reg_normalize_constants=[[0.0, 0.0], [1.0, 1.0]])
    detections = ds.results_to_detections(ssn_results([[0, 10, 0], [0, 0, 10]]), top_k=top_k)
    assert len(detections) == 2
    for cls, det in enumerate(detections):
        rows = det["vid_a"]
        assert rows.shape == (2, 5)
        np.testing.assert_allclose(rows[:, :2], [[0.1, 0.3], [0.6, 0.8]], rtol=1e-6)
        expected = np.exp([[10, 0], [0, 10]]) / np.exp([[10, 0], [0, 10]]).sum(1, keepdims=True)
        np.testing.assert_allclose(rows[:, 2], expected[:, cls], rtol=1e-5)
    # evaluate() reads top_k from the test config: every detection is kept; the wrong-class ones
    # score lowest, so the perfect ranking still gives AP 1.
    assert all(v == pytest.approx(1.0) for v in ds.evaluate(ssn_results([[0, 10, 0], [0, 0, 10]])).values())
