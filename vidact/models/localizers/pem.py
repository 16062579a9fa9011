"""BSN's proposal evaluation module (PEM): an IoU confidence for each proposal from its
boundary-sensitive (BSP) feature, fused with the TEM boundary scores at test time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.registry import LOCALIZERS


def _per_video(values: Any) -> list[torch.Tensor]:
    """A batch field as one tensor per video: a list stays a list, a stacked (N, ...) tensor is split."""
    if values is None:
        return []
    if torch.is_tensor(values):
        return list(values)
    return [v if torch.is_tensor(v) else torch.as_tensor(np.asarray(v)) for v in values]


def balanced_iou_weights(reference_iou: torch.Tensor, high_threshold: float, low_threshold: float,
                         u_ratio_m: float, u_ratio_l: float) -> torch.Tensor:
    """Sample weights (0 or 1) balancing high, medium and low IoU proposals, as BSN trains PEM.

    Every proposal above `high_threshold` counts; of the medium ones (`low < iou <= high`) a random
    share `min(1, u_ratio_m * num_high / num_medium)` counts, of the low ones (`<= low`) a random
    share `min(1, u_ratio_l * num_high / num_low)`.

    Args:
        reference_iou: (P,) each proposal's best IoU with the ground truth.

    Returns:
        (P,) float weights on the same device.
    """
    high = (reference_iou > high_threshold).float()
    medium = ((reference_iou <= high_threshold) & (reference_iou > low_threshold)).float()
    low = (reference_iou <= low_threshold).float()
    num_high = high.sum()
    weights = high
    for mask, ratio in ((medium, u_ratio_m), (low, u_ratio_l)):
        share = torch.nan_to_num(ratio * num_high / mask.sum(), nan=0.0).clamp(max=1.0)
        draw = torch.rand(reference_iou.shape[0], device=reference_iou.device) * mask
        weights = weights + (draw > 1.0 - share).float()
    return weights


@LOCALIZERS.register("PEM")
class PEM(nn.Module):
    """Proposal Evaluation Model of BSN: two fully connected layers on each proposal's BSP feature.

    Args:
        pem_feat_dim: BSP feature length (32 at the reference sampling defaults).
        pem_hidden_dim: hidden units.
        pem_u_ratio_m, pem_u_ratio_l: medium / low IoU proposals kept per high one in the loss.
        pem_high_temporal_iou_threshold, pem_low_temporal_iou_threshold: the IoU bands.
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold, post_process_top_k:
            soft-NMS settings of the test-time post-processing.
        feature_extraction_interval: frames per feature snippet (seconds conversion).
        fc1_ratio, fc2_ratio: scales applied to each layer's output.
        output_dim: outputs per proposal.
    """

    def __init__(self, pem_feat_dim: int, pem_hidden_dim: int, pem_u_ratio_m: float, pem_u_ratio_l: float,
                 pem_high_temporal_iou_threshold: float, pem_low_temporal_iou_threshold: float,
                 soft_nms_alpha: float, soft_nms_low_threshold: float, soft_nms_high_threshold: float,
                 post_process_top_k: int, feature_extraction_interval: int = 16, fc1_ratio: float = 0.1,
                 fc2_ratio: float = 0.1, output_dim: int = 1) -> None:
        super().__init__()
        self.feat_dim = pem_feat_dim
        self.hidden_dim = pem_hidden_dim
        self.u_ratio_m, self.u_ratio_l = pem_u_ratio_m, pem_u_ratio_l
        self.pem_high_temporal_iou_threshold = pem_high_temporal_iou_threshold
        self.pem_low_temporal_iou_threshold = pem_low_temporal_iou_threshold
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold = soft_nms_low_threshold
        self.soft_nms_high_threshold = soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.fc1_ratio, self.fc2_ratio = fc1_ratio, fc2_ratio
        self.output_dim = output_dim
        self.fc1 = nn.Linear(pem_feat_dim, pem_hidden_dim, bias=True)
        self.fc2 = nn.Linear(pem_hidden_dim, output_dim, bias=True)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (P, D) BSP features -> (P, output_dim) confidences in (0, 1)."""
        x = F.relu(self.fc1_ratio * self.fc1(x))
        return torch.sigmoid(self.fc2_ratio * self.fc2(x))

    def forward_train(self, bsp_feature: Any, reference_temporal_iou: Any) -> dict[str, torch.Tensor]:
        """`temporal_iou_loss`: smooth L1 between predicted and reference IoU, as the reference computes it.

        The reference draws the `balanced_iou_weights` and averages the smooth L1 loss with them,
        but the loss it weights is already the mean over all proposals, so the weights cancel and
        the result is that mean (NaN in the reference when no proposal is drawn; the mean here).
        We keep its arithmetic, random draws included, so losses and trained weights match.
        """
        device = self.fc1.weight.device
        features = torch.cat(_per_video(bsp_feature)).to(device=device, dtype=self.fc1.weight.dtype)
        reference = torch.cat(_per_video(reference_temporal_iou)).to(device).float().view(-1)
        predicted = self._forward(features).view(-1)
        weights = balanced_iou_weights(reference, self.pem_high_temporal_iou_threshold,
                                       self.pem_low_temporal_iou_threshold, self.u_ratio_m, self.u_ratio_l)
        loss = F.smooth_l1_loss(predicted, reference)
        total = weights.sum()
        if total > 0:
            loss = torch.sum(loss * weights) / total
        return {"temporal_iou_loss": loss}

    def score_proposals(self, bsp_feature: torch.Tensor, tmin: Any, tmax: Any, tmin_score: Any,
                        tmax_score: Any) -> np.ndarray:
        """One video's proposals as (P, 6) float64 rows: tmin, tmax, tmin_score, tmax_score, PEM
        confidence, and the fused score `confidence * tmin_score * tmax_score`."""
        device = self.fc1.weight.device
        confidence = self._forward(bsp_feature.to(device=device, dtype=self.fc1.weight.dtype))
        confidence = confidence.detach().view(-1).float().cpu().numpy()
        # float32 products in the reference's order, so fused scores (and soft-NMS ties) match it
        columns = [np.asarray(c.cpu() if torch.is_tensor(c) else c, dtype=np.float32).reshape(-1)
                   for c in (tmin, tmax, tmin_score, tmax_score)]
        score = confidence * columns[2] * columns[3]
        return np.stack((*columns, confidence, score), axis=1).astype(np.float64)

    def forward_test(self, bsp_feature: Any, tmin: Any, tmax: Any, tmin_score: Any, tmax_score: Any,
                     video_meta: Sequence[dict]) -> list[dict[str, Any]]:
        """Per video: {"video_name", "proposal_list": [{"segment": [s, e] seconds, "score"}]} after
        score fusion and soft-NMS (`vidact.localization.post_processing`)."""
        from vidact.localization.post_processing import post_processing

        outputs = []
        fields = [_per_video(f) for f in (bsp_feature, tmin, tmax, tmin_score, tmax_score)]
        for meta, feature, *bounds in zip(video_meta, *fields):
            result = self.score_proposals(feature, *bounds)
            proposal_list = post_processing(result, meta, self.soft_nms_alpha, self.soft_nms_low_threshold,
                                            self.soft_nms_high_threshold, self.post_process_top_k,
                                            self.feature_extraction_interval)
            outputs.append({"video_name": meta["video_name"], "proposal_list": proposal_list})
        return outputs

    def forward(self, bsp_feature: Any, reference_temporal_iou: Any = None, tmin: Any = None, tmax: Any = None,
                tmin_score: Any = None, tmax_score: Any = None, video_meta: Sequence[dict] | None = None,
                return_loss: bool = True, **kwargs: Any) -> Any:
        """Training: the dict of losses. Testing (`return_loss=False`): `forward_test`'s list.

        Args:
            bsp_feature: per video, (P, D) BSP features (a list, or a stacked (N, P, D) tensor).
            reference_temporal_iou: per video, (P,) best IoU with the ground truth (training).
            tmin, tmax, tmin_score, tmax_score: per video, (P,) proposal bounds and boundary scores.
            video_meta: per video, a dict with video_name, duration_second, duration_frame (testing).
        """
        if return_loss:
            if reference_temporal_iou is None:
                raise ValueError("PEM training needs reference_temporal_iou (Collect it after LoadProposals)")
            return self.forward_train(bsp_feature, reference_temporal_iou)
        if video_meta is None or tmin is None:
            raise ValueError("PEM testing needs tmin, tmax, tmin_score, tmax_score and video_meta")
        return self.forward_test(bsp_feature, tmin, tmax, tmin_score, tmax_score, video_meta)
