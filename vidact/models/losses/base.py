"""Base class of the classification losses: a `_forward` scaled by `loss_weight`."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class BaseWeightedLoss(nn.Module):
    """Scales the result of `_forward` (or each `*loss*` entry of a returned dict) by `loss_weight`."""

    def __init__(self, *, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def _forward(self, *args: Any, **kwargs: Any) -> torch.Tensor | dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor | dict[str, torch.Tensor]:
        """The weighted loss."""
        ret = self._forward(*args, **kwargs)
        if isinstance(ret, dict):
            return {k: v * self.loss_weight if "loss" in k else v for k, v in ret.items()}
        return ret * self.loss_weight


def class_weight_buffer(module: nn.Module, class_weight: tuple[float, ...] | None) -> None:
    """Keep `class_weight` as a non-persistent buffer: it follows `.to(device)` but stays out of the
    state dict, like the reference's plain-tensor attribute."""
    tensor = torch.tensor(class_weight, dtype=torch.float32) if class_weight is not None else None
    module.register_buffer("class_weight", tensor, persistent=False)
