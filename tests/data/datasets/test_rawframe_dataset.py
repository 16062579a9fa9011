"""RawframeDataset: every reference list variant, start_index 0/1, Flow, frame-exact decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import frame_index

from vidact.data.datasets import RawframeDataset
from vidact.errors import AnnotationError

DECODE = [
    {"type": "SampleFrames", "clip_len": 3, "frame_interval": 1, "num_clips": 1, "test_mode": True},
    {"type": "RawFrameDecode"},
]


def test_plain_list(media, write_list):
    ds = RawframeDataset(write_list(["f0 10 1", "f1 7 0"]), [], data_prefix=media / "frames")
    assert ds.video_infos == [
        {"frame_dir": str(media / "frames" / "f0"), "total_frames": 10, "label": 1},
        {"frame_dir": str(media / "frames" / "f1"), "total_frames": 7, "label": 0},
    ]
    assert ds.start_index == 1 and ds.filename_tmpl == "img_{:05}.jpg"


def test_with_offset_list(write_list):
    ds = RawframeDataset(write_list(["some/directory-1 12 163 3", "some/directory-2 0 295 4"]), [],
                         with_offset=True)
    assert ds.video_infos[0] == {"frame_dir": "some/directory-1", "total_frames": 163, "offset": 12, "label": 3}
    with pytest.raises(AnnotationError, match=r"ann.txt:1: expected 'frame_dir total_frames label'"):
        RawframeDataset(write_list(["some/directory-1 12 163 3"]), [])


def test_multi_class_list(write_list):
    ds = RawframeDataset(write_list(["d1 163 1 3 5", "d2 122 1 2", "d3 258 2"]), [lambda r: r],
                         multi_class=True, num_classes=6)
    assert [i["label"] for i in ds.video_infos] == [[1, 3, 5], [1, 2], [2]]
    assert ds[0]["label"].tolist() == [0, 1, 0, 1, 0, 1]
    with pytest.raises(AnnotationError, match="label 5 is out of range for 4 classes"):
        RawframeDataset(write_list(["d1 163 1 3 5"]), [], multi_class=True, num_classes=4)


def test_multi_class_with_offset(write_list):
    ds = RawframeDataset(write_list(["d1 5 20 0 2"]), [], with_offset=True, multi_class=True, num_classes=3)
    assert ds.video_infos[0] == {"frame_dir": "d1", "total_frames": 20, "offset": 5, "label": [0, 2]}


def test_sample_carries_template_and_reference_keys(media, write_list):
    ds = RawframeDataset(write_list(["f0 10 1"]), [lambda r: r], data_prefix=media / "frames",
                         filename_tmpl="img_{:05d}.jpg")
    assert ds[0] == {"frame_dir": str(media / "frames" / "f0"), "total_frames": 10, "label": 1,
                     "filename_tmpl": "img_{:05d}.jpg", "modality": "RGB", "start_index": 1}


@pytest.mark.parametrize(("folder", "start_index"), [("f0", 1), ("zero_based", 0)])
def test_start_index_reads_the_first_files(media, write_list, folder, start_index):
    # A centred 3-frame clip of a 6-frame video: frames 2, 3, 4 whatever the file numbering.
    ds = RawframeDataset(write_list([f"{folder} 6 0"]), DECODE, data_prefix=media / "frames",
                         start_index=start_index)
    out = ds[0]
    assert out["frame_inds"].tolist() == [2 + start_index, 3 + start_index, 4 + start_index]
    assert [frame_index(img) for img in out["imgs"]] == [2, 3, 4]


def test_with_offset_shifts_the_frames_read(media, write_list):
    ds = RawframeDataset(write_list(["f0 4 5 0"]), DECODE, data_prefix=media / "frames", with_offset=True)
    # clip of 3 in a 5-frame clip starting at file 1 + 4: frames 1..3 of the clip -> files 6..8.
    assert [frame_index(img) for img in ds[0]["imgs"]] == [5, 6, 7]


def test_flow_modality(media, write_list):
    pipeline = [*DECODE, {"type": "Collect", "keys": ["imgs"], "meta_keys": []}]
    ds = RawframeDataset(write_list(["flow0 6 2"]), pipeline, data_prefix=media / "frames", modality="Flow",
                         filename_tmpl="{}_{:05d}.jpg")
    imgs = ds[0]["imgs"]
    assert len(imgs) == 6 and imgs[0].ndim == 2  # x, y per frame
    assert [frame_index(img) for img in imgs] == [2, 12, 3, 13, 4, 14]


def test_flow_needs_a_two_field_template(write_list):
    with pytest.raises(ValueError, match=r"cannot name a Flow frame .*'\{\}_\{:05d\}.jpg'"):
        RawframeDataset(write_list(["flow0 6 2"]), [], modality="Flow")
    with pytest.raises(ValueError, match="modality must be one of"):
        RawframeDataset(write_list(["flow0 6 2"]), [], modality="Audio")


def test_flow_training_pipeline_shapes(media, write_list):
    pipeline = [
        {"type": "SampleFrames", "clip_len": 2, "frame_interval": 1, "num_clips": 2},
        {"type": "RawFrameDecode"},
        {"type": "Resize", "scale": [-1, 40]},
        {"type": "CenterCrop", "crop_size": 32},
        {"type": "Normalize", "mean": [128, 128], "std": [128, 128]},
        {"type": "FormatShape", "input_format": "NCHW_Flow"},
        {"type": "Collect", "keys": ["imgs", "label"], "meta_keys": []},
        {"type": "ToTensor", "keys": ["imgs", "label"]},
    ]
    ds = RawframeDataset(write_list(["flow0 6 2"]), pipeline, data_prefix=media / "frames", modality="Flow",
                         filename_tmpl="{}_{:05d}.jpg")
    sample = ds[0]
    assert sample["imgs"].shape == (2, 4, 32, 32) and sample["imgs"].dtype == torch.float32


def test_json_annotations(tmp_path, media):
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps([{"frame_dir": "f0", "total_frames": 10, "label": [1, 2]}]))
    ds = RawframeDataset(ann, [], data_prefix=media / "frames", multi_class=True, num_classes=3)
    assert ds.video_infos == [{"frame_dir": str(media / "frames" / "f0"), "total_frames": 10, "label": [1, 2]}]


def test_evaluate_mean_class_accuracy_counts_predicted_only_classes(write_list):
    ds = RawframeDataset(write_list(["a 5 0", "b 5 0", "c 5 1"]), [])
    scores = [np.array([0.8, 0.1, 0.1]), np.array([0.1, 0.1, 0.8]), np.array([0.2, 0.7, 0.1])]
    # class 0: 1/2, class 1: 1/1, class 2 (predicted, never true): 0 -> mean 0.5
    assert ds.evaluate(scores, "mean_class_accuracy")["mean_class_accuracy"] == pytest.approx(0.5)


def test_evaluate_counts_a_label_outside_the_score_columns_as_a_miss(write_list):
    # Reference: evaluate -> top_k_accuracy, where label 5 never matches one of 3 columns.
    ds = RawframeDataset(write_list(["a 5 0", "b 5 5", "c 5 1"]), [])
    scores = [np.array([0.8, 0.1, 0.1]), np.array([0.1, 0.1, 0.8]), np.array([0.2, 0.7, 0.1])]
    out = ds.evaluate(scores, "top_k_accuracy", topk=(1, 3))
    assert out == pytest.approx({"top1_acc": 2 / 3, "top3_acc": 2 / 3})
