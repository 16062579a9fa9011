"""RepeatDataset: length and indexing of the repeated dataset, failure reports passed through."""

from __future__ import annotations

import pytest

from vidact.data.datasets import RepeatDataset, VideoDataset


def test_repeat_dataset(write_list):
    inner = VideoDataset(write_list(["a.mp4 0", "b.mp4 1", "c.mp4 2"]), [lambda r: r["label"]])
    ds = RepeatDataset(inner, 3)
    assert len(ds) == 9
    assert [ds[i] for i in range(len(ds))] == [0, 1, 2] * 3
    assert ds[-1] == 2 and ds.failure_report() == []
    with pytest.raises(IndexError):
        ds[9]
    assert list(ds) == [0, 1, 2] * 3  # the sequence protocol stops at IndexError
    with pytest.raises(ValueError, match="times must be >= 1, got 0"):
        RepeatDataset(inner, 0)
    with pytest.raises(TypeError, match="times must be an int, got 2.5"):
        RepeatDataset(inner, 2.5)


def test_repeat_dataset_builds_a_config_dict(write_list):
    # Later 0.x: RepeatDataset(dict(type=..., ...), times) builds the dataset from the registry.
    ann = write_list(["a.mp4 0", "b.mp4 1"])
    ds = RepeatDataset({"type": "VideoDataset", "ann_file": str(ann), "pipeline": []}, 2)
    assert isinstance(ds.dataset, VideoDataset) and len(ds) == 4
    assert [s["label"] for s in ds] == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="unknown 'VideoDatset'; did you mean 'VideoDataset'"):
        RepeatDataset({"type": "VideoDatset", "ann_file": str(ann), "pipeline": []}, 2)
