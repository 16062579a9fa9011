"""Per-sample seeding and a resumable sampler: what makes a resumed epoch repeat an uninterrupted one.

The pipelines draw their randomness (frame offsets, crops, flips) from `np.random` and Python's
`random`. A loader's random streams depend on which worker got which sample and on everything the
worker drew before, so a run that restarts mid-epoch would draw different augmentations from the
one that never stopped. `ResumableSampler` yields `(index, sample_seed)` pairs whose seed depends
only on (base seed, epoch, dataset index), and `SeededSamples` seeds both generators with it
before loading the sample. The same sample then gets the same augmentation in the same epoch
whatever the number of workers or ranks, and `skip(n)` starts the next pass after the first `n`
samples without decoding them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Sampler

_MIX = np.uint64(0x9E3779B97F4A7C15)


def sample_seeds(seed: int, epoch: int, indices: np.ndarray) -> np.ndarray:
    """A 32-bit seed per dataset index, a fixed function of (seed, epoch, index) (SplitMix64 mixing)."""
    with np.errstate(over="ignore"):
        key = np.uint64(seed % 2**64) * _MIX + np.uint64(epoch % 2**32) * np.uint64(0xBF58476D1CE4E5B9)
        z = indices.astype(np.uint64) + key
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(32)).astype(np.int64)


class ResumableSampler(Sampler):
    """Wrap an index sampler: yield `(index, seed)` pairs and start a pass at any position.

    Args:
        sampler: yields dataset indices (e.g. `DistributedSampler`); its `set_epoch` is forwarded.
        seed: base seed of the per-sample seeds.
    """

    def __init__(self, sampler: Sampler[int], seed: int = 0) -> None:
        self.sampler, self.seed = sampler, int(seed)
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def skip(self, num_samples: int) -> None:
        """Leave out the first `num_samples` of the next pass only (resuming mid-epoch)."""
        self._skip = max(0, int(num_samples))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = np.fromiter(iter(self.sampler), dtype=np.int64)
        start, self._skip = self._skip, 0
        indices = indices[start:]
        seeds = sample_seeds(self.seed, self.epoch, indices)
        return iter(zip(indices.tolist(), seeds.tolist()))

    def __len__(self) -> int:
        """The full pass (a skipped start does not change how many batches an epoch has)."""
        return len(self.sampler)  # type: ignore[arg-type]


class SeededSamples(Dataset):
    """Dataset view whose items are `(index, seed)`: seeds `random` and `np.random`, then loads.

    Attributes other than item access (`evaluate`, `failure_report`, `video_infos`, ...) are the
    wrapped dataset's; plain integer indices load without reseeding.
    """

    def __init__(self, dataset: Sized) -> None:
        self.dataset = dataset

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, tuple):
            index, seed = item
            random.seed(seed)
            np.random.seed(seed)
            return self.dataset[index]  # type: ignore[index]
        return self.dataset[item]  # type: ignore[index]

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not yet set (unpickling): avoid recursing
            raise AttributeError(name)
        return getattr(self.dataset, name)
