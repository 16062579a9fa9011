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
    with pytest.raises(ValueError, match="times"):
        RepeatDataset(inner, 0)
