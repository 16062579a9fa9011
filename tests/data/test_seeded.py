"""Per-sample seeds: the same sample draws the same augmentation in an epoch, whatever the workers,
and a pass can start mid-way without loading what it skips."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vidact.data.build import collate
from vidact.data.samplers import DistributedSampler
from vidact.data.seeded import ResumableSampler, SeededSamples, sample_seeds


class Draws(Dataset):
    """Item i is (i, a draw of np.random, a draw of random); counts the loads."""

    def __init__(self, n: int = 12) -> None:
        self.n, self.loaded = n, 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        self.loaded += 1
        return {"index": torch.tensor(i), "np": torch.tensor(np.random.rand()), "py": torch.tensor(random.random())}

    def evaluate(self) -> str:
        return "forwarded"


def _epoch(loader: DataLoader, epoch: int) -> dict[int, tuple[float, float]]:
    loader.sampler.set_epoch(epoch)
    out = {}
    for batch in loader:
        for i, a, b in zip(batch["index"].tolist(), batch["np"].tolist(), batch["py"].tolist()):
            out[i] = (a, b)
    return out


def _loader(data: Draws, workers: int, seed: int = 3) -> DataLoader:
    sampler = ResumableSampler(DistributedSampler(data, num_replicas=1, rank=0, seed=seed), seed)
    return DataLoader(SeededSamples(data), batch_size=4, sampler=sampler, num_workers=workers, collate_fn=collate)


def test_draws_depend_on_epoch_and_index_not_on_workers():
    data = Draws()
    alone, workers = _epoch(_loader(data, 0), 1), _epoch(_loader(data, 2), 1)
    assert alone == workers and len(alone) == 12
    assert _epoch(_loader(data, 0), 2) != alone  # a new epoch draws anew
    assert len({v for v in alone.values()}) == 12  # samples differ from each other


def test_skip_starts_the_next_pass_only_and_loads_nothing_skipped():
    data = Draws()
    loader = _loader(data, 0)
    full = [b["index"].tolist() for b in loader]
    data.loaded = 0
    loader.sampler.skip(8)
    rest = [b["index"].tolist() for b in loader]
    assert rest == full[2:] and data.loaded == 4
    assert [b["index"].tolist() for b in loader] == full  # the skip applied once
    assert len(loader) == 3


def test_wrapper_forwards_dataset_attributes_and_plain_indices():
    wrapped = SeededSamples(Draws())
    assert wrapped.evaluate() == "forwarded" and len(wrapped) == 12
    assert int(wrapped[5]["index"]) == 5


def test_sample_seeds_fit_numpy_and_differ():
    seeds = sample_seeds(2**40, 7, np.arange(1000))
    assert seeds.min() >= 0 and seeds.max() < 2**32 and len(set(seeds.tolist())) == 1000
    assert not np.array_equal(seeds, sample_seeds(2**40, 8, np.arange(1000)))
