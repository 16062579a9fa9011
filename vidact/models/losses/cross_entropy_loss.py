"""Cross entropy (hard or soft labels), NLL and binary cross entropy on logits, as the reference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from vidact.models.losses.base import BaseWeightedLoss, class_weight_buffer
from vidact.models.registry import LOSSES


@LOSSES.register()
class CrossEntropyLoss(BaseWeightedLoss):
    """Softmax cross entropy, mean over the batch.

    Hard labels `(N,)` use `F.cross_entropy` (with `class_weight` as its `weight`, so the mean is
    weighted). Soft labels with the scores' shape `(N, num_classes)` give
    `-sum_c y_c * w_c * log_softmax(x)_c`, averaged over the batch, or with `class_weight` summed and
    divided by `sum(w_c * y_c)`.

    Args:
        loss_weight: factor on the result.
        class_weight: one weight per class, or None.
    """

    def __init__(self, *, loss_weight: float = 1.0, class_weight: Sequence[float] | None = None) -> None:
        super().__init__(loss_weight=loss_weight)
        class_weight_buffer(self, tuple(class_weight) if class_weight is not None else None)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """`cls_score: (N, num_classes)`; `label: (N,)` int or `(N, num_classes)` float."""
        if cls_score.shape == label.shape:
            if cls_score.dim() != 2:
                raise ValueError(f"soft labels need 2-D scores, got shape {tuple(cls_score.shape)}")
            if kwargs:
                raise ValueError(f"soft labels take no extra loss arguments, got {sorted(kwargs)}")
            lsm = F.log_softmax(cls_score, dim=1)
            if self.class_weight is None:
                return -(label * lsm).sum(dim=1).mean()
            weight = self.class_weight.unsqueeze(0)
            return -(label * lsm * weight).sum() / (weight * label).sum()
        if self.class_weight is not None:
            if "weight" in kwargs:
                raise ValueError("pass class weights either as class_weight or as weight, not both")
            kwargs["weight"] = self.class_weight
        return F.cross_entropy(cls_score, label, **kwargs)


@LOSSES.register()
class BCELossWithLogits(BaseWeightedLoss):
    """Binary cross entropy on logits for multi-label targets, mean over all entries.

    Args:
        loss_weight: factor on the result.
        class_weight: one weight per class (broadcast over the batch), or None.
    """

    def __init__(self, *, loss_weight: float = 1.0, class_weight: Sequence[float] | None = None) -> None:
        super().__init__(loss_weight=loss_weight)
        class_weight_buffer(self, tuple(class_weight) if class_weight is not None else None)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """`cls_score, label: (N, num_classes)`, label in [0, 1]."""
        if self.class_weight is not None:
            if "weight" in kwargs:
                raise ValueError("pass class weights either as class_weight or as weight, not both")
            kwargs["weight"] = self.class_weight
        return F.binary_cross_entropy_with_logits(cls_score, label.to(cls_score.dtype), **kwargs)
