"""Index samplers for distributed runs: shuffled padded shards for training, ordered exact shards for evaluation.

`DistributedSampler` follows the reference: every rank gets `ceil(N / replicas)` indices (the list is
padded by repeating its head) from one permutation seeded by `seed + epoch`. Evaluation wants every
sample exactly once and results back in dataset order, so `OrderedDistributedSampler` gives each
rank one contiguous block instead: concatenating the ranks' outputs in rank order is dataset order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import torch
from torch.utils.data import Sampler


def dist_info() -> tuple[int, int]:
    """(rank, world_size) of the initialised default process group, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _replicas_and_rank(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    default_rank, world_size = dist_info()
    num_replicas = world_size if num_replicas is None else num_replicas
    rank = default_rank if rank is None else rank
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
    if not 0 <= rank < num_replicas:
        raise ValueError(f"rank must lie in [0, {num_replicas - 1}], got {rank}")
    return num_replicas, rank


class DistributedSampler(Sampler[int]):
    """This rank's share of a (shuffled) index list, padded so every rank gets as many.

    Rank r takes positions r, r + R, r + 2R, ... of the list; the permutation depends only on
    `seed + epoch`, so every rank draws the same one and `set_epoch` reshuffles.

    Args:
        dataset: anything with a length.
        num_replicas: number of ranks (default: the process group's world size, or 1).
        rank: this rank (default: the process group's rank, or 0).
        shuffle: permute the indices each epoch (else 0, 1, 2, ...).
        seed: base seed shared by all ranks; None means 0.
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int | None = 0) -> None:
        self.dataset = dataset
        self.num_replicas, self.rank = _replicas_and_rank(num_replicas, rank)
        self.shuffle = shuffle
        self.seed = seed if seed is not None else 0
        self.epoch = 0
        self.num_samples = math.ceil(len(dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        num_items = len(self.dataset)
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(num_items, generator=generator)
        else:
            indices = torch.arange(num_items)
        if num_items and self.total_size > num_items:
            # Pad with the list's head (repeated whole when there are more ranks than samples).
            indices = indices.repeat(math.ceil(self.total_size / num_items))[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of `epoch` from the next iteration on."""
        self.epoch = epoch


def shard_range(num_items: int, num_replicas: int, rank: int) -> range:
    """The contiguous block of [0, num_items) that `rank` evaluates; sizes differ by at most one,
    larger blocks first."""
    base, extra = divmod(num_items, num_replicas)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (rank < extra))


class OrderedDistributedSampler(Sampler[int]):
    """This rank's contiguous block of indices, without padding: every sample is seen exactly once.

    For evaluation: rank r gets `shard_range(N, R, r)`, so gathering each rank's results and
    concatenating them in rank order gives dataset order. Ranks may differ by one sample, so
    collective calls per batch must allow that (gather the per-rank results once at the end).

    Args:
        dataset: anything with a length.
        num_replicas: number of ranks (default: the process group's world size, or 1).
        rank: this rank (default: the process group's rank, or 0).
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None) -> None:
        self.dataset = dataset
        self.num_replicas, self.rank = _replicas_and_rank(num_replicas, rank)

    @property
    def indices(self) -> range:
        """The indices of this rank, in order."""
        return shard_range(len(self.dataset), self.num_replicas, self.rank)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        """Accepted for interface compatibility; the order never changes."""
