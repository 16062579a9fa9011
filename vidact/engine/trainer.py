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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vidact.data.build import batch_to_device
from vidact.errors import CheckpointError
from vidact.io.files import atomic_write

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1


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
        self.log_vars: dict[str, float] = {}
        self.metrics: dict[str, float] = {}
        self.metrics_epoch = -1  # the epoch `metrics` were computed after
        self.stop_requested = False

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
        previous = _install_sigterm(self)
        try:
            self.call_hook("before_run")
            while self.epoch < self.max_epochs and not self.stop_requested:
                self.train_epoch()
            self.call_hook("after_run")
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return self.metrics

    def train_epoch(self) -> None:
        """One pass over `train_loader`, reseeded with `seed + epoch`."""
        seed_everything(self.seed + self.epoch)
        _set_loader_epoch(self.train_loader, self.epoch, self.seed)
        self.model.train()
        self.call_hook("before_train_epoch")
        self.optimizer.zero_grad(set_to_none=True)
        num_batches = len(self.train_loader)
        for self.inner_iter, batch in enumerate(self.train_loader):
            self.call_hook("before_train_iter")
            last_micro = (self.inner_iter + 1) % self.accumulate == 0 or self.inner_iter + 1 == num_batches
            self.log_vars = self.train_step(batch, step=last_micro)
            self.iteration += 1
            self.call_hook("after_train_iter")
            if self.stop_requested:
                return
        self.epoch += 1
        self.call_hook("after_train_epoch")

    def train_step(self, batch: Mapping[str, Any], *, step: bool = True) -> dict[str, float]:
        """batch -> device -> forward -> sum of losses -> backward -> (clip, step). Returns the log values."""
        if self.scheduler is not None:
            self.scheduler.step(self.iteration)
        batch = batch_to_device(batch, self.device, non_blocking=True)
        imgs = batch["imgs"]
        if self.device.type == "cuda" and imgs.dim() == 4:
            imgs = imgs.contiguous(memory_format=torch.channels_last)
        sync = contextlib.nullcontext() if step or not self.is_distributed else self.model.no_sync()
        with sync:
            with self._autocast():
                outputs = self.model(imgs, batch["label"], return_loss=True)
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

    def predict(self, loader: Iterable, gpu_collect: bool = False) -> np.ndarray:
        """Class scores of every sample, `(N, C)` float32 in dataset order.

        Distributed: each rank scores the indices its sampler yields; `gather_ordered` collects
        them on rank 0 keyed by dataset index (each sample once, padding duplicates dropped),
        through CPU objects or, with `gpu_collect`, through tensors on the process group's device.
        Ranks other than 0 get an empty array.
        """
        scores = predict_scores(self.bare_model, loader, self.device, self.amp_dtype)
        if not self.is_distributed:
            return scores
        from vidact.engine.distributed import gather_ordered

        sampler = getattr(loader, "sampler", None)
        indices = list(getattr(sampler, "indices", None) or iter(sampler))
        dataset_len = len(loader.dataset)
        rows = gather_ordered(list(scores), indices[: len(scores)], dataset_len, gpu_collect=gpu_collect)
        if rows is None:
            return np.zeros((0, scores.shape[1] if scores.ndim == 2 else 0), np.float32)
        return np.stack(rows).astype(np.float32, copy=False)

    def evaluate(self, loader: Iterable | None = None, gpu_collect: bool = False) -> list[np.ndarray]:
        """Per-sample score arrays in dataset order (what `dataset.evaluate(results, ...)` takes).

        Distributed: complete on rank 0 only (other ranks get an empty list).
        """
        loader = loader if loader is not None else self.val_loader
        if loader is None:
            raise ValueError("evaluate() needs a loader (no val_loader was given)")
        return list(self.predict(loader, gpu_collect=gpu_collect))

    # ---- checkpoints -------------------------------------------------------------------------------

    def state_dict(self, with_optimizer: bool = True) -> dict[str, Any]:
        """Everything a resumed run needs, as plain tensors and numbers (loads with weights_only)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "meta": {"epoch": self.epoch, "iter": self.iteration, "seed": self.seed},
            "state_dict": self.bare_model.state_dict(),
            "optimizer": self.optimizer.state_dict() if with_optimizer else None,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "numpy": _numpy_rng_state()},
            "recipe": self.recipe,
        }

    def save_checkpoint(self, path: str | os.PathLike, with_optimizer: bool = True) -> Path:
        """Write `state_dict()` to `path` atomically (temp file beside it, fsync, rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "wb") as fh:
            torch.save(self.state_dict(with_optimizer), fh)
        return path

    def resume(self, checkpoint: str | os.PathLike) -> None:
        """Restore model, optimizer, schedule, scaler, epoch and iteration from a checkpoint.

        Raises:
            CheckpointError: unreadable file or a model that does not match.
        """
        state = load_checkpoint(checkpoint)
        if self.recipe:
            from vidact.engine.checkpoint import check_compatible

            check_compatible(state.get("recipe"), self.recipe)
        try:
            self.bare_model.load_state_dict(state["state_dict"])
        except RuntimeError as exc:
            raise CheckpointError(f"{checkpoint}: does not fit this model ({str(exc).splitlines()[0]})",
                                  hint="was it trained with a different recipe?") from None
        if state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["meta"]["epoch"])
        self.iteration = int(state["meta"]["iter"])
        log.info("resumed from %s at epoch %d, iteration %d", checkpoint, self.epoch, self.iteration)


@torch.no_grad()
def predict_scores(model: nn.Module, loader: Iterable, device: torch.device,
                   amp_dtype: torch.dtype | None = None) -> np.ndarray:
    """Run `model(imgs, return_loss=False)` over `loader`; `(N, C)` float32 in loader order."""
    was_training = model.training
    model.eval()
    rows: list[np.ndarray] = []
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
    try:
        for batch in loader:
            batch = batch_to_device(batch, device, non_blocking=True)
            with autocast:
                scores = model(batch["imgs"], return_loss=False)
            rows.append(scores.float().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


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


def find_latest_checkpoint(work_dir: str | os.PathLike) -> Path | None:
    """`work_dir/latest.pth` if it exists, else the newest `epoch_N.pth`, else None."""
    work_dir = Path(work_dir)
    latest = work_dir / "latest.pth"
    if latest.is_file():
        return latest.resolve()
    epochs = sorted(work_dir.glob("epoch_*.pth"), key=lambda p: int(p.stem.split("_")[1]))
    return epochs[-1] if epochs else None


def _numpy_rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _set_loader_epoch(loader: Any, epoch: int, seed: int) -> None:
    """Make epoch `epoch`'s shuffle a function of (seed, epoch) alone, whatever ran before."""
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    generator = getattr(loader, "generator", None)
    if isinstance(generator, torch.Generator):
        generator.manual_seed(seed + epoch)


def _install_sigterm(trainer: Trainer) -> Any:
    """On SIGTERM (cluster preemption) finish the current step, checkpoint, then exit."""
    if not hasattr(signal, "SIGTERM"):
        return None

    def _handler(signum: int, frame: Any) -> None:
        log.warning("SIGTERM: saving a checkpoint before exiting")
        trainer.stop_requested = True

    try:
        return signal.signal(signal.SIGTERM, _handler)
    except ValueError:  # not the main thread
        return None
