"""ActivityNetDataset: per-video JSON, the BSN/BMN feature pipeline, AR@AN, JSON/CSV dumps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vidact.data.datasets import ActivityNetDataset
from vidact.errors import AnnotationError

ANNOTATIONS = {
    "v_aaa": {"duration_second": 100.0, "duration_frame": 3000, "feature_frame": 3000, "fps": 30.0, "rfps": 30.0,
              "annotations": [{"segment": [10.0, 20.0], "label": "Run"}]},
    "v_bbb": {"duration_second": 30.0, "duration_frame": 900, "feature_frame": 896, "fps": 30.0, "rfps": 30.0,
              "annotations": [{"segment": [0.0, 15.0], "label": "Jump"}]},
}
PIPELINE = [
    {"type": "LoadLocalizationFeature"},
    {"type": "GenerateLocalizationLabels"},
    {"type": "Collect", "keys": ["raw_feature", "gt_bbox"], "meta_name": "video_meta",
     "meta_keys": ["video_name"]},
    {"type": "ToTensor", "keys": ["raw_feature"]},
    {"type": "ToDataContainer", "fields": [{"key": "gt_bbox", "stack": False, "cpu_only": True}]},
]


@pytest.fixture
def anet(tmp_path):
    ann = tmp_path / "anet_anno.json"
    ann.write_text(json.dumps(ANNOTATIONS))
    features = tmp_path / "features"
    features.mkdir()
    for name in ANNOTATIONS:
        rows = np.arange(100 * 4, dtype=np.float32).reshape(100, 4)
        np.savetxt(features / f"{name}.csv", rows, delimiter=",", header="f0,f1,f2,f3", comments="")
    return ann, features


def test_video_infos(anet):
    ann, features = anet
    ds = ActivityNetDataset(ann, [], data_prefix=features)
    assert len(ds) == 2
    assert ds.video_infos[0] == {**ANNOTATIONS["v_aaa"], "video_name": "v_aaa"}


def test_feature_pipeline(anet):
    ann, features = anet
    ds = ActivityNetDataset(ann, PIPELINE, data_prefix=features)
    sample = ds[1]
    assert sample["raw_feature"].shape == (4, 100) and sample["raw_feature"].dtype == torch.float32
    np.testing.assert_allclose(sample["gt_bbox"].data, [[0.0, 15.0 / (896 / 900 * 30.0)]])
    assert sample["gt_bbox"].cpu_only and sample["video_meta"] == {"video_name": "v_bbb"}


def test_sample_keys_follow_the_reference(anet):
    ann, features = anet
    results = ActivityNetDataset(ann, [lambda r: r], data_prefix=features, test_mode=True)[0]
    assert results["data_prefix"] == str(features) and "start_index" not in results and "modality" not in results


def test_malformed_entry_is_named(tmp_path):
    ann = tmp_path / "anno.json"
    ann.write_text(json.dumps({"v_x": {"duration_second": 3.0, "annotations": []}}))
    with pytest.raises(AnnotationError, match=r"\['v_x'\]: missing 'duration_frame', 'feature_frame'"):
        ActivityNetDataset(ann, [])


def proposal_results():
    return [
        {"video_name": "v_aaa", "proposal_list": [{"segment": [10.0, 20.0], "score": 0.9}]},
        {"video_name": "v_bbb", "proposal_list": [{"segment": [20.0, 30.0], "score": 0.8}]},
    ]


def test_evaluate_ar_an_by_hand(anet):
    ds = ActivityNetDataset(*anet[:1], [])
    # One proposal per video: v_aaa's is exact, v_bbb's misses. Every curve point keeps each video's
    # single proposal, so recall is 1/2 at every AN = 1..100: AUC = 100 * 0.5 * 99 / 100.
    out = ds.evaluate(proposal_results())
    assert list(out) == ["auc", "AR@1", "AR@5", "AR@10", "AR@100"]
    assert out == pytest.approx({"auc": 49.5, "AR@1": 0.5, "AR@5": 0.5, "AR@10": 0.5, "AR@100": 0.5})
    with pytest.raises(KeyError, match="metric mAP is not supported"):
        ds.evaluate(proposal_results(), metrics="mAP")
    with pytest.raises(ValueError, match="1 != 2"):
        ds.evaluate(proposal_results()[:1])


def test_proposals2json_and_dump_results(anet, tmp_path):
    ds = ActivityNetDataset(*anet[:1], [])
    assert ds.proposals2json(proposal_results()) == {
        "aaa": [{"segment": [10.0, 20.0], "score": 0.9}], "bbb": [{"segment": [20.0, 30.0], "score": 0.8}]}
    out = tmp_path / "out" / "results.json"
    ds.dump_results(proposal_results(), out, "json")
    dumped = json.loads(out.read_text())
    assert dumped["version"] == "VERSION 1.3" and dumped["external_data"] == {}
    assert dumped["results"]["aaa"] == [{"segment": [10.0, 20.0], "score": 0.9}]
    assert dumped["protocol"]["ann_file"] == str(Path(anet[0]).resolve())  # for `vidact eval` without --ann
    assert [p.name for p in out.parent.iterdir()] == ["results.json"]  # no temp file left

    csv_dir = tmp_path / "csv"
    ds.dump_results([("v_aaa", np.array([[1, 0.1, 0.2, 3.0, 6.0]]))], csv_dir, "csv")
    lines = (csv_dir / "v_aaa.csv").read_text().splitlines()
    assert lines[0] == "action,start,end,tmin,tmax" and len(lines) == 2
    with pytest.raises(ValueError, match="output format xml"):
        ds.dump_results([], tmp_path / "x", "xml")
