"""SSN's head: structured temporal pyramid pooling (training and test forms) and the three classifiers.

Training pools per-segment features of each sampled proposal into a course feature (activity) and a
starting/course/ending pyramid (completeness, regression). At test time the classifiers run once per
sampled frame, their weights reorganised so that pooling the frame scores over each proposal's
pyramid gives what training-time pooling followed by the classifiers gives (`SSNHead.test_fc_params`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vidact.models.registry import HEADS

StageCfg = int | Sequence[int]


def parse_stage_config(stage_cfg: StageCfg) -> tuple[tuple[int, ...], int]:
    """One stage's pyramid: an int (parts) or a tuple of levels -> (levels, total parts)."""
    if isinstance(stage_cfg, int):
        return (stage_cfg,), stage_cfg
    if isinstance(stage_cfg, (tuple, list)) and all(isinstance(p, int) and p > 0 for p in stage_cfg):
        return tuple(stage_cfg), sum(stage_cfg)
    raise ValueError(f"a stage of stpp_stage must be an int or a tuple of ints, got {stage_cfg!r}")


class STPPTrain(nn.Module):
    """Training-form pyramid pooling over the segments of each sampled proposal.

    Args:
        stpp_stage: pyramid of the (starting, course, ending) stages, each an int or levels.
        num_segments_list: segments in the (starting, course, ending) stages.
    """

    def __init__(self, stpp_stage: Sequence[StageCfg] = (1, (1, 2), 1),
                 num_segments_list: Sequence[int] = (2, 5, 2)) -> None:
        super().__init__()
        parsed = [parse_stage_config(s) for s in stpp_stage]
        self.stpp_stages = tuple(p[0] for p in parsed)
        self.multiplier_list = tuple(p[1] for p in parsed)
        self.num_multipliers = sum(self.multiplier_list)
        self.num_segments_list = tuple(num_segments_list)

    @staticmethod
    def _extract_stage_feature(stage_feat: torch.Tensor, stage_parts: Sequence[int], num_multipliers: int,
                               scale_factors: torch.Tensor | None) -> list[torch.Tensor]:
        """Mean of each part of each pyramid level, divided by the stage's parts, times the scale factor."""
        feats = []
        stage_len = stage_feat.shape[1]
        for num_parts in stage_parts:
            # Part boundaries as the reference draws them: float steps truncated to ints.
            ticks = torch.arange(0, stage_len + 1e-5, stage_len / num_parts).int().tolist()
            for i in range(num_parts):
                part = stage_feat[:, ticks[i]:ticks[i + 1], :].mean(dim=1) / num_multipliers
                if scale_factors is not None:
                    part = part * scale_factors.view(-1, 1)
                feats.append(part)
        return feats

    def forward(self, x: torch.Tensor, scale_factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`x: (P * num_segments, D)` segment features, `scale_factors: (P, 2)` ->
        (course feature (P, D), pyramid feature (P, num_multipliers * D))."""
        x0 = self.num_segments_list[0]
        x1 = x0 + self.num_segments_list[1]
        num_segments = x1 + self.num_segments_list[2]
        x = x.reshape(-1, num_segments, x.shape[1])
        scale_factors = scale_factors.reshape(-1, 2).to(x.dtype)
        feats = self._extract_stage_feature(x[:, :x0], self.stpp_stages[0], self.multiplier_list[0],
                                            scale_factors[:, 0])
        feats += self._extract_stage_feature(x[:, x0:x1], self.stpp_stages[1], self.multiplier_list[1], None)
        feats += self._extract_stage_feature(x[:, x1:], self.stpp_stages[2], self.multiplier_list[2],
                                             scale_factors[:, 1])
        return x[:, x0:x1].mean(dim=1), torch.cat(feats, dim=1)


class STPPTest(nn.Module):
    """Test-form pyramid pooling: per-frame scores of the reorganised classifiers -> per-proposal scores.

    Args:
        num_classes: action classes (activity scores have one more, background first).
        use_regression: also pool the regression scores.
        stpp_stage: the pyramid of training (same meaning as in `STPPTrain`).
    """

    def __init__(self, num_classes: int, use_regression: bool = True,
                 stpp_stage: Sequence[StageCfg] = (1, (1, 2), 1)) -> None:
        super().__init__()
        self.activity_score_len = num_classes + 1
        self.complete_score_len = num_classes
        self.reg_score_len = num_classes * 2
        self.use_regression = use_regression
        parsed = [parse_stage_config(s) for s in stpp_stage]
        self.stpp_stage = tuple(p[0] for p in parsed)
        self.num_multipliers = sum(p[1] for p in parsed)
        per_multiplier = self.complete_score_len + (self.reg_score_len if use_regression else 0)
        self.feat_dim = self.activity_score_len + self.num_multipliers * per_multiplier
        self.activity_slice = slice(0, self.activity_score_len)
        self.complete_slice = slice(self.activity_slice.stop,
                                    self.activity_slice.stop + self.complete_score_len * self.num_multipliers)
        self.reg_slice = slice(self.complete_slice.stop,
                               self.complete_slice.stop + self.reg_score_len * self.num_multipliers)

    @staticmethod
    def _range_means(cumsum: torch.Tensor, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Mean of rows [left, right) (clipped as Python slices clip; empty -> NaN) from `cumsum` (n + 1, D)."""
        n = cumsum.shape[0] - 1
        lo, hi = left.clamp(0, n), right.clamp(0, n)
        hi = torch.maximum(hi, lo)
        count = (hi - lo).to(cumsum.dtype).unsqueeze(1)
        return (cumsum[hi] - cumsum[lo]) / count

    def _pyramid_pooling(self, raw_scores: torch.Tensor, ticks: torch.Tensor, scale_factors: torch.Tensor,
                         score_len: int) -> torch.Tensor:
        """Sum over pyramid parts of the mean part scores (each part has its own classifier block) -> (P, L)."""
        num_rows = raw_scores.shape[0]
        cumsum = torch.cat([raw_scores.new_zeros(1, raw_scores.shape[1]), raw_scores.double().cumsum(0)])
        out = torch.zeros(ticks.shape[0], score_len, dtype=torch.float64, device=raw_scores.device)
        offset = 0
        last = len(self.stpp_stage) - 1
        for stage_idx, levels in enumerate(self.stpp_stage):
            scale = (scale_factors[:, 0] if stage_idx == 0 else scale_factors[:, 1] if stage_idx == last
                     else torch.ones_like(scale_factors[:, 0])).double()
            tick_left = ticks[:, stage_idx].double()
            tick_right = torch.maximum(tick_left + 1, ticks[:, stage_idx + 1].double())
            active = (tick_right > 0) & (tick_left < num_rows)
            for num_parts in levels:
                step = (tick_right - tick_left) / num_parts
                for i in range(num_parts):
                    part_left = (tick_left + i * step).to(torch.int64)
                    part_right = (tick_left + (i + 1) * step).to(torch.int64) if i + 1 < num_parts \
                        else tick_right.to(torch.int64)
                    block = cumsum[:, offset * score_len:(offset + 1) * score_len]
                    used = active & (part_right - part_left >= 1)
                    means = self._range_means(block, part_left, part_right) * scale.unsqueeze(1)
                    out += torch.where(used.unsqueeze(1), means, torch.zeros_like(means))
                    offset += 1
        return out

    def forward(self, x: torch.Tensor, proposal_ticks: torch.Tensor, scale_factors: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """`x: (num_frames, feat_dim)` frame scores, `proposal_ticks: (P, 4)` int frame ticks
        [start of starting stage, start, end, end of ending stage], `scale_factors: (P, 2)` ->
        activity (P, K + 1), completeness (P, K), regression (P, 2K) or None."""
        if x.shape[1] != self.feat_dim:
            raise ValueError(f"STPPTest: expected {self.feat_dim} frame scores, got {x.shape[1]}")
        ticks = proposal_ticks.long()
        raw_activity = x[:, self.activity_slice].double()
        cumsum = torch.cat([raw_activity.new_zeros(1, raw_activity.shape[1]), raw_activity.cumsum(0)])
        activity = self._range_means(cumsum, ticks[:, 1], torch.maximum(ticks[:, 1] + 1, ticks[:, 2]))
        completeness = self._pyramid_pooling(x[:, self.complete_slice], ticks, scale_factors, self.complete_score_len)
        reg = (self._pyramid_pooling(x[:, self.reg_slice], ticks, scale_factors, self.reg_score_len)
               if self.use_regression else None)
        return (activity.to(x.dtype), completeness.to(x.dtype), None if reg is None else reg.to(x.dtype))


@HEADS.register()
class SSNHead(nn.Module):
    """Activity classifier over the course feature; completeness classifiers and location regressors
    over the whole pyramid.

    Args:
        dropout_ratio: dropout on both features in training.
        in_channels: feature channels per segment.
        num_classes: action classes (without background).
        consensus: a built `STPPTrain` or `STPPTest` (None: `STPPTrain((1, 1, 1), (2, 5, 2))`). Both forms run here: the test form is derived
            from the training one (same pyramid) when a recipe trains, and a model built with
            `STPPTest` only tests.
        use_regression: add the location regressors.
        init_std: std of the normal initialisation of the classifiers.
    """

    def __init__(self, *, dropout_ratio: float = 0.8, in_channels: int = 1024, num_classes: int = 20,
                 consensus: STPPTrain | STPPTest | None = None, use_regression: bool = True,
                 init_std: float = 0.001) -> None:
        super().__init__()
        self.dropout_ratio = dropout_ratio
        self.num_classes = num_classes
        self.use_regression = use_regression
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.consensus = consensus if consensus is not None else STPPTrain((1, 1, 1), (2, 5, 2))
        if isinstance(self.consensus, STPPTrain):
            self.test_consensus = STPPTest(num_classes, use_regression, self.consensus.stpp_stages)
        else:
            self.test_consensus = self.consensus
        self.in_channels_activity = in_channels
        self.in_channels_complete = self.consensus.num_multipliers * in_channels
        self.activity_fc = nn.Linear(in_channels, num_classes + 1)
        self.completeness_fc = nn.Linear(self.in_channels_complete, num_classes)
        self.regressor_fc = nn.Linear(self.in_channels_complete, num_classes * 2) if use_regression else None
        self.init_weights()

    def init_weights(self) -> None:
        for fc in (self.activity_fc, self.completeness_fc, self.regressor_fc):
            if fc is not None:
                nn.init.normal_(fc.weight, 0, self.init_std)
                nn.init.zeros_(fc.bias)

    def test_fc_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight (feat_dim, in_channels) and bias of the test-time classifier (the reference's `test_fc`).

        The completeness and regression weights, (out, multipliers * D), are split into one (out, D)
        block per pyramid part and stacked part by part; their biases are divided by the number of
        parts, since the pooled part scores are summed.
        """
        multipliers = self.consensus.num_multipliers
        in_features = self.activity_fc.in_features
        weights, biases = [self.activity_fc.weight], [self.activity_fc.bias]
        for fc in (self.completeness_fc, self.regressor_fc):
            if fc is None:
                continue
            out = fc.out_features
            weights.append(fc.weight.reshape(out, multipliers, in_features).transpose(0, 1).reshape(-1, in_features))
            biases.append(fc.bias.reshape(1, -1).expand(multipliers, out).reshape(-1) / multipliers)
        return torch.cat(weights), torch.cat(biases)

    def forward(self, x: torch.Tensor, proposal_scale_factor: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Training: `x: (P * num_segments, D)`, `proposal_scale_factor: (P, 2)` -> activity (P, K + 1),
        completeness (P, K), regression (P, K, 2) or None."""
        if not isinstance(self.consensus, STPPTrain):
            raise RuntimeError("SSNHead built with STPPTest only tests; use STPPTrain to train")
        activity_feat, completeness_feat = self.consensus(x, proposal_scale_factor)
        if self.dropout is not None:
            activity_feat = self.dropout(activity_feat)
            completeness_feat = self.dropout(completeness_feat)
        activity_scores = self.activity_fc(activity_feat)
        complete_scores = self.completeness_fc(completeness_feat)
        bbox_preds = None
        if self.regressor_fc is not None:
            bbox_preds = self.regressor_fc(completeness_feat).reshape(-1, self.num_classes, 2)
        return activity_scores, complete_scores, bbox_preds

    def forward_test(self, x: torch.Tensor, proposal_ticks: torch.Tensor, scale_factors: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Test: `x: (num_frames, D)` frame features -> (frame scores, activity, completeness, regression)."""
        weight, bias = self.test_fc_params()
        test_scores = nn.functional.linear(x, weight, bias)
        return (test_scores, *self.test_consensus(test_scores, proposal_ticks, scale_factors))
