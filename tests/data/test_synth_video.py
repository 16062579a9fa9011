"""Synthetic video datasets: determinism, decodability, split, temporal-only signal, ActivityNet files.

Datasets are tiny (32x32, 8 frames) and written once per module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from vidact.data.pipelines.localization import GenerateLocalizationLabels, LoadLocalizationFeature
from vidact.data.synth_video import (
    DIRECTIONS,
    localization_targets,
    render_recognition_clip,
    synth_localization,
    synth_recognition,
)
from vidact.errors import InputError

CLASSES = ("down", "left", "right", "up")  # the default: sorted names, as `dataset build`
REC = dict(num_videos_per_class=16, num_frames=8, size=(32, 32), fps=8.0, seed=3)
LOC = dict(num_videos=12, temporal_scale=20, feature_dim=16, duration_range=(3.0, 5.0), fps=8.0,
           size=(32, 32), seed=5)
ANNOTATION_FILES = ("train_list_videos.txt", "val_list_videos.txt", "classes.txt", "dataset.json")
LOC_FILES = ("activity_net.json", "anet_anno_train.json", "anet_anno_val.json", "anet_anno_full.json",
             "classes.txt", "dataset.json")


def decode(path: Path) -> np.ndarray:
    """Every frame of a video: (T, H, W, 3) uint8 RGB."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def read_list(path: Path) -> list[tuple[str, int]]:
    return [(p, int(label)) for p, label in (line.split() for line in path.read_text().splitlines())]


@pytest.fixture(scope="module")
def rec_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "synth"
    synth_recognition(out, **REC)
    return out


@pytest.fixture(scope="module")
def loc_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("loc") / "synth"
    synth_localization(out, with_videos=True, **LOC)
    return out


# ---- recognition --------------------------------------------------------------------------------


def test_same_seed_same_dataset_for_any_worker_count(rec_dir, tmp_path):
    other = synth_recognition(tmp_path / "w2", workers=2, **REC).out_dir
    for name in ANNOTATION_FILES:
        assert (other / name).read_bytes() == (rec_dir / name).read_bytes(), name
    for path, _ in read_list(rec_dir / "train_list_videos.txt") + read_list(rec_dir / "val_list_videos.txt"):
        np.testing.assert_array_equal(decode(other / path), decode(rec_dir / path), err_msg=path)


def test_another_seed_gives_other_videos(rec_dir, tmp_path):
    other = synth_recognition(tmp_path / "s", **{**REC, "num_videos_per_class": 2, "seed": 4}).out_dir
    first = "videos/left/left_0000.mp4"
    assert not np.array_equal(decode(other / first), decode(rec_dir / first))


def test_every_video_decodes_with_the_requested_frames(rec_dir):
    manifest = json.loads((rec_dir / "dataset.json").read_text())
    assert len(manifest["videos"]) == 64
    for entry in manifest["videos"]:
        frames = decode(rec_dir / entry["path"])
        assert frames.shape == (entry["num_frames"], entry["height"], entry["width"], 3) == (8, 32, 32, 3)
        with av.open(str(rec_dir / entry["path"])) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
            assert float(stream.average_rate) == entry["fps"] == 8.0


def test_lists_classes_and_stratified_split(rec_dir):
    assert (rec_dir / "classes.txt").read_text() == "down\nleft\nright\nup\n"
    train = read_list(rec_dir / "train_list_videos.txt")
    val = read_list(rec_dir / "val_list_videos.txt")
    assert not {p for p, _ in train} & {p for p, _ in val}
    every = sorted(p.relative_to(rec_dir).as_posix() for p in (rec_dir / "videos").rglob("*.mp4"))
    assert sorted(p for p, _ in train + val) == every
    for path, label in train + val:
        assert path.startswith(f"videos/{CLASSES[label]}/"), path
    assert np.bincount([label for _, label in train]).tolist() == [12] * 4  # 16 per class, 25% held out
    assert np.bincount([label for _, label in val]).tolist() == [4] * 4
    counts = json.loads((rec_dir / "dataset.json").read_text())["counts"]
    assert counts["per_class"]["up"] == {"train": 12, "val": 4} and counts["videos"] == 64


def test_first_frame_does_not_depend_on_direction():
    """All random draws are made independently of the direction: same seed, same first frame."""
    clips = {d: render_recognition_clip(np.random.default_rng(7), d, num_frames=6, size=(32, 32))[0]
             for d in DIRECTIONS}
    for direction, frames in clips.items():
        np.testing.assert_array_equal(frames[0], clips["left"][0], err_msg=direction)
        if direction != "left":
            assert not np.array_equal(frames[1:], clips["left"][1:]), direction


