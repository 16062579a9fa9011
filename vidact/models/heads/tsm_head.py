"""TSM head: per-frame classifier, then the consensus of the segment scores of each video."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from vidact.models.common.layers import normal_init
from vidact.models.heads.base import DEFAULT_CONSENSUS, BaseHead
from vidact.models.registry import HEADS


@HEADS.register()
class TSMHead(BaseHead):
    """Classify every frame, then average the scores over each video's `num_segments` frames.

    Videos are cut by the head's own `num_segments` (halved under `temporal_pool`), not by the
    caller's count, so several crops/clips of a video come out as separate rows
    (`(N * num_crops, num_classes)`) for the recognizer to average.

    Args:
        num_segments: frames per clip, as in the backbone.
        is_shift, temporal_pool: as the backbone; with both, a clip has num_segments // 2 frames here.
        Others: as `TSNHead`.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int,
        loss_cls: nn.Module | None = None,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        num_segments: int = 8,
        spatial_type: Literal["avg"] | None = "avg",
        consensus: nn.Module | None = DEFAULT_CONSENSUS,
        dropout_ratio: float = 0.8,
        init_std: float = 0.001,
        is_shift: bool = True,
        temporal_pool: bool = False,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            loss_cls=loss_cls,
            multi_class=multi_class,
            label_smooth_eps=label_smooth_eps,
        )
        self.num_segments = num_segments
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.is_shift = is_shift
        self.temporal_pool = temporal_pool
        self.consensus = consensus
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if spatial_type == "avg" else None
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.init_weights()

    def init_weights(self) -> None:
        """Normal(0, init_std) classifier weights, zero bias."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor, num_segs: int | None = None) -> torch.Tensor:
        """`x: (N * num_segments, C, H, W)` -> `(N, num_classes)`; `num_segs` is ignored (the head's
        `num_segments` decides, as in the reference)."""
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = torch.flatten(x, 1)
        if self.dropout is not None:
            x = self.dropout(x)
        cls_score = self.fc_cls(x)
        if self.consensus is None:
            return cls_score
        segments = self.num_segments // 2 if self.is_shift and self.temporal_pool else self.num_segments
        # (N, segments, num_classes) -> (N, num_classes)
        return self.consensus(cls_score.reshape((-1, segments) + cls_score.shape[1:])).squeeze(1)
