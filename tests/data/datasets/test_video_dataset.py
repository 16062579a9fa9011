"""VideoDataset: list variants, reference result keys, a TSM pipeline from recipe dicts, evaluate()."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import frame_index

from vidact.data.datasets import VideoDataset
from vidact.errors import AnnotationError

NORMALIZE = {"type": "Normalize", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375], "to_bgr": False}

TSM_TRAIN = [
    {"type": "PyAVInit"},
    {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 8},
    {"type": "PyAVDecode"},
    {"type": "Resize", "scale": [-1, 256]},
    {"type": "MultiScaleCrop", "input_size": 224, "scales": [1, 0.875, 0.75, 0.66], "random_crop": False,
     "max_wh_scale_gap": 1, "num_fixed_crops": 13},
    {"type": "Resize", "scale": [224, 224], "keep_ratio": False},
    {"type": "Flip", "flip_ratio": 0.5},
    NORMALIZE,
    {"type": "FormatShape", "input_format": "NCHW"},
    {"type": "Collect", "keys": ["imgs", "label"], "meta_keys": []},
    {"type": "ToTensor", "keys": ["imgs", "label"]},
]

TSM_TEST = [
    {"type": "PyAVInit"},
    {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 8, "test_mode": True,
     "twice_sample": True},
    {"type": "PyAVDecode"},
    {"type": "Resize", "scale": [-1, 256]},
    {"type": "CenterCrop", "crop_size": 224},
    NORMALIZE,
    {"type": "FormatShape", "input_format": "NCHW"},
    {"type": "Collect", "keys": ["imgs", "label"], "meta_keys": ["filename"]},
    {"type": "ToTensor", "keys": ["imgs"]},
]


@pytest.fixture
def video_list(write_list):
    return write_list(["v0.mp4 1", "v1.mp4 0", "v2.mp4 2"])


def test_video_infos_have_reference_keys(media, video_list):
    ds = VideoDataset(video_list, [], data_prefix=media / "videos")
    assert len(ds) == 3 and ds.start_index == 0 and ds.modality == "RGB"
    assert ds.video_infos[0] == {"filename": str(media / "videos" / "v0.mp4"), "label": 1}
    assert [info["label"] for info in ds.video_infos] == [1, 0, 2]


def test_without_prefix_paths_are_kept(write_list):
    ann = write_list(["/abs/a.mp4 3", "rel/b.mp4 4"])
    ds = VideoDataset(ann, [])
    assert [i["filename"] for i in ds.video_infos] == ["/abs/a.mp4", "rel/b.mp4"]


def test_prepare_adds_start_index_and_modality_without_touching_infos(media, video_list):
    ds = VideoDataset(video_list, [lambda r: r], data_prefix=media / "videos", start_index=0)
    results = ds[0]
    assert results["start_index"] == 0 and results["modality"] == "RGB"
    results["label"] = 99
    assert ds.video_infos[0]["label"] == 1  # a copy was handed out


def test_multi_class_labels_become_many_hot(write_list):
    ann = write_list(["a.mp4 1 3", "b.mp4 0"])
    ds = VideoDataset(ann, [lambda r: r], multi_class=True, num_classes=4)
    assert ds.video_infos[0]["label"] == [1, 3]
    label = ds.prepare_train_frames(0)["label"]
    assert label.dtype == torch.float32 and label.tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="num_classes"):
        VideoDataset(ann, [], multi_class=True)


def test_json_annotations(tmp_path, media):
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps([{"filename": "v0.mp4", "label": [2]}, {"filename": "v1.mp4", "label": [0]}]))
    ds = VideoDataset(ann, [], data_prefix=media / "videos")
    assert ds.video_infos[1] == {"filename": str(media / "videos" / "v1.mp4"), "label": 0}
    ann.write_text(json.dumps([{"filename": "v0.mp4", "label": [2, 3]}]))
    with pytest.raises(AnnotationError, match=r"\[0\]: 2 labels"):
        VideoDataset(ann, [])


def test_malformed_line_names_file_and_line(write_list):
    ann = write_list(["a.mp4 1", "b.mp4 one"])
    with pytest.raises(AnnotationError, match=r"ann.txt:2: expected a non-negative integer"):
        VideoDataset(ann, [])


def test_tsm_training_pipeline_from_recipe_dicts(media, video_list):
    ds = VideoDataset(video_list, TSM_TRAIN, data_prefix=media / "videos")
    sample = ds[2]
    assert set(sample) == {"imgs", "label"}
    assert sample["imgs"].shape == (8, 3, 224, 224) and sample["imgs"].dtype == torch.float32
    assert sample["label"].tolist() == [2]
    assert abs(float(sample["imgs"].mean())) < 3  # normalised


def test_tsm_test_pipeline_samples_the_segment_centres(media, video_list):
    ds = VideoDataset(video_list, TSM_TEST, data_prefix=media / "videos", test_mode=True)
    sample = ds[0]
    assert sample["imgs"].shape == (16, 3, 224, 224)
    assert sample["img_meta"] == {"filename": str(media / "videos" / "v0.mp4")}
    # The same frames without the spatial steps: 16 frames, 8 segments of 2: middles then starts.
    raw = VideoDataset(video_list, TSM_TEST[:3], data_prefix=media / "videos", test_mode=True)[0]
    assert [frame_index(img) for img in raw["imgs"]] == [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14]


def test_evaluate_top_k_and_mean_class_accuracy(write_list):
    ds = VideoDataset(write_list(["a.mp4 0", "b.mp4 1", "c.mp4 2", "d.mp4 2"]), [])
    scores = [np.array(s, dtype=np.float32) for s in
              ([0.9, 0.05, 0.05], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1])]
    out = ds.evaluate(scores, metrics=["top_k_accuracy", "mean_class_accuracy"], topk=(1, 2))
    # top-1 hits: a, c -> 2/4; top-2 hits: a, b, c -> 3/4; per class: 1, 0, 1/2 -> 0.5.
    assert out == pytest.approx({"top1_acc": 0.5, "top2_acc": 0.75, "mean_class_accuracy": 0.5})
    assert ds.evaluate(scores, topk=1) == pytest.approx({"top1_acc": 0.5})


def test_evaluate_mean_average_precision_multi_class(write_list):
    ds = VideoDataset(write_list(["a.mp4 0 1", "b.mp4 1", "c.mp4 0"]), [], multi_class=True, num_classes=2)
    scores = [np.array([0.9, 0.8]), np.array([0.2, 0.7]), np.array([0.1, 0.3])]
    # class 0: ranking a(+), b(-), c(+) -> AP = (1 + 2/3) / 2; class 1: a(+), b(+), c(-) -> AP = 1.
    out = ds.evaluate(scores, metrics="mean_average_precision")
    assert out["mean_average_precision"] == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)


def test_evaluate_argument_errors(write_list):
    ds = VideoDataset(write_list(["a.mp4 0", "b.mp4 1"]), [])
    scores = [np.zeros(2), np.zeros(2)]
    with pytest.raises(TypeError, match="results must be a list"):
        ds.evaluate(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="1 != 2"):
        ds.evaluate(scores[:1])
    with pytest.raises(KeyError, match="metric top_1 is not supported"):
        ds.evaluate(scores, metrics="top_1")
    with pytest.raises(TypeError, match="topk"):
        ds.evaluate(scores, topk=[1])
