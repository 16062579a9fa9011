"""BSN's temporal evaluation module (TEM): per-position action, start and end probabilities from
snippet features, trained against IoP labels computed from the ground-truth segments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidact.errors import InputError
from vidact.models.registry import LOCALIZERS


def temporal_anchors(temporal_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The `temporal_dim` equal cells of [0, 1]: (T,) float64 starts and ends, as the reference
    computes them (`i / T` as `(1 / T) * i`, so the floats match its TEM CSVs bit for bit)."""
    gap = 1.0 / temporal_dim
    index = np.arange(temporal_dim, dtype=np.float64)
    return gap * index, gap * (index + 1.0)


def max_iop(anchor_min: np.ndarray, anchor_max: np.ndarray, gt_min: np.ndarray, gt_max: np.ndarray) -> np.ndarray:
    """For each anchor, its largest intersection-over-anchor-length with any ground truth.

    Args:
        anchor_min, anchor_max: (T,) anchor bounds.
        gt_min, gt_max: (G,) segment bounds.

    Returns:
        (T,) float64; zeros when G == 0.
    """
    if len(gt_min) == 0:
        return np.zeros(len(anchor_min), dtype=np.float64)
    inter_min = np.maximum(anchor_min[:, None], gt_min[None, :])
    inter_max = np.minimum(anchor_max[:, None], gt_max[None, :])
    inter_len = np.maximum(inter_max - inter_min, 0.0)
    return (inter_len / (anchor_max - anchor_min)[:, None]).max(axis=1)


