"""Distributed helpers: single-process fallbacks, and 2 gloo processes on CPU for gradient
averaging and ordered result gathering."""

from __future__ import annotations

import logging
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from vidact.engine import distributed as vdist

WORLD_SIZE = 2
DATASET_LEN = 7  # uneven over 2 ranks: the sampler pads rank 1 with a repeat of index 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(worker, port: int) -> None:
    # fork skips re-importing torch in each child (seconds on a loaded machine); spawn where fork
    # is unavailable or CUDA is already initialised (CUDA does not survive a fork)
    fork = "fork" in mp.get_all_start_methods() and not torch.cuda.is_initialized()
    mp.start_processes(worker, args=(port,), nprocs=WORLD_SIZE, join=True, start_method="fork" if fork else "spawn")


def _join(rank: int, port: int) -> vdist.DistInfo:
    torch.set_num_threads(1)  # also keeps a forked child off the parent's OpenMP pool
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD_SIZE)
    )
    return vdist.init_distributed("gloo")


def _params(rank: int) -> list[nn.Parameter]:
    """Rank-dependent gradients of two dtypes, plus one parameter without a gradient."""
    shapes = [(3, 4), (5,), (2, 2, 2), (1,)]
    params = [nn.Parameter(torch.zeros(s)) for s in shapes] + [nn.Parameter(torch.zeros(3, dtype=torch.float64))]
    for i, p in enumerate(params):
        p.grad = torch.full_like(p, float(rank + 1)) * (i + 1) + torch.arange(p.numel(), dtype=p.dtype).view_as(p)
    params.append(nn.Parameter(torch.zeros(2)))  # grad None: skipped
    return params


def _allreduce_worker(rank: int, port: int) -> None:
    info = _join(rank, port)
    assert (info.rank, info.world_size, info.is_distributed, info.backend) == (rank, 2, True, "gloo")
    assert info.device == torch.device("cpu")
    assert vdist.get_rank() == rank and vdist.get_world_size() == 2 and vdist.is_main_process() == (rank == 0)
    assert vdist.rank_zero_only(lambda: "ran")() == ("ran" if rank == 0 else None)
    # mean of (r + 1) over ranks 0 and 1 is 1.5
    want = [p.grad.clone() + (1.5 - 1) * (i + 1) for i, p in enumerate(_params(0)[:-1])]
    for kwargs in ({}, {"coalesce": False}, {"bucket_size_mb": 1e-5}):  # 1e-5 MiB ~ 10 bytes: a bucket per tensor
        params = _params(rank)
        vdist.allreduce_grads(params, **kwargs)
        for p, w in zip(params, want):
            torch.testing.assert_close(p.grad, w, msg=lambda m: f"{kwargs}: {m}")
        assert params[-1].grad is None
    vdist.barrier()
    vdist.cleanup()


def _gather_worker(rank: int, port: int) -> None:
    _join(rank, port)
    indices = list(range(rank, DATASET_LEN, WORLD_SIZE))
    if len(indices) < 4:
        indices.append(0)  # the sampler's padding duplicate
    results = [{"index": i, "score": torch.tensor([float(i)]), "rank": rank} for i in indices]
    for gpu_collect in (False, True):
        gathered = vdist.gather_ordered(results, indices, DATASET_LEN, gpu_collect=gpu_collect)
        if rank == 0:
            assert [r["index"] for r in gathered] == list(range(DATASET_LEN)), gpu_collect
            assert [float(r["score"]) for r in gathered] == [float(i) for i in range(DATASET_LEN)]
            assert gathered[0]["rank"] == 0  # the padding duplicate from rank 1 is dropped
        else:
            assert gathered is None
    vdist.cleanup()


@pytest.mark.distributed
def test_allreduce_grads_averages_across_two_processes() -> None:
    _spawn(_allreduce_worker, _free_port())


@pytest.mark.distributed
def test_gather_ordered_uneven_split_two_processes() -> None:
    _spawn(_gather_worker, _free_port())


# ---- single process ----------------------------------------------------------------------------


def test_single_process_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    info = vdist.init_distributed()
    assert (info.rank, info.world_size, info.is_distributed, info.backend) == (0, 1, False, None)
    assert info.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert vdist.get_rank() == 0 and vdist.get_world_size() == 1 and vdist.is_main_process()
    vdist.barrier()
    params = _params(0)
    before = [p.grad.clone() for p in params[:-1]]
    vdist.allreduce_grads(params)
    for p, b in zip(params, before):
        assert torch.equal(p.grad, b)
    vdist.cleanup()


def test_gather_ordered_single_process() -> None:
    assert vdist.gather_ordered(["c", "a", "b", "a2"], [2, 0, 1, 0], 3) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="first missing index 1"):
        vdist.gather_ordered(["a"], [0], 2)
    with pytest.raises(ValueError, match="outside the dataset"):
        vdist.gather_ordered(["a"], [5], 2)
    with pytest.raises(ValueError, match="2 results but 1 indices"):
        vdist.gather_ordered(["a", "b"], [0], 2)


def test_buckets_respect_dtype_and_size() -> None:
    tensors = [torch.zeros(256), torch.zeros(256, dtype=torch.float64), torch.zeros(256), torch.zeros(256)]
    buckets = vdist._buckets(tensors, bucket_size_mb=-1)
    assert [len(b) for b in buckets] == [3, 1]
    small = vdist._buckets(tensors, bucket_size_mb=2048 / 2**20)  # 2 KiB: two float32 tensors per bucket
    assert [[t.dtype for t in b] for b in small] == [[torch.float32, torch.float32], [torch.float64], [torch.float32]]


def test_rank_zero_filter_passes_on_rank_zero(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("vidact.test.rank_zero")
    logger.addFilter(vdist.RankZeroFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("hello")
    assert "hello" in caplog.text


def test_nccl_without_cuda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="nccl needs CUDA"):
        vdist.init_distributed("nccl")


def test_srun_tasks_get_torchrun_variables():
    from vidact.engine.distributed import first_host, slurm_to_torchrun_env

    env = {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_JOB_NODELIST": "gpu[003-004,010]"}
    assert slurm_to_torchrun_env(env)
    assert (env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"]) == ("5", "8", "1")
    assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("gpu003", "29500")
    torchrun = {"RANK": "0", "SLURM_PROCID": "1", "SLURM_NTASKS": "2"}  # torchrun under srun: left alone
    assert not slurm_to_torchrun_env(torchrun) and torchrun["RANK"] == "0"
    single = {"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}  # one task (e.g. sbatch): not distributed
    assert not slurm_to_torchrun_env(single) and "RANK" not in single
    assert [first_host(n) for n in ("node7", "a1,b2", "n[1-3]", "x[08,09]-y", "")] == ["node7", "a1", "n1", "x08-y", ""]
