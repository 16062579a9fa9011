"""Recognizer3D: a clip-level 3D CNN (I3D, R(2+1)D, SlowOnly, SlowFast, CSN)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from vidact.models.recognizers.base import BaseRecognizer
from vidact.models.registry import RECOGNIZERS

Features = torch.Tensor | tuple[torch.Tensor, ...]


@RECOGNIZERS.register()
class Recognizer3D(BaseRecognizer):
    """Runs the backbone on each clip: `imgs: (N, num_clips, C, T, H, W)` -> `(N * num_clips, C, T, H, W)`."""

    def forward_train(
        self, imgs: torch.Tensor, labels: torch.Tensor, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """`imgs: (N, num_clips, C, T, H, W)`, `labels: (N * num_clips, 1)`-like -> losses and accuracies."""
        imgs = imgs.reshape((-1,) + imgs.shape[2:])
        cls_score = self.cls_head(self.extract_feat(imgs))
        return self.cls_head.loss(cls_score, labels.squeeze(), **kwargs)

    def forward_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """`imgs: (N, num_views, C, T, H, W)` -> `(N, num_classes)` per `test_cfg.average_clips`
        (`(N * num_views, num_classes)` when None), or `(N, C)` features with `feature_extraction`."""
        batches, num_segs = imgs.shape[:2]
        imgs = imgs.reshape((-1,) + imgs.shape[2:])
        feat = self._features_in_chunks(imgs) if self.max_testing_views else self.extract_feat(imgs)
        if self.feature_extraction:
            parts = feat if isinstance(feat, tuple) else (feat,)
            pooled = torch.cat([F.adaptive_avg_pool3d(p, 1) for p in parts], dim=1)
            return pooled.reshape(batches, num_segs, -1).mean(dim=1)
        return self.average_clip(self.cls_head(feat), num_segs)

    def _features_in_chunks(self, imgs: torch.Tensor) -> Features:
        """Backbone features of `max_testing_views` views at a time, concatenated (bounded memory)."""
        step = self.max_testing_views
        chunks = [self.extract_feat(imgs[i : i + step]) for i in range(0, imgs.shape[0], step)]
        if isinstance(chunks[0], tuple):
            return tuple(torch.cat(parts) for parts in zip(*chunks))
        return torch.cat(chunks)
