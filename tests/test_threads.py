"""The CPU thread rule: intra-op threads from the cores loader workers and decoders leave."""

from __future__ import annotations

import pytest

from vidact.threads import decoder_threads, default_passive_wait, intra_op_threads


@pytest.mark.parametrize(
    ("cores", "workers", "decode", "ranks", "expected"),
    [
        (2, 1, 1, 1, 1),   # the toy recipe on the 2-core machine: one core for the worker, one for torch
        (2, 0, 1, 1, 2),   # decoding in this process, between steps: every core computes
        (16, 4, 1, 1, 12),
        (16, 4, 2, 1, 8),
        (16, 2, 1, 4, 2),  # 4 torchrun ranks on the node: 4 cores each, 2 of them for workers
        (4, 8, 1, 1, 1),   # more workers than cores: still one thread
        (1, 0, 1, 3, 1),
    ],
)
def test_intra_op_threads(cores, workers, decode, ranks, expected):
    assert intra_op_threads(workers, decode, cores=cores, local_ranks=ranks) == expected


def test_decoder_threads_from_the_pipeline():
    assert decoder_threads([{"type": "PyAVInit"}, {"type": "PyAVDecode"}], cores=8) == 1
    assert decoder_threads([{"type": "PyAVDecode", "multi_thread": True}], cores=8) == 8
    assert decoder_threads([{"type": "DecordInit", "num_threads": 3}], cores=8) == 3
    assert decoder_threads([{"type": "DecordInit", "num_threads": 0}], cores=8) == 8


def test_passive_wait_is_only_a_default():
    env: dict[str, str] = {}
    default_passive_wait(env)
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    default_passive_wait(env)
    assert env == {"OMP_WAIT_POLICY": "ACTIVE"}
