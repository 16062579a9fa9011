"""What Recognizer2D and Recognizer3D share: the train/test switch in `forward`, the test-time
averaging of clip and crop scores (`average_clip`), and the `train_cfg` / `test_cfg` settings."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.heads.base import BaseHead

DEFAULT_TEST_CFG: Mapping[str, Any] = MappingProxyType(
    {"average_clips": None, "max_testing_views": None, "feature_extraction": False}
)
_TRAIN_KEYS = frozenset({"aux_info"})
_TEST_KEYS = frozenset({"average_clips", "max_testing_views", "feature_extraction"})


def _settings(cfg: Mapping[str, Any] | None, known: frozenset[str], name: str) -> dict[str, Any]:
    cfg = dict(cfg or {})
    unknown = set(cfg) - known
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    return cfg


def average_clip(cls_score: torch.Tensor, num_segs: int, average_clips: str | None) -> torch.Tensor:
    """Combine the scores of the `num_segs` views (clips x crops) of each video, as the reference.

    Args:
        cls_score: `(N * num_segs, num_classes)`, the views of a video consecutive.
        num_segs: views per video.
        average_clips: 'score' averages the raw scores, 'prob' the softmax probabilities; None
            returns `cls_score` unchanged (one row per view).

    Returns:
        `(N, num_classes)`, or the input for None.
    """
    if average_clips not in ("score", "prob", None):
        raise ValueError(f"average_clips must be 'score', 'prob' or None, got {average_clips!r}")
    if average_clips is None:
        return cls_score
    views = cls_score.reshape(cls_score.shape[0] // num_segs, num_segs, -1)
    if average_clips == "prob":
        return F.softmax(views, dim=2).mean(dim=1)
    return views.mean(dim=1)


class BaseRecognizer(nn.Module):
    """A backbone and a classification head.

    Args:
        backbone: a built backbone.
        cls_head: a built head.
        train_cfg: `{'aux_info': [...]}`: extra batch keys handed to the head's loss; or None.
        test_cfg: `average_clips` ('score' | 'prob' | None), `max_testing_views` (Recognizer3D: run
            at most this many views through the backbone at once), `feature_extraction` (return pooled
            backbone features instead of scores); missing keys (or None) take these defaults.
    """

    def __init__(
        self,
        *,
        backbone: nn.Module,
        cls_head: BaseHead,
        train_cfg: Mapping[str, Any] | None = None,
        test_cfg: Mapping[str, Any] | None = DEFAULT_TEST_CFG,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.cls_head = cls_head
        self.train_cfg = _settings(train_cfg, _TRAIN_KEYS, "train_cfg")
        self.test_cfg = _settings(test_cfg, _TEST_KEYS, "test_cfg")
        self.aux_info: tuple[str, ...] = tuple(self.train_cfg.get("aux_info", ()))
        self.max_testing_views: int | None = self.test_cfg.get("max_testing_views")
        self.feature_extraction = bool(self.test_cfg.get("feature_extraction", False))
        average_clip(torch.zeros(1, 1), 1, self.test_cfg.get("average_clips"))  # fail early on a bad value

    def extract_feat(self, imgs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Backbone features of a batch of frames or clips."""
        return self.backbone(imgs)

    def average_clip(self, cls_score: torch.Tensor, num_segs: int = 1) -> torch.Tensor:
        """`average_clip` with this recognizer's `test_cfg.average_clips`."""
        return average_clip(cls_score, num_segs, self.test_cfg.get("average_clips"))

    def forward(
        self, imgs: torch.Tensor, label: torch.Tensor | None = None, return_loss: bool = True, **kwargs: Any
    ) -> dict[str, torch.Tensor] | torch.Tensor:
        """Training: the dict of named losses and accuracies (sum the keys containing 'loss').
        Testing (`return_loss=False`): the video scores (or features), a tensor.

        Raises:
            ValueError: training without labels.
        """
        if return_loss:
            if label is None:
                raise ValueError("training forward needs labels (or pass return_loss=False)")
            return self.forward_train(imgs, label, **kwargs)
        return self.forward_test(imgs)

    def forward_train(
        self, imgs: torch.Tensor, labels: torch.Tensor, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Losses for one batch (subclasses)."""
        raise NotImplementedError

    def forward_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """Scores for one batch (subclasses)."""
        raise NotImplementedError
