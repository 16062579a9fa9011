"""The shared classification-head pieces: segmental consensus, and `BaseHead.loss`, which turns
class scores and labels into the reference's loss dict (`loss_cls`, `top1_acc`, `top5_acc`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

from vidact.models.losses import CrossEntropyLoss

log = logging.getLogger(__name__)


class AvgConsensus(nn.Module):
    """Average over the segment axis `dim`, keeping it (size 1)."""

    def __init__(self, *, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N, num_segs, ...)` -> `(N, 1, ...)` for the default `dim=1`."""
        return x.mean(dim=self.dim, keepdim=True)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


DEFAULT_CONSENSUS = AvgConsensus(dim=1)
"""The heads' default consensus. It has no parameters or state, so heads can share this instance."""


def top_k_accuracy(cls_score: torch.Tensor, labels: torch.Tensor, topk: Sequence[int]) -> list[torch.Tensor]:
    """Fraction of rows whose label is among the k highest scores, for each k (k capped at the
    number of classes). `cls_score: (N, num_classes)`, `labels: (N,)` int. No host sync."""
    num_classes = cls_score.shape[1]
    ranked = cls_score.topk(min(max(topk), num_classes), dim=1).indices
    hits = ranked == labels.reshape(-1, 1)
    return [hits[:, : min(k, num_classes)].any(dim=1).float().mean() for k in topk]


class BaseHead(nn.Module):
    """A classifier on backbone features with the reference's `loss` method.

    Args:
        num_classes: number of classes.
        in_channels: feature channels entering the classifier.
        loss_cls: the loss module; None gives `CrossEntropyLoss()`.
        multi_class: multi-label targets (`(N, num_classes)` 0/1 rows, e.g. with `BCELossWithLogits`);
            no accuracy is reported then.
        label_smooth_eps: with `multi_class`, targets become `(1 - eps) * y + eps / num_classes`. As in
            the reference it has no effect on single-label targets (a warning says so).
    """

    topk: tuple[int, ...] = (1, 5)

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        loss_cls: nn.Module | None = None,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_cls = loss_cls if loss_cls is not None else CrossEntropyLoss()
        self.multi_class = multi_class
        self.label_smooth_eps = label_smooth_eps
        if label_smooth_eps and not multi_class:
            log.warning(
                "label_smooth_eps=%s has no effect without multi_class (as in MMAction2)", label_smooth_eps
            )

    def loss(
        self, cls_score: torch.Tensor, labels: torch.Tensor, **kwargs: object
    ) -> dict[str, torch.Tensor]:
        """Loss and (single-label) accuracies for one batch.

        Args:
            cls_score: `(N, num_classes)` scores.
            labels: `(N,)` class indices, or `(N, num_classes)` soft / multi-label targets.
            kwargs: passed on to the loss module.

        Returns:
            `{'top1_acc', 'top5_acc'}` (hard single labels only) and `'loss_cls'` (or the keys of the
            dict the loss returns); only keys containing 'loss' are meant to be summed.
        """
        losses: dict[str, torch.Tensor] = {}
        if labels.dim() == 0:
            labels = labels.unsqueeze(0)
        elif labels.dim() == 1 and labels.shape[0] == self.num_classes and cls_score.shape[0] == 1:
            labels = labels.unsqueeze(0)  # one soft-label row whose batch axis was squeezed away

        if not self.multi_class and cls_score.shape != labels.shape:
            for k, acc in zip(self.topk, top_k_accuracy(cls_score.detach(), labels, self.topk)):
                losses[f"top{k}_acc"] = acc
        elif self.multi_class and self.label_smooth_eps != 0:
            labels = (1 - self.label_smooth_eps) * labels + self.label_smooth_eps / self.num_classes

        loss_cls = self.loss_cls(cls_score, labels, **kwargs)
        if isinstance(loss_cls, dict):
            losses.update(loss_cls)
        else:
            losses["loss_cls"] = loss_cls
        return losses

    def init_weights(self) -> None:
        """Initialise the classifier (subclasses)."""
        raise NotImplementedError
