"""The one Trainer: fit / evaluate / predict for recognizers (and, later, trainable localizers).

The loop reads top to bottom in `train_step`; everything optional (validation, checkpoints,
logging) is a hook in `vidact.engine.hooks` that sees the trainer after each step or epoch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vidact.data.build import batch_to_device
from vidact.errors import CheckpointError

log = logging.getLogger(__name__)



def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Trains a model whose training forward returns a dict of named losses.

    Args:
        model: `forward(imgs, label, return_loss=True) -> dict` in training,
            `forward(imgs, return_loss=False) -> (N, C) scores` in testing.
        optimizer: a torch optimizer over `model`'s parameters.
        scheduler: an object with `step(iteration)`, `state_dict()`, `load_state_dict()`, or None.
        train_loader: batches of dicts with at least `imgs` and `label`.
        val_loader: optional loader for `evaluate` (hooks usually carry their own).
        work_dir: checkpoints and logs go here.
        max_epochs: epochs to train.
        device: 'cuda' when present, else 'cpu', unless given.
        amp: `{"enabled": bool, "dtype": "float16" | "bfloat16"}`; float16 uses a GradScaler (CUDA only).
        grad_clip: `{"max_norm": float, "norm_type": float}` or None.
        accumulate: step the optimizer every `accumulate` batches.
        hooks: `Hook` objects, called in order.
        dist_info: a `DistInfo`-like object (`is_distributed`, `rank`, `world_size`, `local_rank`).
        seed: base seed; each epoch reseeds with `seed + epoch` so a resumed run repeats the same
            batches, augmentations and dropout masks as an uninterrupted one.
        recipe: the validated recipe as plain data, stored in checkpoints.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any = None,
        *,
        train_loader: Iterable | None,
        val_loader: Iterable | None = None,
        work_dir: str | os.PathLike,
        max_epochs: int,
        device: str | torch.device | None = None,
        amp: Mapping[str, Any] | None = None,
        grad_clip: Mapping[str, float] | None = None,
        accumulate: int = 1,
        hooks: Sequence[Any] = (),
        dist_info: Any = None,
        seed: int = 0,
        recipe: Mapping[str, Any] | None = None,
    ) -> None:
        default = getattr(dist_info, "device", None) or ("cuda" if torch.cuda.is_available() else "cpu")
        self.device = torch.device(device or default)
        self.dist_info = dist_info
        self.model = self._prepare_model(model)
        self.optimizer, self.scheduler = optimizer, scheduler
        self.train_loader, self.val_loader = train_loader, val_loader
        self.work_dir = Path(work_dir)
        self.max_epochs, self.accumulate = max_epochs, max(1, accumulate)
        self.grad_clip = dict(grad_clip) if grad_clip else None
        self.hooks = list(hooks)
        self.seed, self.recipe = seed, dict(recipe or {})
        self.amp_dtype = self._amp_dtype(amp)
        scaler_on = self.amp_dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=scaler_on)
        self.epoch = 0  # completed epochs
        self.iteration = 0  # optimizer-schedule iterations (batches) done
        self.inner_iter = 0
        self.epoch_iter = 0  # batches done in the current epoch (what a mid-epoch checkpoint records)
        self._resume_epoch_iter = 0
        self.log_vars: dict[str, float] = {}
        self.metrics: dict[str, float] = {}
        self.metrics_epoch = -1  # the epoch `metrics` were computed after
        self.stop_requested = False
        self.stop_signal: str | None = None  # 'SIGTERM' or 'SIGINT': what asked the run to stop

    # ---- set-up ------------------------------------------------------------------------------------

    @property
    def is_main(self) -> bool:
        return self.dist_info is None or getattr(self.dist_info, "rank", 0) == 0

    @property
    def is_distributed(self) -> bool:
        return bool(self.dist_info is not None and getattr(self.dist_info, "is_distributed", False))

    @property
    def bare_model(self) -> nn.Module:
        """The model without its DDP wrapper."""
        return getattr(self.model, "module", self.model)

    def _prepare_model(self, model: nn.Module) -> nn.Module:
        model = model.to(self.device)
        if self.device.type == "cpu":
            from vidact.engine.malloc import keep_freed_memory

            keep_freed_memory()
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            from vidact.models import to_channels_last

            model = to_channels_last(model)
        if self.is_distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        return model

    def _amp_dtype(self, amp: Mapping[str, Any] | None) -> torch.dtype | None:
        if not amp or not amp.get("enabled"):
            return None
        dtype = torch.bfloat16 if amp.get("dtype") == "bfloat16" else torch.float16
        if dtype == torch.float16 and self.device.type != "cuda":
            log.warning("amp: float16 needs CUDA; training in float32 on %s", self.device.type)
            return None
        return dtype

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def call_hook(self, event: str) -> None:
        for hook in self.hooks:
            getattr(hook, event)(self)

    # ---- training ----------------------------------------------------------------------------------

    def fit(self) -> dict[str, float]:
        """Train from `self.epoch` to `max_epochs`; returns the last validation metrics (or {})."""
        previous = _install_stop_signals(self)
        try:
            self.call_hook("before_run")
            while self.epoch < self.max_epochs and not self.stop_requested:
                self.train_epoch()
            self.call_hook("after_run")
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.metrics

    def train_epoch(self) -> None:
        """One pass over `train_loader`, reseeded with `seed + epoch`.

        After a mid-epoch resume the pass starts at the saved batch: the sampler skips what was
        done (nothing is decoded twice) and the generators continue from their saved states.
        """
        start, self._resume_epoch_iter = self._resume_epoch_iter, 0
        if not start:
            seed_everything(self.seed + self.epoch)
        _set_loader_epoch(self.train_loader, self.epoch, self.seed)
        batches = _batches_from(self.train_loader, start)
        self.model.train()
        self.call_hook("before_train_epoch")
        self.optimizer.zero_grad(set_to_none=True)
        num_batches = len(self.train_loader)
        self.epoch_iter = start
        self.hooks_done_at = time.perf_counter()  # data time runs from here to the next batch
        for self.inner_iter, batch in enumerate(batches, start=start):
            self.call_hook("before_train_iter")
            last_micro = (self.inner_iter + 1) % self.accumulate == 0 or self.inner_iter + 1 == num_batches
            self.log_vars = self.train_step(batch, step=last_micro)
            self.iteration += 1
            self.epoch_iter = self.inner_iter + 1
            self.call_hook("after_train_iter")
            self.hooks_done_at = time.perf_counter()
            if self.stop_requested:
                return
        self.epoch += 1
        self.epoch_iter = 0
        self.call_hook("after_train_epoch")

    def train_step(self, batch: Mapping[str, Any], *, step: bool = True) -> dict[str, float]:
        """batch -> device -> forward -> sum of losses -> backward -> (clip, step). Returns the log values."""
        if self.scheduler is not None:
            self.scheduler.step(self.iteration)
        batch = batch_to_device(batch, self.device, non_blocking=True)
        if "imgs" in batch and self.device.type == "cuda" and batch["imgs"].dim() == 4:
            batch = {**batch, "imgs": batch["imgs"].contiguous(memory_format=torch.channels_last)}
        sync = contextlib.nullcontext() if step or not self.is_distributed else self.model.no_sync()
        with sync:
            with self._autocast():
                outputs = forward_batch(self.model, batch, return_loss=True)
            loss = sum(v for k, v in outputs.items() if "loss" in k)
            self.scaler.scale(loss / self.accumulate).backward()
        if step:
            self.scaler.unscale_(self.optimizer)
            if self.grad_clip:
                params = [p for p in self.model.parameters() if p.grad is not None]
                outputs["grad_norm"] = nn.utils.clip_grad_norm_(params, **self.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
        log_vars = {"loss": float(loss.detach())}
        log_vars.update({k: float(v.detach().float().mean()) for k, v in outputs.items() if torch.is_tensor(v)})
        if not np.isfinite(log_vars["loss"]):
            raise FloatingPointError(f"loss is {log_vars['loss']} at epoch {self.epoch + 1}, "
                                     f"iteration {self.inner_iter + 1}; lower optimizer.lr or enable grad_clip")
        return log_vars

    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # ---- evaluation --------------------------------------------------------------------------------

    def predict(self, loader: Iterable, gpu_collect: bool = False) -> np.ndarray | list:
        """Class scores of every sample, `(N, C)` float32 in dataset order (localizers: a list with
        one result per video).

        Distributed: each rank scores the indices its sampler yields; `gather_ordered` collects
        them on rank 0 keyed by dataset index (each sample once, padding duplicates dropped),
        through CPU objects or, with `gpu_collect`, through tensors on the process group's device.
        Ranks other than 0 get an empty array.
        """
        scores = predict_scores(self.bare_model, loader, self.device, self.amp_dtype,
                                progress=f"validating epoch {self.epoch}" if self.is_main else None)
        if not self.is_distributed:
            return scores
        if isinstance(scores, list):  # localizer results: gathered as objects, in dataset order
            from vidact.engine.distributed import gather_ordered

            sampler = getattr(loader, "sampler", None)
            indices = list(getattr(sampler, "indices", None) or iter(sampler))
            return gather_ordered(scores, indices, len(loader.dataset), gpu_collect=False) or []
        gathered = gather_scores(scores, loader, gpu_collect=gpu_collect)
        return gathered if gathered is not None else np.zeros((0, scores.shape[1] if scores.ndim == 2 else 0),
                                                               np.float32)

    def evaluate(self, loader: Iterable | None = None, gpu_collect: bool = False) -> list[np.ndarray]:
        """Per-sample score arrays in dataset order (what `dataset.evaluate(results, ...)` takes).

        Distributed: complete on rank 0 only (other ranks get an empty list).
        """
        loader = loader if loader is not None else self.val_loader
        if loader is None:
            raise ValueError("evaluate() needs a loader (no val_loader was given)")
        return list(self.predict(loader, gpu_collect=gpu_collect))

    # ---- checkpoints -------------------------------------------------------------------------------

    def save_checkpoint(self, path: str | os.PathLike, with_optimizer: bool = True) -> Path:
        """Write an atomic checkpoint (`vidact.engine.checkpoint.save_checkpoint`) of the whole run.

        Besides model, optimizer, schedule, scaler, RNG states and the recipe, `extra` records the
        seed, the batches done in the current epoch (`epoch_iter`, for a mid-epoch resume) and
        each hook's `state_dict()` (the best score so far, ...).
        """
        from vidact.engine.checkpoint import save_checkpoint

        hooks = {type(hook).__name__: hook.state_dict() for hook in self.hooks if hasattr(hook, "state_dict")}
        return save_checkpoint(
            path, model=self.bare_model, optimizer=self.optimizer if with_optimizer else None,
            scheduler=self.scheduler, scaler=self.scaler if self.scaler.is_enabled() else None,
            epoch=self.epoch, iteration=self.iteration, recipe=self.recipe or None,
            extra={"seed": self.seed, "epoch_iter": self.epoch_iter, "hooks": hooks},
        )

    def resume(self, checkpoint: str | os.PathLike) -> bool:
        """Continue from a checkpoint file, or from the work dir's newest loadable one ('auto').

        Restores model, optimizer, schedule, scaler, RNG states, epoch, iteration, the position
        within an interrupted epoch and the hooks' states. The recipe is checked first.

        Returns:
            False when 'auto' finds no checkpoint (a fresh start), else True.

        Raises:
            CheckpointError: unreadable file, a recipe or model that does not match.
        """
        from vidact.engine.checkpoint import resume

        state = resume(checkpoint, self.work_dir, model=self.bare_model, optimizer=self.optimizer,
                       scheduler=self.scheduler, scaler=self.scaler if self.scaler.is_enabled() else None,
                       recipe=self.recipe or None)
        if state is None:
            return False
        self.epoch, self.iteration = state.epoch, state.iteration
        self._resume_epoch_iter = int(state.extra.get("epoch_iter", 0))
        saved_hooks = state.extra.get("hooks") or {}
        for hook in self.hooks:
            if type(hook).__name__ in saved_hooks and hasattr(hook, "load_state_dict"):
                hook.load_state_dict(saved_hooks[type(hook).__name__])
        where = f", batch {self._resume_epoch_iter} of epoch {self.epoch + 1}" if self._resume_epoch_iter else ""
        log.info("resumed from %s at epoch %d, iteration %d%s", state.path, self.epoch, self.iteration, where)
        return True


@torch.no_grad()
def predict_scores(model: nn.Module, loader: Iterable, device: torch.device,
                   amp_dtype: torch.dtype | None = None, progress: str | None = None) -> np.ndarray | list:
    """Run `model(imgs, return_loss=False)` over `loader`; `(N, C)` float32 in loader order
    (localizers, whose test forward returns a list per batch: the concatenated list).

    With `progress` (a description such as 'testing'), a bar on stderr counts the batches.
    """
    was_training = model.training
    model.eval()
    if device.type == "cpu":
        from vidact.engine.malloc import keep_freed_memory

        keep_freed_memory()
    rows: list[np.ndarray] = []
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
    try:
        from vidact.io.progress import track

        for batch in track(loader, progress or "", enabled=progress is not None):
            batch = batch_to_device(batch, device, non_blocking=True)
            with autocast:
                scores = forward_batch(model, batch, return_loss=False)
            if isinstance(scores, list):  # localizers: one result object per video
                rows.extend(scores)
            else:
                rows.append(scores.float().cpu().numpy())
    finally:
        model.train(was_training)
    if rows and not isinstance(rows[0], np.ndarray):
        return rows
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def forward_batch(model: nn.Module, batch: Mapping[str, Any], return_loss: bool) -> Any:
    """One forward pass on a collated batch: recognizers (and SSN) take `(imgs, label)`, localizers
    without `imgs` (TEM, PEM, BMN) take the batch's fields as keyword arguments, as the reference
    models do. A model's `batch_keys` (training) and `test_batch_keys` (testing) name the further
    batch fields it takes as keywords."""
    if "imgs" not in batch:
        return model(**batch, return_loss=return_loss)
    bare = getattr(model, "module", model)
    if return_loss:
        # Fields a model declares besides imgs and label (SSN's proposal data) go as keywords.
        extra = {key: batch[key] for key in getattr(bare, "batch_keys", ())}
        return model(batch["imgs"], batch.get("label"), return_loss=True, **extra)
    # Likewise at test time (SSN's proposal ticks and scale factors), when the batch has them.
    extra = {key: batch[key] for key in getattr(bare, "test_batch_keys", ()) if key in batch}
    return model(batch["imgs"], return_loss=False, **extra)


def gather_scores(scores: np.ndarray, loader: Any, gpu_collect: bool = False) -> np.ndarray | None:
    """This rank's score rows (one per index its sampler yielded) -> every sample's rows, in dataset
    order and each once, on rank 0 (`gather_ordered`); None on the other ranks.

    Raises:
        ValueError: the model gave more or fewer rows than this rank had samples.
    """
    from vidact.engine.distributed import gather_ordered

    sampler = getattr(loader, "sampler", None)
    indices = list(getattr(sampler, "indices", None) or iter(sampler))
    if len(scores) != len(indices):
        raise ValueError(f"{len(scores)} score rows for {len(indices)} samples on rank "
                         f"{torch.distributed.get_rank()}; set model.test_cfg.average_clips to score or prob")
    rows = gather_ordered(list(scores), indices, len(loader.dataset), gpu_collect=gpu_collect)
    return None if rows is None else np.stack(rows).astype(np.float32, copy=False)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a vidact training checkpoint (`weights_only=True`, via `vidact.engine.checkpoint`).

    Raises:
        CheckpointError: missing, truncated or not a vidact checkpoint.
    """
    from vidact.engine import checkpoint as ckpt

    state = ckpt.load_checkpoint(path)
    if "state_dict" not in state:
        raise CheckpointError(f"{path}: not a checkpoint (no 'state_dict')")
    return state


