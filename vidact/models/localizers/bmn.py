"""BMN, the Boundary-Matching Network: boundary probabilities and a dense (duration x start)
confidence map of every proposal, from a video's snippet features.

Layouts: features `raw_feature: (N, C, T)`; the BM map `(N, 2, D, T)` with D = T durations
(row d: proposals d + 1 snippets long) and T starts (column s); channel 0 is the IoU regression,
channel 1 the IoU classification.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from vidact.localization.iou import temporal_iou_matrix
from vidact.localization.post_processing import post_processing
from vidact.models.losses import BMNLoss
from vidact.models.registry import LOCALIZERS
from vidact.segments import segment_iop


@functools.lru_cache(maxsize=4)
def _sample_mask_array(
    temporal_dim: int, num_samples: int, num_samples_per_bin: int, boundary_ratio: float
) -> np.ndarray:
    """The BM layer's sampling weights `(num_samples, T, D, S)` float32 (see `boundary_matching_mask`),
    sample-major: the layout the fused BM layer + 3D convolution multiplies by."""
    tscale = temporal_dim
    start = np.arange(tscale, dtype=np.float64)[None, :]  # (1, S)
    duration = np.arange(tscale, dtype=np.float64)[:, None]  # (D, 1)
    center_len = duration + 1.0
    sample_tmin = start - center_len * boundary_ratio  # (D, S)
    sample_tmax = start + duration + center_len * boundary_ratio
    total = num_samples * num_samples_per_bin
    step = (sample_tmax - sample_tmin) / (total - 1.0)
    points = sample_tmin[..., None] + step[..., None] * np.arange(total)  # (D, S, total)
    # modf truncates towards zero and ceil rounds up, as the reference's math.modf/math.ceil: a point
    # in (-1, 0) puts 1 - frac (> 1) on index 0 and frac (< 0) back on it, netting 1.
    frac, down = np.modf(points)
    up = np.ceil(points)
    weights = np.zeros((tscale, num_samples, tscale, tscale), dtype=np.float64)  # (T, N, D, S)
    d_idx, s_idx, k_idx = np.indices(points.shape)
    sample_idx = k_idx // num_samples_per_bin
    valid = (d_idx + s_idx) < tscale  # the proposal ends inside the video
    for index, value in ((down, 1.0 - frac), (up, frac)):
        index = index.astype(np.int64)
        keep = valid & (index >= 0) & (index <= tscale - 1)
        np.add.at(weights, (index[keep], sample_idx[keep], d_idx[keep], s_idx[keep]), value[keep])
    return np.ascontiguousarray((weights / num_samples_per_bin).astype(np.float32).transpose(1, 0, 2, 3))


def boundary_matching_mask(
    temporal_dim: int, num_samples: int, num_samples_per_bin: int, boundary_ratio: float
) -> torch.Tensor:
    """Sampling matrix of the BM layer, `(T, num_samples * D * S)` float32, built once per setting.

    For the proposal starting at snippet s and lasting d + 1 snippets, the region extended by
    `boundary_ratio` of its length on each side is sampled at `num_samples * num_samples_per_bin`
    evenly spaced points; each point spreads linear-interpolation weights over its two neighbouring
    snippets, and each bin of `num_samples_per_bin` points is averaged. Proposals ending past the
    video get zeros. `features (N, C, T) @ mask` is then every proposal's sampled feature at once.
    """
    array = _sample_mask_array(temporal_dim, num_samples, num_samples_per_bin, float(boundary_ratio))
    return torch.from_numpy(array.transpose(1, 0, 2, 3).reshape(temporal_dim, -1))


def _conv1d_block(in_dim: int, out_dim: int, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv1d(in_dim, out_dim, kernel_size=3, padding=1, groups=groups), nn.ReLU(inplace=True)]


def _boundary_head(hidden_dim: int) -> nn.Sequential:
    return nn.Sequential(*_conv1d_block(hidden_dim, hidden_dim, groups=4), nn.Conv1d(hidden_dim, 1, 1), nn.Sigmoid())


@LOCALIZERS.register()
class BMN(nn.Module):
    """Boundary-Matching Network (Lin et al., 2019) under the reference's names and layer layout.

    Args:
        temporal_dim: snippets per video (T).
        boundary_ratio: share of a proposal's length sampled beyond each end.
        num_samples: sample bins per proposal.
        num_samples_per_bin: interpolated points averaged per bin.
        feat_dim: snippet feature size (C).
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold, post_process_top_k,
        feature_extraction_interval: test-time post-processing (`post_processing`).
        loss_cls: the built loss (default `BMNLoss()`).
        hidden_dim_1d, hidden_dim_2d, hidden_dim_3d: layer widths.
    """

    def __init__(
        self,
        *,
        temporal_dim: int,
        boundary_ratio: float,
        num_samples: int,
        num_samples_per_bin: int,
        feat_dim: int,
        soft_nms_alpha: float,
        soft_nms_low_threshold: float,
        soft_nms_high_threshold: float,
        post_process_top_k: int,
        feature_extraction_interval: int = 16,
        loss_cls: nn.Module | None = None,
        hidden_dim_1d: int = 256,
        hidden_dim_2d: int = 128,
        hidden_dim_3d: int = 512,
    ) -> None:
        super().__init__()
        self.tscale = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.num_samples, self.num_samples_per_bin = num_samples, num_samples_per_bin
        self.feat_dim = feat_dim
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold, self.soft_nms_high_threshold = soft_nms_low_threshold, soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.loss_cls = loss_cls if loss_cls is not None else BMNLoss()

        # base module, then the temporal evaluation branch (start and end curves)
        self.x_1d_b = nn.Sequential(
            *_conv1d_block(feat_dim, hidden_dim_1d, groups=4), *_conv1d_block(hidden_dim_1d, hidden_dim_1d, groups=4)
        )
        self.x_1d_s = _boundary_head(hidden_dim_1d)
        self.x_1d_e = _boundary_head(hidden_dim_1d)
        # proposal evaluation branch: 1d features -> BM layer -> 3d conv over the samples -> 2d convs
        self.x_1d_p = nn.Sequential(*_conv1d_block(hidden_dim_1d, hidden_dim_1d))
        self.x_3d_p = nn.Sequential(
            nn.Conv3d(hidden_dim_1d, hidden_dim_3d, kernel_size=(num_samples, 1, 1)), nn.ReLU(inplace=True)
        )
        self.x_2d_p = nn.Sequential(
            nn.Conv2d(hidden_dim_3d, hidden_dim_2d, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, hidden_dim_2d, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, hidden_dim_2d, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden_dim_2d, 2, kernel_size=1), nn.Sigmoid(),
        )
        # Rebuilt from the settings, so kept out of checkpoints (the reference stores it as a frozen
        # parameter; drop its 'sample_mask' entry when loading its weights). Stored sample-major,
        # `(num_samples * T, D * S)`, for the fused BM layer + 3D convolution.
        array = _sample_mask_array(temporal_dim, num_samples, num_samples_per_bin, float(boundary_ratio))
        self.register_buffer("sample_mask", torch.from_numpy(array).reshape(num_samples * temporal_dim, -1),
                             persistent=False)
        # bm_mask[d, s] = 1 where a proposal of d + 1 snippets starting at s ends inside the video
        self.register_buffer("bm_mask", torch.ones(temporal_dim, temporal_dim).triu().flip(1).contiguous())

    # ---- network ----------------------------------------------------------------------------------

    def _boundary_matching_layer(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N, C, T)` -> `(N, C, num_samples, D, S)`: every proposal's sampled features, one matmul.

        The reference's layer, kept for clarity and tests; `_forward` uses `_sampled_conv3d`, which
        gives the same result as this followed by `x_3d_p` without materialising it.
        """
        n, c, t = x.shape
        mask = self.sample_mask.reshape(self.num_samples, t, -1).transpose(0, 1).reshape(t, -1)
        return torch.matmul(x, mask).reshape(n, c, self.num_samples, self.tscale, self.tscale)

    def _sampled_conv3d(self, x: torch.Tensor) -> torch.Tensor:
        """`x_3d_p(_boundary_matching_layer(x)).squeeze(2)`: `x: (N, C, T)` -> `(N, hidden_dim_3d, D, S)`.

        Sampling and the (num_samples, 1, 1) convolution are both linear, so they swap: mix the
        channels per sample first (`(N, O, num_samples * T)`, small), then one matmul with the
        sample-major mask. This skips the `(N, C, num_samples, D, S)` tensor (2.6 GB at batch 8,
        scale 100) and does about a third of the multiply-adds, forward and backward.
        """
        conv, act = self.x_3d_p[0], self.x_3d_p[1]
        n, _, t = x.shape
        weight = conv.weight.reshape(conv.out_channels, conv.in_channels, self.num_samples)  # (O, C, num_samples)
        mixed = torch.einsum("ocs,nct->nost", weight, x).reshape(n, conv.out_channels, self.num_samples * t)
        out = torch.matmul(mixed, self.sample_mask) + conv.bias[None, :, None]
        return act(out.reshape(n, conv.out_channels, self.tscale, self.tscale))

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`x: (N, C, T)` -> confidence map `(N, 2, D, T)`, start `(N, T)`, end `(N, T)`."""
        base_feature = self.x_1d_b(x)
        start = self.x_1d_s(base_feature).squeeze(1)
        end = self.x_1d_e(base_feature).squeeze(1)
        confidence_map = self.x_2d_p(self._sampled_conv3d(self.x_1d_p(base_feature)))
        return confidence_map, start, end

    def forward(
        self,
        raw_feature: torch.Tensor,
        gt_bbox: Sequence[Any] | None = None,
        video_meta: Sequence[Mapping[str, Any]] | None = None,
        return_loss: bool = True,
        **kwargs: Any,
    ) -> dict[str, torch.Tensor] | list[dict[str, Any]]:
        """Training: `{"loss", "tem_loss", "pem_reg_loss", "pem_cls_loss"}` (only "loss" is summed).
        Testing (`return_loss=False`): per video `{"video_name", "proposal_list"}`, proposals in seconds.

        Args:
            raw_feature: `(N, C, T)` snippet features.
            gt_bbox: training: per video, `(K, 2)` segments as [0, 1] positions.
            video_meta: testing: per video, "video_name", "duration_frame" and "duration_second".
        """
        if return_loss:
            if gt_bbox is None:
                raise ValueError("BMN training forward needs gt_bbox (or pass return_loss=False)")
            return self.forward_train(raw_feature, gt_bbox)
        if video_meta is None:
            raise ValueError("BMN test forward needs video_meta (video_name, duration_frame, duration_second)")
        return self.forward_test(raw_feature, video_meta)

    def forward_train(self, raw_feature: torch.Tensor, gt_bbox: Sequence[Any]) -> dict[str, torch.Tensor]:
        """The weighted BMN loss and its three terms for one batch."""
        confidence_map, start, end = self._forward(raw_feature)
        label_confidence, label_start, label_end = (t.to(raw_feature.device) for t in self.generate_labels(gt_bbox))
        loss, tem_loss, pem_reg_loss, pem_cls_loss = self.loss_cls(
            confidence_map, start, end, label_confidence, label_start, label_end, self.bm_mask
        )
        return {"loss": loss, "tem": tem_loss.detach(), "pem_reg": pem_reg_loss.detach(),
                "pem_cls": pem_cls_loss.detach()}

    @torch.no_grad()
    def forward_test(self, raw_feature: torch.Tensor, video_meta: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Proposals of each video of the batch, post-processed (soft-NMS, top-k, seconds)."""
        confidence_map, start, end = self._forward(raw_feature)
        maps, starts, ends = confidence_map.float().cpu().numpy(), start.float().cpu().numpy(), end.float().cpu().numpy()
        outputs = []
        for i, meta in enumerate(video_meta):
            proposals = self.generate_proposals(starts[i], ends[i], maps[i])
            proposal_list = post_processing(
                proposals, meta, self.soft_nms_alpha, self.soft_nms_low_threshold, self.soft_nms_high_threshold,
                self.post_process_top_k, self.feature_extraction_interval,
            )
            outputs.append({"video_name": meta["video_name"], "proposal_list": proposal_list})
        return outputs

    # ---- proposals and labels ---------------------------------------------------------------------

    def generate_proposals(self, start: np.ndarray, end: np.ndarray, confidence_map: np.ndarray) -> np.ndarray:
        """Candidate proposals of one video, before soft-NMS.

        A start (end) candidate is position 0 (T - 1), or a strict local peak, or above half the
        curve's maximum, at positions 1..T-2; every start/end pair with 1 <= end - start < T - start
        and end < T is scored `start * end * cls * reg`.

        Args:
            start, end: `(T,)` boundary probabilities; confidence_map: `(2, D, T)`.

        Returns:
            `(K, 7)` rows `[tmin, tmax, tmin_score, tmax_score, cls_score, reg_score, score]`, ordered
            by duration then start (as the reference's loops).
        """
        t = self.tscale
        start_bins, end_bins = _boundary_candidates(start), _boundary_candidates(end)
        start_bins[0], end_bins[-1] = True, True
        duration_idx, start_idx = np.nonzero(np.ones((t, t), dtype=bool))
        end_idx = start_idx + duration_idx + 1
        keep = end_idx < t
        duration_idx, start_idx, end_idx = duration_idx[keep], start_idx[keep], end_idx[keep]
        keep = start_bins[start_idx] & end_bins[end_idx]
        duration_idx, start_idx, end_idx = duration_idx[keep], start_idx[keep], end_idx[keep]
        tmin_score, tmax_score = start[start_idx], end[end_idx]
        cls_score = confidence_map[1, duration_idx, start_idx]
        reg_score = confidence_map[0, duration_idx, start_idx]
        score = tmin_score * tmax_score * cls_score * reg_score
        columns = (start_idx / t, end_idx / t, tmin_score, tmax_score, cls_score, reg_score, score)
        return np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1).reshape(-1, 7)

    def generate_labels(self, gt_bbox: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training targets of a batch from each video's `(K, 2)` [0, 1] segments.

        Returns:
            `gt_iou_map (N, D, T)`: best IoU of the proposal (start s, d + 1 snippets) with a segment;
            `gt_start (N, T)`, `gt_end (N, T)`: best IoP of the two-snippet window [t - 0.5, t + 1.5] / T
            (the reference's anchors) with a 3-snippet region around each start (end).
        """
        t = self.tscale
        gap = 1.0 / t
        starts = gap * np.arange(t)
        # match map in (duration, start) order: tmin = s / T, tmax = tmin + (d + 1) / T
        proposals = np.stack(np.broadcast_arrays(starts[None, :], starts[None, :] + gap * np.arange(1, t + 1)[:, None]),
                             axis=-1).reshape(-1, 2)
        anchors = np.stack([gap * (np.arange(t) - 0.5), gap * (np.arange(t) + 1.5)], axis=1)
        pad = 3 * gap
        iou_maps, start_scores, end_scores = [], [], []
        for segments in gt_bbox:
            gt = np.asarray(segments.cpu() if torch.is_tensor(segments) else segments, dtype=np.float64).reshape(-1, 2)
            if not len(gt):
                iou_maps.append(np.zeros((t, t), np.float32))
                start_scores.append(np.zeros(t))
                end_scores.append(np.zeros(t))
                continue
            iou_maps.append(temporal_iou_matrix(proposals, gt).max(axis=1).reshape(t, t).astype(np.float32))
            start_regions = np.stack([gt[:, 0] - pad / 2, gt[:, 0] + pad / 2], axis=1)
            end_regions = np.stack([gt[:, 1] - pad / 2, gt[:, 1] + pad / 2], axis=1)
            start_scores.append(segment_iop(anchors, start_regions).max(axis=1))
            end_scores.append(segment_iop(anchors, end_regions).max(axis=1))
        as_tensor = lambda rows: torch.from_numpy(np.asarray(rows, dtype=np.float32))  # noqa: E731
        return as_tensor(iou_maps), as_tensor(start_scores), as_tensor(end_scores)


def _boundary_candidates(curve: np.ndarray) -> np.ndarray:
    """`(T,)` bool: strict local peaks or values above half the maximum, at positions 1..T-2."""
    bins = np.zeros(curve.shape, dtype=bool)
    inner = curve[1:-1]
    peak = (inner > curve[2:]) & (inner > curve[:-2])
    bins[1:-1] = peak | (inner > 0.5 * curve.max())
    return bins
