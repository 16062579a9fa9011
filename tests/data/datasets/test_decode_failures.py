"""Bad data: undecodable samples are replaced by the next good one, logged once, counted, reported,
and past the failure budget turned into a clear error; also across DataLoader workers."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from torch.utils.data import DataLoader

from vidact.data.datasets import RawframeDataset, RepeatDataset, VideoDataset, resolve_budget
from vidact.errors import DecodeError

PIPELINE = [
    {"type": "PyAVInit"},
    {"type": "SampleFrames", "clip_len": 2, "test_mode": True},
    {"type": "PyAVDecode"},
    {"type": "Collect", "keys": ["label"], "meta_keys": ["filename"]},
]
LINES = ["v0.mp4 0", "garbage.mp4 1", "v1.mp4 2", "truncated.mp4 3", "empty.mp4 4", "v2.mp4 5"]


def served(sample) -> str:
    return os.path.basename(sample["img_meta"]["filename"])


@pytest.fixture
def mixed(media, write_list):
    def make(**kwargs):
        return VideoDataset(write_list(LINES), PIPELINE, data_prefix=media / "videos", **kwargs)

    return make


def test_bad_samples_are_replaced_by_the_next_good_one(mixed, caplog):
    ds = mixed()
    with caplog.at_level(logging.WARNING):
        assert served(ds[0]) == "v0.mp4"
        assert served(ds[1]) == "v1.mp4"  # garbage -> next index
        assert served(ds[3]) == "v2.mp4"  # truncated, then empty, -> v2
        assert served(ds[4]) == "v2.mp4"  # known bad: no new decode attempt, no new log line
        assert served(ds[1]) == "v1.mp4"
    report = {f.index: f for f in ds.failure_report()}
    assert sorted(report) == [1, 3, 4]
    assert report[1].path.endswith("garbage.mp4") and "not a readable video" in report[1].reason
    assert (report[1].count, report[1].substitute) == (2, 2)
    assert (report[3].count, report[3].substitute) == (1, 5)
    assert (report[4].count, report[4].substitute) == (2, 5)  # skipped once for 3, asked for once
    assert "no video stream" in report[4].reason or "no frames" in report[4].reason
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and all("cannot be decoded" in w for w in warnings)
    assert "garbage.mp4" in warnings[0]


def test_wrap_around_at_the_end(media, write_list):
    ds = VideoDataset(write_list(["v0.mp4 0", "garbage.mp4 1"]), PIPELINE, data_prefix=media / "videos")
    assert served(ds[1]) == "v0.mp4"


def test_failure_budget_count(mixed):
    ds = mixed(failure_budget=1)
    ds[1]
    with pytest.raises(DecodeError) as info:
        ds[3]
    message = str(info.value)
    assert "2 of 6 samples failed to decode, more than the failure budget allows (1, failure_budget=1)" in message
    assert "garbage.mp4" in message and "truncated.mp4" in message
    assert "vidact dataset check" in info.value.hint


def test_failure_budget_fraction_and_default():
    assert resolve_budget(0.0, 100) == 0
    assert resolve_budget(0.25, 10) == 2
    assert resolve_budget(3, 10) == 3
    assert resolve_budget(None, 100) == 10 and resolve_budget(None, 1000) == 50
    for bad in (-1, 1.5, True, "5"):
        with pytest.raises((TypeError, ValueError)):
            resolve_budget(bad, 10)


def test_zero_budget_fails_on_the_first_bad_sample(mixed):
    with pytest.raises(DecodeError, match="1 of 6 samples failed"):
        mixed(failure_budget=0.0)[1]


def test_bad_budget_is_refused_at_construction(mixed):
    with pytest.raises(ValueError, match="failure_budget"):
        mixed(failure_budget=-2)


def test_nothing_decodes_raises_instead_of_looping(media, write_list):
    ds = VideoDataset(write_list(["garbage.mp4 0", "empty.mp4 1"]), PIPELINE, data_prefix=media / "videos")
    with pytest.raises(DecodeError, match="none of the 2 samples can be decoded"):
        ds[0]


def test_test_mode_substitutes_and_evaluate_warns(mixed, caplog):
    ds = mixed(test_mode=True)
    assert [served(ds[i]) for i in range(len(ds))] == ["v0.mp4", "v1.mp4", "v1.mp4", "v2.mp4", "v2.mp4", "v2.mp4"]
    assert [f.index for f in ds.failure_report()] == [1, 3, 4]
    with caplog.at_level(logging.WARNING):
        out = ds.evaluate(list(np.eye(6)), topk=1)
    assert out["top1_acc"] == 1.0
    assert any("3 sample(s)" in r.getMessage() and "indices 1, 3, 4" in r.getMessage() for r in caplog.records)


def test_missing_frame_file_and_folder(media, write_list):
    pipeline = [{"type": "SampleFrames", "clip_len": 8, "test_mode": True}, {"type": "RawFrameDecode"},
                {"type": "Collect", "keys": ["label"], "meta_keys": []}]
    ds = RawframeDataset(write_list(["gap 8 0", "nowhere 8 1", "f0 10 2"]), pipeline, data_prefix=media / "frames")
    assert ds[0]["label"] == 2
    report = ds.failure_report()
    assert [f.index for f in report] == [0, 1]
    assert "img_00004.jpg: frame image not found" in report[0].reason
    assert "no such frame folder" in report[1].reason


def test_zero_frames_in_the_annotation(media, write_list):
    pipeline = [{"type": "SampleFrames", "clip_len": 1}, {"type": "RawFrameDecode"}]
    ds = RawframeDataset(write_list(["f0 0 0", "f1 7 1"]), pipeline, data_prefix=media / "frames")
    assert ds[0]["label"] == 1
    assert "no frames to sample" in ds.failure_report()[0].reason


def test_index_out_of_range(mixed):
    ds = mixed()
    with pytest.raises(IndexError):
        ds[6]
    assert served(ds[-6]) == "v0.mp4"


def test_failures_in_loader_workers_reach_the_main_process(mixed):
    ds = RepeatDataset(mixed(), times=2)
    loader = DataLoader(ds, batch_size=3, num_workers=2, collate_fn=lambda batch: [served(s) for s in batch])
    names = [name for batch in loader for name in batch]
    assert names == ["v0.mp4", "v1.mp4", "v1.mp4", "v2.mp4", "v2.mp4", "v2.mp4"] * 2
    report = {f.index: f for f in ds.failure_report()}
    assert sorted(report) == [1, 3, 4]
    # Each of the 4 batches went to a worker; every request for a bad index counts once, plus the
    # skips of index 4 behind index 3 (once per worker that met index 3 before index 4).
    assert report[1].count == 2 and report[3].count == 2
    assert report[4].count >= 3
