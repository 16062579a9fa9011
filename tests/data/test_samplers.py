"""DistributedSampler: deterministic, epoch-dependent, equal padded shards; the ordered evaluation
sampler: contiguous shards that cover every index exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidact.data.samplers import DistributedSampler, OrderedDistributedSampler, shard_range


def shards(n, replicas, **kwargs):
    return [list(DistributedSampler(range(n), replicas, rank, **kwargs)) for rank in range(replicas)]


def test_shuffled_shards_are_deterministic_and_change_with_the_epoch():
    first = shards(10, 3, seed=5)
    assert first == shards(10, 3, seed=5)
    assert all(len(s) == 4 for s in first)
    flat = [i for s in first for i in s]
    assert sorted(set(flat)) == list(range(10)) and len(flat) == 12  # 2 padded duplicates
    sampler = DistributedSampler(range(10), 3, 0, seed=5)
    sampler.set_epoch(1)
    assert list(sampler) != first[0]
    assert shards(10, 3, seed=6) != first


def test_seed_plus_epoch_picks_the_permutation():
    a = DistributedSampler(range(20), 1, 0, seed=3)
    a.set_epoch(2)
    assert list(a) == list(DistributedSampler(range(20), 1, 0, seed=5))
    assert list(DistributedSampler(range(20), 1, 0, seed=None)) == list(DistributedSampler(range(20), 1, 0, seed=0))


def test_unshuffled_shards_interleave_and_pad_with_the_head():
    assert shards(5, 2, shuffle=False) == [[0, 2, 4], [1, 3, 0]]
    assert shards(2, 4, shuffle=False) == [[0], [1], [0], [1]]  # more ranks than samples
    assert shards(0, 2) == [[], []]


def test_defaults_without_a_process_group():
    sampler = DistributedSampler(range(7))
    assert (sampler.num_replicas, sampler.rank, len(sampler)) == (1, 0, 7)
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(7), 2, 2)


@given(n=st.integers(0, 200), replicas=st.integers(1, 9), seed=st.integers(0, 100), epoch=st.integers(0, 5))
def test_padded_shards_cover_everything_evenly(n, replicas, seed, epoch):
    out = []
    for rank in range(replicas):
        sampler = DistributedSampler(range(n), replicas, rank, seed=seed)
        sampler.set_epoch(epoch)
        out.append(list(sampler))
        assert len(out[-1]) == len(sampler) == -(-n // replicas)
    flat = [i for s in out for i in s]
    assert set(flat) == set(range(n))


@given(n=st.integers(0, 200), replicas=st.integers(1, 9))
def test_ordered_shards_cover_every_index_exactly_once_in_order(n, replicas):
    parts = [list(OrderedDistributedSampler(range(n), replicas, rank)) for rank in range(replicas)]
    assert [i for part in parts for i in part] == list(range(n))
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_ordered_sampler_by_hand():
    assert [list(shard_range(10, 4, r)) for r in range(4)] == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    sampler = OrderedDistributedSampler(range(10), 4, 2)
    sampler.set_epoch(3)
    assert list(sampler) == [6, 7] and len(sampler) == 2
