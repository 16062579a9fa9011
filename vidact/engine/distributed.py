"""Distributed runs under torchrun: device and backend choice, rank helpers, gradient averaging and
results gathered back into dataset order.

Every helper also works in a single process (no process group): ranks are 0 of 1 and collectives
are no-ops, so the trainer calls them unconditionally.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str | None
    is_distributed: bool


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def slurm_to_torchrun_env(environ: dict[str, str] | None = None) -> bool:
    """Describe an `srun`-launched task the way torchrun would (RANK, LOCAL_RANK, WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT) from Slurm's variables, so `srun vidact train ...` with one task per
    GPU joins one process group. Nothing changes when RANK is already set (torchrun, maybe under
    srun) or the step has a single task. MASTER_ADDR defaults to the step's first node and
    MASTER_PORT to 29500.

    Returns:
        True when the variables were filled in.
    """
    env = os.environ if environ is None else environ
    if "RANK" in env or "SLURM_PROCID" not in env or int(env.get("SLURM_NTASKS", "1") or 1) <= 1:
        return False
    env["RANK"] = env["SLURM_PROCID"]
    env["WORLD_SIZE"] = env["SLURM_NTASKS"]
    env["LOCAL_RANK"] = env.get("SLURM_LOCALID", "0")
    nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST", "")
    env.setdefault("MASTER_ADDR", first_host(nodelist) or "127.0.0.1")
    env.setdefault("MASTER_PORT", "29500")
    return True


def first_host(nodelist: str) -> str:
    """The first host name of a Slurm node list: 'gpu[003-004,010],cpu1' -> 'gpu003'."""
    depth, end = 0, len(nodelist)
    for i, char in enumerate(nodelist):  # the first entry ends at the first comma outside brackets
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            end = i
            break
    entry = nodelist[:end].strip()
    if "[" not in entry:
        return entry
    prefix, rest = entry.split("[", 1)
    ranges, suffix = rest.split("]", 1) if "]" in rest else (rest, "")
    return prefix + ranges.split(",", 1)[0].split("-", 1)[0] + suffix


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group torchrun (or Slurm's srun) describes, or run alone.

    torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) are read as they
    are; a task started by `srun` with several tasks gets them from Slurm's
    (`slurm_to_torchrun_env`).

    Args:
        backend: 'nccl' or 'gloo'; None picks nccl when CUDA is available, gloo otherwise.

    Returns:
        The rank, world size and device (cuda:LOCAL_RANK with CUDA, else cpu). Without
        WORLD_SIZE > 1 nothing is initialised and `is_distributed` is False.
    """
    slurm_to_torchrun_env()
    rank, local_rank, world_size = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0), _env_int("WORLD_SIZE", 1)
    cuda = torch.cuda.is_available()
    if world_size <= 1 and not (dist.is_available() and dist.is_initialized()):
        device = torch.device("cuda", torch.cuda.current_device()) if cuda else torch.device("cpu")
        return DistInfo(0, 0, 1, device, None, False)
    backend = backend or ("nccl" if cuda else "gloo")
    if backend == "nccl" and not cuda:
        raise RuntimeError("backend nccl needs CUDA; use gloo on CPU (dist_params.backend: gloo or null)")
    if cuda:
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} CUDA devices; "
                "start at most one process per GPU (torchrun --nproc-per-node)"
            )
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
    info = DistInfo(dist.get_rank(), local_rank, dist.get_world_size(), device, dist.get_backend(), True)
    log.debug("distributed: rank %d/%d on %s (%s)", info.rank, info.world_size, device, info.backend)
    return info


def cleanup() -> None:
    """Leave the process group (no-op when none)."""
    global _cpu_group
    if _initialized():
        dist.destroy_process_group()
    _cpu_group = None


def _initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's global rank (0 when not distributed)."""
    return dist.get_rank() if _initialized() else 0


def get_world_size() -> int:
    """The number of processes (1 when not distributed)."""
    return dist.get_world_size() if _initialized() else 1


def is_main_process() -> bool:
    """True on rank 0 (and in a single process)."""
    return get_rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if _initialized():
        dist.barrier()


def rank_zero_only(fn: F) -> F:
    """Decorator: run `fn` on rank 0 only; other ranks get None."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs) if is_main_process() else None

    return wrapper  # type: ignore[return-value]


class RankZeroFilter(logging.Filter):
    """Logging filter passing records on rank 0 only; add it to handlers that should not repeat
    one line per process (`print` is never patched)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return is_main_process()


# ---- gradients ---------------------------------------------------------------------------------


def allreduce_grads(params: Iterable[nn.Parameter], coalesce: bool = True, bucket_size_mb: int = -1) -> None:
    """Average the gradients of `params` across ranks, in place (the reference's semantics).

    Args:
        params: the model's parameters; those without a gradient are skipped (every rank must
            have gradients for the same parameters).
        coalesce: all-reduce flat buckets of gradients instead of one call per tensor.
        bucket_size_mb: the largest bucket in MiB; <= 0 makes one bucket per dtype and device.
    """
    world_size = get_world_size()
    if world_size == 1:
        return
    grads = [p.grad for p in params if p.requires_grad and p.grad is not None]
    if not coalesce:
        for grad in grads:
            dist.all_reduce(grad.div_(world_size))
        return
    for bucket in _buckets(grads, bucket_size_mb):
        flat = torch.cat([g.reshape(-1) for g in bucket])
        dist.all_reduce(flat)
        flat.div_(world_size)
        offset = 0
        for grad in bucket:
            grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
            offset += grad.numel()


