"""Learning-rate schedules (`lr_config`): step, cosine annealing and fixed, each with optional warmup.

The formulas are mmcv's `LrUpdaterHook` ones, evaluated per iteration: `step(i)` sets every
group's lr for iteration `i` (0-based, counted in batches) before that iteration runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from pydantic import BaseModel, TypeAdapter, ValidationError

from vidact.errors import RecipeError
from vidact.registry import Registry
from vidact.schemas import optim as specs

RegularLr = Callable[[float, int, int], float]
"""(base_lr, progress, max_progress) -> lr, where progress counts epochs or iterations."""

LR_POLICIES: Registry[Callable[..., RegularLr]] = Registry("lr policy")


@LR_POLICIES.register("step")
def step_lr(*, step: int | tuple[int, ...], gamma: float = 0.1, min_lr: float | None = None) -> RegularLr:
    """Multiply by `gamma` at each milestone in `step`, or every `step` units when it is an int."""

    def lr(base_lr: float, progress: int, max_progress: int) -> float:
        if isinstance(step, int):
            exp = progress // step
        else:
            exp = sum(1 for s in step if progress >= s)
        value = base_lr * gamma**exp
        return value if min_lr is None else max(value, min_lr)

    return lr


@LR_POLICIES.register("CosineAnnealing")
def cosine_annealing_lr(*, min_lr: float | None = None, min_lr_ratio: float | None = None) -> RegularLr:
    """Half a cosine from the base lr to `min_lr` (absolute) or `min_lr_ratio` x base lr."""
    if (min_lr is None) == (min_lr_ratio is None):
        raise RecipeError("CosineAnnealing: set exactly one of min_lr and min_lr_ratio")

    def lr(base_lr: float, progress: int, max_progress: int) -> float:
        target = base_lr * min_lr_ratio if min_lr_ratio is not None else min_lr
        cos_out = math.cos(math.pi * progress / max_progress) + 1
        return target + 0.5 * (base_lr - target) * cos_out

    return lr


@LR_POLICIES.register("fixed")
def fixed_lr() -> RegularLr:
    """The base lr throughout."""
    return lambda base_lr, progress, max_progress: base_lr


def warmup_factor(warmup: str, iteration: int, warmup_iters: int, warmup_ratio: float) -> float:
    """The factor mmcv multiplies the regular lr by during warmup (`iteration < warmup_iters`).

    linear: from `warmup_ratio` up to 1; constant: `warmup_ratio`; exp: `warmup_ratio ** (1 - t)`
    with t = iteration / warmup_iters.
    """
    t = iteration / warmup_iters
    if warmup == "linear":
        return 1 - (1 - t) * (1 - warmup_ratio)
    if warmup == "constant":
        return warmup_ratio
    if warmup == "exp":
        return warmup_ratio ** (1 - t)
    raise RecipeError(f"unknown warmup '{warmup}'; known: linear, constant, exp")


class LrSchedule:
    """Sets each parameter group's lr per iteration from its base lr.

    Args:
        optimizer: the optimizer; each group's base lr is its `initial_lr` (set here from `lr`
            when absent, as torch schedulers do), so groups keep their constructor multipliers.
        regular_lr: the policy's (base_lr, progress, max_progress) -> lr.
        iters_per_epoch: batches per epoch.
        total_epochs: length of training.
        by_epoch: the policy's progress counts epochs (the lr changes at epoch boundaries) instead
            of iterations.
        warmup: None, 'linear', 'constant' or 'exp'.
        warmup_iters: warmup length in iterations (already converted from epochs by the builder).
        warmup_ratio: the lr factor warmup starts from.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        regular_lr: RegularLr,
        *,
        iters_per_epoch: int,
        total_epochs: int,
        by_epoch: bool = True,
        warmup: str | None = None,
        warmup_iters: int = 0,
        warmup_ratio: float = 0.1,
    ) -> None:
        if iters_per_epoch <= 0 or total_epochs <= 0:
            raise ValueError(
                f"iters_per_epoch and total_epochs must be positive, got {iters_per_epoch}, {total_epochs}"
            )
        self.optimizer = optimizer
        self.regular_lr = regular_lr
        self.iters_per_epoch = iters_per_epoch
        self.total_epochs = total_epochs
        self.by_epoch = by_epoch
        self.warmup = warmup if warmup_iters > 0 else None
        self.warmup_iters = warmup_iters
        self.warmup_ratio = warmup_ratio
        self.base_lrs = [group.setdefault("initial_lr", group["lr"]) for group in optimizer.param_groups]
        self.last_iteration = -1

    def lr_at(self, iteration: int) -> list[float]:
        """The lr of each group for iteration `iteration`, without changing the optimizer."""
        if self.by_epoch:
            progress, max_progress = iteration // self.iters_per_epoch, self.total_epochs
        else:
            progress, max_progress = iteration, self.total_epochs * self.iters_per_epoch
        lrs = [self.regular_lr(base, progress, max_progress) for base in self.base_lrs]
        if self.warmup is not None and iteration < self.warmup_iters:
            k = warmup_factor(self.warmup, iteration, self.warmup_iters, self.warmup_ratio)
            lrs = [lr * k for lr in lrs]
        return lrs

    def step(self, iteration: int) -> None:
        """Set every group's lr for iteration `iteration` (call before that iteration's update)."""
        for group, lr in zip(self.optimizer.param_groups, self.lr_at(iteration)):
            group["lr"] = lr
        self.last_iteration = iteration

    def get_lr(self) -> list[float]:
        """The current lr of each parameter group."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Base lrs and the last iteration stepped (plain lists and numbers)."""
        return {"base_lrs": list(self.base_lrs), "last_iteration": self.last_iteration}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()` output and re-apply the lr of the last iteration stepped."""
        base_lrs = [float(lr) for lr in state["base_lrs"]]
        if len(base_lrs) != len(self.optimizer.param_groups):
            raise ValueError(
                f"schedule state has {len(base_lrs)} parameter groups, the optimizer {len(self.optimizer.param_groups)}"
            )
        self.base_lrs = base_lrs
        for group, base in zip(self.optimizer.param_groups, base_lrs):
            group["initial_lr"] = base
        self.last_iteration = int(state["last_iteration"])
        if self.last_iteration >= 0:
            self.step(self.last_iteration)


_LR_SPEC: TypeAdapter[Any] = TypeAdapter(specs.LrConfig)
_COMMON = ("policy", "by_epoch", "warmup", "warmup_iters", "warmup_ratio", "warmup_by_epoch")


def build_lr_scheduler(
    optimizer: torch.optim.Optimizer,
    lr_config_spec: BaseModel | Mapping[str, Any],
    *,
    iters_per_epoch: int,
    total_epochs: int,
) -> LrSchedule:
    """Build the schedule a recipe's `lr_config` describes.

    Args:
        optimizer: the optimizer whose groups' lrs are the base lrs.
        lr_config_spec: a validated `lr_config` spec or a dict with the same keys.
        iters_per_epoch: batches per epoch (epoch milestones and `warmup_by_epoch` convert with it).
        total_epochs: the recipe's `total_epochs` (cosine annealing's horizon).

    Raises:
        RecipeError: an invalid dict spec.
    """
    if not isinstance(lr_config_spec, BaseModel):
        try:
            lr_config_spec = _LR_SPEC.validate_python(dict(lr_config_spec))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise RecipeError(f"invalid lr_config: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    cfg = lr_config_spec.model_dump()
    policy_kwargs = {k: v for k, v in cfg.items() if k not in _COMMON}
    regular_lr = LR_POLICIES.get(cfg["policy"])(**policy_kwargs)
    warmup_iters = cfg["warmup_iters"] * (iters_per_epoch if cfg["warmup_by_epoch"] else 1)
    return LrSchedule(
        optimizer,
        regular_lr,
        iters_per_epoch=iters_per_epoch,
        total_epochs=total_epochs,
        by_epoch=cfg["by_epoch"],
        warmup=cfg["warmup"],
        warmup_iters=warmup_iters,
        warmup_ratio=cfg["warmup_ratio"],
    )
