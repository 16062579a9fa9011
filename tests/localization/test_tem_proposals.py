"""tem_proposal_list: what TEM alone proposes (boundary pairs, start x end, soft-NMS, seconds), and
ActivityNetDataset.evaluate scoring TEM curves through it."""

from __future__ import annotations

import json

import numpy as np

from vidact.data.datasets.activitynet import ActivityNetDataset
from vidact.localization.tem_proposals import tem_proposal_list
from vidact.models.localizers.tem import temporal_anchors

INFO = {"video_name": "v_a", "duration_second": 20.0, "duration_frame": 320, "feature_frame": 320,
        "annotations": [{"segment": [5.0, 12.5], "label": "x"}]}


def _curves(start_at: int, end_at: int, temporal_dim: int = 40) -> np.ndarray:
    action = np.full(temporal_dim, 0.1)
    start, end = np.full(temporal_dim, 0.05), np.full(temporal_dim, 0.05)
    start[start_at], end[end_at] = 0.9, 0.8
    return np.stack([action, start, end, *temporal_anchors(temporal_dim)], axis=1)


def test_the_best_proposal_joins_the_start_and_end_peaks_in_seconds():
    proposals = tem_proposal_list(_curves(10, 24), INFO)
    assert len(proposals) <= 100
    best = proposals[0]
    # position t sits at (t + 0.5) / T of the 20 s the features cover
    np.testing.assert_allclose(best["segment"], [10.5 / 40 * 20, 24.5 / 40 * 20])
    np.testing.assert_allclose(best["score"], 0.9 * 0.8, rtol=1e-6)
    assert [p["score"] for p in proposals] == sorted((p["score"] for p in proposals), reverse=True)


def test_dataset_evaluate_scores_tem_curves_as_their_proposals(tmp_path):
    other = {**INFO, "video_name": "v_b", "annotations": [{"segment": [1.0, 4.0], "label": "x"}]}
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"v_a": {k: v for k, v in INFO.items() if k != "video_name"},
                               "v_b": {k: v for k, v in other.items() if k != "video_name"}}))
    dataset = ActivityNetDataset(ann, [], str(tmp_path), test_mode=True)
    curves = [("v_a", _curves(10, 24)), ("v_b", _curves(2, 8))]
    proposals = [{"video_name": name, "proposal_list": tem_proposal_list(table, info)}
                 for (name, table), info in zip(curves, dataset.video_infos)]
    assert dataset.evaluate(curves) == dataset.evaluate(proposals)
    assert dataset.evaluate(curves)["AR@100"] > 0.5
