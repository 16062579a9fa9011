"""Specs (or plain `{type: ..., ...}` dicts) -> pipeline steps, pipelines, datasets and DataLoaders.

A dict is validated through the same pydantic spec a recipe uses, so a bad entry fails with the
message `vidact recipe validate` would print. A spec's fields, minus `type`, become the keyword
arguments of the registered class. `collate` batches samples, honouring `DataContainer` flags.
"""

from __future__ import annotations

import ctypes
import logging
import os
import random
import signal
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, TypeAdapter, ValidationError
from torch.utils.data import DataLoader

from vidact.data.pipelines import Compose, DataContainer
from vidact.data.registry import DATASETS, PIPELINES
from vidact.data.samplers import DistributedSampler, dist_info
from vidact.parallel import prepare_worker_start
from vidact.schemas.data import Dataset as DatasetUnion
from vidact.schemas.data import PipelineStep, RepeatDatasetSpec
from vidact.schemas.load import Problem, RecipeProblems, validation_problems
from vidact.schemas.recipe import FAMILIES

log = logging.getLogger(__name__)

Step = Callable[[dict[str, Any]], Any]

_DATASET_SPECS: dict[str, type[BaseModel]] = {
    typing.get_args(spec.model_fields["type"].annotation)[0]: spec for spec in FAMILIES["datasets"]
}
_STEP_ADAPTER: TypeAdapter = TypeAdapter(PipelineStep)
_DATASET_ADAPTER: TypeAdapter = TypeAdapter(DatasetUnion)
# Where a step / dataset sits inside a Recipe, so errors are described exactly as for recipes.
_STEP_LOC = ("data", "train", "VideoDataset", "pipeline", 0)
_STEP_PATH = "data.train.pipeline[0]"
_DATASET_LOC = ("data", "train")
_DATASET_PATH = "data.train"


# ---- validation --------------------------------------------------------------------------------


