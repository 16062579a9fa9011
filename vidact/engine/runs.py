"""Recipe-level runs: what `vidact train` and `vidact test` call.

`train_recipe` builds the model, loaders, optimizer, schedule and hooks a recipe describes and
hands them to the one `Trainer`; `test_recipe` scores `data.test` under the recipe's test
protocol and writes the scores file `vidact eval` reads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vidact.engine.trainer import Trainer, predict_scores, seed_everything
from vidact.errors import RecipeError
from vidact.io.files import atomic_write

log = logging.getLogger(__name__)

def train_recipe(recipe: Any, *, work_dir: str | os.PathLike, resume: str | None = None, validate: bool = True,
                 seed: int | None = None, dist_info: Any = None) -> dict[str, Any]:
    """Build everything a recipe describes and train it.

    Args:
        recipe: a validated `Recipe`.
        work_dir: checkpoints, `log.jsonl` and `recipe.yaml` go here.
        resume: 'auto' (the work dir's latest checkpoint, if any), a checkpoint path, or None
            (then `recipe.resume_from`).
        validate: run the EvalHook on `data.val` every `evaluation.interval` epochs.
        seed: overrides `recipe.seed` (default 0).
        dist_info: a `DistInfo` when launched by torchrun.

    Returns:
        `{"work_dir", "epochs", "iterations", "metrics", "best_checkpoint", "latest_checkpoint",
        "interrupted", "stop_signal"}` (`stop_signal`: 'SIGINT' or 'SIGTERM' when one stopped the run).
    """
    from vidact.data.build import build_dataset
    from vidact.engine.hooks import CheckpointHook, DistEvalHook, EvalHook, LoggerHook
    from vidact.engine.optim import build_optimizer
    from vidact.engine.schedules import build_lr_scheduler
    from vidact.models import build_model

    from vidact.data.preflight import check_data_paths, check_first_batch

    if not hasattr(recipe, "model"):
        raise RecipeError("a BSN chain recipe trains two models: run it with `vidact proposals run`")
    seed = seed if seed is not None else (recipe.seed if recipe.seed is not None else 0)
    work_dir = Path(work_dir)
    if recipe.data.train is None:
        raise RecipeError("the recipe has no data.train section")
    check_data_paths(recipe.data.train, "data.train")  # before anything is built or written
    if validate and recipe.data.val is not None:
        check_data_paths(recipe.data.val, "data.val")
    if dist_info is None:
        from vidact.engine.distributed import init_distributed

        dist_info = init_distributed(recipe.dist_params.backend)  # alone unless launched by torchrun
    distributed = bool(dist_info is not None and getattr(dist_info, "is_distributed", False))
    seed_everything(seed)
    model = build_model(recipe.model)
    if recipe.load_from is not None:
        _load_weights(model, recipe.load_from, recipe)
    data = recipe.data
    train_set = build_dataset(data.train)
    check_first_batch(train_set, data.train, "data.train", data.videos_per_gpu)
    train_loader = build_train_loader(train_set, data.videos_per_gpu, data.workers_per_gpu, seed)
    _configure_threads(data.workers_per_gpu, data.train)
    optimizer = build_optimizer(model, recipe.optimizer)
    scheduler = build_lr_scheduler(optimizer, recipe.lr_config, iters_per_epoch=len(train_loader),
                                   total_epochs=recipe.total_epochs)
    hooks: list[Any] = []
    if validate and data.val is not None:  # before the checkpoint hook: epoch checkpoints hold the best score
        ev = recipe.evaluation
        val_override = data.val_dataloader
        if recipe.model.type == "SSN":  # THUMOS'14 mAP of whole videos, one per forward
            from vidact.engine.ssn_runs import check_ssn_validation, one_video_per_batch

            check_ssn_validation(ev, data.val)
            val_override = one_video_per_batch(val_override)
        val_loader = build_eval_loader(data.val, val_override, data, distributed)
        check_first_batch(val_loader.dataset, data.val, "data.val", val_loader.batch_size)
        hook_cls = DistEvalHook if distributed else EvalHook
        hooks.append(hook_cls(val_loader, interval=ev.interval, gpu_collect=ev.gpu_collect, save_best=ev.save_best,
                              key_indicator=ev.key_indicator, rule=ev.rule, metrics=list(ev.metrics),
                              **({"topk": tuple(ev.topk)} if "top_k_accuracy" in ev.metrics else {})))
    # The logger before the checkpoint hook: an iteration's log line is on disk before any checkpoint
    # that holds the iteration, so a kill between the two loses no line (the resumed run starts after it).
    hooks.append(LoggerHook(recipe.log_config.interval))
    ckpt = recipe.checkpoint_config
    hooks.append(CheckpointHook(ckpt.interval, ckpt.max_keep_ckpts, ckpt.save_optimizer,
                                iter_interval=ckpt.iter_interval, time_interval_min=ckpt.time_interval_min))
    hooks += tensorboard_hooks(recipe.log_config)
    opt_cfg = recipe.optimizer_config
    trainer = Trainer(model, optimizer, scheduler, train_loader=train_loader, work_dir=work_dir,
                      max_epochs=recipe.total_epochs, amp=recipe.amp.model_dump(),
                      grad_clip=opt_cfg.grad_clip.model_dump() if opt_cfg.grad_clip else None,
                      accumulate=opt_cfg.accumulate, hooks=hooks, dist_info=dist_info, seed=seed,
                      recipe=recipe.to_plain())
    start = resume or (str(recipe.resume_from) if recipe.resume_from else None)
    if start is not None:
        trainer.resume(start)
    if trainer.is_main:
        from vidact.io.files import atomic_write_text

        atomic_write_text(work_dir / "recipe.yaml", recipe.to_yaml())
    metrics = trainer.fit()
    best = work_dir / "best.pth"
    latest = work_dir / "latest.pth"
    return {
        "work_dir": str(work_dir), "epochs": trainer.epoch, "iterations": trainer.iteration, "metrics": metrics,
        "best_checkpoint": str(best.resolve()) if best.exists() else None,
        "latest_checkpoint": str(latest.resolve()) if latest.exists() else None,
        "interrupted": trainer.stop_requested, "stop_signal": trainer.stop_signal,
    }


def _configure_threads(loader_workers: int, dataset_spec: Any) -> None:
    """Torch intra-op threads from the cores the loader workers and their decoders leave
    (`vidact.threads.intra_op_threads`), unless OMP_NUM_THREADS is set."""
    from vidact.threads import available_cores, configure_torch_threads, decoder_threads

    configure_torch_threads(loader_workers, decoder_threads(dataset_pipeline(dataset_spec), available_cores()))


def tensorboard_hooks(log_config: Any) -> list[Any]:
    """The `TensorboardLoggerHook` the recipe lists in `log_config.hooks`; when it lists none, one
    anyway if tensorboard is installed (logs in `work_dir/tf_logs`)."""
    from vidact.engine.hooks import TensorboardLoggerHook

    listed = [h for h in log_config.hooks if h.type == "TensorboardLoggerHook"]
    if listed:
        return [TensorboardLoggerHook(log_config.interval, h.log_dir) for h in listed]
    return [TensorboardLoggerHook(log_config.interval)] if TensorboardLoggerHook.available() else []


def build_train_loader(dataset: Any, videos_per_gpu: int, workers_per_gpu: int, seed: int) -> Any:
    """The training loader: this rank's shuffled share (`DistributedSampler`, one rank when not
    distributed), with per-sample seeds so an epoch resumed mid-way repeats the uninterrupted one."""
    from vidact.data.build import build_dataloader
    from vidact.data.samplers import DistributedSampler
    from vidact.data.seeded import ResumableSampler, SeededSamples

    sampler = ResumableSampler(DistributedSampler(dataset, shuffle=True, seed=seed), seed)
    return build_dataloader(SeededSamples(dataset), videos_per_gpu, workers_per_gpu, dist=True, seed=seed,
                            sampler=sampler)


def build_eval_loader(dataset_spec: Any, override: Any, data: Any, distributed: bool = False) -> Any:
    """A loader over `dataset_spec` (test mode) in dataset order; batch and workers from `override`
    (`val_dataloader` / `test_dataloader`) falling back to the `data` section's."""
    from torch.utils.data import DataLoader

    from vidact.data.build import build_dataset, collate, init_loader_worker
    from vidact.data.samplers import OrderedDistributedSampler

    dataset = build_dataset(dataset_spec, {"test_mode": True})
    batch = override.videos_per_gpu or data.videos_per_gpu
    workers = override.workers_per_gpu if override.workers_per_gpu is not None else data.workers_per_gpu
    sampler = OrderedDistributedSampler(dataset) if distributed else None
    if workers > 0:
        from vidact.parallel import prepare_worker_start

        prepare_worker_start()
    return DataLoader(dataset, batch_size=batch, sampler=sampler, shuffle=False, num_workers=workers,
                      collate_fn=collate, persistent_workers=workers > 0, worker_init_fn=init_loader_worker)


