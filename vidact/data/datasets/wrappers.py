"""`RepeatDataset`: one epoch walks the wrapped dataset `times` times (cheaper epochs on small data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from torch.utils.data import Dataset

from vidact.data.datasets.failures import SampleFailure


class RepeatDataset(Dataset):
    """A wrapper of repeated dataset.

    The length of repeated dataset will be `times` larger than the original dataset. This is useful
    when the data loading time is long but the dataset is small.

    Args:
        dataset: the dataset to be repeated, or its config dict (`{"type": "VideoDataset", ...}`,
            later 0.x), built through the dataset registry.
        times: repeat times.

    Raises:
        TypeError: `times` is not an int. ValueError: `times` < 1.
        RecipeError (a ValueError): the config dict does not validate.
    """

    def __init__(self, dataset: Any, times: int) -> None:
        if isinstance(times, bool) or not isinstance(times, (int, np.integer)):
            raise TypeError(f"RepeatDataset: times must be an int, got {times!r}")
        if times < 1:
            raise ValueError(f"RepeatDataset: times must be >= 1, got {times}")
        if isinstance(dataset, Mapping):
            from vidact.data.build import build_dataset  # the registry imports this module

            dataset = build_dataset(dataset)
        self.dataset = dataset
        self.times = int(times)
        self._ori_len = len(dataset)

    def __getitem__(self, idx: int) -> Any:
        """Sample `idx % len(dataset)` of the wrapped dataset."""
        if not -len(self) <= idx < len(self):
            raise IndexError(f"index {idx} is out of range for a dataset of {len(self)} samples")
        return self.dataset[idx % self._ori_len]

    def __len__(self) -> int:
        """Length after repetition."""
        return self.times * self._ori_len

    def failure_report(self) -> list[SampleFailure]:
        """The wrapped dataset's decode failures (indices are the wrapped dataset's)."""
        report = getattr(self.dataset, "failure_report", None)
        return report() if report is not None else []

    def __repr__(self) -> str:
        return f"RepeatDataset({type(self.dataset).__name__}, times={self.times})"
