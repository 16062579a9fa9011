"""`RepeatDataset`: one epoch walks the wrapped dataset `times` times (cheaper epochs on small data)."""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset

from vidact.data.datasets.failures import SampleFailure


class RepeatDataset(Dataset):
    """A wrapper of repeated dataset.

    The length of repeated dataset will be `times` larger than the original dataset. This is useful
    when the data loading time is long but the dataset is small.

    Args:
        dataset: the dataset to be repeated.
        times: repeat times.
    """

    def __init__(self, dataset: Any, times: int) -> None:
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be an int >= 1, got {times!r}")
        self.dataset = dataset
        self.times = times
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