class _RecipeLocated:
    """A ValidationError seen from the recipe root: its locations are prefixed with `prefix`."""

    def __init__(self, exc: ValidationError, prefix: tuple[str | int, ...]) -> None:
        self._exc, self._prefix = exc, prefix

    def errors(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [{**e, "loc": (*self._prefix, *e["loc"])} for e in self._exc.errors(**kwargs)]


def _validate(adapter: TypeAdapter, cfg: Mapping[str, Any], loc: tuple, path: str, shown_as: str,
              subject: str) -> BaseModel:
    """Validate `cfg`, reporting problems at `shown_as` + the key path inside `cfg`."""
    try:
        return adapter.validate_python(dict(cfg))
    except ValidationError as exc:
        problems = validation_problems(_RecipeLocated(exc, loc), {}, "")  # type: ignore[arg-type]
        relocated = []
        for problem in problems:
            rest = problem.path[len(path):] if problem.path.startswith(path) else problem.path
            where = (shown_as + rest) if shown_as else rest.lstrip(".")
            relocated.append(Problem(where, problem.message))
        raise RecipeProblems(subject, relocated) from None


def _spec_kwargs(spec: BaseModel, *, deep: bool) -> dict[str, Any]:
    """A spec's fields minus `type`; `deep` turns nested specs into plain dicts too."""
    if deep:
        return spec.model_dump(exclude={"type"})
    return {name: getattr(spec, name) for name in type(spec).model_fields if name != "type"}


# ---- pipelines ---------------------------------------------------------------------------------


def build_pipeline_step(spec_or_dict: BaseModel | Mapping[str, Any] | Step, *, where: str = "") -> Step:
    """Build one pipeline step from its spec, a `{type: ..., ...}` dict, or return a callable as is.

    Args:
        spec_or_dict: a step spec (`SampleFramesSpec`, ...), a dict, or an already built step.
        where: how error messages name the step, e.g. 'pipeline[3]'.

    Raises:
        RecipeProblems: the dict does not validate (unknown type, bad or unknown keys).
        TypeError: neither a spec, a dict nor a callable.
    """
    if isinstance(spec_or_dict, Mapping):
        subject = f"invalid pipeline step '{spec_or_dict.get('type', '?')}'"
        spec_or_dict = _validate(_STEP_ADAPTER, spec_or_dict, _STEP_LOC, _STEP_PATH, where, subject)
    if isinstance(spec_or_dict, BaseModel):
        cls = PIPELINES.get(spec_or_dict.type)
        return cls(**_spec_kwargs(spec_or_dict, deep=True))
    if callable(spec_or_dict):
        return spec_or_dict
    raise TypeError(f"{where or 'pipeline step'}: expected a spec, a dict or a callable, "
                    f"got {type(spec_or_dict).__name__}")


def build_pipeline(steps: Sequence[BaseModel | Mapping[str, Any] | Step] | Compose) -> Compose:
    """Build a `Compose` from step specs, dicts and callables (mixed); a `Compose` is returned as is."""
    if isinstance(steps, Compose):
        return steps
    if isinstance(steps, (str, bytes, Mapping)) or not isinstance(steps, Sequence):
        raise TypeError(f"pipeline must be a list of steps, got {type(steps).__name__}")
    return Compose([build_pipeline_step(step, where=f"pipeline[{i}]") for i, step in enumerate(steps)])


# ---- datasets ----------------------------------------------------------------------------------


def build_dataset(cfg: BaseModel | Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> Any:
    """Build a dataset from its spec or a `{type: ..., ...}` dict.

    Args:
        cfg: a dataset spec (`VideoDatasetSpec`, `RepeatDatasetSpec`, ...) or a dict.
        default_args: values for keys `cfg` does not set, e.g. `{"test_mode": True}`. Keys the
            spec does not know (such as `failure_budget`) go to the constructor as they are.
            `RepeatDataset` passes them on to the dataset it wraps.

    Raises:
        RecipeProblems: the config does not validate.
    """
    default_args = dict(default_args or {})
    if isinstance(cfg, Mapping):
        spec = _validate(_DATASET_ADAPTER, _with_defaults(dict(cfg), default_args), _DATASET_LOC,
                         _DATASET_PATH, "", f"invalid dataset config '{cfg.get('type', '?')}'")
    elif isinstance(cfg, BaseModel):
        spec = cfg
        if default_args and not isinstance(spec, RepeatDatasetSpec):
            plain = _with_defaults(spec.model_dump(exclude_unset=True), default_args)
            spec = _validate(_DATASET_ADAPTER, plain, _DATASET_LOC, _DATASET_PATH, "",
                             f"invalid dataset config '{spec.type}'")
    else:
        raise TypeError(f"dataset config must be a spec or a dict, got {type(cfg).__name__}")
    if isinstance(spec, RepeatDatasetSpec):
        return DATASETS.get("RepeatDataset")(build_dataset(spec.dataset, default_args), spec.times)
    known = type(spec).model_fields
    extra = {key: value for key, value in default_args.items() if key not in known}
    return DATASETS.get(spec.type)(**_spec_kwargs(spec, deep=False), **extra)


def _with_defaults(cfg: dict[str, Any], default_args: Mapping[str, Any]) -> dict[str, Any]:
    """`cfg` plus the default args its spec knows, where `cfg` has no value (RepeatDataset: none)."""
    if cfg.get("type") == "RepeatDataset":
        return cfg
    spec_cls = _DATASET_SPECS.get(cfg.get("type"))
    known = spec_cls.model_fields if spec_cls is not None else {}
    return {**{k: v for k, v in default_args.items() if k in known}, **cfg}


# ---- loaders -----------------------------------------------------------------------------------


def build_dataloader(
    dataset: Any,
    videos_per_gpu: int,
    workers_per_gpu: int,
    num_gpus: int = 1,
    dist: bool = True,
    shuffle: bool = True,
    seed: int | None = None,
    drop_last: bool = False,
    pin_memory: bool = True,
    **kwargs: Any,
) -> DataLoader:
    """Build a DataLoader: one per process in distributed runs, one for all GPUs otherwise.

    With `dist`, a `DistributedSampler` (rank and world size from the process group) shards and
    shuffles the data, and each process loads `videos_per_gpu` samples per batch with
    `workers_per_gpu` workers; otherwise batches hold `num_gpus * videos_per_gpu` samples.

    Determinism: with a `seed`, the shuffle order (sampler or DataLoader generator) and every
    worker's `random` and NumPy state (`worker_init_fn`) are fixed, so two loaders built alike
    yield the same batches. Workers persist across epochs (their random streams go on rather than
    restart) unless `persistent_workers=False` is passed. Memory is pinned only when CUDA is there.
    Each worker process first runs `configure_worker_process` (a fixed glibc mmap threshold, so
    its memory stays flat), then the seeding or a `worker_init_fn` given in `kwargs`.

    Args:
        dataset: the dataset.
        videos_per_gpu: samples per batch and GPU.
        workers_per_gpu: loader worker processes per GPU (0 loads in the main process).
        num_gpus: GPUs served by this loader when not distributed.
        dist: distributed run (one loader per process).
        shuffle: reshuffle every epoch (call `loader.sampler.set_epoch(e)` when distributed).
        seed: base seed; None leaves shuffling and workers to torch's global RNG.
        drop_last: drop the last incomplete batch.
        pin_memory: pin batches in page-locked memory (only with CUDA).
        **kwargs: passed to `DataLoader` (they override the settings above).
    """
    rank, world_size = dist_info()
    if dist:
        sampler = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed)
        shuffle, batch_size, num_workers = False, videos_per_gpu, workers_per_gpu
    else:
        sampler = None
        batch_size, num_workers = num_gpus * videos_per_gpu, num_gpus * workers_per_gpu
    options: dict[str, Any] = dict(
        batch_size=batch_size,
        sampler=sampler,
        shuffle=shuffle,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=pin_memory and torch.cuda.is_available(),
        drop_last=drop_last,
        persistent_workers=num_workers > 0,
    )
    # A worker_init_fn passed by the caller replaces the seeding, not the process set-up.
    user_init = kwargs.pop("worker_init_fn", None)
    if user_init is None and seed is not None:
        user_init = partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed)
    options["worker_init_fn"] = partial(_init_worker, then=user_init)
    if seed is not None:
        options["generator"] = torch.Generator().manual_seed(seed)
    options.update(kwargs)
    if options["num_workers"] > 0:
        prepare_worker_start(options.get("multiprocessing_context"))
    return DataLoader(dataset, **options)


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Seed `random` and NumPy in a loader worker with `seed + rank * num_workers + worker_id`,
    distinct for every (rank, worker) pair."""
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2**32)
    random.seed(worker_seed)


def init_loader_worker(worker_id: int) -> None:
    """`worker_init_fn` for loaders built without `build_dataloader`: the same process set-up."""
    _init_worker(worker_id, None)


def _init_worker(worker_id: int, then: Callable[[int], None] | None) -> None:
    # Ctrl-C in a terminal reaches every process of the group: the main process decides (finish
    # the step and checkpoint, or stop) and shuts the workers down; a worker dying of it would
    # fail the batch the main process is waiting for.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_worker_process()
    if then is not None:
        then(worker_id)


# glibc's mallopt parameter, and the environment variables that already set it (or that turn
# off its dynamic adjustment, which is all we need).
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_M_TRIM_THRESHOLD = -1
_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def configure_worker_process() -> None:
    """Set up a DataLoader worker process: fix glibc's mmap threshold, so memory stays flat.

    Every loader worker calls this first. glibc raises its mmap threshold each time a large
    block from mmap is freed (up to 32 MiB), so after the first clips the multi-megabyte frame
    buffers come from the heap, which fragments and keeps its pages: a worker of the TSM
    pipeline grew from ~215 MB to a ~500 MB plateau within a few hundred clips. With the
    threshold fixed at glibc's initial 128 KiB, large buffers stay in mmap and go back to the
    system when freed, and the worker stays at its start size. Skipped where the C library is
    not glibc, or when the user tunes malloc through its MALLOC_*_ environment variables.

    OpenCV's thread count is left alone: `cv2.setNumThreads` in a forked worker, after the
    parent has used OpenCV's pool, waits forever on the pool's (unforked) threads.
    """
    if any(name in os.environ for name in _MALLOC_ENV):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        # glibc's defaults for the rest, in case the parent kept its freed memory for CPU training
        # (`vidact.engine.malloc.keep_freed_memory`): mmap allowed, heap trimmed above 128 KiB.
        libc.mallopt(_M_MMAP_MAX, 65536)
        libc.mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):  # not glibc
        log.debug("mallopt unavailable; leaving malloc settings as they are")


# ---- batching ----------------------------------------------------------------------------------


def collate(batch: Sequence[Any]) -> Any:
    """Batch samples (usually dicts from `Collect`) field by field.

    Per field: tensors and arrays are stacked (arrays become tensors); Python and NumPy numbers
    become a 1-D tensor; `DataContainer`s stay containers with the same flags, holding a padded
    stack (`stack=True`, not `cpu_only`) or the list of values; everything else, meta dicts
    included, becomes a list with one entry per sample.

    Raises:
        ValueError: samples to stack differ in shape, or a sample lacks a field.
    """
    if not batch:
        raise ValueError("cannot collate an empty batch")
    first = batch[0]
    if isinstance(first, Mapping):
        missing = [i for i, sample in enumerate(batch) if sample.keys() != first.keys()]
        if missing:
            raise ValueError(f"sample {missing[0]} of the batch has keys {sorted(batch[missing[0]])}, "
                             f"sample 0 has {sorted(first)}")
        return {key: _collate_field(key, [sample[key] for sample in batch]) for key in first}
    return _collate_field("sample", list(batch))


def _collate_field(key: str, values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, DataContainer):
        return _collate_containers(key, values)
    if isinstance(first, torch.Tensor):
        return _stack(key, values)
    if isinstance(first, np.ndarray) and first.dtype != object:
        return _stack(key, [torch.from_numpy(np.ascontiguousarray(v)) for v in values])
    if isinstance(first, (bool, int, float, np.number, np.bool_)):
        return torch.tensor(values)
    return list(values)


def _stack(key: str, tensors: list[torch.Tensor]) -> torch.Tensor:
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"cannot stack '{key}': samples have shapes {sorted(shapes)}; wrap it with "
                         "ToDataContainer (stack: false) to keep a list")
    return torch.stack(tensors)


def _collate_containers(key: str, containers: list[DataContainer]) -> DataContainer:
    first = containers[0]
    values = [c.data for c in containers]
    if first.stack and not first.cpu_only:
        values = _pad_stack(key, [torch.as_tensor(v) for v in values], first.pad_dims, first.padding_value)
    return DataContainer(values, stack=first.stack, padding_value=first.padding_value, cpu_only=first.cpu_only,
                         pad_dims=first.pad_dims)


def _pad_stack(key: str, tensors: list[torch.Tensor], pad_dims: int | None, value: float) -> torch.Tensor:
    """Stack, padding the last `pad_dims` dims up to the largest sample with `value`."""
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) == 1 or pad_dims is None:
        return _stack(key, tensors)
    ndim = tensors[0].dim()
    fixed = {shape[: ndim - pad_dims] for shape in shapes}
    if len(fixed) > 1 or any(len(shape) != ndim for shape in shapes):
        raise ValueError(f"cannot pad '{key}': samples differ outside the last {pad_dims} dims: {sorted(shapes)}")
    size = [max(dim) for dim in zip(*shapes, strict=True)]
    out = tensors[0].new_full((len(tensors), *size), value)
    for i, tensor in enumerate(tensors):
        out[(i, *(slice(0, n) for n in tensor.shape))] = tensor
    return out


def batch_to_device(batch: Any, device: torch.device | str, non_blocking: bool = False) -> Any:
    """Move a collated batch to `device`: tensors (also in lists, dicts and containers) move, the
    contents of `cpu_only` containers stay; containers are unwrapped to their data."""
    if isinstance(batch, DataContainer):
        return batch.data if batch.cpu_only else batch_to_device(batch.data, device, non_blocking)
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {key: batch_to_device(value, device, non_blocking) for key, value in batch.items()}
    if isinstance(batch, list):
        return [batch_to_device(value, device, non_blocking) for value in batch]
    return batch
