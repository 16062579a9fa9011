"""I3D head: spatio-temporal average pool, dropout, fc; also used by R(2+1)D, SlowOnly and CSN."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from vidact.models.common.layers import normal_init
from vidact.models.heads.base import BaseHead
from vidact.models.registry import HEADS


@HEADS.register()
class I3DHead(BaseHead):
    """Classify a clip from its 3D feature map.

    Args:
        spatial_type: 'avg' pools T x H x W to 1; None keeps the map (`in_channels` = C * T * H * W).
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
        dropout_ratio: float = 0.5,
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
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == "avg" else None
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.init_weights()

    def init_weights(self) -> None:
        """Normal(0, init_std) classifier weights, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N, C, T, H, W)` -> `(N, num_classes)`."""
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x.reshape(x.shape[0], -1))
