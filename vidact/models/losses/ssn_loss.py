"""SSN's losses: activity cross-entropy, OHEM hinge loss for completeness, class-wise smooth-L1 regression."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.registry import LOSSES
from vidact.schemas.data import SSNTrainCfgSpec


def ohem_hinge_loss(pred: torch.Tensor, labels: torch.Tensor, is_positive: int, ohem_ratio: float,
                    group_size: int) -> torch.Tensor:
    """Sum over groups of the `int(group_size * ohem_ratio)` largest hinge losses of each group.

    The hinge loss of a proposal is `max(0, 1 - is_positive * pred[i, labels[i] - 1])` (labels are
    1-based, 0 is background). Its gradient is `-is_positive` on that one score for the kept
    (hardest) proposals with a nonzero loss, as the reference's `OHEMHingeLoss` computes by hand.

    Args:
        pred: (N, K) completeness scores, N a multiple of `group_size` (one group per video).
        labels: (N,) 1-based class labels.
        is_positive: 1 for complete (positive) proposals, -1 for incomplete ones.
        ohem_ratio: share of each group kept.
        group_size: proposals per video.

    Returns:
        A one-element tensor (the reference's shape).
    """
    if pred.shape[0] != labels.numel():
        raise ValueError(f"Number of samples should be equal to that of labels, but got {pred.shape[0]} samples "
                         f"and {labels.numel()} labels.")
    scores = pred.gather(1, (labels.reshape(-1, 1) - 1).long()).reshape(-1)
    losses = torch.relu(1 - is_positive * scores).reshape(-1, group_size)  # relu: zero slope at 0, as the reference
    keep_length = int(group_size * ohem_ratio)
    kept = losses.sort(dim=1, descending=True).values[:, :keep_length]
    return kept.sum().reshape(1)


class OHEMHingeLoss(nn.Module):
    """Module form of `ohem_hinge_loss` (the reference's name)."""

    def forward(self, pred: torch.Tensor, labels: torch.Tensor, is_positive: int, ohem_ratio: float,
                group_size: int) -> torch.Tensor:
        return ohem_hinge_loss(pred, labels, is_positive, ohem_ratio, group_size)


@LOSSES.register()
class SSNLoss(nn.Module):
    """`loss_activity`, `loss_completeness` (weighted) and `loss_reg` (weighted) of a batch of proposals.

    Proposals come video by video, each video's `num_per_video` as the dataset samples them:
    positives, then incompletes, then backgrounds (`proposal_type` 0, 1, 2).
    """

    def __init__(self) -> None:
        super().__init__()

    @staticmethod
    def activity_loss(activity_score: torch.Tensor, labels: torch.Tensor, activity_indexer: torch.Tensor
                      ) -> torch.Tensor:
        """Cross-entropy of positives and backgrounds over K + 1 classes."""
        return F.cross_entropy(activity_score[activity_indexer], labels[activity_indexer])

    @staticmethod
    def completeness_loss(completeness_score: torch.Tensor, labels: torch.Tensor, completeness_indexer: torch.Tensor,
                          positive_per_video: int, incomplete_per_video: int, ohem_ratio: float = 0.17
                          ) -> torch.Tensor:
        """OHEM hinge loss: all positives count as complete; the hardest `ohem_ratio` of each video's
        incompletes count as incomplete; divided by the number of proposals counted."""
        pred = completeness_score[completeness_indexer]
        gt = labels[completeness_indexer]
        group = positive_per_video + incomplete_per_video
        pred = pred.reshape(-1, group, pred.shape[1])
        gt = gt.reshape(-1, group)
        positive_pred = pred[:, :positive_per_video].reshape(-1, pred.shape[2])
        incomplete_pred = pred[:, positive_per_video:].reshape(-1, pred.shape[2])
        positive_loss = ohem_hinge_loss(positive_pred, gt[:, :positive_per_video].reshape(-1), 1, 1.0,
                                        positive_per_video)
        incomplete_loss = ohem_hinge_loss(incomplete_pred, gt[:, positive_per_video:].reshape(-1), -1, ohem_ratio,
                                          incomplete_per_video)
        num_positives = positive_pred.shape[0]
        num_incompletes = int(incomplete_pred.shape[0] * ohem_ratio)
        return (positive_loss + incomplete_loss) / float(num_positives + num_incompletes)

    @staticmethod
    def classwise_regression_loss(bbox_pred: torch.Tensor, labels: torch.Tensor, bbox_targets: torch.Tensor,
                                  regression_indexer: torch.Tensor) -> torch.Tensor:
        """Smooth-L1 between each positive's regression for its own class and its target, times 2."""
        pred = bbox_pred[regression_indexer]  # (R, K, 2)
        class_idx = labels[regression_indexer] - 1
        own = pred[torch.arange(pred.shape[0], device=pred.device), class_idx]  # (R, 2)
        return F.smooth_l1_loss(own.reshape(-1), bbox_targets[regression_indexer].reshape(-1)) * 2

    def forward(self, activity_score: torch.Tensor, completeness_score: torch.Tensor, bbox_pred: torch.Tensor | None,
                proposal_type: torch.Tensor, labels: torch.Tensor, bbox_targets: torch.Tensor,
                train_cfg: SSNTrainCfgSpec | Mapping[str, Any] | None) -> dict[str, torch.Tensor]:
        """Losses of one batch.

        Args:
            activity_score: (N, K + 1); completeness_score: (N, K); bbox_pred: (N, K, 2) or None.
            proposal_type: (B, P) or (N,) 0 positive, 1 incomplete, 2 background.
            labels: (B, P) or (N,) 1-based labels (0 for backgrounds).
            bbox_targets: (B, P, 2) or (N, 2) normalised regression targets.
            train_cfg: `train_cfg` (its `ssn.sampler` and `ssn.loss_weight` are read).
        """
        cfg = SSNTrainCfgSpec.model_validate(train_cfg or {}).ssn
        sampler, weights = cfg.sampler, cfg.loss_weight
        proposal_type = proposal_type.reshape(-1)
        labels = labels.reshape(-1).long()
        activity_indexer = ((proposal_type == 0) | (proposal_type == 2)).nonzero().squeeze(1)
        completeness_indexer = ((proposal_type == 0) | (proposal_type == 1)).nonzero().squeeze(1)
        total_ratio = sampler.positive_ratio + sampler.background_ratio + sampler.incomplete_ratio
        positive_per_video = int(sampler.num_per_video * (sampler.positive_ratio / total_ratio))
        background_per_video = int(sampler.num_per_video * (sampler.background_ratio / total_ratio))
        incomplete_per_video = sampler.num_per_video - positive_per_video - background_per_video
        losses = {"loss_activity": self.activity_loss(activity_score, labels, activity_indexer)}
        losses["loss_completeness"] = self.completeness_loss(
            completeness_score, labels, completeness_indexer, positive_per_video, incomplete_per_video,
            ohem_ratio=positive_per_video / incomplete_per_video) * weights.comp_loss_weight
        if bbox_pred is not None:
            regression_indexer = (proposal_type == 0).nonzero().squeeze(1)
            losses["loss_reg"] = self.classwise_regression_loss(
                bbox_pred, labels, bbox_targets.reshape(-1, 2), regression_indexer) * weights.reg_loss_weight
        return losses
