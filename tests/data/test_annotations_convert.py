"""Annotation converters: ActivityNet <-> per-video round trip, THUMOS14, SSN proposal lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidact.data.annotations.activitynet import read_ground_truth
from vidact.data.annotations.convert import (
    anet_to_per_video,
    match_proposals,
    per_video_to_anet,
    proposals_to_ssn,
    thumos_to_anet,
    thumos_to_ssn,
)
from vidact.errors import AnnotationError, InputError
from vidact.localization.ssn import load_localize_proposal_file

ANET = {"version": "VERSION 1.3", "taxonomy": [], "database": {
    "aaa": {"subset": "training", "duration": 10.0, "annotations": [{"segment": [1.0, 4.5], "label": "Run"}]},
    "bbb": {"subset": "validation", "duration": 20.0, "annotations": [
        {"segment": [0.0, 5.0], "label": "Jump"}, {"segment": [8.0, 12.0], "label": "Run"}]},
    "ccc": {"subset": "testing", "duration": 5.0, "annotations": []},
}}


def write(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_anet_to_per_video_and_back_round_trip(tmp_path: Path) -> None:
    src = write(tmp_path / "anet.json", ANET)
    info = tmp_path / "video_info.csv"
    info.write_text("video,numFrame,seconds,fps,rfps,subset,featureFrame\nv_bbb,480,20.0,24.0,23.98,validation,464\n")
    result = anet_to_per_video(src, tmp_path / "pv", video_info=info, fps=30.0)
    val = json.loads(result.files["validation"].read_text())
    assert val == {"v_bbb": {"duration_second": 20.0, "duration_frame": 480,
                             "annotations": ANET["database"]["bbb"]["annotations"], "feature_frame": 464,
                             "fps": 24.0, "rfps": 23.98}}
    train = json.loads((tmp_path / "pv" / "anet_anno_train.json").read_text())
    assert train["v_aaa"]["duration_frame"] == 300 and train["v_aaa"]["feature_frame"] == 300
    assert set(json.loads(result.files["full"].read_text())) == {"v_aaa", "v_bbb", "v_ccc"}
    assert read_ground_truth(result.files["validation"]).videos["v_bbb"].labels == ("Jump", "Run")

    back = per_video_to_anet([result.files[s] for s in ("training", "validation", "testing")], tmp_path / "back.json")
    assert json.loads((tmp_path / "back.json").read_text()) == ANET
    assert back.counts == {"videos": 3, "segments": 3}


def test_per_video_to_anet_needs_a_subset(tmp_path: Path) -> None:
    pv = anet_to_per_video(write(tmp_path / "anet.json", ANET), tmp_path / "pv").files["full"]
    with pytest.raises(InputError, match="anet_anno_full.json: cannot tell the subset"):
        per_video_to_anet([pv], tmp_path / "x.json")
    per_video_to_anet([pv], tmp_path / "x.json", subset="training")
    assert {v["subset"] for v in json.loads((tmp_path / "x.json").read_text())["database"].values()} == {"training"}


def test_anet_errors_name_the_entry(tmp_path: Path) -> None:
    bad = {"database": {"aaa": {"subset": "training", "duration": 10.0,
                                "annotations": [{"segment": [1.0], "label": "Run"}]}}}
    with pytest.raises(AnnotationError, match=r'bad.json: database\["aaa"\].annotations\[0\]'):
        anet_to_per_video(write(tmp_path / "bad.json", bad), tmp_path / "pv")
    with pytest.raises(AnnotationError, match="official layout"):
        anet_to_per_video(write(tmp_path / "pv.json", {"v_a": {}}), tmp_path / "pv")


@pytest.fixture
def thumos_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "annotation"
    folder.mkdir()
    (folder / "BaseballPitch_val.txt").write_text("video_validation_0000051 1.0 2.5\nvideo_validation_0000052 3.0 4.0\n")
    (folder / "Diving_val.txt").write_text("video_validation_0000051  0.5 1.0\n")
    (folder / "Ambiguous_val.txt").write_text("video_validation_0000051 5.0 6.0\n")
    return folder


def test_thumos_to_anet(thumos_dir: Path, tmp_path: Path) -> None:
    info = tmp_path / "info.csv"
    info.write_text("video,numFrame,fps\nvideo_validation_0000051,300,30\n")
    result = thumos_to_anet(thumos_dir, tmp_path / "th.json", video_info=info)
    db = json.loads((tmp_path / "th.json").read_text())["database"]
    assert db["video_validation_0000051"] == {"subset": "validation", "duration": 10.0, "annotations": [
        {"segment": [0.5, 1.0], "label": "Diving"}, {"segment": [1.0, 2.5], "label": "BaseballPitch"}]}
    assert db["video_validation_0000052"]["duration"] == 4.0  # estimated: last segment end
    assert result.counts["estimated_durations"] == 1
    gt = read_ground_truth(tmp_path / "th.json")
    assert gt.num_segments == 3


def test_thumos_to_ssn_is_readable(thumos_dir: Path, tmp_path: Path) -> None:
    info = tmp_path / "info.csv"
    info.write_text("video,numFrame,fps\nvideo_validation_0000051,300,30\nvideo_validation_0000052,150,30\n")
    thumos_to_ssn(thumos_dir, tmp_path / "gt_list.txt", video_info=info)
    entries = load_localize_proposal_file(tmp_path / "gt_list.txt")
    assert entries[0] == ("video_validation_0000051", 300, [["2", "15", "30"], ["1", "30", "75"]], [])
    assert entries[1] == ("video_validation_0000052", 150, [["1", "90", "120"]], [])


def test_thumos_bad_line(tmp_path: Path) -> None:
    (tmp_path / "Run_val.txt").write_text("vid 1.0 2.0\nvid 3.0\n")
    with pytest.raises(AnnotationError, match=r"Run_val.txt:2: expected 'video start_sec end_sec'"):
        thumos_to_anet(tmp_path, tmp_path / "o.json")


def test_match_proposals_against_slow_reference() -> None:
    rng = np.random.default_rng(0)
    props = np.sort(rng.uniform(0, 100, (30, 2)), axis=1)
    gts = np.sort(rng.uniform(0, 100, (4, 2)), axis=1)
    gt_labels = np.array([3, 1, 2, 5])
    labels, best_iou, overlap = match_proposals(props, gts, gt_labels)
    for i, (s, e) in enumerate(props):
        inter = [max(0.0, min(e, ge) - max(s, gs)) for gs, ge in gts]
        ious = [x / ((e - s) + (ge - gs) - x) for x, (gs, ge) in zip(inter, gts)]
        assert best_iou[i] == pytest.approx(max(ious))
        assert overlap[i] == pytest.approx(max(x / (e - s) for x in inter))
        assert labels[i] == (gt_labels[int(np.argmax(ious))] if max(inter) > 0 else 0)


def test_proposals_to_ssn(tmp_path: Path) -> None:
    gt = write(tmp_path / "gt.json", ANET)
    proposals = write(tmp_path / "p.json", {"results": {"v_bbb": [
        {"segment": [8.0, 12.0], "score": 0.5}, {"segment": [0.0, 4.0], "score": 0.9},
        {"segment": [15.0, 19.0], "score": 0.1}], "zzz": [{"segment": [0.0, 1.0], "score": 1.0}]}})
    out = tmp_path / "val_normalized_proposal_list.txt"
    result = proposals_to_ssn(proposals, gt, out, fps=10.0)
    assert result.counts == {"videos": 1, "proposals": 3, "skipped_videos": 1}
    (vid, num_frames, gts, props), = load_localize_proposal_file(tmp_path / "val_proposal_list.txt")
    assert (vid, num_frames) == ("bbb", 200)
    assert gts == [["1", "0", "50"], ["2", "80", "120"]]  # Jump=1, Run=2 (sorted names)
    assert props == [["1", "0.8000", "1.0000", "0", "40"], ["2", "1.0000", "1.0000", "80", "120"],
                     ["0", "0.0000", "0.0000", "150", "190"]]
    (_, _, ngts, nprops), = load_localize_proposal_file(out)
    assert ngts[0] == ["1", "0.000000", "0.250000"] and nprops[0][3:] == ["0.000000", "0.200000"]
    with pytest.raises(InputError, match="must contain 'normalized_'"):
        proposals_to_ssn(proposals, gt, tmp_path / "list.txt")


def test_thumos_durations_probed_from_videos(tmp_path: Path) -> None:
    from vidact.data.synth_video import synth_recognition

    synth_recognition(tmp_path / "syn", num_videos_per_class=1, classes=("left", "right"), num_frames=8, size=(32, 32),
                      fps=16.0, val_ratio=0.0)
    videos = tmp_path / "syn" / "videos" / "left"
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "Run_test.txt").write_text("left_0000 0.1 0.3\n")
    thumos_to_anet(tmp_path / "ann", tmp_path / "o.json", video_dir=videos)
    entry = json.loads((tmp_path / "o.json").read_text())["database"]["left_0000"]
    assert entry["subset"] == "testing" and entry["duration"] == pytest.approx(0.5)
    thumos_to_ssn(tmp_path / "ann", tmp_path / "l.txt", video_dir=videos)
    assert load_localize_proposal_file(tmp_path / "l.txt") == [("left_0000", 8, [["1", "2", "5"]], [])]


def test_proposals_to_ssn_reads_frames_from_the_videos_and_never_assumes_a_frame_rate(tmp_path: Path) -> None:
    """A 75-frame 25 fps video counts 75 frames in proposals-to-ssn as in thumos-to-ssn (not 90 at 30 fps)."""
    from vidact.data.synth_video import synth_recognition

    synth_recognition(tmp_path / "syn", num_videos_per_class=1, classes=("left", "right"), num_frames=75,
                      size=(32, 32), fps=25.0, val_ratio=0.0)
    videos = tmp_path / "syn" / "videos" / "left"
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "Run_val.txt").write_text("left_0000 0.4 2.0\n")
    thumos_to_anet(tmp_path / "ann", tmp_path / "gt.json", video_dir=videos)
    thumos_to_ssn(tmp_path / "ann", tmp_path / "gt_list.txt", video_dir=videos)
    proposals = write(tmp_path / "p.json", {"results": {"left_0000": [{"segment": [0.4, 2.0], "score": 0.9}]}})
    out = tmp_path / "val_normalized_proposal_list.txt"
    with pytest.raises(InputError, match=r"p.json: left_0000: no frame rate") as info:
        proposals_to_ssn(proposals, tmp_path / "gt.json", out)
    assert "--video-dir" in info.value.hint and "--fps" in info.value.hint
    proposals_to_ssn(proposals, tmp_path / "gt.json", out, video_dir=videos)
    (vid, num_frames, gts, props), = load_localize_proposal_file(tmp_path / "val_proposal_list.txt")
    assert (vid, num_frames) == ("left_0000", 75) == load_localize_proposal_file(tmp_path / "gt_list.txt")[0][:2]
    assert gts == [["1", "10", "50"]] and props[0][3:] == ["10", "50"]
    proposals_to_ssn(proposals, tmp_path / "gt.json", out, fps=25.0)  # the duration (3 s) at the given rate
    assert load_localize_proposal_file(tmp_path / "val_proposal_list.txt")[0][1] == 75
    with pytest.raises(InputError, match="no frame rate"):
        thumos_to_ssn(tmp_path / "ann", tmp_path / "gt_list.txt")
