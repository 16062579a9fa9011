"""SSN (Structured Segment Networks): a 2D backbone over proposal segments, `SSNHead` and `SSNLoss`.

Training: `imgs: (B, P, num_segments, C, H, W)` (P proposals per video, each sampled as starting,
course and ending segments) -> dict of losses. Testing: one video's frames sampled every
`test_interval` -> per-frame features -> the reorganised classifiers -> per-proposal scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidact.errors import RecipeError
from vidact.localization.detections import SSNVideoOutput
from vidact.models.heads.ssn_head import SSNHead
from vidact.models.losses.ssn_loss import SSNLoss
from vidact.models.registry import LOCALIZERS
from vidact.schemas.data import SSNTestCfgSpec, SSNTrainCfgSpec

TRAIN_KEYS = ("proposal_scale_factor", "proposal_type", "proposal_labels", "reg_targets")
TEST_KEYS = ("relative_proposal_list", "scale_factor_list", "proposal_tick_list", "reg_norm_consts")


@LOCALIZERS.register()
class SSN(nn.Module):
    """Structured Segment Network.

    Args:
        backbone: a built 2D backbone (`ResNet`, `ResNetTSM`): `(N, C, H, W)` -> `(N, D, h, w)`.
        cls_head: a built `SSNHead`.
        in_channels: input channels of a frame (3 for RGB).
        spatial_type: 'avg' or 'max' global pooling of the backbone maps, or None (maps already 1x1).
            The reference pools with a fixed 7x7 window, which is global pooling for its 224-pixel inputs.
        dropout_ratio: dropout on the pooled features in training.
        loss_cls: a built `SSNLoss` (None: a new one).
        train_cfg: `SSNTrainCfgSpec` or its dict (sampler ratios and loss weights).
        test_cfg: `SSNTestCfgSpec` or its dict (`ssn.sampler.batch_size`: frames per backbone pass; with a
            `ResNetTSM` the shift runs within groups of `num_segments` consecutive test frames, the last
            group padded by repeating its last frame).
    """

    batch_keys = TRAIN_KEYS
    """Batch entries the trainer passes to the training forward (SSN has no per-video "label")."""
    test_batch_keys = TEST_KEYS
    """Batch entries the trainer passes to the test forward (validation and `vidact test`)."""

    def __init__(self, *, backbone: nn.Module, cls_head: SSNHead, in_channels: int = 3,
                 spatial_type: str | None = "avg", dropout_ratio: float = 0.5, loss_cls: nn.Module | None = None,
                 train_cfg: SSNTrainCfgSpec | Mapping[str, Any] | None = None,
                 test_cfg: SSNTestCfgSpec | Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.cls_head = cls_head
        self.in_channels = in_channels
        if spatial_type not in ("avg", "max", None):
            raise ValueError(f"spatial_type must be 'avg', 'max' or None, got {spatial_type!r}")
        self.spatial_type = spatial_type
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.loss_cls = loss_cls if loss_cls is not None else SSNLoss()
        self.train_cfg = SSNTrainCfgSpec.model_validate(train_cfg or {})
        self.test_cfg = SSNTestCfgSpec.model_validate(test_cfg or {})

    def extract_feat(self, imgs: torch.Tensor) -> torch.Tensor:
        """`imgs: (N, C, H, W)` -> pooled features `(N, D)`."""
        x = self.backbone(imgs)
        if self.spatial_type == "avg":
            x = F.adaptive_avg_pool2d(x, 1)
        elif self.spatial_type == "max":
            x = F.adaptive_max_pool2d(x, 1)
        return x.flatten(1)

    def forward(self, imgs: torch.Tensor, label: Any = None, return_loss: bool = True,
                **kwargs: Any) -> dict[str, torch.Tensor] | list[dict[str, Any]]:
        """Training: the dict of losses; testing (`return_loss=False`): a list with one result dict per video."""
        keys = TRAIN_KEYS if return_loss else TEST_KEYS
        missing = [k for k in keys if k not in kwargs]
        if missing:
            raise RecipeError(f"SSN {'training' if return_loss else 'testing'} needs the batch keys {list(keys)}; "
                              f"missing {missing}", hint="Collect them in the dataset's pipeline (Collect + ToTensor "
                              "keys), as recipes/toy/ssn.yaml does")
        if return_loss:
            return self.forward_train(imgs, **{k: kwargs[k] for k in TRAIN_KEYS})
        return self.forward_test(imgs, **{k: kwargs[k] for k in TEST_KEYS})

    def forward_train(self, imgs: torch.Tensor, proposal_scale_factor: torch.Tensor, proposal_type: torch.Tensor,
                      proposal_labels: torch.Tensor, reg_targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """`imgs: (B, P, num_segments, C, H, W)` -> `loss_activity`, `loss_completeness`, `loss_reg`."""
        x = self.extract_feat(imgs.reshape((-1, self.in_channels) + imgs.shape[-2:]))
        if self.dropout is not None:
            x = self.dropout(x)
        activity_scores, completeness_scores, bbox_preds = self.cls_head(x, proposal_scale_factor)
        return self.loss_cls(activity_scores, completeness_scores, bbox_preds, proposal_type, proposal_labels,
                             reg_targets, self.train_cfg)

    @torch.no_grad()
    def forward_test(self, imgs: torch.Tensor, relative_proposal_list: torch.Tensor, scale_factor_list: torch.Tensor,
                     proposal_tick_list: torch.Tensor, reg_norm_consts: torch.Tensor) -> list[dict[str, Any]]:
        """One video: `imgs: (num_crops, num_frames, C, H, W)` (the batch axis holds the crops, as the
        reference) -> [{"relative_proposal_list", "activity_scores", "completeness_scores", "bbox_preds"}]
        with the regression de-normalised by `reg_norm_consts` [[means], [stds]]."""
        num_crops = imgs.shape[0]
        imgs = imgs.reshape((num_crops, -1, self.in_channels) + imgs.shape[-2:])
        batch = self.test_cfg.ssn.sampler.batch_size
        feats = []
        group = int(getattr(self.backbone, "num_segments", 1))  # ResNetTSM shifts within groups of frames
        for start in range(0, imgs.shape[1], batch):
            chunk = imgs[:, start:start + batch]
            count = chunk.shape[1]
            if count % group:  # repeat the last frame to fill the last group, then drop the padding
                chunk = torch.cat([chunk, chunk[:, -1:].expand(-1, group - count % group, -1, -1, -1)], dim=1)
            x = self.extract_feat(chunk.reshape((-1,) + imgs.shape[2:]))
            x = x.reshape(num_crops, -1, x.shape[1])[:, :count]
            feats.append(x.mean(dim=0))  # crops merged to save memory
        output = torch.cat(feats)
        ticks, scales = proposal_tick_list.reshape(-1, 4), scale_factor_list.reshape(-1, 2)
        _, activity, completeness, bbox = self.cls_head.forward_test(output, ticks, scales)
        consts = reg_norm_consts.reshape(2, 2).to(activity.dtype)
        if bbox is not None:
            bbox = bbox.reshape(-1, self.cls_head.num_classes, 2) * consts[1] + consts[0]
            bbox = bbox.cpu().numpy()
        return [{"relative_proposal_list": relative_proposal_list.reshape(-1, 2).cpu().numpy(),
                 "activity_scores": activity.cpu().numpy(), "completeness_scores": completeness.cpu().numpy(),
                 "bbox_preds": bbox}]

    @staticmethod
    def to_output(video_id: str, result: Mapping[str, Any]) -> SSNVideoOutput:
        """A test result dict as the `SSNVideoOutput` that `vidact test` writes."""
        return SSNVideoOutput(video_id, result["relative_proposal_list"], result["activity_scores"],
                              result["completeness_scores"], result["bbox_preds"])