def _global_flow(frames: np.ndarray) -> np.ndarray:
    """Least-squares translation (vx, vy) in px/frame over a whole clip (brightness constancy, torus)."""
    grey = frames.astype(np.float64).mean(axis=-1)
    ix = (np.roll(grey, -1, axis=2) - np.roll(grey, 1, axis=2))[:-1] / 2
    iy = (np.roll(grey, -1, axis=1) - np.roll(grey, 1, axis=1))[:-1] / 2
    it = np.diff(grey, axis=0)
    a = np.stack([ix.ravel(), iy.ravel()], axis=1)
    return -np.linalg.lstsq(a, it.ravel(), rcond=None)[0]


def test_a_single_frame_is_at_chance_but_frame_order_separates_classes(rec_dir):
    """A linear probe on single frames (grouped cross-validation) is near chance; motion is not."""
    entries = json.loads((rec_dir / "dataset.json").read_text())["videos"]
    clips = np.stack([decode(rec_dir / e["path"]) for e in entries])  # (V, T, H, W, 3)
    labels = np.array([e["label"] for e in entries])

    # Motion: the global flow of two consecutive frames at a time names the direction (a crude
    # estimator: it may miss a video or two at 32x32).
    directions = np.array([DIRECTIONS[c] for c in CLASSES])
    predicted = np.array([np.argmax(directions @ _global_flow(clip)) for clip in clips])
    assert (predicted == labels).mean() >= 0.9

    # Appearance: ridge regression on 8x8 thumbnails of every frame, 4 folds of whole videos.
    thumbs = clips.reshape(*clips.shape[:2], 8, 4, 8, 4, 3).mean(axis=(3, 5)).reshape(*clips.shape[:2], -1) / 255
    fold = np.arange(len(labels)) % 4
    correct = []
    for k in range(4):
        x_train = thumbs[fold != k].reshape(-1, thumbs.shape[-1])
        y_train = np.eye(4)[np.repeat(labels[fold != k], clips.shape[1])]
        x_train = np.hstack([x_train, np.ones((len(x_train), 1))])
        w = np.linalg.solve(x_train.T @ x_train + 1.0 * np.eye(x_train.shape[1]), x_train.T @ y_train)
        x_test = thumbs[fold == k].reshape(-1, thumbs.shape[-1])
        scores = np.hstack([x_test, np.ones((len(x_test), 1))]) @ w
        correct.append(scores.argmax(axis=1) == np.repeat(labels[fold == k], clips.shape[1]))
    assert np.concatenate(correct).mean() < 0.4  # chance is 0.25


