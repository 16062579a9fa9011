"""Negative log-likelihood on log-probabilities."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from vidact.models.losses.base import BaseWeightedLoss
from vidact.models.registry import LOSSES


@LOSSES.register()
class NLLLoss(BaseWeightedLoss):
    """`F.nll_loss` (mean over the batch) scaled by `loss_weight`; inputs are log-probabilities."""

    def __init__(self, *, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight=loss_weight)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """`cls_score: (N, num_classes)` log-probabilities, `label: (N,)` int."""
        return F.nll_loss(cls_score, label, **kwargs)
