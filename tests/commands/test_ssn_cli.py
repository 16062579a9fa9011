"""SSN through the CLI on tiny frame folders: `dataset synth-proposals` -> `train` -> `test` (raw .npz)
-> `detections-to-regression` -> `eval --dataset thumos14`, plus the proposal-list maths."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from vidact.cli import app
from vidact.data.annotations.ssn_detections import read_ssn_detections_input
from vidact.data.annotations.ssn_proposals import jittered_proposals, sliding_windows
from vidact.localization import load_localize_proposal_file

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "toy" / "ssn.yaml"
CLASSES = ["left", "right"]


def invoke(*args: object):
    result = CliRunner().invoke(app, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def tiny_dataset(root: Path) -> Path:
    """3 videos of 48 frames (32x32), a square that moves left or right inside one action."""
    gt = {}
    rng = np.random.default_rng(0)
    for v in range(3):
        vid, label = f"v_{v}", CLASSES[v % 2]
        start, end = 10 + 3 * v, 34 + v
        folder = root / "rawframes" / vid
        folder.mkdir(parents=True)
        x = 16.0
        for f in range(48):
            if start <= f < end:
                x += 0.5 if label == "right" else -0.5
            img = np.full((32, 32, 3), 40, np.uint8) + rng.integers(0, 10, (32, 32, 3), dtype=np.uint8)
            cv2.rectangle(img, (int(x) - 3, 12), (int(x) + 3, 18), (250, 250, 250), -1)
            cv2.imwrite(str(folder / f"img_{f + 1:05d}.jpg"), img)
        gt[vid] = {"duration_second": 48 / 12, "duration_frame": 48, "fps": 12.0,
                   "annotations": [{"segment": [start / 12, end / 12], "label": label}]}
    (root / "gt.json").write_text(json.dumps(gt))
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return root


def toy_overrides(root: Path, proposals: Path, epochs: int = 1) -> list[str]:
    """`--set` values that run recipes/toy/ssn.yaml on `tiny_dataset(root)` (every split: `proposals`),
    with test frames every 2nd frame."""
    sets = [f"data.{split}.{key}={value}" for split in ("train", "val", "test")
            for key, value in (("ann_file", proposals), ("data_prefix", root / "rawframes"))]
    sets += [f"total_epochs={epochs}", "data.videos_per_gpu=1", "data.workers_per_gpu=0",
             "model.cls_head.num_classes=2", "model.test_cfg.ssn.sampler.test_interval=2", "log_config.hooks=[]"]
    sets += [f"data.{split}.{key}=2" for split in ("val", "test")
             for key in ("test_cfg.ssn.sampler.test_interval", "pipeline[0].test_interval")]
    return sets


def test_proposal_list_counts_and_overlaps(tmp_path: Path) -> None:
    root = tiny_dataset(tmp_path)
    invoke("dataset", "synth-proposals", root / "gt.json", "--classes", root / "classes.txt",
           "--out", root / "p.txt", "--per-gt", "4", "--num-random", "5")
    entries = load_localize_proposal_file(root / "p.txt")
    assert [e[0] for e in entries] == ["v_0", "v_1", "v_2"]
    vid, frames, gts, proposals = entries[0]
    assert frames == 48 and gts == [["1", "10", "34"]]
    rows = np.array(proposals, dtype=np.float64)
    starts, ends = rows[:, 3], rows[:, 4]
    inter = np.clip(np.minimum(ends, 34) - np.maximum(starts, 10), 0, None)
    np.testing.assert_allclose(rows[:, 1], inter / (ends - starts + 24 - inter), atol=6e-5)  # best IoU
    np.testing.assert_allclose(rows[:, 2], inter / (ends - starts), atol=6e-5)  # self-overlap
    assert ((rows[:, 1] == 1) & (starts == 10)).any()  # the exact copy of the instance
    windows = sliding_windows(160)
    assert windows.min() >= 0 and windows.max() <= 160 and len(np.unique(windows[:, 1] - windows[:, 0])) == 4
    jit = jittered_proposals(np.random.default_rng(1), 100, np.array([[1, 20, 60]]), per_gt=3, num_random=2)
    assert len(jit) <= 5 and (jit[:, 1] - jit[:, 0] >= 2).all()


@pytest.mark.slow  # ~10-25 s: a real (tiny) training and test run
def test_train_test_regress_eval_chain(tmp_path: Path) -> None:
    root = tiny_dataset(tmp_path)
    proposals = root / "proposals.txt"
    invoke("dataset", "synth-proposals", root / "gt.json", "--classes", root / "classes.txt", "--out", proposals)
    sets_args = [a for s in toy_overrides(root, proposals) for a in ("--set", s)]
    invoke("train", RECIPE, "--work-dir", tmp_path / "work", *sets_args)
    raw = tmp_path / "raw.npz"
    result = invoke("test", RECIPE, "--checkpoint", tmp_path / "work" / "latest.pth", "--out", raw, *sets_args)
    assert "SSN raw outputs of 3 videos" in result.stderr
    outputs = read_ssn_detections_input(raw)
    assert [o.video_id for o in outputs] == ["v_0", "v_1", "v_2"]
    assert outputs[0].activity_scores.shape[1] == 3 and outputs[0].bbox_preds.shape[1:] == (2, 2)
    det = tmp_path / "det.json"
    invoke("detections-to-regression", raw, "--out", det)
    report = json.loads(invoke("eval", "--metric", "mAP", "--dataset", "thumos14", "--ann", proposals, det,
                               "--json").stdout)
    assert 0.0 <= report["metrics"]["mAP@0.50"] <= 1.0


@pytest.mark.parametrize("bad", ["missing", "label"])
def test_synth_proposals_bad_ground_truth(tmp_path: Path, bad: str) -> None:
    root = tiny_dataset(tmp_path)
    gt = json.loads((root / "gt.json").read_text())
    if bad == "missing":
        del gt["v_1"]["duration_frame"]
    else:
        gt["v_1"]["annotations"][0]["label"] = "up"
    (root / "gt.json").write_text(json.dumps(gt))
    result = CliRunner().invoke(app, ["dataset", "synth-proposals", str(root / "gt.json"), "--classes",
                                      str(root / "classes.txt"), "--out", str(root / "p.txt")])
    assert result.exit_code == 2 and '["v_1"]' in result.stderr
