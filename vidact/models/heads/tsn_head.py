"""TSN head: spatial average pool, segmental consensus over the frames of each video, dropout, fc."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from vidact.models.common.layers import normal_init
from vidact.models.heads.base import DEFAULT_CONSENSUS, BaseHead
from vidact.models.registry import HEADS


@HEADS.register()
class TSNHead(BaseHead):
    """Classify a video from its segments' features, fused before the classifier.

    Args:
        spatial_type: 'avg' pools H x W to 1 x 1; None keeps the map (then `in_channels` = C * H * W).
        consensus: fuses the `num_segs` segment features of a video (`AvgConsensus`); None keeps one
            score per segment, `(N * num_segs, num_classes)`.
        dropout_ratio: dropout before the classifier (0 disables it).
        init_std: std of the classifier's normal init.
        Others: as `BaseHead`.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        loss_cls: nn.Module | None = None,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        spatial_type: Literal["avg"] | None = "avg",
        consensus: nn.Module | None = DEFAULT_CONSENSUS,
        dropout_ratio: float = 0.4,
        init_std: float = 0.01,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            multi_class=multi_class,
            label_smooth_eps=label_smooth_eps,
        )
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.consensus = consensus
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1)) if spatial_type == "avg" else None
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.init_weights()

    def init_weights(self) -> None:
        """Normal(0, init_std) classifier weights, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor, num_segs: int) -> torch.Tensor:
        """`x: (N * num_segs, C, H, W)` -> `(N, num_classes)` (`(N * num_segs, ...)` without consensus)."""
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        if self.consensus is not None:
            # (N, num_segs, C, 1, 1) -> (N, C, 1, 1)
            x = self.consensus(x.reshape((-1, num_segs) + x.shape[1:])).squeeze(1)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x.reshape(x.shape[0], -1))
