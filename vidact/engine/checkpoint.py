"""Checkpoints: atomic save, `weights_only` load, resume (explicit or 'auto'), links and pruning.

A checkpoint is one `torch.save`d dict of plain values (tensors, dicts, lists, str, numbers,
None), so `torch.load(..., weights_only=True)` reads it without running pickled code. Its layout
follows the reference's (`meta` with `epoch`/`iter`, `state_dict`, `optimizer`) plus our entries:
`format`, `scheduler`, `scaler`, `rng`, `recipe`, `extra`.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel
from torch import nn

import vidact
from vidact.engine.optim import unwrap_model
from vidact.errors import CheckpointError, CheckpointNotFoundError
from vidact.io.files import atomic_write

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
LATEST = "latest.pth"
BEST = "best.pth"
_LINKS = (LATEST, BEST)


@dataclass(frozen=True)
class ResumeState:
    """Where a resumed run continues: completed `epoch`s and `iteration`s, plus the trainer's `extra`."""

    epoch: int
    iteration: int
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


# ---- RNG states --------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """The python, numpy, torch CPU (and CUDA) generator states as weights_only-loadable values."""
    version, py_state, gauss_next = random.getstate()
    bit_generator, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss_next": gauss_next},
        "numpy": {
            "bit_generator": bit_generator,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    """Restore the generator states saved by `rng_state()` (missing parts are left alone)."""
    if "python" in state:
        py = state["python"]
        random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    if "numpy" in state:
        npy = state["numpy"]
        keys = npy["keys"].numpy().astype(np.uint32)
        np.random.set_state((npy["bit_generator"], keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            log.warning("checkpoint has CUDA RNG states for %d devices, this machine %d: not restored",
                        len(cuda), torch.cuda.device_count())


# ---- save / load -------------------------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    epoch: int,
    iteration: int,
    recipe: Mapping[str, Any] | BaseModel | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically: a crash mid-write leaves any previous `path` intact.

    Args:
        path: the file to write.
        model: the model (a DDP wrapper is unwrapped, so keys carry no `module.` prefix).
        optimizer, scheduler, scaler: anything with `state_dict()`; None stores None.
        epoch: epochs completed.
        iteration: iterations (batches) completed.
        recipe: the validated recipe (or its dict), for `check_compatible` on load.
        extra: more weights_only-loadable state (sampler position, best score, ...).

    Returns:
        `path` as a Path.
    """
    path = Path(path)
    if isinstance(recipe, BaseModel):
        recipe = recipe.model_dump(mode="json")
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "meta": {
            "epoch": int(epoch),
            "iter": int(iteration),
            "vidact_version": vidact.__version__,
            "torch_version": str(torch.__version__),  # a str subclass weights_only would refuse
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "state_dict": unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": rng_state(),
        "recipe": dict(recipe) if recipe is not None else None,
        "extra": dict(extra) if extra is not None else {},
    }
    with atomic_write(path, "wb") as fh:
        torch.save(checkpoint, fh)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`.

    Raises:
        CheckpointNotFoundError: no such file (bad input, exit 2).
        CheckpointError: the file is truncated, corrupt or holds more than plain values.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, expected a checkpoint file" if path.is_dir() else "no such checkpoint file"
        raise CheckpointNotFoundError(f"{path}: {what}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for bad files
        reason = _load_error_reason(exc)
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({reason})") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: not a checkpoint (a {type(checkpoint).__name__}, expected a dict)")
    return checkpoint


def _load_error_reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    # weights_only failures bury the cause ("Unsupported global: ...") under generic advice
    specific = [line for line in lines if line.startswith("WeightsUnpickler error")]
    reason = (specific or lines or [type(exc).__name__])[0]
    return reason[:200]


# ---- resume ------------------------------------------------------------------------------------


def resume(
    path_or_auto: str | os.PathLike,
    work_dir: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    recipe: Mapping[str, Any] | BaseModel | None = None,
) -> ResumeState | None:
    """Restore model, optimizer, scheduler, scaler and RNG states from a checkpoint.

    Args:
        path_or_auto: a checkpoint file, or 'auto' for the newest loadable one in `work_dir`
            (corrupt or partial files are skipped with a warning).
        work_dir: the run's directory ('auto' looks there).
        recipe: when given, `check_compatible` runs before any state is touched.

    Returns:
        The epoch/iteration to continue from and the saved `extra`; None when 'auto' finds no
        checkpoint (a fresh start).

    Raises:
        CheckpointError: an explicit file is missing or corrupt, the recipe disagrees, or a
            state does not fit the model/optimizer.
    """
    if str(path_or_auto) == "auto":
        found = find_latest_checkpoint(work_dir)
        if found is None:
            log.info("resume auto: no checkpoint in %s, starting fresh", work_dir)
            return None
        path, checkpoint = found
    else:
        path = Path(path_or_auto)
        checkpoint = load_checkpoint(path)
    if not _is_vidact(checkpoint):
        raise CheckpointError(f"{path}: not a vidact checkpoint (no 'state_dict' and 'meta' entries)")
    if recipe is not None and checkpoint.get("recipe") is not None:
        try:
            check_compatible(checkpoint["recipe"], recipe)
        except CheckpointError as exc:
            raise CheckpointError(f"{path}: {exc}", hint=exc.hint) from None
    _load_states(path, checkpoint, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler)
    if checkpoint.get("rng"):
        restore_rng(checkpoint["rng"])
    epoch, iteration = int(checkpoint["meta"]["epoch"]), int(checkpoint["meta"]["iter"])
    log.debug("states restored from %s (epoch %d, iteration %d)", path, epoch, iteration)  # the caller says "resumed"
    return ResumeState(
        epoch=epoch,
        iteration=iteration,
        extra=dict(checkpoint.get("extra") or {}),
        path=path,
    )


def _is_vidact(checkpoint: Mapping[str, Any]) -> bool:
    meta = checkpoint.get("meta")
    return "state_dict" in checkpoint and isinstance(meta, Mapping) and "epoch" in meta and "iter" in meta


def _load_states(path: Path, checkpoint: Mapping[str, Any], **targets: Any) -> None:
    try:
        unwrap_model(targets["model"]).load_state_dict(checkpoint["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: model state does not fit the model: {_first_lines(exc)}") from None
    for name in ("optimizer", "scheduler", "scaler"):
        target, state = targets[name], checkpoint.get(name)
        if target is None:
            continue
        if not state:  # None, or {} from a disabled GradScaler (resuming with AMP newly on)
            log.warning("%s: no %s state saved; %s starts fresh", path, name, name)
            continue
        try:
            target.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: {name} state does not fit: {_first_lines(exc)}") from None


def _first_lines(exc: BaseException, n: int = 3) -> str:
    return " ".join(str(exc).strip().splitlines()[:n])[:500]


def find_latest_checkpoint(work_dir: str | os.PathLike) -> tuple[Path, dict[str, Any]] | None:
    """The newest loadable checkpoint in `work_dir` (by modification time) and its contents.

    `best*.pth` files are not candidates (best is not latest); temp files of interrupted saves are
    hidden and never match.
    """
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return None
    for path in _candidates(work_dir):
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError as exc:
            log.warning("resume auto: skipping %s", exc)
            continue
        if _is_vidact(checkpoint):
            return path, checkpoint
        log.warning("resume auto: skipping %s: not a vidact checkpoint", path)
    return None


def _candidates(work_dir: Path) -> list[Path]:
    """Checkpoint files newest first; links resolve to their target (each file listed once)."""
    seen: dict[Path, Path] = {}
    for path in work_dir.glob("*.pth"):
        if path.name.startswith(("best", ".")):
            continue
        target = path.resolve()
        if target.is_file():
            seen.setdefault(target, target)
    return sorted(seen.values(), key=lambda p: (p.stat().st_mtime_ns, _natural_key(p.name)), reverse=True)


def _natural_key(name: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


# ---- links and pruning -------------------------------------------------------------------------


def update_links(work_dir: str | os.PathLike, path: str | os.PathLike, *, best: bool) -> None:
    """Point `latest.pth` (and `best.pth` when `best`) in `work_dir` at checkpoint `path`.

    Links are relative symlinks, replaced atomically; where symlinks fail (some filesystems,
    Windows without privileges) the checkpoint is copied instead.
    """
    work_dir, path = Path(work_dir), Path(path)
    for name in (LATEST, BEST) if best else (LATEST,):
        replace_link(work_dir / name, path)


def replace_link(link: Path, target: Path) -> None:
    """Point `link` at `target`: a relative symlink replaced atomically, a copy where links fail."""
    if link.resolve() == target.resolve() and link.is_symlink():
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(os.path.relpath(target.resolve(), link.parent.resolve()), tmp)
    except (OSError, NotImplementedError):
        shutil.copyfile(target, tmp)
    os.replace(tmp, link)


def prune_checkpoints(work_dir: str | os.PathLike, keep_last: int) -> list[Path]:
    """Delete all but the `keep_last` newest checkpoint files in `work_dir`.

    `best*.pth` files (the evaluation hook manages those), `latest.pth` and the files the links
    point at are never deleted. `keep_last <= 0` keeps everything (the reference's
    `max_keep_ckpts: -1`). Temp files left by saves that were killed are removed either way:
    call this after a save has completed, from the one process that saves.

    Returns:
        The deleted files.
    """
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return []
    removed = [p for p in work_dir.glob(".*.pth.*.tmp") if p.is_file() or p.is_symlink()]
    for path in removed:
        path.unlink(missing_ok=True)
    if keep_last <= 0:
        return removed
    protected = {(work_dir / name).resolve() for name in _LINKS if (work_dir / name).is_symlink()}
    files = [
        p
        for p in work_dir.glob("*.pth")
        if not p.name.startswith(("best", ".")) and p.name != LATEST and not p.is_symlink() and p.is_file()
    ]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, _natural_key(p.name)), reverse=True)
    for path in files[keep_last:]:
        if path.resolve() in protected:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


# ---- compatibility -----------------------------------------------------------------------------

_NOT_ARCHITECTURE = frozenset(
    {
        "pretrained",
        "pretrained2d",
        "train_cfg",
        "test_cfg",
        "dropout_ratio",
        "init_std",
        "loss_cls",
        "label_smooth_eps",
        "frozen_stages",
        "norm_eval",
        "zero_init_residual",
        "with_cp",
    }
)
"""Model keys that change training or initialisation but not the weights' layout or meaning."""


def check_compatible(
    checkpoint_recipe: Mapping[str, Any] | BaseModel | None, recipe: Mapping[str, Any] | BaseModel
) -> None:
    """Check that a checkpoint's recipe describes the same model as `recipe`.

    Compares the `model` sections key by key, ignoring keys that do not change the weights
    (pretrained paths, dropout, init, losses, train/test cfg) and keys present on one side only.
    Nothing is checked when the checkpoint has no recipe.

    Raises:
        CheckpointError: naming every differing key (number of classes first).
    """
    if checkpoint_recipe is None:
        return
    old = _flatten(_as_dict(checkpoint_recipe).get("model") or {}, "model")
    new = _flatten(_as_dict(recipe).get("model") or {}, "model")
    # keys on one side only are options added or removed between vidact versions (with defaults);
    # a real change of component shows up as a differing `type`
    diffs = sorted((key for key in old.keys() & new.keys() if old[key] != new[key]),
                   key=lambda k: (not k.endswith("num_classes"), k))  # fmt: skip
    if not diffs:
        return
    shown = "; ".join(f"{k}: checkpoint {old[k]!r}, recipe {new[k]!r}" for k in diffs[:8])
    more = f" (+{len(diffs) - 8} more)" if len(diffs) > 8 else ""
    what = "number of classes" if diffs[0].endswith("num_classes") else "architecture"
    raise CheckpointError(
        f"checkpoint and recipe disagree on the {what}: {shown}{more}",
        hint="resume with the recipe the checkpoint was trained with, or start a new work_dir",
    )


def _as_dict(recipe: Mapping[str, Any] | BaseModel) -> Mapping[str, Any]:
    return recipe.model_dump(mode="json") if isinstance(recipe, BaseModel) else recipe


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if key not in _NOT_ARCHITECTURE:
                out.update(_flatten(sub, f"{prefix}.{key}"))
        return out
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, Mapping) for v in value):
            out = {}
            for i, sub in enumerate(value):
                out.update(_flatten(sub, f"{prefix}[{i}]"))
            return out
        return {prefix: list(value)}
    return {prefix: value}
