"""SlowFast head: pool both pathways, concatenate (fast first, as the reference), dropout, fc."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from vidact.models.heads.i3d_head import I3DHead
from vidact.models.registry import HEADS


@HEADS.register()
class SlowFastHead(I3DHead):
    """Classify a clip from the slow and fast feature maps.

    The pooled features are concatenated as `[fast, slow]`, the reference's order, so classifier
    weights trained there keep their meaning; `in_channels` = fast channels + slow channels.

    Args: as `I3DHead` (only the dropout default differs, 0.8 as the reference).
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
        dropout_ratio: float = 0.8,
        init_std: float = 0.01,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            multi_class=multi_class,
            label_smooth_eps=label_smooth_eps,
            spatial_type=spatial_type,
            dropout_ratio=dropout_ratio,
            init_std=init_std,
        )

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """`x: (slow (N, C_s, T_s, H, W), fast (N, C_f, T_f, H, W))` -> `(N, num_classes)`."""
        x_slow, x_fast = x
        if self.avg_pool is not None:
            x_slow, x_fast = self.avg_pool(x_slow), self.avg_pool(x_fast)
        feat = torch.cat((x_fast.reshape(x_fast.shape[0], -1), x_slow.reshape(x_slow.shape[0], -1)), dim=1)
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.fc_cls(feat)
