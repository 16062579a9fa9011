"""Specs for `optimizer`, `optimizer_config` and `lr_config`.

Keys follow MMAction configs: the optimizer names a `torch.optim` class (or `CopyOfSGD`) plus an
optional parameter-group `constructor`; `lr_config` picks a schedule by `policy`, each with the same
optional warmup fields.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from vidact.schemas._types import (
    ComponentSpec,
    IntOrInts,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Spec,
)


class ParamwiseCfgSpec(Spec):
    """Per-parameter-group multipliers applied by the optimizer constructor."""

    fc_lr5: bool = False
    """TSMOptimizerConstructor: 5x lr and 10x weight decay for the last fc layer."""
    bias_lr_mult: PositiveFloat | None = None
    bias_decay_mult: NonNegativeFloat | None = None
    norm_decay_mult: NonNegativeFloat | None = None


Constructor = Literal["DefaultOptimizerConstructor", "TSMOptimizerConstructor"]


class _OptimizerFields(ComponentSpec):
    lr: PositiveFloat
    weight_decay: NonNegativeFloat = 0
    constructor: Constructor = "DefaultOptimizerConstructor"
    paramwise_cfg: ParamwiseCfgSpec | None = None

    @model_validator(mode="after")
    def _fc_lr5_needs_tsm(self) -> _OptimizerFields:
        if self.paramwise_cfg and self.paramwise_cfg.fc_lr5 and self.constructor != "TSMOptimizerConstructor":
            raise ValueError("paramwise_cfg.fc_lr5 only applies with constructor: TSMOptimizerConstructor")
        return self


class SGDSpec(_OptimizerFields):
    """Stochastic gradient descent (`torch.optim.SGD`)."""

    type: Literal["SGD"]
    momentum: NonNegativeFloat = 0
    dampening: NonNegativeFloat = 0
    nesterov: bool = False

    @model_validator(mode="after")
    def _nesterov(self) -> SGDSpec:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov: true needs momentum > 0 and dampening: 0")
        return self


class CopyOfSGDSpec(SGDSpec):
    """The reference's example custom optimizer: behaves exactly like SGD."""

    type: Literal["CopyOfSGD"]


class AdamSpec(_OptimizerFields):
    """Adam (`torch.optim.Adam`)."""

    type: Literal["Adam"]
    betas: tuple[float, float] = (0.9, 0.999)
    eps: PositiveFloat = 1e-8
    amsgrad: bool = False


class AdamWSpec(AdamSpec):
    """Adam with decoupled weight decay (`torch.optim.AdamW`)."""

    type: Literal["AdamW"]
    weight_decay: NonNegativeFloat = 0.01


class RMSpropSpec(_OptimizerFields):
    """RMSprop (`torch.optim.RMSprop`)."""

    type: Literal["RMSprop"]
    alpha: PositiveFloat = 0.99
    eps: PositiveFloat = 1e-8
    momentum: NonNegativeFloat = 0
    centered: bool = False


Optimizer = Annotated[
    Union[SGDSpec, AdamSpec, AdamWSpec, RMSpropSpec, CopyOfSGDSpec], Field(discriminator="type")
]


class GradClipSpec(Spec):
    """Clip the global gradient norm before each optimizer step."""

    max_norm: PositiveFloat
    norm_type: PositiveFloat = 2


class OptimizerConfigSpec(Spec):
    """`optimizer_config`: gradient clipping and gradient accumulation."""

    grad_clip: GradClipSpec | None = None
    accumulate: PositiveInt = 1
    """Step the optimizer every `accumulate` batches (effective batch = accumulate x batch)."""


# ---- learning-rate schedules -------------------------------------------------------------------


class _LrPolicyFields(Spec):
    policy: str
    by_epoch: bool = True
    warmup: Literal["linear", "constant", "exp"] | None = None
    warmup_iters: NonNegativeInt = 0
    """Warmup length in iterations, or in epochs when `warmup_by_epoch` is true."""
    warmup_ratio: Annotated[float, Field(gt=0, le=1)] = 0.1
    warmup_by_epoch: bool = False

    @model_validator(mode="after")
    def _warmup_has_length(self) -> _LrPolicyFields:
        if self.warmup is not None and self.warmup_iters == 0:
            raise ValueError(f"warmup: {self.warmup} needs warmup_iters > 0")
        return self


class StepLrSpec(_LrPolicyFields):
    """Multiply the lr by `gamma` at each epoch (or iteration) in `step`."""

    policy: Literal["step"]
    step: IntOrInts
    gamma: PositiveFloat = 0.1
    min_lr: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _increasing(self) -> StepLrSpec:
        steps = (self.step,) if isinstance(self.step, int) else self.step
        if any(s <= 0 for s in steps) or list(steps) != sorted(set(steps)):
            raise ValueError(f"step must be positive and strictly increasing, got {list(steps)}")
        return self


class CosineAnnealingLrSpec(_LrPolicyFields):
    """Cosine decay from the base lr to `min_lr` (or `min_lr_ratio` x base lr)."""

    policy: Literal["CosineAnnealing"]
    min_lr: NonNegativeFloat | None = None
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CosineAnnealingLrSpec:
        if (self.min_lr is None) == (self.min_lr_ratio is None):
            raise ValueError("set exactly one of min_lr and min_lr_ratio")
        return self


class FixedLrSpec(_LrPolicyFields):
    """Constant lr (after the optional warmup)."""

    policy: Literal["fixed"]


LrConfig = Annotated[Union[StepLrSpec, CosineAnnealingLrSpec, FixedLrSpec], Field(discriminator="policy")]