def _batches_from(loader: Iterable, start: int) -> Iterable:
    """`loader`'s batches from batch `start` on: the sampler skips the first samples when it can
    (`ResumableSampler.skip`), else the first `start` batches are loaded and dropped.

    The generators were restored to their state after batch `start`, which already includes
    what starting this pass drew (a loader's base seed); the skipping itself must not draw again.
    """
    if not start:
        return loader
    from vidact.engine.checkpoint import restore_rng, rng_state

    saved = rng_state()
    sampler = getattr(loader, "sampler", None)
    batch_size = getattr(loader, "batch_size", None)
    if hasattr(sampler, "skip") and batch_size:
        sampler.skip(start * batch_size)
        batches = iter(loader)
    else:
        log.warning("resuming at batch %d: this loader cannot skip, so those batches are loaded again", start)
        batches = iter(loader)
        for _ in range(start):
            next(batches, None)
    restore_rng(saved)
    return batches


def _set_loader_epoch(loader: Any, epoch: int, seed: int) -> None:
    """Make epoch `epoch`'s shuffle a function of (seed, epoch) alone, whatever ran before."""
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    generator = getattr(loader, "generator", None)
    if isinstance(generator, torch.Generator):
        generator.manual_seed(seed + epoch)


def _install_stop_signals(trainer: Trainer) -> dict[int, Any]:
    """SIGTERM (cluster preemption) or a first SIGINT (Ctrl-C): finish the current step, let the
    checkpoint hook save, then return from `fit`. A second SIGINT aborts at once.

    Returns the handlers replaced, to put back (none outside the main thread, where Python
    cannot install handlers).
    """

    def _handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if trainer.stop_requested:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt  # the second Ctrl-C: no more waiting
            return
        trainer.stop_requested, trainer.stop_signal = True, name
        again = "; press Ctrl-C again to abort at once" if signum == signal.SIGINT else ""
        log.warning("%s: finishing this step, then saving a checkpoint%s", name, again)

    previous: dict[int, Any] = {}
    for name in ("SIGTERM", "SIGINT"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, _handler)
        except ValueError:  # not the main thread
            break
    return previous
