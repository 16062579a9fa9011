"""Localization steps: feature CSVs, proposal files and ground-truth normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidact.data.pipelines import GenerateLocalizationLabels, LoadLocalizationFeature, LoadProposals
from vidact.errors import InputError


def _write_csv(path: Path, header: str, rows: np.ndarray) -> None:
    np.savetxt(path, rows, delimiter=",", header=header, comments="", fmt="%.6f")


def test_load_localization_feature_is_channels_by_time(tmp_path):
    rows = np.arange(12, dtype=np.float32).reshape(3, 4) / 10  # 3 time steps x 4 channels
    _write_csv(tmp_path / "v_a.csv", "f0,f1,f2,f3", rows)
    out = LoadLocalizationFeature()({"video_name": "v_a", "data_prefix": str(tmp_path)})
    assert out["raw_feature"].dtype == np.float32 and out["raw_feature"].shape == (4, 3)
    np.testing.assert_allclose(out["raw_feature"], rows.T, rtol=1e-6)
    # a single time step stays 2-D
    _write_csv(tmp_path / "v_b.csv", "f0,f1", rows[:1, :2])
    assert LoadLocalizationFeature()({"video_name": "v_b", "data_prefix": str(tmp_path)})["raw_feature"].shape == (2, 1)


def test_load_localization_feature_errors(tmp_path):
    with pytest.raises(NotImplementedError):
        LoadLocalizationFeature(".npy")
    with pytest.raises(InputError, match="v_missing.csv"):
        LoadLocalizationFeature()({"video_name": "v_missing", "data_prefix": str(tmp_path)})


def test_generate_localization_labels_hand_computed():
    results = {
        "duration_frame": 3000,
        "duration_second": 100.0,
        "feature_frame": 2992,
        "annotations": [{"segment": [10.0, 20.0], "label": "a"}, {"segment": [90.0, 120.0], "label": "b"}],
    }
    out = GenerateLocalizationLabels()(results)
    corrected = 2992 / 3000 * 100.0  # features cover 99.73 s of the video
    np.testing.assert_allclose(out["gt_bbox"], [[10 / corrected, 20 / corrected], [90 / corrected, 1.0]])
    empty = GenerateLocalizationLabels()({**results, "annotations": []})
    assert empty["gt_bbox"].shape == (0, 2)


def test_load_proposals_top_k(tmp_path):
    rows = np.arange(35, dtype=np.float32).reshape(5, 7) / 100
    _write_csv(tmp_path / "v_a.csv", "xmin,xmax,xmin_score,xmax_score,score,match_iou,match_ioa", rows)
    features = np.random.rand(5, 32)
    np.save(tmp_path / "v_a.npy", features)
    out = LoadProposals(3, str(tmp_path), str(tmp_path))({"video_name": "v_a"})
    assert out["bsp_feature"].shape == (3, 32) and out["bsp_feature"].dtype == np.float32
    np.testing.assert_allclose(out["bsp_feature"], features[:3], rtol=1e-6)
    for key, col in [("tmin", 0), ("tmax", 1), ("tmin_score", 2), ("tmax_score", 3), ("reference_temporal_iou", 5)]:
        np.testing.assert_allclose(out[key], rows[:3, col], rtol=1e-6)
    (tmp_path / "v_empty.csv").write_text("xmin,xmax,xmin_score,xmax_score,score,match_iou\n")
    np.save(tmp_path / "v_empty.npy", np.zeros((0, 32)))
    empty = LoadProposals(3, str(tmp_path), str(tmp_path))({"video_name": "v_empty"})
    assert empty["tmin"].shape == (0,) and empty["bsp_feature"].shape == (0, 32)
    with pytest.raises(NotImplementedError):
        LoadProposals(3, str(tmp_path), str(tmp_path), proposal_ext=".json")
    with pytest.raises(InputError, match="v_b"):
        LoadProposals(3, str(tmp_path), str(tmp_path))({"video_name": "v_b"})