def _load_weights(model: nn.Module, path: Any, recipe: Any) -> None:
    """`load_from`: initialise the model from a checkpoint's weights (vidact or MMAction); shapes that
    differ are skipped."""
    from vidact.engine.importing import initial_weights

    state = initial_weights(path, recipe)
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(set(state) - set(fitting))
    model.load_state_dict(fitting, strict=False)
    log.info("load_from %s: %d tensors loaded, %d skipped (%s)", path, len(fitting), len(skipped),
             ", ".join(skipped[:5]))


def test_recipe(recipe: Any, *, checkpoint: str | os.PathLike, out: str | os.PathLike,
                metrics: Sequence[str] = (), topk: Sequence[int] = (1, 5)) -> dict[str, Any]:
    """Score `data.test` with a checkpoint under the recipe's test protocol and write the scores.

    `.json` gets `{"scores": [[...]], "protocol": {...}}` (what `vidact eval` reads); `.npy` gets
    the (N, C) array and a `<out>.protocol.json` beside it. Both are written atomically.

    Under torchrun (or srun) every rank scores its contiguous share of the test set; rank 0
    gathers the rows back into dataset order, writes the file and computes the metrics.

    Returns:
        `{"out", "num_samples", "num_classes", "protocol", "metrics"}` (on ranks other than 0,
        `{"out": None, "rank": r}`).
    """
    from vidact.engine.distributed import init_distributed
    from vidact.engine.predict import load_model
    from vidact.engine.trainer import gather_scores

    if not hasattr(recipe, "model"):
        raise RecipeError("a BSN chain recipe writes proposals: run it with `vidact proposals run`")
    if recipe.model.type == "SSN":  # raw per-proposal outputs, not a score matrix
        from vidact.engine.ssn_runs import test_ssn_recipe

        return test_ssn_recipe(recipe, checkpoint=checkpoint, out=out, metrics=metrics)
    data = recipe.data
    if recipe.model.type in ("BMN", "TEM", "PEM"):
        command = {"BMN": "bmn", "TEM": "tem", "PEM": "pem"}[recipe.model.type]
        raise RecipeError(f"vidact test writes class scores; a {recipe.model.type} recipe writes proposals",
                          hint=f"use vidact proposals {command} RECIPE --checkpoint CKPT --out ...")
    if data.test is None:
        raise RecipeError("the recipe has no data.test section")
    info = init_distributed(recipe.dist_params.backend)  # alone unless launched by torchrun
    model = load_model(recipe, checkpoint)  # a missing or mismatched checkpoint fails before any decoding
    loader = build_eval_loader(data.test, data.test_dataloader, data, info.is_distributed)
    _configure_threads(loader.num_workers, data.test)
    device = info.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    scores = predict_scores(model.to(device), loader, device, progress="testing" if info.rank == 0 else None)
    dataset = loader.dataset
    rows_per_video_hint = "set model.test_cfg.average_clips to score or prob for multi-clip/multi-crop testing"
    if info.is_distributed:
        try:
            gathered = gather_scores(scores, loader)
        except ValueError as exc:
            raise RecipeError(str(exc).split(";")[0], hint=rows_per_video_hint) from None
        if gathered is None:
            return {"out": None, "rank": info.rank}
        scores = gathered
    if scores.shape[0] != len(dataset):
        raise RecipeError(f"got {scores.shape[0]} score rows for {len(dataset)} test videos", hint=rows_per_video_hint)
    protocol = test_protocol(recipe, dataset, checkpoint)
    write_scores(out, scores, protocol)
    results = dataset.evaluate(list(scores), metrics=list(metrics), topk=tuple(topk)) if metrics else {}
    return {"out": str(out), "num_samples": int(scores.shape[0]), "num_classes": int(scores.shape[1]),
            "protocol": protocol, "metrics": {k: float(v) for k, v in results.items()}}