@pytest.mark.parametrize("kwargs, fragment", [
    ({"size": (31, 32)}, "even"),
    ({"classes": ("left", "sideways")}, "directions"),
    ({"classes": ("left",)}, "2 or more"),
    ({"val_ratio": 1.0}, "val_ratio"),
    ({"num_frames": 1}, "num_frames"),
])
def test_bad_parameters_are_input_errors(tmp_path, kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        synth_recognition(tmp_path / "x", **{**REC, **kwargs})


def test_refuses_a_non_empty_directory_unless_overwrite(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        synth_recognition(tmp_path, **{**REC, "num_videos_per_class": 1})
    result = synth_recognition(tmp_path, overwrite=True, **{**REC, "num_videos_per_class": 1})
    assert result.counts == {"videos": 4, "train": 4, "val": 0, "classes": 4}
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert not list(tmp_path.rglob("*.tmp"))


# ---- localization -------------------------------------------------------------------------------


def test_activitynet_json_structure(loc_dir):
    gt = json.loads((loc_dir / "activity_net.json").read_text())
    assert gt["version"] == "VERSION 1.3" and gt["taxonomy"] == []
    assert len(gt["database"]) == 12
    assert sorted(e["subset"] for e in gt["database"].values()) == ["training"] * 9 + ["validation"] * 3
    for vid, entry in gt["database"].items():
        assert re.fullmatch(r"v_[A-Za-z0-9_-]{11}", vid)
        assert set(entry) == {"subset", "duration", "resolution", "url", "annotations"}
        assert entry["resolution"] == "32x32" and entry["url"] == ""
        assert 3.0 <= entry["duration"] <= 5.0
        segments = np.array([a["segment"] for a in entry["annotations"]])
        assert 1 <= len(segments) <= 3 and {a["label"] for a in entry["annotations"]} <= set(CLASSES)
        assert (segments[:, 0] < segments[:, 1]).all() and (segments[1:, 0] >= segments[:-1, 1]).all()
        assert segments.min() >= 0 and segments.max() <= entry["duration"]


def test_per_video_files_match_the_official_json(loc_dir):
    gt = json.loads((loc_dir / "activity_net.json").read_text())["database"]
    train = json.loads((loc_dir / "anet_anno_train.json").read_text())
    val = json.loads((loc_dir / "anet_anno_val.json").read_text())
    full = json.loads((loc_dir / "anet_anno_full.json").read_text())
    assert full == {**train, **val} and len(train) == 9 and len(val) == 3
    for vid, info in full.items():
        assert set(info) == {"duration_second", "duration_frame", "annotations", "feature_frame", "fps", "rfps"}
        assert info["annotations"] == gt[vid]["annotations"]
        assert info["duration_second"] == gt[vid]["duration"]
        assert info["duration_frame"] == round(info["duration_second"] * info["fps"])
        assert info["feature_frame"] == info["duration_frame"] // 16 * 16 > 0
        assert gt[vid]["subset"] == ("training" if vid in train else "validation")


def test_feature_csvs_load_with_the_reference_steps(loc_dir):
    full = json.loads((loc_dir / "anet_anno_full.json").read_text())
    for vid, info in full.items():
        path = loc_dir / "csv_mean_20" / f"{vid}.csv"
        assert path.read_text().splitlines()[0] == ",".join(f"f{i}" for i in range(16))
        results = LoadLocalizationFeature()({"video_name": vid, "data_prefix": str(loc_dir / "csv_mean_20")})
        assert results["raw_feature"].shape == (16, 20) and results["raw_feature"].dtype == np.float32
        gt_bbox = GenerateLocalizationLabels()(dict(info))["gt_bbox"]
        assert gt_bbox.shape == (len(info["annotations"]), 2) and 0 <= gt_bbox.min() and gt_bbox.max() <= 1


def test_features_carry_a_learnable_action_and_boundary_signal(loc_dir):
    """A linear read-out fitted on the training videos predicts actionness and starts on validation."""
    full = json.loads((loc_dir / "anet_anno_full.json").read_text())
    train = json.loads((loc_dir / "anet_anno_train.json").read_text())
    x, targets, is_train = [], [], []
    for vid, info in full.items():
        x.append(np.loadtxt(loc_dir / "csv_mean_20" / f"{vid}.csv", delimiter=",", skiprows=1))
        corrected = info["feature_frame"] / info["duration_frame"] * info["duration_second"]
        gt_t = np.clip(np.array([a["segment"] for a in info["annotations"]]) / corrected, 0, 1)
        overlap, start, end = localization_targets(gt_t, 20)
        targets.append(np.stack([np.clip(overlap.sum(axis=1), 0, 1), start, end], axis=1))
        is_train += [vid in train] * 20
    x, targets, is_train = np.vstack(x), np.vstack(targets), np.array(is_train)
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.linalg.lstsq(x[is_train], targets[is_train], rcond=None)[0]
    predicted = x[~is_train] @ w
    for k, name in enumerate(("actionness", "start", "end")):
        r = np.corrcoef(predicted[:, k], targets[~is_train, k])[0, 1]
        assert r > 0.6, (name, r)


def test_untrimmed_videos_move_only_inside_segments(loc_dir):
    """The global flow points along the label's direction inside segments and is ~0 outside them."""
    full = json.loads((loc_dir / "anet_anno_full.json").read_text())
    along_moving, still_speed = [], []
    for vid, info in full.items():
        frames = decode(loc_dir / "videos" / f"{vid}.mp4")
        assert len(frames) == info["duration_frame"]
        flow = np.stack([_global_flow(frames[t:t + 2]) for t in range(len(frames) - 1)])  # frame t -> t + 1
        t_sec = np.arange(len(flow)) / info["fps"]
        segments = np.array([a["segment"] for a in info["annotations"]])
        inside = (t_sec[:, None] >= segments[:, 0]) & (t_sec[:, None] + 1 / info["fps"] <= segments[:, 1])
        near = (t_sec[:, None] + 1 / info["fps"] >= segments[:, 0]) & (t_sec[:, None] <= segments[:, 1])
        direction = np.array([DIRECTIONS[a["label"]] for a in info["annotations"]])  # (K, 2)
        along_moving += (flow @ direction.T)[inside].tolist()
        still_speed += np.linalg.norm(flow[~near.any(axis=1)], axis=1).tolist()
    # This estimator shrinks speeds (static background gradients weigh in), so compare the two.
    assert np.mean(along_moving) > 5 * np.mean(still_speed)


def test_localization_is_deterministic_for_any_worker_count(loc_dir, tmp_path):
    other = synth_localization(tmp_path / "w2", with_videos=False, workers=2, **LOC).out_dir
    for name in LOC_FILES:
        expected = (loc_dir / name).read_text()
        if name == "dataset.json":  # differs only in the video paths and with_videos
            expected = json.dumps(_without_videos(json.loads(expected)))
            assert json.dumps(_without_videos(json.loads((other / name).read_text()))) == expected
            continue
        assert (other / name).read_text() == expected, name
    for csv in (loc_dir / "csv_mean_20").iterdir():
        assert (other / "csv_mean_20" / csv.name).read_bytes() == csv.read_bytes()


def _without_videos(manifest: dict) -> dict:
    manifest["parameters"].pop("with_videos")
    manifest["files"].pop("videos", None)
    for entry in manifest["videos"]:
        entry.pop("video")
    return manifest
