"""Specs for the runtime sections of a recipe: checkpoints, evaluation, logging, AMP, distribution.

Section names and keys follow MMAction configs (`checkpoint_config`, `evaluation`, `log_config`,
`dist_params`) so existing habits carry over.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BeforeValidator, Field

from vidact.schemas._types import ComponentSpec, PositiveInt, Spec


class CheckpointConfigSpec(Spec):
    """`checkpoint_config`: how often to save and how many checkpoints to keep."""

    interval: PositiveInt = 1
    """Save every `interval` epochs."""
    max_keep_ckpts: Annotated[int, Field(ge=-1)] = -1
    """Keep only the newest N epoch checkpoints; -1 keeps all."""
    save_optimizer: bool = True
    iter_interval: Annotated[int, Field(ge=0)] = 0
    """Also save a rolling mid-epoch checkpoint every N iterations (0: off)."""
    time_interval_min: Annotated[float, Field(ge=0)] = 30.0
    """Also save a rolling mid-epoch checkpoint every N minutes (0: off), so a crash loses at most that."""


Metric = Literal[
    "top_k_accuracy",
    "mean_class_accuracy",
    "mean_average_precision",
    "mmit_mean_average_precision",
    "AR@AN",
    "mAP",
]


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, (str, int)) and not isinstance(value, bool) else value


class EvaluationSpec(Spec):
    """`evaluation`: the EvalHook settings (validation every `interval` epochs)."""

    interval: PositiveInt = 1
    metrics: Annotated[tuple[Metric, ...], BeforeValidator(_as_tuple)] = ("top_k_accuracy",)
    topk: Annotated[tuple[PositiveInt, ...], BeforeValidator(_as_tuple)] = (1, 5)
    save_best: bool | Literal["auto"] = True
    """'auto': keep the best by the first metric the dataset reports (auc for AR@AN), whatever key_indicator."""
    key_indicator: str | None = "top1_acc"
    rule: Literal["greater", "less"] | None = None
    """How to compare `key_indicator` values; null infers it from the metric name."""
    gpu_collect: bool = False


class TextLoggerHookSpec(ComponentSpec):
    """Write training logs as text (stderr and `work_dir`)."""

    type: Literal["TextLoggerHook"]


class TensorboardLoggerHookSpec(ComponentSpec):
    """Write scalars for TensorBoard (optional `tensorboard` dependency)."""

    type: Literal["TensorboardLoggerHook"]
    log_dir: str | None = None


LoggerHook = Annotated[Union[TextLoggerHookSpec, TensorboardLoggerHookSpec], Field(discriminator="type")]


class LogConfigSpec(Spec):
    """`log_config`: log every `interval` iterations through `hooks`."""

    interval: PositiveInt = 20
    hooks: tuple[LoggerHook, ...] = (TextLoggerHookSpec(type="TextLoggerHook"),)


class AmpSpec(Spec):
    """`amp`: automatic mixed precision (MMAction's `fp16` section)."""

    enabled: bool = False
    dtype: Literal["float16", "bfloat16"] = "float16"
    """float16 uses a dynamic loss scaler; bfloat16 needs none."""


class DistParamsSpec(Spec):
    """`dist_params`: the torch.distributed backend; null picks nccl with CUDA, gloo on CPU."""

    backend: Literal["nccl", "gloo"] | None = None


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