def test_protocol(recipe: Any, dataset: Any, checkpoint: str | os.PathLike) -> dict[str, Any]:
    """num_clips, num_crops, aggregation, input_size, the checkpoint hash and the annotation file + hash."""
    from vidact.io.provenance import annotation_record

    steps = {step.type: step for step in dataset_pipeline(recipe.data.test)}
    sample = steps.get("SampleFrames") or steps.get("DenseSampleFrames") or steps.get("UntrimmedSampleFrames")
    num_crops = 10 if "TenCrop" in steps else 3 if "ThreeCrop" in steps else 1
    imgs = dataset[0]["imgs"]
    return {
        "num_clips": int(getattr(sample, "num_clips", 1) or 1),
        "num_crops": num_crops,
        "aggregation": recipe.model.test_cfg.average_clips if recipe.model.test_cfg else None,
        "input_size": [int(imgs.shape[-1]), int(imgs.shape[-2])],
        "checkpoint_sha256": _sha256(checkpoint),
        **annotation_record(recipe.data.test.ann_file),  # ann_file + ann_file_sha256: eval finds the labels
    }


def dataset_pipeline(spec: Any) -> list[Any]:
    """The pipeline step specs of a dataset spec (through RepeatDataset)."""
    while hasattr(spec, "dataset"):
        spec = spec.dataset
    return list(getattr(spec, "pipeline", ()))


def write_scores(out: str | os.PathLike, scores: np.ndarray, protocol: dict[str, Any]) -> None:
    """Write scores where `vidact eval` reads them: JSON with its protocol, or .npy + sidecar."""
    import json

    out = Path(out)
    if out.suffix.lower() == ".npy":
        with atomic_write(out, "wb") as fh:
            np.save(fh, scores.astype(np.float32))
        with atomic_write(out.with_name(out.name + ".protocol.json"), "w", encoding="utf-8") as fh:
            json.dump(protocol, fh, indent=2)
    elif out.suffix.lower() == ".json":
        with atomic_write(out, "w", encoding="utf-8") as fh:
            json.dump({"scores": scores.astype(float).tolist(), "protocol": protocol}, fh)
    else:
        from vidact.errors import InputError

        raise InputError(f"{out}: unknown scores format; use .npy or .json")


def _sha256(path: Any) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