def broadcast_bn_buffers(module: nn.Module, src: int = 0) -> None:
    """Copy rank `src`'s BatchNorm running statistics to every rank, in place (the reference
    DistEvalHook's `broadcast_bn_buffer`).

    DDP broadcasts buffers at the start of each training forward, but the forward then updates
    them from each rank's own batch, so after training the ranks' running statistics differ.
    Call this before distributed evaluation so every shard is scored by the model rank 0 saves.
    No-op in a single process.
    """
    if get_world_size() == 1:
        return
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm) and sub.track_running_stats:
            for buffer in (sub.running_mean, sub.running_var, sub.num_batches_tracked):
                if buffer is not None:
                    dist.broadcast(buffer, src)


def _buckets(tensors: Sequence[torch.Tensor], bucket_size_mb: int) -> list[list[torch.Tensor]]:
    """Group by (dtype, device) so each bucket flattens into one tensor; split at the size cap."""
    limit = bucket_size_mb * 1024 * 1024 if bucket_size_mb > 0 else None
    buckets: list[list[torch.Tensor]] = []
    open_bucket: dict[tuple[torch.dtype, torch.device], tuple[list[torch.Tensor], list[int]]] = {}
    for tensor in tensors:
        key = (tensor.dtype, tensor.device)
        nbytes = tensor.numel() * tensor.element_size()
        entry = open_bucket.get(key)
        if entry is None or (limit is not None and entry[1][0] + nbytes > limit and entry[0]):
            entry = ([], [0])
            open_bucket[key] = entry
            buckets.append(entry[0])
        entry[0].append(tensor)
        entry[1][0] += nbytes
    return buckets


# ---- ordered result gathering ------------------------------------------------------------------

_cpu_group: Any = None


def _object_group() -> Any:
    """A gloo group for CPU object collectives, so `gpu_collect=False` never touches GPU memory."""
    global _cpu_group
    if dist.get_backend() == "gloo":
        return None  # the default group already works on CPU
    if _cpu_group is None:
        _cpu_group = dist.new_group(backend="gloo")
    return _cpu_group


def gather_ordered(
    local_results: Sequence[Any], indices: Sequence[int], dataset_len: int, *, gpu_collect: bool = False
) -> list[Any] | None:
    """Collect every rank's results on rank 0, in dataset order, each sample once.

    A distributed sampler pads the last round by repeating samples; results are keyed by their
    dataset index, so duplicates are dropped and the order does not depend on how the dataset
    was split.

    Args:
        local_results: this rank's results, one per sample it processed.
        indices: the dataset index of each result (same length).
        dataset_len: the number of samples in the dataset.
        gpu_collect: gather through tensors on the process group's device (the reference's GPU
            path) instead of CPU object collectives.

    Returns:
        On rank 0, `dataset_len` results ordered by index; None on other ranks.

    Raises:
        ValueError: lengths differ, or some index in range(dataset_len) came from no rank.
    """
    if len(local_results) != len(indices):
        raise ValueError(f"{len(local_results)} results but {len(indices)} indices")
    part = (list(indices), list(local_results))
    if not _initialized() or dist.get_world_size() == 1:
        parts = [part]
    elif gpu_collect:
        parts = _gather_tensors(part)
    else:
        parts = _gather_objects(part)
    if parts is None:
        return None
    return _order(parts, dataset_len)


def _gather_objects(part: Any) -> list[Any] | None:
    group = _object_group()
    rank = dist.get_rank()
    out: list[Any] | None = [None] * dist.get_world_size() if rank == 0 else None
    dist.gather_object(part, out, dst=0, group=group)
    return out


def _gather_tensors(part: Any) -> list[Any] | None:
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    payload = torch.frombuffer(bytearray(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)), dtype=torch.uint8)
    size = torch.tensor([payload.numel()], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    max_size = int(max(s.item() for s in sizes))
    padded = torch.zeros(max_size, dtype=torch.uint8, device=device)
    padded[: payload.numel()] = payload.to(device)
    chunks = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(chunks, padded)
    if dist.get_rank() != 0:
        return None
    return [pickle.loads(chunk[: int(n.item())].cpu().numpy().tobytes()) for chunk, n in zip(chunks, sizes)]


def _order(parts: Sequence[tuple[list[int], list[Any]]], dataset_len: int) -> list[Any]:
    ordered: list[Any] = [None] * dataset_len
    filled = [False] * dataset_len
    for indices, results in parts:
        for index, result in zip(indices, results):
            if not 0 <= index < dataset_len:
                raise ValueError(f"result index {index} outside the dataset (length {dataset_len})")
            if not filled[index]:
                ordered[index], filled[index] = result, True
    missing = filled.count(False)
    if missing:
        first = filled.index(False)
        raise ValueError(f"{missing} of {dataset_len} samples have no result (first missing index {first})")
    return ordered
