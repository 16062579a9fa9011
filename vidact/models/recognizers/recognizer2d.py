"""Recognizer2D: a frame-level 2D CNN whose per-segment outputs the head fuses (TSN, TSM)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from vidact.models.recognizers.base import BaseRecognizer
from vidact.models.registry import RECOGNIZERS


@RECOGNIZERS.register()
class Recognizer2D(BaseRecognizer):
    """Runs the backbone on every frame: `imgs: (N, num_segs, C, H, W)` becomes `(N * num_segs, C, H, W)`.

    At test time `num_segs` may hold several crops or clips per video (e.g. 3 crops x 8 segments);
    whatever rows per video the head returns are combined by `average_clip`.
    """

    def forward_train(
        self, imgs: torch.Tensor, labels: torch.Tensor, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """`imgs: (N, num_segs, C, H, W)`, `labels: (N, 1)` or `(N,)` -> dict of losses and accuracies."""
        batches = imgs.shape[0]
        imgs = imgs.reshape((-1,) + imgs.shape[2:])
        num_segs = imgs.shape[0] // batches
        cls_score = self.cls_head(self.extract_feat(imgs), num_segs)
        return self.cls_head.loss(cls_score, labels.squeeze(), **kwargs)

    def forward_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """`imgs: (N, num_views, C, H, W)` -> `(N, num_classes)` scores (per `test_cfg.average_clips`;
        one row per head output when it is None), or `(N, C)` features with `feature_extraction`."""
        batches = imgs.shape[0]
        imgs = imgs.reshape((-1,) + imgs.shape[2:])
        num_segs = imgs.shape[0] // batches
        x = self.extract_feat(imgs)
        if self.feature_extraction:
            return F.adaptive_avg_pool2d(x, 1).reshape(batches, num_segs, -1).mean(dim=1)
        cls_score = self.cls_head(x, num_segs)
        if cls_score.shape[0] % batches:
            raise ValueError(f"head returned {cls_score.shape[0]} rows for {batches} videos")
        return self.average_clip(cls_score, cls_score.shape[0] // batches)
