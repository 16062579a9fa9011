"""BMN's loss: boundary (TEM) loss + balanced IoU regression + classification over the BM map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.losses.binary_logistic_regression_loss import (
    _balance_coefficients,
    binary_logistic_regression_loss,
)
from vidact.models.registry import LOSSES


@LOSSES.register()
class BMNLoss(nn.Module):
    """Weighted sum of the temporal evaluation loss and the two proposal evaluation losses.

    Layouts: `pred_bm: (N, 2, D, T)` (channel 0 regression, 1 classification; D durations, T starts),
    `pred_start`/`pred_end`/`gt_start`/`gt_end: (N, T)`, `gt_iou_map: (N, D, T)`, `bm_mask: (D, T)`
    with 1 where the proposal ends inside the video.
    """

    def __init__(self) -> None:
        super().__init__()

    @staticmethod
    def tem_loss(
        pred_start: torch.Tensor, pred_end: torch.Tensor, gt_start: torch.Tensor, gt_end: torch.Tensor
    ) -> torch.Tensor:
        """Balanced logistic loss of the start curve plus that of the end curve."""
        return binary_logistic_regression_loss(pred_start, gt_start) + binary_logistic_regression_loss(
            pred_end, gt_end
        )

    @staticmethod
    def pem_reg_loss(
        pred_score: torch.Tensor,
        gt_iou_map: torch.Tensor,
        mask: torch.Tensor,
        high_temporal_iou_threshold: float = 0.7,
        low_temporal_iou_threshold: float = 0.3,
    ) -> torch.Tensor:
        """Half the mean squared error over a sample balanced between high, medium and low IoU cells.

        Every high-IoU cell counts; medium and low (but non-zero, valid) cells are kept at random with
        probabilities `num_high / num_medium` and `num_high / num_low`, drawn with `torch.rand_like`
        (medium first, then low, as the reference, so seeded runs draw the same cells).
        """
        u_hmask = (gt_iou_map > high_temporal_iou_threshold).float()
        u_mmask = ((gt_iou_map <= high_temporal_iou_threshold) & (gt_iou_map > low_temporal_iou_threshold)).float()
        u_lmask = ((gt_iou_map <= low_temporal_iou_threshold) & (gt_iou_map > 0.0)).float() * mask
        num_h, num_m, num_l = u_hmask.sum(), u_mmask.sum(), u_lmask.sum()

        keep_m = ((u_mmask * torch.rand_like(gt_iou_map)) > (1.0 - num_h / num_m)).float()
        keep_l = ((u_lmask * torch.rand_like(gt_iou_map)) > (1.0 - num_h / num_l)).float()
        weights = u_hmask + keep_m + keep_l
        mse = F.mse_loss(pred_score * weights, gt_iou_map * weights)
        # mse is a mean over all cells; rescale it to a mean over the weighted ones
        return 0.5 * mse * weights.numel() / weights.sum()

    @staticmethod
    def pem_cls_loss(
        pred_score: torch.Tensor,
        gt_iou_map: torch.Tensor,
        mask: torch.Tensor,
        threshold: float = 0.9,
        ratio_range: tuple[float, float] = (1.05, 21),
        eps: float = 1e-5,
    ) -> torch.Tensor:
        """Balanced logistic loss over valid cells, positives where the IoU exceeds `threshold`."""
        pmask = (gt_iou_map > threshold).float()
        nmask = (gt_iou_map <= threshold).float() * mask
        num_positive = pmask.sum().clamp(min=1)
        num_entries = num_positive + nmask.sum()
        coef_0, coef_1 = _balance_coefficients(num_entries, num_positive, ratio_range)
        loss_pos = coef_1 * torch.log(pred_score + eps) * pmask
        loss_neg = coef_0 * torch.log(1.0 - pred_score + eps) * nmask
        return -(loss_pos + loss_neg).sum() / num_entries

    def forward(
        self,
        pred_bm: torch.Tensor,
        pred_start: torch.Tensor,
        pred_end: torch.Tensor,
        gt_iou_map: torch.Tensor,
        gt_start: torch.Tensor,
        gt_end: torch.Tensor,
        bm_mask: torch.Tensor,
        weight_tem: float = 1.0,
        weight_pem_reg: float = 10.0,
        weight_pem_cls: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(loss, tem_loss, pem_reg_loss, pem_cls_loss)`, `loss` the weighted sum of the other three."""
        gt_iou_map = gt_iou_map * bm_mask
        pem_reg_loss = self.pem_reg_loss(pred_bm[:, 0].contiguous(), gt_iou_map, bm_mask)
        pem_cls_loss = self.pem_cls_loss(pred_bm[:, 1].contiguous(), gt_iou_map, bm_mask)
        tem_loss = self.tem_loss(pred_start, pred_end, gt_start, gt_end)
        loss = weight_tem * tem_loss + weight_pem_reg * pem_reg_loss + weight_pem_cls * pem_cls_loss
        return loss, tem_loss, pem_reg_loss, pem_cls_loss
