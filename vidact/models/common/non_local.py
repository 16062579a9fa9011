"""Space-time non-local block (Wang et al. 2018), added after selected residual blocks.

Submodule names (`g`, `theta`, `phi`, `conv_out`, `concat_project`) follow the reference's
checkpoints. With `num_segments` set, the block also takes 2D-backbone features `(N * T, C, H, W)`
and regroups them into clips, as TSM's non-local variant does.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vidact.models.common.layers import CONV2D, CONV3D, RELU, ConvModule, LayerCfg, constant_init, normal_init

NonLocalMode = Literal["gaussian", "embedded_gaussian", "dot_product", "concatenation"]


class NonLocal3d(nn.Module):
    """`x + W_z(f(theta(x), phi(x)) g(x))` over all positions of a clip.

    Args:
        in_channels: channels of the input (and output).
        reduction: the embedding width is `in_channels // reduction`.
        use_scale: divide the embedded-gaussian affinities by sqrt(embedding width).
        norm_cfg: norm after the output conv (zero-initialised then), or None.
        mode: pairwise function.
        sub_sample: 1x2x2 max-pool the keys and values to cut the cost by 4.
        num_segments: accept `(N * num_segments, C, H, W)` input and group it into clips.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        reduction: int = 2,
        use_scale: bool = True,
        norm_cfg: LayerCfg | None = None,
        mode: NonLocalMode = "embedded_gaussian",
        sub_sample: bool = False,
        num_segments: int | None = None,
    ) -> None:
        super().__init__()
        if mode not in ("gaussian", "embedded_gaussian", "dot_product", "concatenation"):
            raise ValueError(f"unknown non-local mode {mode!r}")
        self.in_channels = in_channels
        self.inter_channels = max(in_channels // reduction, 1)
        self.use_scale = use_scale
        self.mode = mode
        self.sub_sample = sub_sample
        self.num_segments = num_segments
        inter = self.inter_channels

        def embed(c_in: int, c_out: int) -> ConvModule:
            return ConvModule(c_in, c_out, 1, conv_cfg=CONV3D, act_cfg=None)

        self.g: nn.Module = embed(in_channels, inter)
        self.conv_out = ConvModule(inter, in_channels, 1, conv_cfg=CONV3D, norm_cfg=norm_cfg, act_cfg=None)
        if mode != "gaussian":
            self.theta: nn.Module = embed(in_channels, inter)
            self.phi: nn.Module | None = embed(in_channels, inter)
        if mode == "concatenation":
            self.concat_project = ConvModule(inter * 2, 1, 1, bias=False, conv_cfg=CONV2D, act_cfg=RELU)
        self.init_weights()
        if sub_sample:
            pool = nn.MaxPool3d(kernel_size=(1, 2, 2))
            self.g = nn.Sequential(self.g, pool)
            self.phi = nn.Sequential(self.phi, pool) if mode != "gaussian" else pool
        elif mode == "gaussian":
            self.phi = None

    def init_weights(self, std: float = 0.01) -> None:
        """Small random embeddings and a zero output branch, so the block starts as the identity."""
        embeds = [self.g] if self.mode == "gaussian" else [self.g, self.theta, self.phi]
        for module in embeds:
            conv = module[0].conv if isinstance(module, nn.Sequential) else module.conv
            normal_init(conv, std=std)
        if self.conv_out.bn is None:
            constant_init(self.conv_out.conv, 0.0)
        else:
            constant_init(self.conv_out.bn, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x: (N, C, T, H, W)`, or `(N * num_segments, C, H, W)` when `num_segments` is set."""
        if x.dim() == 4:
            if self.num_segments is None:
                raise ValueError("NonLocal3d got 4D input but was built without num_segments")
            nt, c, h, w = x.shape
            clips = x.reshape(nt // self.num_segments, self.num_segments, c, h, w).transpose(1, 2)
            out = self._forward_clip(clips)
            return out.transpose(1, 2).reshape(nt, c, h, w)
        return self._forward_clip(x)

    def _forward_clip(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(0)
        # g_x: (N, positions', inter)
        g_x = self.g(x).reshape(n, self.inter_channels, -1).permute(0, 2, 1)
        if self.mode == "gaussian":
            theta_x = x.reshape(n, self.in_channels, -1).permute(0, 2, 1)
            keys = self.phi(x) if self.phi is not None else x
            phi_x = keys.reshape(n, self.in_channels, -1)
        elif self.mode == "concatenation":
            theta_x = self.theta(x).reshape(n, self.inter_channels, -1, 1)
            phi_x = self.phi(x).reshape(n, self.inter_channels, 1, -1)
        else:
            theta_x = self.theta(x).reshape(n, self.inter_channels, -1).permute(0, 2, 1)
            phi_x = self.phi(x).reshape(n, self.inter_channels, -1)
        weights = self._pairwise(theta_x, phi_x)
        # y: (N, positions, inter) -> (N, inter, T, H, W)
        y = torch.matmul(weights, g_x).permute(0, 2, 1).reshape(n, self.inter_channels, *x.shape[2:])
        return x + self.conv_out(y)

    def _pairwise(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        if self.mode == "concatenation":
            h, w = theta_x.size(2), phi_x.size(3)
            pairs = torch.cat([theta_x.expand(-1, -1, h, w), phi_x.expand(-1, -1, h, w)], dim=1)
            weights = self.concat_project(pairs).reshape(pairs.size(0), h, w)
            return weights / weights.shape[-1]
        weights = torch.matmul(theta_x, phi_x)
        if self.mode == "dot_product":
            return weights / weights.shape[-1]
        if self.mode == "embedded_gaussian" and self.use_scale:
            weights = weights / theta_x.shape[-1] ** 0.5
        return F.softmax(weights, dim=-1)
