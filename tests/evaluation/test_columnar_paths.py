"""`vidact eval`'s columnar paths (integer-coded mAP, flat AR@AN) give the public functions' numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vidact.data.annotations.activitynet import read_ground_truth, read_results
from vidact.data.synth import synth_activitynet
from vidact.evaluation import Segments, ar_an, detection_map
from vidact.evaluation.suite import evaluate_localization


def _files(tmp_path, seed):
    gt, proposals, detections = synth_activitynet(num_videos=120, proposals_per_video=30, num_labels=9, seed=seed)
    rng = np.random.default_rng(seed)
    # Results for a video outside the ground truth, equal scores, and a video with no results.
    for results in (proposals, detections):
        videos = list(results["results"])
        results["results"]["v_not_in_gt"] = results["results"][videos[0]][:5]
        del results["results"][videos[1]]
        for entry in results["results"][videos[2]]:
            entry["score"] = 0.5
        for entry in results["results"][videos[3]]:
            entry["score"] = float(rng.integers(0, 3))
    paths = {}
    for name, data in (("gt", gt), ("proposals", proposals), ("detections", detections)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(data))
    return paths


def _segments(gt, results=None):
    videos = results.videos if results else gt.videos
    rows = [(vid, seg, label, score) for vid, segs in videos.items()
            for seg, label, score in zip(segs.segments, segs.labels,
                                         segs.scores if segs.scores is not None else [0.0] * len(segs))]
    return Segments(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]).reshape(-1, 2),
                    np.array([r[2] for r in rows]), np.array([r[3] for r in rows]) if results else None)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eval_paths_equal_public_functions(tmp_path, seed):
    paths = _files(tmp_path, seed)
    gt = read_ground_truth(paths["gt"])
    detections = read_results(paths["detections"], require_labels=True)
    proposals = read_results(paths["proposals"])

    got = evaluate_localization(gt, detections, metrics=("mAP",)).metrics
    want = detection_map(_segments(gt), _segments(gt, detections)).metrics
    assert got == pytest.approx(want, abs=0, rel=0)

    got = evaluate_localization(gt, proposals, metrics=("AR@AN",)).metrics
    ground_truth = {vid: segs.segments for vid, segs in gt.videos.items()}
    props = {vid: np.column_stack([segs.segments, segs.scores]) for vid, segs in proposals.videos.items()}
    want = ar_an(ground_truth, props, max_avg_proposals=100).metrics
    assert got == pytest.approx(want, abs=0, rel=0)