@LOCALIZERS.register("TEM")
class TEM(nn.Module):
    """Temporal Evaluation Model of BSN: three 1-D convolutions over the snippet features.

    Args:
        temporal_dim: positions per video (T).
        boundary_ratio: a boundary region is this share of its segment's length (at least 1 / T).
        tem_feat_dim: feature channels (C).
        tem_hidden_dim: channels of the hidden convolutions.
        tem_match_threshold: labels above it count as positives in the loss.
        loss_cls: the built loss, called `loss_cls(score, label, threshold)`
            (`BinaryLogisticRegressionLoss`).
        loss_weight: weight of the action loss.
        output_dim: output channels (action, start, end).
        conv1_ratio, conv2_ratio, conv3_ratio: scales applied to each convolution's output.
    """

    def __init__(self, temporal_dim: int, boundary_ratio: float, tem_feat_dim: int, tem_hidden_dim: int,
                 tem_match_threshold: float, loss_cls: nn.Module | None = None, loss_weight: float = 2,
                 output_dim: int = 3,
                 conv1_ratio: float = 1, conv2_ratio: float = 1, conv3_ratio: float = 0.01) -> None:
        super().__init__()
        self.temporal_dim = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.feat_dim = tem_feat_dim
        self.c_hidden = tem_hidden_dim
        self.match_threshold = tem_match_threshold
        self.output_dim = output_dim
        if loss_cls is None:  # the spec's default component
            from vidact.models.losses import BinaryLogisticRegressionLoss

            loss_cls = BinaryLogisticRegressionLoss()
        self.loss_cls = loss_cls
        self.loss_weight = loss_weight
        self.conv1_ratio, self.conv2_ratio, self.conv3_ratio = conv1_ratio, conv2_ratio, conv3_ratio
        self.conv1 = nn.Conv1d(tem_feat_dim, tem_hidden_dim, kernel_size=3, stride=1, padding=1)
        self.conv2 = nn.Conv1d(tem_hidden_dim, tem_hidden_dim, kernel_size=3, stride=1, padding=1)
        self.conv3 = nn.Conv1d(tem_hidden_dim, output_dim, kernel_size=1, stride=1, padding=0)
        self.anchors_tmins, self.anchors_tmaxs = temporal_anchors(temporal_dim)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, T) features -> (N, 3, T) probabilities (action, start, end)."""
        x = F.relu(self.conv1_ratio * self.conv1(x))
        x = F.relu(self.conv2_ratio * self.conv2(x))
        return torch.sigmoid(self.conv3_ratio * self.conv3(x))

    def generate_labels(self, gt_bbox: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Action, start and end labels, each (N, T) float32, from each video's (G, 2) segments in [0, 1].

        Per anchor: the largest IoP with a segment (action), with a start region or with an end
        region; a region is centred on the boundary, `max(1 / T, boundary_ratio * length)` wide.
        """
        action, start, end = [], [], []
        for boxes in gt_bbox:
            boxes = boxes.detach().cpu().numpy() if torch.is_tensor(boxes) else np.asarray(boxes)
            boxes = boxes.astype(np.float64).reshape(-1, 2)
            gt_tmins, gt_tmaxs = boxes[:, 0], boxes[:, 1]
            half_pad = np.maximum(1.0 / self.temporal_dim, self.boundary_ratio * (gt_tmaxs - gt_tmins)) / 2
            action.append(max_iop(self.anchors_tmins, self.anchors_tmaxs, gt_tmins, gt_tmaxs))
            start.append(max_iop(self.anchors_tmins, self.anchors_tmaxs, gt_tmins - half_pad, gt_tmins + half_pad))
            end.append(max_iop(self.anchors_tmins, self.anchors_tmaxs, gt_tmaxs - half_pad, gt_tmaxs + half_pad))
        return tuple(torch.from_numpy(np.stack(labels).astype(np.float32)) for labels in (action, start, end))

    def forward_train(self, raw_feature: torch.Tensor, gt_bbox: Sequence[Any]) -> dict[str, torch.Tensor]:
        """Losses: action (times `loss_weight`), start and end."""
        tem_output = self._forward(raw_feature)
        labels = [label.to(raw_feature.device) for label in self.generate_labels(gt_bbox)]
        losses = [self.loss_cls(tem_output[:, i, :], label, self.match_threshold) for i, label in enumerate(labels)]
        return {"loss_action": losses[0] * self.loss_weight, "loss_start": losses[1], "loss_end": losses[2]}

    def forward_test(self, raw_feature: torch.Tensor, video_meta: Sequence[dict]) -> list[tuple[str, np.ndarray]]:
        """Per video: (video_name, (T, 5) float array with columns action, start, end, tmin, tmax)."""
        tem_output = self._forward(raw_feature).detach().float().cpu().numpy()
        return [(meta["video_name"], np.stack((*scores, self.anchors_tmins, self.anchors_tmaxs), axis=1))
                for meta, scores in zip(video_meta, tem_output)]

    def forward(self, raw_feature: torch.Tensor, gt_bbox: Sequence[Any] | None = None,
                video_meta: Sequence[dict] | None = None, return_loss: bool = True, **kwargs: Any) -> Any:
        """Training: the dict of losses. Testing (`return_loss=False`): `forward_test`'s list.

        Args:
            raw_feature: (N, C, T) snippet features.
            gt_bbox: per video, (G, 2) segments in [0, 1] (training).
            video_meta: per video, a dict with "video_name" (testing).
        """
        if tuple(raw_feature.shape[1:]) != (self.feat_dim, self.temporal_dim):
            names = ", ".join(str(m.get("video_name")) for m in (video_meta or [])[:3]) or "this batch"
            raise InputError(f"features of {names}: {raw_feature.shape[2]} rows x {raw_feature.shape[1]} columns, "
                             f"the TEM expects temporal_dim {self.temporal_dim} rows x tem_feat_dim "
                             f"{self.feat_dim} columns")
        if return_loss:
            if gt_bbox is None:
                raise ValueError("TEM training needs gt_bbox (Collect it with GenerateLocalizationLabels)")
            return self.forward_train(raw_feature, gt_bbox)
        if video_meta is None:
            raise ValueError("TEM testing needs video_meta with video_name (Collect meta_name: video_meta)")
        return self.forward_test(raw_feature, video_meta)
