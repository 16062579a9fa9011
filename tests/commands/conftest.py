"""Inputs for the `vidact eval` tests: hand-checkable scores, lists, ground truth and results.

Recognition (4 samples, 3 classes; labels 1, 2, 2, 1; argmax predictions 1, 0, 2, 0):
    top1 = 2/4, top2 = 3/4, top3 = 1; mean_class_accuracy = (0 + 1/2 + 1/2) / 3 (class 0 is
    predicted but never true, so it counts as 0, as in MMAction); confusion matrix over classes
    0, 1, 2 = [[0, 0, 0], [1, 1, 0], [1, 0, 1]].
Multi-label (4 samples, 2 classes): AP(class 0) = (1 + 2/3) / 2, AP(class 1) = 1, mAP = 11/12.
Proposals: see `PROPOSALS`; detections: see `DETECTIONS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

SCORES = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
VIDEO_LIST = "videos/a.mp4 1\nvideos/b.mp4 2\nvideos/c.mp4 2\nvideos/d.mp4 1\n"
RAWFRAME_LIST = "frames/a 30 1\nframes/b 31 2\nframes/c 32 2\nframes/d 33 1\n"

MULTI_SCORES = np.array([[0.9, 0.2], [0.8, 0.6], [0.3, 0.4], [0.1, 0.7]])
MULTI_LIST = "a.mp4 0\nb.mp4 1\nc.mp4 0 1\nd.mp4 1\n"

PROTOCOL = {"num_clips": 10, "num_crops": 3, "aggregation": "mean", "input_size": 224,
            "checkpoint_sha256": "0f1e2d3c4b5a"}

# Ground truth (official layout). Validation: v_A [0,10] Run, [20,30] Jump; v_B [0,10] Jump.
GT = {
    "version": "VERSION 1.3",
    "database": {
        "v_A": {"subset": "validation", "duration": 40.0, "annotations": [
            {"segment": [0.0, 10.0], "label": "Run"}, {"segment": [20.0, 30.0], "label": "Jump"}]},
        "v_B": {"subset": "validation", "duration": 20.0, "annotations": [{"segment": [0.0, 10.0], "label": "Jump"}]},
        "v_T": {"subset": "training", "duration": 20.0, "annotations": [{"segment": [0.0, 20.0], "label": "Swim"}]},
    },
}

# The same validation videos in the reference `ActivityNetDataset` layout (no subsets).
PER_VIDEO_GT = {
    vid: {"duration_second": entry["duration"], "duration_frame": int(entry["duration"] * 30),
          "annotations": entry["annotations"], "feature_frame": int(entry["duration"] * 30), "fps": 30.0,
          "rfps": 30.0}
    for vid, entry in GT["database"].items() if entry["subset"] == "validation"
}

# Ids without the "v_" prefix, as many proposal generators write them. IoUs: A/[0,10] 1.0,
# A/[20,30] 0.5, B/[0,10] 1/3. AN = j for curve point j, so AR@1 = 1/3 (A's best only);
# from AN = 2 on, the 0.5 threshold also recalls A/[20,30]: (2/3 + 9 * 1/3) / 10 = 11/30.
# auc = 100 * (trapezoid of AR over AN = 1..100) / 100 = (1/3 + 11/30) / 2 + 98 * 11/30 = 36.28333.
PROPOSALS = {
    "results": {
        "A": [{"segment": [0.0, 10.0], "score": 0.9}, {"segment": [20.0, 25.0], "score": 0.8}],
        "B": [{"segment": [5.0, 15.0], "score": 0.7}],
    },
}

# Run: an FP scored above the TP: AP 0.5 at every threshold. Jump in v_A: IoU 1; Jump in v_B: IoU
# 0.72, a TP up to tIoU 0.70: AP 1 there, else 1/2 (one of two segments found, precision 1).
# mAP@t = 0.75 for t <= 0.70, (0.5 + 0.5) / 2 = 0.5 above; average_mAP = 0.625.
DETECTIONS = {
    "version": "VERSION 1.3",
    "results": {
        "v_A": [
            {"segment": [0.0, 10.0], "score": 0.9, "label": "Run"},
            {"segment": [12.0, 18.0], "score": 0.95, "label": "Run"},
            {"segment": [20.0, 30.0], "score": 0.8, "label": "Jump"},
        ],
        "v_B": [{"segment": [0.0, 7.2], "score": 0.6, "label": "Jump"}],
    },
    "external_data": {},
}


@pytest.fixture
def eval_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every eval input above, written into tmp_path, which becomes the working directory: the
    paths are relative, so error messages stay short and can be compared whole."""
    monkeypatch.chdir(tmp_path)

    def text(name: str, content: str) -> Path:
        path = Path(name)
        path.write_text(content)
        return path

    def json_file(name: str, obj: object) -> Path:
        return text(name, json.dumps(obj))

    np.save("scores.npy", SCORES)
    np.save("multi.npy", MULTI_SCORES)
    return {
        "scores": Path("scores.npy"),
        "scores_json": json_file("scores.json", {"scores": SCORES.tolist(), "protocol": PROTOCOL}),
        "videos": text("videos.txt", VIDEO_LIST),
        "rawframes": text("rawframes.txt", RAWFRAME_LIST),
        "multi": Path("multi.npy"),
        "multi_list": text("multi.txt", MULTI_LIST),
        "gt": json_file("gt.json", GT),
        "proposals": json_file("proposals.json", PROPOSALS),
        "detections": json_file("detections.json", DETECTIONS),
        "per_video_gt": json_file("anet_anno_val.json", PER_VIDEO_GT),
    }
