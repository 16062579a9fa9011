"""The synthetic ActivityNet generator: layout, determinism, and metrics that are neither 0 nor 1."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from vidact.data.synth import synth_activitynet, write_synth_activitynet
from vidact.evaluation import Segments, ar_an, detection_map


@pytest.fixture(scope="module")
def small():
    return synth_activitynet(num_videos=150, proposals_per_video=40, num_labels=12, seed=3)


def test_layout(small):
    gt, proposals, detections = small
    assert set(gt) == {"version", "taxonomy", "database"} and gt["taxonomy"] == []
    assert set(proposals) == set(detections) == {"version", "results", "external_data"}
    assert len(gt["database"]) == 150 and list(proposals["results"]) == list(gt["database"])
    for vid, video in gt["database"].items():
        assert re.fullmatch(r"v_[A-Za-z0-9_-]{11}", vid)
        assert video["subset"] == "validation" and video["annotations"]
        for ann in video["annotations"]:
            start, end = ann["segment"]
            assert 0.0 <= start <= end <= video["duration"] and ann["label"].startswith("action_")
        for entry in proposals["results"][vid]:
            start, end = entry["segment"]
            assert 0.0 <= start <= end <= video["duration"] and 0.0 <= entry["score"] <= 1.0
        assert len(proposals["results"][vid]) == 40
        assert {"segment", "score", "label"} == set(detections["results"][vid][0])
    num_gt = sum(len(v["annotations"]) for v in gt["database"].values())
    assert 1.2 < num_gt / 150 < 1.8


def test_deterministic_by_seed(small):
    again = synth_activitynet(num_videos=150, proposals_per_video=40, num_labels=12, seed=3)
    assert json.dumps(again) == json.dumps(small)
    other = synth_activitynet(num_videos=150, proposals_per_video=40, num_labels=12, seed=4)
    assert json.dumps(other) != json.dumps(small)


def test_metrics_are_informative(small):
    gt, proposals, detections = small
    gt_arrays = {v: np.array([a["segment"] for a in d["annotations"]]) for v, d in gt["database"].items()}
    props = {v: np.array([r["segment"] + [r["score"]] for r in rs]) for v, rs in proposals["results"].items()}
    result = ar_an(gt_arrays, props)  # AR@1 needs max_avg_proposals >= 100 / proposals_per_video
    assert 0.05 < result.metrics["AR@1"] < result.metrics["AR@100"] < 0.98
    rows = [(v, a["label"], *a["segment"]) for v, d in gt["database"].items() for a in d["annotations"]]
    preds = [(v, r["label"], *r["segment"], r["score"]) for v, rs in detections["results"].items() for r in rs]
    det = detection_map(
        Segments([r[0] for r in rows], [r[2:4] for r in rows], [r[1] for r in rows]),
        Segments([p[0] for p in preds], [p[2:4] for p in preds], [p[1] for p in preds], [p[4] for p in preds]),
    )
    assert 0.01 < det.average_map < 0.9


def test_write_files(tmp_path):
    paths = write_synth_activitynet(tmp_path / "anet", num_videos=5, proposals_per_video=3, num_labels=2)
    assert {p.name for p in paths.values()} == {"gt.json", "proposals.json", "detections.json"}
    data = json.loads(paths["proposals"].read_text())
    assert sum(len(v) for v in data["results"].values()) == 15
